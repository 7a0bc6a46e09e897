"""Monitor faults over many seeds: does a failed monitor ever hide danger?

Runs the fault matrix of tests/faultmatrix.py (every monitor of both boards failing
in every way: no answer, stuck, reset; an overload and an overheating contact
injected 50 ms after each failure) over several seeds, and the held-bus cases (a
stuck slave, a short), and prints:

* combinations tried;
* overloads missed: current over a limit for longer than allowed (three sampling
  periods, what working monitors need at the worst phase; a frozen monitor not yet
  found stuck: the cycles the split rule waits on top);
* overheating missed: a contact over the heat limit for longer than allowed (HEAT_MS
  and the smoothing; a stuck monitor's detection on top);
* false trips: charging cut with nothing injected to explain it;
* the worst exposures measured, in ms, and the same injections on a sound dock (no
  monitor failing) for comparison.

The seed also moves every failure and injection within a sampling period, so the
seeds sweep the phase of the sampling cycle.

    python tools/reliability_faults.py [--seeds 8] [--jobs 2]

Goal: 0 missed, 0 false trips.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from faultmatrix import NONE, Case, Result, cases, run_case  # noqa: E402

BOARDS = ("pico-dock-4", "feather-kelvin-2")


def _bus_case(args: tuple[str, int]) -> tuple[str, int, bool, int]:
    """A held bus (stuck slave or short) under a 1.5 A load with a 4 A overload while
    held: (mode, seed, overload flowed longer than 3 cycles, false cuts)."""
    mode, seed = args
    from dockfw import protocol
    from docksim import scenario as scenario_mod
    from docksim.dock import SimDock
    from simrig import BOARDS as BOARDS_DIR

    events = [
        {"t": 1, "type": "dock"},
        {"t": 3, "type": "bus_fault", "mode": mode, "until": 6},
        {"t": 3.05, "type": "overload", "ma": 4000, "until": 3.5},
    ]
    obj = {
        "board": "pico-dock-4",
        "seed": seed,
        "duration_s": 14,
        "load": [[0, 0], [1, 1500]],
        "events": events,
    }
    raw: list[bytes] = []
    dock = SimDock(scenario_mod.parse(obj, "bus", str(BOARDS_DIR)), raw.append)
    dock.run_firmware()
    c = dock.circuit
    over = run = 0
    for t in range(3_050_000, 4_050_000, 1000):
        run = run + 1 if c.load_ma(t) > 3000 else 0
        over = max(over, run)
    lines = [protocol.decode(x) for x in b"".join(raw).splitlines()]
    cuts = [
        e
        for e in lines
        if e["type"] == "event" and e["kind"] == "charge_off" and not 3000 <= e["t_ms"] <= 6500
    ]
    return mode, seed, over > 15, len(cuts) + (0 if dock.charging else 1)


def _first_pin_and_sense(board: str) -> list[str]:
    """A pin and a sense monitor's names: which contact goes bad and the load it draws."""
    return [cases(board)[0].monitor, cases(board)[-1].monitor]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    all_cases: list[Case] = []
    for seed in range(1, args.seeds + 1):
        for board in BOARDS:
            all_cases += cases(board, seed)
    sound_cases = [
        Case(board, monitor, NONE, seed)
        for seed in range(1, args.seeds + 1)
        for board in BOARDS
        for monitor in _first_pin_and_sense(board)
    ]
    t0 = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as ex:
        results: list[Result] = list(ex.map(run_case, all_cases, chunksize=4))
        sound: list[Result] = list(ex.map(run_case, sound_cases, chunksize=4))
        bus = list(
            ex.map(
                _bus_case,
                [(m, s) for m in ("stuck_slave", "short") for s in range(1, args.seeds + 1)],
            )
        )
    wall = time.monotonic() - t0
    over_missed = [r for r in results if r.overload_missed]
    heat_missed = [r for r in results if r.heat_missed]
    false_trips = sum(len(r.unexpected) for r in results)
    print("monitor faults: %d combinations (%d seeds x both boards x every monitor x "
          "no answer, stuck, reset), %.0f s" % (len(results), args.seeds, wall))  # fmt: skip
    print("  overloads missed:   %d" % len(over_missed))
    print("  overheating missed: %d" % len(heat_missed))
    print("  false trips:        %d" % false_trips)
    for kind, key in (("overload", "overload_ms"), ("overheating", "heat_ms")):
        for mode in ("nak", "stuck", "reset"):
            worst = max((r for r in results if r.case.mode == mode), key=lambda r: getattr(r, key))
            over = key == "overload_ms"
            allowed = worst.overload_allowed_ms() if over else worst.heat_allowed_ms()
            print(
                "  worst %-11s exposure, %-5s: %6.0f ms (allowed %4.0f; %s)"
                % (kind, mode, getattr(worst, key), allowed, worst.case.name)
            )
    print(
        "  no monitor failing (the same injections, %d runs): worst overload exposure %.0f ms,"
        " overheating %.0f ms; missed %d, false trips %d"
        % (
            len(sound),
            max(r.overload_ms for r in sound),
            max(r.heat_ms for r in sound),
            sum(r.overload_missed or r.heat_missed for r in sound),
            sum(len(r.unexpected) for r in sound),
        )
    )
    blind = sum(any(e["reason"] == "cannot bound contact heat" for e in r.cuts) for r in results)
    print("  hot contacts cut as blind (sense monitor down): %d of %d" % (blind, len(results)))
    for r in over_missed + heat_missed:
        what = (r.case.name, r.overload_ms, r.heat_ms)
        print("  MISSED %s: overload %.0f ms, heat %.0f ms" % what)
    bus_missed = sum(1 for b in bus if b[2])
    bus_false = sum(b[3] for b in bus)
    print("held bus: %d runs (stuck slave, short; 4 A overload while held)" % len(bus))
    print("  overloads missed:   %d" % bus_missed)
    print("  false trips:        %d" % bus_false)
    sound_bad = any(r.overload_missed or r.heat_missed or r.unexpected for r in sound)
    bad = over_missed or heat_missed or false_trips or bus_missed or bus_false or sound_bad
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
