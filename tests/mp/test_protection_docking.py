# Tier B: protection and docking on the simulated dock under the real MicroPython
# preload: dockfw.app, docksim.dock
# interpreter: faults.json squeezed into 18 s (nak, reset, overload, heat) and a docking
# story, checked as the lines stream: events are kept as small tuples, sample lines
# are read from their first bytes and dropped (a run's decoded lines would not fit
# the 192k heap, and the simulator leaves only a few kB while the rail toggles).
import gc
import json

# faults.json's times, squeezed: the same faults in the same order, closer together.
_SQUEEZE = {0: 0, 5: 1, 20: 3, 25: 4, 30: 5, 40: 7, 45: 8, 60: 13.5, 70: 15}
_KINDS = (
    "docked",
    "undocked",
    "overcurrent",
    "overheat",
    "sensor_fault",
    "charge_off",
    "charge_on",
    "cleared",
)


def _faults():
    with open("scenarios/faults.json") as f:
        obj = json.load(f)
    for ev in obj["events"]:
        ev["t"] = _SQUEEZE[ev["t"]]
        if "until" in ev:
            ev["until"] = _SQUEEZE[ev["until"]]
    obj["load"] = [[_SQUEEZE[t], ma] for t, ma in obj["load"]]
    obj["events"].append({"t": 17, "type": "undock"})
    obj["duration_s"] = 18
    return obj


def _field(head, key):
    # The text after '"key":' up to the next ',' in a line's head.
    i = head.find(key)
    assert i >= 0, (key, head)
    i += len(key) + 2  # the closing quote and the colon
    return head[i : head.find(b",", i)]


class _Head:
    """A sample line's envelope and leading fields, read from its first bytes without
    decoding the line (a whole decoded sample line costs more heap than a squeezed
    run of the simulator can spare while the charge switch toggles); ``full()``
    decodes the whole line when a check needs the pins."""

    def __init__(self, view):
        self.view = view
        head = bytes(view[:112])
        self.t_ms = int(_field(head, b"t_ms"))
        self.docked = _field(head, b"docked") == b"true"
        self.charging = _field(head, b"charging") == b"true"
        self.cycles = int(_field(head, b"cycles"))

    def full(self):
        from dockfw import protocol

        return protocol.decode(bytes(self.view))


class _Stream:
    """The dock's output: events kept as (kind, t_ms, pins, detail), samples checked."""

    def __init__(self, check):
        self.check = check
        self.events = []
        self.samples = 0

    def __call__(self, view):
        kind = bytes(view[15:20])  # '{"v":1,"type":"' is 15 bytes
        if kind == b"sampl":
            self.samples += 1
            self.check(_Head(view))
        elif kind == b"event":
            from dockfw import protocol

            rec = protocol.decode(bytes(view))
            if rec["kind"] in _KINDS:
                detail = None
                for key in ("session", "mode", "reason", "was", "latched"):
                    if key in rec:
                        detail = rec[key]
                        break
                self.events.append((rec["kind"], rec["t_ms"], rec["pins"], detail))


def _run(obj, check):
    from dockfw.app import App
    from docksim.dock import SimDock
    from simload import load_scenario

    out = _Stream(check)
    gc.collect()
    dock = SimDock(load_scenario(obj), out, views=True)
    App(dock, sample_hz=obj.get("sample_hz"), idle_hz=obj.get("idle_hz")).run()
    return out, dock


def _within(t, a, b):
    return a * 1000 <= t <= b * 1000


def test_faults_in_order_with_charging_where_it_belongs():
    seen = [0, 0, 0]

    def check(head):
        t = head.t_ms
        # Off while an overcurrent trip or the dock's heat holds it; on otherwise.
        if _within(t, 7.05, 12.0) or _within(t, 13.75, 15.0):
            assert head.charging is False, t
            seen[0] += 1
        elif _within(t, 1.5, 6.95) or _within(t, 12.5, 13.45) or _within(t, 15.3, 17):
            assert head.charging is True, t
            seen[1] += 1
        if _within(t, 3.25, 3.95):  # VBUS1's monitor not answering: the others measure
            rec = head.full()
            pins = rec["pins"]
            assert rec["faulty_monitors"] == [0x40], rec["faulty_monitors"]
            assert pins["VBUS1"]["r_mohm"] is None
            for name in ("GND1", "GND2", "VBUS2"):
                assert 20 < pins[name]["r_mohm"] < 60, (name, pins[name])
            seen[2] += 1

    out, dock = _run(_faults(), check)
    got = [(k, d) for k, _, _, d in out.events]
    assert got == [
        ("docked", 1),
        ("sensor_fault", "no answer"),
        ("cleared", "sensor_fault"),
        ("sensor_fault", "reset"),
        ("overcurrent", False),
        ("charge_off", "overcurrent"),
        ("charge_on", "retry"),
        ("overheat", None),
        ("charge_off", "dock temperature"),
        ("cleared", "overheat"),
        ("charge_on", "dock cooled down"),
        ("undocked", 1),
    ], got
    t = [e[1] for e in out.events]
    assert _within(t[1], 3, 3.21) and _within(t[2], 4, 4.41), t
    assert out.events[1][2] == ["VBUS1"] and out.events[3][2] == ["GND2"]
    assert _within(t[3], 5, 5.21), t
    assert _within(t[4], 7, 7.01) and t[5] == t[4], t  # within 2 sampling periods
    assert 5000 <= t[6] - t[4] <= 5210, t
    assert _within(t[7], 13.5, 13.71) and _within(t[9], 15, 15.21), t
    assert _within(t[11], 17.3, 17.32), t
    assert seen[0] >= 28 and seen[1] >= 36 and seen[2] >= 3, seen
    assert dock.charging
    assert out.samples > 80


def test_docking_sessions_cycles_and_idle_rate():
    obj = {
        "board": "pico-dock-4",
        "seed": 4,
        "duration_s": 8,
        "sample_hz": 200,
        "load": [[0, 0], [1, 1500]],
        "pins": {"VBUS1": {"cycles": 7990}},
        "events": [
            {"t": 1, "type": "dock"},
            {"t": 3, "type": "undock"},
            {"t": 4, "type": "dock"},
            {"t": 6, "type": "undock"},  # a 100 ms lift: not a departure
            {"t": 6.1, "type": "dock"},
        ],
    }
    cycles = {"idle": [], "docked": []}

    def check(head):
        t = head.t_ms
        if _within(t, 3.8, 3.99) or t < 950:
            cycles["idle"].append(head.cycles)
        elif _within(t, 1.5, 2.95) or _within(t, 4.5, 5.95) or _within(t, 6.6, 8):
            assert head.docked is True, t
            cycles["docked"].append(head.cycles)

    out, dock = _run(obj, check)
    got = [(k, d) for k, _, _, d in out.events]
    assert got == [("docked", 1), ("undocked", 1), ("docked", 2)], got
    t = [e[1] for e in out.events]
    assert _within(t[0], 1.05, 1.27) and _within(t[1], 3.3, 3.32) and _within(t[2], 4.05, 4.27)
    # Saved as a device leaves: the second one is still docked at the end.
    stored = dock.store.load("docking", 1)["cycles"]
    assert stored["VBUS1"] == 7991 and stored["GND1"] == stored["VBUS2"] == 1, stored
    assert cycles["idle"] and max(cycles["idle"]) <= 2, cycles["idle"]
    docked = cycles["docked"]
    assert len(docked) > 20 and min(docked) >= 36 and max(docked) <= 41, docked
