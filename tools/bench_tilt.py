"""Tilt at trickle current: the least total current at which a +50 mOhm tilt is raised.

Below ``min_current_ma`` a pin's resistance is unknown and the alignment detector
judges it by the current sharing between same-role siblings (``dockfw/alignment.py``).
This tool runs the real firmware on the simulated ``pico-dock-4`` (seating scatter,
monitor offsets and noise as the simulator draws them per seed):

* tilt runs: a device drawing a steady total from docking at 2 s, one pin (each pin in
  turn, by seed) raised by ``--extra`` mOhm at an onset between 4 and 4.4 s; detected
  when a ``misalignment`` naming that pin comes within 1 s of the onset. Any other
  ``warn`` / ``fault`` event, and one before the onset, is a false alarm.
* quiet runs, nothing wrong: steady trickle loads from docking (no baseline learnt
  below 100 mA), load steps between trickle and 300 mA, a pulsed load, a charge's
  constant current then constant-voltage taper down to 30 mA; any ``warn`` /
  ``fault`` event is a false alarm.

``detect_tilt_min_total_ma`` is the least swept total from which on (up to the top of
the sweep) every seed raised the tilt within 1 s. A board with one pin per role has
no sibling to share with: nothing is judged by sharing there.

``python tools/bench_tilt.py [--seeds 8] [--totals 30:280:10] [--extra 50] [--jobs 1]``
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("firmware", "sim", "tests"):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

from simrig import run  # noqa: E402

BOARD = "pico-dock-4"
PINS = ("VBUS1", "GND1", "GND2", "VBUS2")
WITHIN_MS = 1000


def _scenario(seed, load, events, duration):
    return {
        "board": BOARD,
        "seed": seed,
        "duration_s": duration,
        "sample_hz": 200,
        "load": load,
        "events": [{"t": 2, "type": "dock"}, *events],
    }


def _alarms(r):
    return [e for e in r.of_type("event") if e["severity"] in ("warn", "fault")]


def tilt_run(args):
    """(total, seed, extra) -> (detected, latency ms or None, false alarms)."""
    total, seed, extra = args
    pin = PINS[seed % len(PINS)]
    onset = 4.0 + (seed * 37 % 400) / 1000  # phases against the reports
    ev = {"t": onset, "type": "misalign", "pins": [pin], "extra_mohm": extra}
    r = run(_scenario(seed, [[0, 0], [2, total]], [ev], onset + 1.5))
    t0 = round(onset * 1000)
    hit = None
    false = 0
    for e in _alarms(r):
        if e["kind"] == "misalignment" and pin in e["pins"] and e["t_ms"] >= t0:
            hit = e["t_ms"] - t0 if hit is None else hit
        else:
            false += 1
    return hit is not None and hit <= WITHIN_MS, hit, false


def _taper():
    # Constant current, then constant voltage: the current falls by ~8 % a second.
    steps: list[list[float]] = [[0, 0], [2, 1500]]
    ma, t = 1500.0, 4.0
    while ma > 30:
        steps.append([round(t, 1), round(ma)])
        ma *= 0.92
        t += 0.2
    return steps, t + 2


QUIET = {
    "steady 60 mA": ([[0, 0], [2, 60]], 12),
    "steady 100 mA": ([[0, 0], [2, 100]], 12),
    "steady 150 mA": ([[0, 0], [2, 150]], 12),
    "steady 250 mA": ([[0, 0], [2, 250]], 12),
    "steps 50/300 mA every 0.7 s": (
        [[0, 0]] + [[2 + 0.7 * k, 300 if k % 2 else 50] for k in range(14)],
        12,
    ),
    "pulsed 0/250 mA at 5 Hz": (
        [[0, 0]] + [[2 + 0.1 * k, 250 if k % 2 == 0 else 0] for k in range(100)],
        12.5,
    ),
    "CC 1500 mA then CV taper to 30 mA": _taper(),
}


def quiet_run(args):
    """(name, seed) -> false alarms."""
    name, seed = args
    load, duration = QUIET[name]
    return len(_alarms(run(_scenario(seed, load, [], duration))))


def _map(fn, items, jobs):
    if jobs <= 1:
        return [fn(x) for x in items]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(fn, items))


def sweep(totals, seeds, extra, jobs, out=print):
    """Per total: (detected, runs, worst latency, false alarms); and the figure."""
    items = [(t, s, extra) for t in totals for s in range(seeds)]
    res = _map(tilt_run, items, jobs)
    rows = {}
    for (t, _, _), (ok, hit, false) in zip(items, res, strict=True):
        det, n, worst, fa = rows.get(t, (0, 0, 0, 0))
        rows[t] = (det + ok, n + 1, max(worst, hit or 0) if ok else worst, fa + false)
    out("+%g mOhm on one pin, %d seeds a total, raised within %d ms:" % (extra, seeds, WITHIN_MS))
    out("%8s %9s %12s %13s" % ("total mA", "detected", "worst ms", "false alarms"))
    for t in totals:
        det, n, worst, fa = rows[t]
        out("%8d %6d/%-2d %12s %13d" % (t, det, n, worst if det else "-", fa))
    least = None
    for t in reversed(totals):
        det, n, _, _ = rows[t]
        if det < n:
            break
        least = t
    return rows, least


def quiet(seeds, jobs, out=print):
    items = [(name, s) for name in QUIET for s in range(seeds)]
    res = _map(quiet_run, items, jobs)
    out("nothing wrong, %d seeds each:" % seeds)
    total = 0
    for name in QUIET:
        fa = sum(f for (nm, _), f in zip(items, res, strict=True) if nm == name)
        total += fa
        out("  %-36s false alarms %d" % (name, fa))
    return total


def figures(seeds=8, totals=tuple(range(30, 281, 10)), extra=50.0, jobs=1, out=print):
    """``make bench``'s key."""
    _, least = sweep(list(totals), seeds, extra, jobs, out=out)
    return {"detect_tilt_min_total_ma": least}


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--seeds", type=int, default=8, help="runs per total (pins in turn)")
    ap.add_argument("--totals", default="30:280:10", help="first:last:step, mA")
    ap.add_argument("--extra", type=float, default=50.0, help="the tilt, mOhm")
    ap.add_argument("--quiet-seeds", type=int, default=4, help="runs per quiet load")
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        lo, hi, step = (int(x) for x in a.totals.split(":"))
    except ValueError:
        print("--totals: expected first:last:step in mA, got %r" % a.totals, file=sys.stderr)
        return 2
    t0 = time.time()
    _, least = sweep(list(range(lo, hi + 1, step)), a.seeds, a.extra, a.jobs)
    print("detect_tilt_min_total_ma = %s" % least)
    if a.quiet_seeds:
        print("false alarms, quiet runs: %d" % quiet(a.quiet_seeds, a.jobs))
    print("(%.1f s)" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
