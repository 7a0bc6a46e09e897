"""Random power cuts against the firmware, in the simulator and on the virtual board.

    python tools/powercuts.py --cuts 200 --seed 1            # both, then the figures
    python tools/powercuts.py --cuts 200 --seed 1 --only sim # the simulator alone (fast)

A seeded scenario (``random_scenario``) docks and undocks a device again and again
and cuts the power at random moments: during the flash writes of a docking change
(more than half of them: that is where state is lost), at a timed moment after one,
and around one (the device docks or leaves while the dock is dead, or even leaves
and comes back unseen). ``run_sim`` plays it in the
simulator (simulated time: seconds for hundreds of cuts), ``run_vboard`` on the
virtual board with the firmware flashed (real time: about 4 s a cut). Both return an
``Outcome``: the cuts where they fell, every boot, the flash's state files as the
run left them, the mating cycles the firmware counted and ``truth``: how many times
the device really docked, and how many of those a firmware could have counted
(a device that leaves and comes back while the dock is dead looks like one that
never left).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOARDS = str(ROOT / "boards")
sys.path.insert(0, str(ROOT / "tools"))

PINS_CYCLES = 1000  # the earlier life's mating cycles on every pin
# Time a docking change needs around it: the firmware confirms an arrival after 50 ms
# and a departure after 300 ms, and a board that just got its power back needs a
# moment to boot before it samples.
SETTLE_S = 1.2
LEAVE_S = 0.35  # the firmware's departure confirmation, and a little more
# From power-on until the dock sees what is on it: the firmware starts, switches charging
# on after its first good cycle (the pads see nothing while the rail is off) and the
# monitors convert. The virtual board's interpreter adds its own start (about 0.1 s,
# 0.2 s on a busy machine).
BOOT_S = {"sim": 0.01, "vboard": 0.25}


def random_scenario(seed: int, cuts: int, board: str = "pico-dock-4") -> dict:
    """A scenario with ``cuts`` power cuts around docking changes, seeded."""
    rng = random.Random(seed)
    pins = {"pico-dock-4": ["VBUS1", "GND1", "GND2", "VBUS2"], "feather-kelvin-2": ["VBUS", "GND"]}
    events: list[dict] = []
    t = 1.0
    docked = False
    for _ in range(cuts):
        change = {"t": round(t, 3), "type": "undock" if docked else "dock"}
        roll = rng.random()
        if roll < 0.55:  # in the middle of the change's own flash writes
            off = rng.uniform(0.3, 1.5)
            cut = {"t": round(t - 0.01, 3), "type": "power_cut", "off_s": round(off, 3),
                   "during": "write", "skip_writes": rng.choice((0, 0, 1))}  # fmt: skip
            end = t + (LEAVE_S if docked else 0.1) + off + SETTLE_S
            events += [change, cut]
        elif roll < 0.8:  # a timed cut at a random moment after the change
            at = t + rng.uniform(0.0, 1.5)
            off = rng.uniform(0.2, 1.5)
            events += [change, {"t": round(at, 3), "type": "power_cut", "off_s": round(off, 3)}]
            end = at + off + SETTLE_S
        elif roll < 0.9:  # the device docks or leaves while the dock is dead
            at = t - rng.uniform(0.2, 1.0)
            off = (t - at) + rng.uniform(0.3, 1.0)
            events += [{"t": round(at, 3), "type": "power_cut", "off_s": round(off, 3)}, change]
            end = at + off + SETTLE_S
        else:  # it leaves and comes back (or comes and leaves) unseen: a hidden docking
            at = t - 0.3
            off = rng.uniform(0.8, 1.5)
            back = {"t": round(t + 0.3, 3), "type": "dock" if docked else "undock"}
            events += [{"t": round(at, 3), "type": "power_cut", "off_s": round(off, 3)}, change,
                       back]  # fmt: skip
            docked = not docked  # as it was
            end = at + off + SETTLE_S
        docked = not docked
        t = end + rng.uniform(0.3, 1.0)
    return {
        "board": board,
        "seed": seed,
        "duration_s": round(t + 2.0, 3),
        "description": "tools/powercuts.py: %d random power cuts around docking changes" % cuts,
        "load": [[0, 1000]],
        "pins": {name: {"cycles": PINS_CYCLES} for name in pins[board]},
        "events": events,
    }


# -- the truth ---------------------------------------------------------------------------


def truth(scenario: dict, cuts: list[dict], boot_s: float = 0.0) -> dict:
    """``dockings``: every time the device docked. ``countable``: an estimate of those
    a dock could have counted, given where the power cuts really fell (``cuts``: each
    with ``t_s`` and ``back_s``) and ``boot_s``, the time the dock takes from
    power-on to its first sampling cycle. ``each``: ``(t, countable)`` per docking.

    A docking is not countable when the dock could not have known that the device had
    left before it, or that it arrived: it never saw the absence (or the presence)
    long enough to confirm it with its power still on when it recorded it.
    Confirming takes the firmware's own ``LEAVE_MS`` (a shorter absence is contact
    chatter, by design) or ``ARRIVE_MS``, plus a sampling period at the idle rate (a
    dock that believes itself empty samples slowly); the record is the write at that
    moment, so a cut that falls then, or before, takes it with it. This is an estimate
    from the firmware's timing, not a replay of it: compare ``each`` with the
    firmware's own ``docked`` events where they differ."""
    import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
    from dockfw.docking import ARRIVE_MS, LEAVE_MS

    board = json.loads((ROOT / "boards" / ("%s.json" % scenario["board"])).read_text())
    idle_s = 1 / board["idle_hz"]
    hold_leave = LEAVE_MS / 1000 + idle_s + 0.005
    hold_arrive = ARRIVE_MS / 1000 + idle_s + 0.005
    changes = sorted(
        (ev["t"], ev["type"] == "dock")
        for ev in scenario["events"]
        if ev["type"] in ("dock", "undock")
    )
    end = scenario["duration_s"]
    powered = []
    start = 0.0
    for c in sorted(cuts, key=lambda c: c["t_s"]):
        powered.append((start + boot_s, c["t_s"]))
        start = c["back_s"]
    powered.append((start + boot_s, end + hold_leave))

    def known(t0: float, t1: float, hold_s: float) -> bool:
        """A state held from t0 to t1: did the dock see it for hold_s and record it?"""
        return any(max(a, t0) + hold_s <= t1 and max(a, t0) + hold_s < b for a, b in powered)

    dockings = countable = 0
    left_at = 0.0
    believes_docked = False  # what the dock has recorded
    bounds = [t for t, _ in changes[1:]] + [end]
    each = []  # per docking: (t, countable)
    for k, (at, on) in enumerate(changes):
        if not on:
            left_at = at
            continue
        dockings += 1
        if believes_docked and known(left_at, at, hold_leave):
            believes_docked = False
        ok = not believes_docked and known(at, bounds[k], hold_arrive)
        if ok:
            countable += 1
            believes_docked = True
        each.append((at, ok))
    return {"dockings": dockings, "countable": countable, "each": each}


