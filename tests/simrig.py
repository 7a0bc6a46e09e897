"""Run the firmware App against a simulated dock in-process, for tests and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
from dockfw import docking, protocol
from dockfw.store import MemoryStore
from docksim import scenario as scenario_mod
from docksim.dock import SimDock

ROOT = Path(__file__).resolve().parents[1]
BOARDS = str(ROOT / "boards")


def load_scenario(name_or_obj, **overrides):
    if isinstance(name_or_obj, dict):
        obj = dict(name_or_obj)
    else:
        obj = json.loads((ROOT / "scenarios" / ("%s.json" % name_or_obj)).read_text())
    obj.update(overrides)
    end = obj["duration_s"]
    # A shortened run keeps only what happens before its end.
    events = []
    for ev in obj.get("events", []):
        if ev["t"] < end:
            ev = dict(ev)
            if "until" in ev and ev["until"] >= end:
                del ev["until"]
            events.append(ev)
    obj["events"] = events
    obj["load"] = [step for step in obj.get("load", []) if step[0] < end]
    return scenario_mod.parse(obj, "test-scenario", BOARDS)


class Run:
    """A finished run: the decoded lines, the simulated dock and the firmware App."""

    def __init__(self, scn, inbox=None, inbox_for=None, store_files=None):
        """``inbox_for(dock)`` builds an inbox that needs the dock (its clock);
        ``store_files``: the dock's flash at power-on, name -> object or raw text."""
        self.raw: list[bytes] = []
        self.dock = SimDock(scn, self.raw.append, inbox)
        if store_files is not None:
            self.dock.store = MemoryStore(store_files)
        if inbox_for is not None:
            self.dock.attach_inbox(inbox_for(self.dock))
        self.app = self.dock.run_firmware(sample_hz=scn.sample_hz, idle_hz=scn.idle_hz)
        self.lines = [protocol.decode(line) for line in b"".join(self.raw).splitlines()]

    def of_type(self, kind):
        return [rec for rec in self.lines if rec["type"] == kind]


def stored_cycles(store) -> dict:
    """The mating cycles a dock's store holds (what the firmware would find at boot)."""
    state = store.load(docking.STATE, docking.STATE_VERSION)
    assert state is not None, store.take_problems()
    return state["cycles"]


def counted_cycles(app) -> dict:
    """The mating cycles the running firmware has counted (saved as a device leaves,
    before a reboot and a minute into a docking: see ``dockfw.app.SAVE_AFTER_ARRIVAL_S``)."""
    return {p.name: app.docking.cycles[p.index] for p in app.board.pins}


def run(name_or_obj, **overrides) -> Run:
    return Run(load_scenario(name_or_obj, **overrides))
