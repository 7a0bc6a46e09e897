"""Detection benchmark: every detector against injected faults, scored from the wire.

The suite is the project's example scenarios (``scenarios/*.json``) plus the benchmark
scenarios in ``tests/bench_scenarios/*.json``. Each scenario runs the real firmware on a
simulated dock (in-process, one scenario per worker process) and keeps the ``event``
lines it sends. The faults come from the simulator's truth (``Circuit.faults()``), plus
wear, which the simulator does not inject but models: a pin crossing 80 % of its rated
mating cycles (``wear`` of any severity expected) or 100 % (``wear`` ``fault``), at the
dock that takes it there, or at boot when the scenario starts it past the mark.

The library is ``tools/detectbench/``: ``scoring.py`` the rules (what detects a fault,
what explains an alarm, the goals), ``scenarios.py`` running the scenario files over
worker processes, ``results.py`` the figures and tables.

Every scenario runs at ``--seeds`` seeds (its file's and others ``SEED_STRIDE`` apart;
runs named ``scenario@k``), so the figures are not those of one draw.

``python tools/bench_detect.py [--jobs N] [--only SUBSTR] [--seeds N] [--out build/bench.json]``
prints a table per detector and merges the figures into ``build/bench.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchfile import BENCH_JSON, merge_json
from detectbench.results import Suite, figures, report, score_runs, table
from detectbench.scenarios import ScenarioRun, fmt_num, run_all, scenario_paths

# Every scenario at its own seed and two others: a detector tuned to one seed would
# pass its file and fail beside it.
SEEDS = 3


def run_suite(
    only: str | None = None,
    jobs: int | None = None,
    verbose: bool = True,
    out: Callable[[str], None] = print,
    seeds: int = SEEDS,
) -> Suite:
    paths = scenario_paths(only)
    t0 = time.perf_counter()

    def progress(r: ScenarioRun) -> None:
        if verbose:
            state = "CRASHED" if r.error else "%d events" % len(r.events)
            print("  ran %-24s %6.1f s cpu  %s" % (r.name, r.cpu_s, state), file=sys.stderr)

    runs = run_all(paths, jobs, progress, seeds)
    suite = score_runs(runs, time.perf_counter() - t0)
    if verbose:
        report(suite, out)
    return suite


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Detection benchmark over the scenario suite.")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPUs)")
    ap.add_argument("--only", default=None, help="run the scenarios whose name contains this")
    ap.add_argument("--out", default=str(BENCH_JSON), help="metrics file to update")
    ap.add_argument(
        "--seeds", type=int, default=SEEDS, help="seeds per scenario (default %(default)s)"
    )
    ap.add_argument("--no-write", action="store_true", help="do not update the metrics file")
    args = ap.parse_args(argv)
    suite = run_suite(args.only, args.jobs, seeds=args.seeds)
    figs = figures(suite)
    print("")
    print(
        table(
            [(k, "n/a" if v is None else fmt_num(v)) for k, v in figs.items()], ("metric", "value")
        )
    )
    if not args.no_write:
        if args.only:
            print("(--only: %s not updated with a partial suite)" % args.out)
        else:
            merge_json(Path(args.out), figs)
    return 1 if any(r.error for r in suite.runs) else 0


if __name__ == "__main__":
    sys.exit(main())
