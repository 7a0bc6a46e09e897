"""A month in the life of a dock, under the real MicroPython interpreter: every fault type.

    python tools/soak.py [--days 30] [--seed 1] [--heap 256k] [--keep FILE]

Builds a seeded scenario (``soak_scenario``): devices dock and leave for hours at a
time (wearables at 50-300 mA, phones at 0.5-2 A), and across the month every fault
the simulator has: misalignments (raised resistance and open pins), intermittent
pins, oxidation and cleaning, overloads, hot docks, pin and sense monitors that stop
answering, freeze or reset, an I2C bus held low (a stuck slave, a short), and power
cuts (timed, and in the middle of a flash write). Runs it on the simulated dock with
the firmware compiled as flashed (``build/mpy``, as tier B) in ``micropython -X
heapsize=...`` through ``tools/soak_mp.py``, as a time-lapse: 200 cycles a second
from just before each event until ``FAST_S`` after it, one cycle every 500 s (or up
to the next event) in between, so a month takes minutes. Prints the figures:

* crashes: ``firmware_error`` events and boots that were not power-ons (goal 0);
* overloads: injected while charging, cut, and the longest any flowed (goal: all cut
  within two sampling periods; "missed" counts those still flowing after 1 s);
* power cuts: fell, and boots from power-on (one more than the cuts);
* mating cycles: counted against the dockings (state lost: goal none);
* the heap after a collection (free, in use) at the first sample line and at the end,
  and the least and most in use at the first sample line of each boot. The simulator
  shares the heap, so these bound the firmware's use; a leak shows as growth.

Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))

from tier_b import OUT, build_mpy  # noqa: E402

HOUR = 3600
DAY = 24 * HOUR
PERIOD_MS = 5  # the board's sampling period with a device docked (200/s)
FAST_S = 3  # at 200/s from each event: a cut, a trip, a docking and a boot are seen within it
PINS = ["VBUS1", "GND1", "GND2", "VBUS2"]
SENSE = ["SENSE_V", "SENSE_G"]
START_CYCLES = 500  # each pin's mating cycles from an earlier life
CUT_WITHIN_S = 1.0  # an overload still flowing this long after its onset is "missed"


def soak_scenario(seed: int, days: float) -> dict:
    """Sessions of a device on the dock and off it, with faults sprinkled through them."""
    rng = random.Random(seed)
    events: list[dict] = []
    load: list[list[float]] = [[0, 0]]
    t = 60.0
    end = days * DAY
    faults = 0
    while t < end - 2 * HOUR:
        ma = rng.choice([rng.uniform(50, 300), rng.uniform(500, 2000)])
        stay = rng.uniform(0.5, 20) * HOUR
        leave = min(t + stay, end - HOUR)
        events.append({"t": round(t, 3), "type": "dock"})
        load.append([round(t, 3), round(ma)])
        # Faults within the session, apart from each other and from its ends.
        at = t + 120
        while at + 3 * 600 < leave:
            at += rng.uniform(HOUR, 8 * HOUR)
            if at + 600 >= leave:
                break
            events += _fault(rng, at, faults)
            faults += 1
        events.append({"t": round(leave, 3), "type": "undock"})
        load.append([round(leave, 3), 0])
        t = leave + rng.uniform(0.5, 10) * HOUR
        if rng.random() < 0.3 and t + 600 < end:  # a power cut while nothing is docked
            events.append({"t": round(t - 300, 3), "type": "power_cut", "off_s": 60})
    events.sort(key=lambda e: e["t"])
    return {
        "board": "pico-dock-4",
        "seed": seed,
        "duration_s": end,
        "load": load,
        "pins": {p: {"cycles": START_CYCLES} for p in PINS},
        "events": events,
    }


def _fault(rng: random.Random, at: float, index: int) -> list[dict]:
    """One fault at ``at`` (seconds), over within 10 minutes; every kind in turn."""
    t = round(at, 3)
    kind = KINDS[index % len(KINDS)]
    pin = rng.choice(PINS)
    if kind == "misalign":
        pins = rng.sample(PINS, rng.choice([1, 2]))
        # Open on every pin of a role is no misalignment: the device is electrically
        # gone, and the dock rightly sees it leave (and counts a mating when it is back).
        whole_role = sorted(pins) in (["VBUS1", "VBUS2"], ["GND1", "GND2"])
        if rng.random() < 0.3 and not whole_role:
            bad = {"open": True}
        else:
            bad = {"extra_mohm": rng.uniform(60, 400)}
        return [
            {"t": t, "type": "misalign", "pins": pins, **bad},
            {"t": t + rng.uniform(30, 500), "type": "realign"},
        ]
    if kind == "intermittent":
        return [
            {"t": t, "type": "intermittent", "pin": pin, "rate_hz": rng.uniform(0.5, 5),
             "dropout_ms": rng.uniform(2, 40), "until": t + rng.uniform(20, 500)}
        ]  # fmt: skip
    if kind == "oxidation":
        return [
            {"t": t, "type": "oxidation", "pin": pin, "mohm_per_day": rng.uniform(0.5, 5)},
            {"t": t + rng.uniform(60, 500), "type": "clean", "pins": [pin]},
        ]
    if kind == "overload":
        return [{"t": t, "type": "overload", "ma": rng.uniform(3500, 5000),
                 "until": t + rng.uniform(0.3, 3)}]  # fmt: skip
    if kind == "heat":
        return [
            {"t": t, "type": "heat", "temp_c": rng.uniform(65, 95)},
            {"t": t + rng.uniform(30, 500), "type": "heat", "temp_c": rng.uniform(15, 35)},
        ]
    if kind == "sensor_fault":
        mode = rng.choice(["nak", "stuck", "reset"])
        ev = {"t": t, "type": "sensor_fault", "pin": rng.choice(PINS + SENSE), "mode": mode}
        if mode != "reset":
            ev["until"] = t + rng.uniform(1, 500)
        return [ev]
    if kind == "bus_fault":
        mode = rng.choice(["stuck_slave", "short"])
        ev = {"t": t, "type": "bus_fault", "mode": mode, "until": t + rng.uniform(0.5, 30)}
        if mode == "stuck_slave":
            ev["pulses"] = rng.randint(1, 9)
        return [ev]
    if kind == "overload_in_sensor_fault":
        mon = rng.choice(PINS + SENSE)
        return [
            {"t": t, "type": "sensor_fault", "pin": mon, "mode": rng.choice(["nak", "stuck"]),
             "until": t + 10},
            {"t": t + 2, "type": "overload", "ma": rng.uniform(3500, 5000), "until": t + 4},
        ]  # fmt: skip
    if kind == "power_cut":
        return [{"t": t, "type": "power_cut", "off_s": rng.uniform(1, 300)}]
    # A cut in the middle of the next flash write (a docking change, a state save).
    return [{"t": t, "type": "power_cut", "off_s": rng.uniform(1, 60), "during": "write"}]


KINDS = [
    "misalign", "overload", "intermittent", "sensor_fault", "oxidation", "heat",
    "bus_fault", "power_cut", "overload_in_sensor_fault", "power_cut_in_write",
]  # fmt: skip


def fast_windows(scenario: dict) -> list[list[int]]:
    """[[start_us, end_us]] at 200 cycles a second, merged: around each event, and
    around the end of each timed one."""
    marks = []
    for ev in scenario["events"]:
        marks.append(ev["t"])
        if "until" in ev:
            marks.append(ev["until"])
        if ev["type"] == "power_cut":
            marks.append(ev["t"] + ev["off_s"])
    spans = sorted((max(0.0, m - 0.2), m + FAST_S) for m in marks)
    spans.insert(0, (0.0, FAST_S))  # the first boot
    merged: list[list[float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [[int(a * 1e6), int(b * 1e6)] for a, b in merged]


def run(scenario: dict, heap: str, keep: Path) -> dict:
    build_mpy()
    with tempfile.TemporaryDirectory(prefix="soak-") as work:
        scn_path = Path(work) / "scenario.json"
        win_path = Path(work) / "windows.json"
        scn_path.write_text(json.dumps(scenario))
        win_path.write_text(json.dumps(fast_windows(scenario)))
        env = dict(os.environ, MICROPYPATH="%s:%s" % (OUT, OUT / "mp"))
        proc = subprocess.run(
            [str(BIN / "micropython"), "-X", "heapsize=%s" % heap, "tools/soak_mp.py",
             str(scn_path), str(win_path), str(keep)],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit("soak: the interpreter failed:\n" + proc.stdout + proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def charging_at(switch: list, t_us: int) -> tuple[bool, int]:
    """(was the switch on at t_us, µs until it next went off; -1 if it never did)"""
    before = [on for at, on in switch if at <= t_us]
    if not before or not before[-1]:
        return False, 0
    offs = [at for at, on in switch if at > t_us and not on]
    return True, (offs[0] - t_us) if offs else -1


def figures(scenario: dict, result: dict, kept: list[dict]) -> dict:
    events = [r for r in kept if r["type"] == "event"]
    hellos = [r for r in kept if r["type"] == "hello"]
    causes: dict[str, int] = {}
    for h in hellos:
        causes[h["reset_cause"]] = causes.get(h["reset_cause"], 0) + 1
    overloads = [e for e in scenario["events"] if e["type"] == "overload"]
    exposures = []
    for ov in overloads:
        on, after_us = charging_at(result["switch"], int(ov["t"] * 1e6))
        if on:
            exposures.append(after_us if after_us >= 0 else 10**12)
    cut_plan = [e for e in scenario["events"] if e["type"] == "power_cut"]
    dockings = sum(e["type"] == "dock" for e in scenario["events"])
    kinds = sorted({e["type"] for e in scenario["events"]})
    faults = [
        e for e in scenario["events"] if e["type"] not in ("dock", "undock", "realign", "clean")
    ]
    return {
        "days": result["sim_us"] / 1e6 / DAY,
        "event_kinds": kinds,
        "faults_injected": len(faults),
        "lines": result["lines"],
        "firmware_errors": sum(e["kind"] == "firmware_error" for e in events),
        "boots": causes,
        "power_cuts_planned": len(cut_plan),
        "overloads_while_charging": len(exposures),
        "overloads_missed": sum(x > CUT_WITHIN_S * 1e6 for x in exposures),
        "worst_overload_ms": max(exposures) / 1000 if exposures else None,
        "storage_events": sum(e["kind"] == "storage" for e in events),
        "dockings": dockings,
        "cycles_counted": [c - START_CYCLES for c in result["cycles"]],
        "heap_start": result["heap_start"],
        "heap_end": result["heap_end"],
        "heap_at_boots": [min(result["boot_heaps"]), max(result["boot_heaps"])],
        "dropped_lines": result["dropped_lines"],
    }


def goals_missed(f: dict) -> list[str]:
    missed = []
    if f["firmware_errors"]:
        missed.append("firmware errors: %d" % f["firmware_errors"])
    if set(f["boots"]) - {"power_on"}:
        missed.append("boots other than power-ons: %s" % f["boots"])
    if f["overloads_missed"]:
        missed.append("overloads missed: %d" % f["overloads_missed"])
    if any(c != f["dockings"] for c in f["cycles_counted"]):
        missed.append("mating cycles %s for %d dockings" % (f["cycles_counted"], f["dockings"]))
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    # The simulator and the month's scenario share the heap with the firmware: more than
    # tier B's 256k. What counts is whether the heap in use grows from start to end.
    parser.add_argument("--heap", default="1024k", help="micropython -X heapsize (default 1024k)")
    parser.add_argument("--keep", type=Path, help="write the event and hello lines here")
    args = parser.parse_args()
    scenario = soak_scenario(args.seed, args.days)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soak-out-") as work:
        keep = args.keep or Path(work) / "kept.jsonl"
        result = run(scenario, args.heap, keep)
        kept = [json.loads(x) for x in keep.read_bytes().splitlines() if x.startswith(b"{")]
    f = figures(scenario, result, kept)
    f["wall_s"] = round(time.monotonic() - t0)
    print(json.dumps(f, indent=1))
    missed = goals_missed(f)
    for line in missed:
        print("GOAL MISSED: " + line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
