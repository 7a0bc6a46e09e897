"""The protection tests' rig: the whole firmware on a simulated dock, with host commands
at set times, every charge-switch command the firmware gave, and the events protection
sends. Shared by the tests of protection, docking, long docking and collection."""

import json

from dockfw import protocol
from docksim import scenario as scenario_mod
from docksim.dock import COMMAND_COST_US, SimDock
from mp.lineinbox import LineInbox
from simrig import Run, load_scenario

PERIOD_MS = 5  # 200 Hz docked
PROT = ("overcurrent", "overheat", "sensor_fault", "charge_off", "charge_on")
WAS = ("overheat", "sensor_fault")  # protection's "cleared" events


def scn(events, load=None, duration=16, board="pico-dock-4", seed=7, **extra):
    """Docked at 2 s drawing 1500 mA unless told otherwise."""
    obj = {
        "board": board,
        "seed": seed,
        "duration_s": duration,
        "sample_hz": 200,
        "load": load or [[0, 0], [2, 1500]],
        "events": [{"t": 2, "type": "dock"}, *events],
    }
    obj.update(extra)
    return obj


class CmdRun(Run):
    """simrig.Run with host commands ``[(t_s, {cmd...}), ...]`` and ``switch``: every
    charge switch command the firmware gave the dock, as (t_ms, on)."""

    def __init__(self, scenario, cmds=()):
        self.raw = []
        self.switch: list[tuple[int, bool]] = []
        self.dock = SimDock(scenario, self.raw.append)
        inbox = LineInbox(self.dock.clock)
        for t, line in sorted((t, json.dumps(c).encode()) for t, c in cmds):
            inbox.send(t, line + b"\n")
        self.dock.attach_inbox(inbox)
        charge = self.dock.charge

        def spy(on):
            self.switch.append((self.dock.clock.now_us // 1000, bool(on)))
            charge(on)

        self.dock.charge = spy
        self.app = self.dock.run_firmware(sample_hz=scenario.sample_hz, idle_hz=scenario.idle_hz)
        self.lines = [protocol.decode(line) for line in b"".join(self.raw).splitlines()]


def go(obj, cmds=(), boards=None) -> CmdRun:
    """Like simrig.run, with host commands and another boards directory if given."""
    if boards is None:
        return CmdRun(load_scenario(obj), cmds)
    return CmdRun(scenario_mod.parse(obj, "test-scenario", str(boards)), cmds)


def prot(r):
    """The events protection sends (the host's charge commands' included)."""
    return [
        e
        for e in r.of_type("event")
        if e["kind"] in PROT or (e["kind"] == "cleared" and e["was"] in WAS)
    ]


def kinds(evs):
    return [(e["kind"], e.get("reason")) for e in evs]


def switch_follows_events(r):
    """The dock's charge output did exactly what the charge_on / charge_off lines say,
    when they say it (a line's t_ms is the cycle's start: the switch follows within a
    few ms of reading the monitors). Returns the switch times after boot."""
    said = [
        (e["t_ms"], e["kind"] == "charge_on")
        for e in r.of_type("event")
        if e["kind"] in ("charge_on", "charge_off")
    ]
    assert r.switch[0][1] is True and r.switch[0][0] < 10, r.switch  # on at boot
    # A dock overheat while charging is already off says no charge_off: nothing to switch.
    got = r.switch[1:]
    assert [on for _, on in got] == [on for _, on in said], (r.switch, said)
    for (t_sw, _), (t_ev, _) in zip(got, said, strict=True):
        # A host command's switch also waits for the command's own handling time.
        assert 0 <= t_sw - t_ev <= PERIOD_MS + COMMAND_COST_US // 1000, (r.switch, said)
    assert r.dock.charging == r.switch[-1][1] == r.app.charging
    return [t for t, _ in got]


def on_since_boot(r):
    return len(r.switch) == 1 and r.switch[0][1] is True


def flowing(r, t_ms):
    """mA the circuit lets through the device at t_ms (0: rail off or undocked)."""
    return r.dock.circuit.load_ma(int(t_ms * 1000))


def samples(r, t0, t1):
    return [s for s in r.of_type("sample") if t0 <= s["t_ms"] < t1]


# -- overcurrent: trip, retry, latch, clear ------------------------------------------------
