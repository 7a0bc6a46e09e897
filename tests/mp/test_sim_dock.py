# Tier B: the firmware App on the simulated dock, all under the real MicroPython interpreter.
# preload: dockfw.app, docksim.dock
# Lines are checked as they arrive: a whole run's decoded lines would not fit the
# 192k heap beside the simulator.
import json

from dockfw import protocol
from dockfw.app import App
from docksim.dock import SimDock
from simload import load_scenario


class _Stream:
    def __init__(self, check):
        self.check = check
        self.seq = 0
        self.first = None
        self.last = None

    def __call__(self, view):
        data = bytes(view)
        if b'"type":"health"' in data:
            self.seq += data.count(b"\n")  # not checked here: skip the biggest lines' decoding
            return
        for line in data.splitlines():
            rec = protocol.decode(line)
            assert rec["seq"] == self.seq, (rec["seq"], self.seq)
            self.seq += 1
            if self.first is None:
                self.first = rec["type"]
            if rec["type"] == "sample":
                self.check(rec, self.dock)
                self.last = rec


def _run(obj, check):
    out = _Stream(check)
    out.dock = SimDock(load_scenario(obj), out, views=True)
    App(out.dock, sample_hz=obj.get("sample_hz"), idle_hz=obj.get("idle_hz")).run()
    return out


def _misalign(duration):
    with open("scenarios/misalign.json") as f:
        obj = json.load(f)
    obj["duration_s"] = duration
    obj["events"] = [ev for ev in obj["events"] if ev["t"] < duration]
    return obj


def test_stream_and_resistances_match_the_scenario():
    checked = [0]

    def check(rec, dock):
        t = rec["t_ms"] * 1000
        if not rec["docked"] or not (8000000 < t < 19800000 or 21000000 < t):
            return
        for name, pin in rec["pins"].items():
            truth = dock.circuit.contact_mohm(name, t)
            err = pin["r_mohm"] - truth
            assert -0.02 * truth - 0.5 < err < 0.02 * truth + 0.5, (name, t, pin["r_mohm"], truth)
            checked[0] += 1

    out = _run(_misalign(24), check)
    assert out.first == "hello"
    assert checked[0] > 200, checked[0]
    last = out.last["pins"]
    assert last["VBUS2"]["r_mohm"] > 400 and last["GND2"]["r_mohm"] > 400
    assert last["VBUS1"]["r_mohm"] < 45


def test_nak_on_one_monitor_keeps_the_others_sampling():
    obj = _misalign(12)
    obj["events"].append({"t": 7, "type": "sensor_fault", "pin": "GND1", "mode": "nak", "until": 9})
    seen = [0]

    def check(rec, dock):
        if 7300 < rec["t_ms"] < 8900:
            assert rec["faulty_monitors"] == [0x41], rec["faulty_monitors"]
            assert rec["pins"]["GND1"]["r_mohm"] is None
            assert rec["pins"]["GND2"]["r_mohm"] is not None
            seen[0] += 1

    out = _run(obj, check)
    assert seen[0] >= 5
    assert out.last["faulty_monitors"] == []