def stored_cycles(files: dict[str, bytes]) -> dict | None:
    """The mating cycles the firmware's state files hold (either layout: the versioned
    ``docking.json`` with ``cycles``, or the older ``cycles.json``); None if unreadable."""
    for path, key in (("/state/docking.json", "cycles"), ("/state/cycles.json", None)):
        if path in files:
            try:
                obj = json.loads(files[path])
            except ValueError:
                return None
            cycles = obj.get(key) if key else obj
            if isinstance(cycles, dict):
                return cycles
    return None


def outcome(where: str, scenario: dict, cuts: list[dict], boots: list[dict], files: dict) -> dict:
    """What a run left, in the same shape for the simulator and the virtual board."""
    damaged = []
    for path, data in files.items():
        if path.endswith(".json"):
            try:
                json.loads(data)
            except ValueError:
                damaged.append(path)
    cycles = stored_cycles(files)
    counted = None
    if cycles is not None:
        counted = min(cycles.values()) - PINS_CYCLES  # every pin mates at every docking
    planned = sum(1 for ev in scenario["events"] if ev["type"] == "power_cut")
    return {
        "where": where,
        "planned_cuts": planned,
        "cuts": cuts,
        "boots": boots,
        "files": files,
        "damaged_files": damaged,
        "cycles": cycles,
        "counted": counted,
        "truth": truth(scenario, cuts, BOOT_S[where]),
    }


# -- the simulator ---------------------------------------------------------------------


def run_sim(scenario: dict) -> dict:
    """Play the scenario in the simulator (simulated time, as fast as it goes)."""
    import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
    from dockfw import protocol
    from docksim import scenario as scenario_mod
    from docksim.dock import SimDock

    scn = scenario_mod.parse(scenario, "powercuts", BOARDS)
    boots: list[dict] = []
    tail = [b""]

    def write(data: bytes) -> None:
        tail[0] += data
        lines = tail[0].split(b"\n")
        tail[0] = lines.pop()
        for line in lines:
            if line.startswith(b'{"v":1,"type":"hello"'):
                rec = protocol.decode(line)
                boots.append({"boot": rec["boot"], "reset_cause": rec["reset_cause"]})

    dock = SimDock(scn, write)
    dock.run_firmware(sample_hz=scn.sample_hz, idle_hz=scn.idle_hz)
    assert dock.power is not None and dock.flash is not None
    cuts = [
        {"cut": c["cut"], "t_s": c["t_us"] / 1e6, "back_s": c["back_us"] / 1e6, "path": c["path"],
         "landed": c["kept"], "size": c["size"]}
        for c in dock.power.log
    ]  # fmt: skip
    return outcome("sim", scenario, cuts, boots, dict(dock.flash.files))


