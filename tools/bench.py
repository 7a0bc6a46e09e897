"""``make bench``: every benchmark, one table, ``build/bench.json`` (README, "Figures").

Each entry of ``PARTS`` is ``(name, function)``; the function returns
``{metric: number}`` (a ``None`` value: not measurable this time, the key is dropped)
and may print its own detail. The figures are merged into ``build/bench.json`` (one
JSON object, a number per metric: keys written by other tools survive) and printed as
one table. A part that fails is reported and the others still run; the exit status is
then 1.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import bench_detect  # noqa: E402
import benchfile  # noqa: E402
from detectbench.results import figures, table  # noqa: E402

Figures = dict[str, float | None]


def detection_figures() -> Figures:
    """The detection suite (tools/bench_detect.py): its tables, then its figures."""
    suite = bench_detect.run_suite()
    return dict(figures(suite))


def drift_figures() -> Figures:
    """Dock-years through the real drift detector (tools/bench_drift.py): false
    ``oxidation`` alarms per dock-year and the rise at which drift is raised (p95); and
    the best any detector could do at 5 mOhm/day (tools/bench_drift_bound.py)."""
    import bench_drift
    import bench_drift_bound

    return dict(bench_drift.figures()) | bench_drift_bound.figures()


def tilt_figures() -> Figures:
    """Tilt at trickle current (tools/bench_tilt.py): the least total at which a +50 mOhm
    tilt of one pin is raised by current sharing within 1 s, over seeds."""
    import bench_tilt

    return dict(bench_tilt.figures())


def host_figures() -> Figures:
    """The host's protocol parser: lines per second into records, and fully decoded."""
    from bench_host import decoded_lines_per_s, lines_per_s

    return {
        "host_lines_per_s": round(lines_per_s()),
        "host_decoded_lines_per_s": round(decoded_lines_per_s()),
    }


def firmware_figures() -> Figures:
    """Heap, allocation per cycle, I2C wire time, resistance accuracy (tools/bench_fw.py)."""
    import bench_fw

    return dict(bench_fw.figures())


def monitor_figures() -> Figures:
    """The monitor's CPU use following a dock at 20 reports/s (tools/bench_monitor.py)."""
    import bench_monitor

    return dict(bench_monitor.figures())


def rp2_figures() -> Figures:
    """Tier C (tools/tier_c.py --measure): the flashed image on the official rp2 port in
    the emulated RP2040, 20 emulated s docked and 30 overloads at random phases."""
    import tier_c

    return dict(tier_c.measure())


# The hooks: (name, function returning {metric: number}), run in this order.
PARTS: list[tuple[str, Callable[[], Figures]]] = [
    ("firmware", firmware_figures),
    ("detection", detection_figures),
    ("drift", drift_figures),
    ("tilt", tilt_figures),
    ("host parser", host_figures),
    ("monitor", monitor_figures),
    ("rp2", rp2_figures),
]

_UNITS = (
    ("_per_s", "/s"),
    ("_ms_p95", "ms"),
    ("_ms_max", "ms"),
    ("_ms", "ms"),
    ("_us_per_cycle", "us/cycle"),
    ("_bytes_per_cycle", "B/cycle"),
    ("_bytes", "B"),
    ("_mohm_p95", "mOhm"),
    ("_total_ma", "mA"),
    ("_per_dock_year", "/dock-year"),
    ("_mohm_max", "mOhm"),
    ("_pct_p95", "%"),
    ("_idle_pct", "% of the core"),
    ("_hz", "cycles/s"),
    ("_cpu_pct", "% of a core"),
    ("_periods_max", "periods"),
    ("_days_max", "days"),
    ("_cpu_s", "s"),
    ("_wall_s", "s"),
    ("_s", "s"),
)


def unit(key: str) -> str:
    for suffix, u in _UNITS:
        if key.endswith(suffix):
            return u
    return ""


def _value_text(v: float | None) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float) and v != int(v):
        return "%g" % v
    return "%d" % v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run every benchmark; write build/bench.json.")
    ap.add_argument("--out", default=str(benchfile.BENCH_JSON), help="metrics file")
    ap.add_argument(
        "--only",
        action="append",
        default=None,
        help="run only this part (repeatable): " + ", ".join(name for name, _ in PARTS),
    )
    args = ap.parse_args(argv)
    figs: Figures = {}
    part_of: dict[str, str] = {}
    failed = []
    for name, fn in PARTS:
        if args.only and name not in args.only:
            continue
        print("## %s" % name, flush=True)
        t0 = time.perf_counter()
        try:
            got = fn()
        except Exception as e:
            if type(e).__name__ == "Rp2Error":  # a missing input of tier C: its one sentence
                print("bench: the %s part did not run: %s" % (name, e), file=sys.stderr)
            else:
                traceback.print_exc()
            failed.append(name)
            continue
        print("## %s: %.1f s" % (name, time.perf_counter() - t0), flush=True)
        for k, v in got.items():
            figs[k] = v
            part_of[k] = name
    data = benchfile.merge_json(Path(args.out), figs)
    rows = [(k, _value_text(v), unit(k), part_of[k]) for k, v in figs.items()]
    print("")
    print(table(rows, ("metric", "value", "unit", "part")))
    print("")
    print(
        "%d metrics in %s (%d keys in all)"
        % (sum(v is not None for v in figs.values()), args.out, len(data))
    )
    if failed:
        print("failed: %s" % ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