# -- the virtual board -----------------------------------------------------------------

_CUT_LINE = re.compile(
    r"power cut (\d+) at t=([\d.]+) s(?:, during a write of (\S+) \((\d+) of (\d+) bytes "
    r"landed\))?; off for ([\d.e+-]+) s"
)


def run_vboard(scenario: dict, work: Path, image: Path | None = None) -> dict:
    """Play the scenario on the virtual board, in real time, with the firmware flashed
    (``image``: a flash image from ``tools/flash.py``, built here when None)."""
    import serial
    from dockfw import protocol

    if image is None:
        import flash as flash_tool

        image = flash_tool.build_image(scenario["board"], work / "image", "host")  # the vboard's
    flash = work / "flash"
    shutil.rmtree(flash, ignore_errors=True)
    shutil.copytree(image, flash)
    path = work / "scenario.json"
    path.write_text(json.dumps(scenario))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pogodock.cli", "vboard", "--scenario", str(path),
         "--flash", str(flash)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    boots: list[dict] = []
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        if not port.startswith("/dev/"):
            raise RuntimeError("the vboard did not start: %s" % proc.communicate(timeout=10)[1])
        end = time.monotonic() + scenario["duration_s"]
        with serial.Serial(port, timeout=0.1) as ser:
            rest = b""
            while time.monotonic() < end and proc.poll() is None:
                try:
                    rest += ser.read(65536)
                except serial.SerialException:  # the vboard went away: said on stderr
                    break
                *lines, rest = rest.split(b"\n")
                for line in lines:
                    if line.startswith(b'{"v":1,"type":"hello"'):
                        rec = protocol.decode(line)
                        boots.append({"boot": rec["boot"], "reset_cause": rec["reset_cause"]})
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    if proc.returncode not in (130, -signal.SIGINT):
        raise RuntimeError("the vboard ended by itself: %s" % err.strip()[-2000:])
    cuts = []
    for m in _CUT_LINE.finditer(err):
        t = float(m.group(2))
        cuts.append(
            {"cut": int(m.group(1)), "t_s": t, "back_s": t + float(m.group(6)),
             "path": m.group(3), "landed": int(m.group(4)) if m.group(4) else None,
             "size": int(m.group(5)) if m.group(5) else None}
        )  # fmt: skip
    files = {}
    for p in sorted((flash / "state").rglob("*")):
        if p.is_file():
            files["/" + str(p.relative_to(flash))] = p.read_bytes()
    return outcome("vboard", scenario, cuts, boots, files)


# -- the figures -------------------------------------------------------------------------


def summary(out: dict) -> str:
    cuts = out["cuts"]
    writes = [c for c in cuts if c["path"]]
    partial = [c for c in writes if c["landed"] is not None and c["landed"] < c["size"]]
    causes = [b["reset_cause"] for b in out["boots"]]
    t = out["truth"]
    return "\n".join(
        [
            "%s:" % out["where"],
            "  power cuts: %d planned, %d fell (%d during a flash write, %d of them leaving "
            "part of it)" % (out["planned_cuts"], len(cuts), len(writes), len(partial)),
            # (The virtual board's first hello goes out before the host has the port.)
            "  hellos seen: %d (%d from power-on)" % (len(causes), causes.count("power_on")),
            "  state files: %d, damaged .json: %d %s"
            % (len(out["files"]), len(out["damaged_files"]), out["damaged_files"] or ""),
            "  dockings: %d, countable %d, counted by the firmware %s"
            % (t["dockings"], t["countable"], out["counted"]),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cuts", type=int, default=200, help="power cuts (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--board", default="pico-dock-4")
    parser.add_argument("--only", choices=("sim", "vboard"), help="one of the two")
    parser.add_argument("--json", metavar="FILE", help="also write both outcomes as JSON")
    args = parser.parse_args()
    scenario = random_scenario(args.seed, args.cuts, args.board)
    print(
        "scenario: seed %d, %d cuts, %.0f s, %d dockings"
        % (args.seed, args.cuts, scenario["duration_s"],
           sum(ev["type"] == "dock" for ev in scenario["events"]))
    )  # fmt: skip
    outs = []
    if args.only in (None, "sim"):
        t0 = time.monotonic()
        outs.append(run_sim(scenario))
        print(summary(outs[-1]) + "\n  (%.0f s)" % (time.monotonic() - t0))
    if args.only in (None, "vboard"):
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="powercuts-") as work:
            outs.append(run_vboard(scenario, Path(work)))
        print(summary(outs[-1]) + "\n  (%.0f s)" % (time.monotonic() - t0))
    if args.json:
        for out in outs:
            out["files"] = {k: v.decode("utf-8", "replace") for k, v in out["files"].items()}
        Path(args.json).write_text(json.dumps({"scenario": scenario, "outcomes": outs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
