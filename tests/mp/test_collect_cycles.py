# Tier B: sampling through the App's garbage collections, under the real MicroPython
# interpreter, the heap locked around each cycle as the RP2040's hard timer interrupt
# finds it during a collection (SimDock.collect): a cycle that allocates fails there.
# preload: dockfw.app, docksim.dock
import gc
import json

from dockfw import app as app_mod
from docksim.dock import COLLECT_COST_US, SimDock
from simload import load_scenario

PERIOD_MS = 5


class _Events:
    def __init__(self):
        self.events = []

    def __call__(self, view):
        data = bytes(view)
        if b'"type":"event"' not in data:
            return None
        for line in data.splitlines():
            if b'"type":"event"' in line:
                e = json.loads(line)
                self.events.append((e["kind"], e["t_ms"], e.get("cycles"), e.get("total_ma")))
        return None


def _run(fault, duration_s=4.4):
    """The reference dock docked at 2 s drawing 1.5 A, ``fault`` (a scenario event)
    added: its events as (kind, t_ms, cycles, total_ma), and the App that ran."""
    obj = {
        "board": "pico-dock-4",
        "seed": 5,
        "duration_s": duration_s,
        "sample_hz": 200,
        "load": [[0, 0], [2, 1500]],
        "events": [{"t": 2, "type": "dock"}, fault],
    }
    out = _Events()
    app = SimDock(load_scenario(obj), out, views=True).run_firmware(sample_hz=200)
    return out.events, app


def test_cycles_run_in_every_collection_with_the_heap_locked_and_cut_an_overload():
    # A collection at every check round, docked (the one at 4.013 s runs cycles from
    # 4.018 s): a cycle from the interrupt meets the overload in some of these runs;
    # every run cuts it, and none fails in the locked heap.
    was = app_mod.GC_AFTER_LINES
    app_mod.GC_AFTER_LINES = 0
    per = COLLECT_COST_US // (PERIOD_MS * 1000)
    try:
        halted = 0
        for k in range(6):
            gc.collect()
            onset = 4.010 + k * 0.003
            events, app = _run({"t": onset, "type": "overload", "ma": 4500, "until": onset + 0.3})
            assert app.irq_alloc_halts == 0, app.irq_alloc_halts  # no read failed: none allocated
            charging = app.charging
            del app
            kinds = [e[0] for e in events]
            assert "firmware_error" not in kinds, events
            collected = [e for e in events if e[0] == "heap_collected"]
            assert len(collected) >= 6, kinds
            assert all(e[2] <= per for e in collected), collected
            trip = [e for e in events if e[0] == "overcurrent"]
            assert len(trip) == 1 and trip[0][3] > 3000, events
            assert trip[0][1] - onset * 1000 <= 2 * PERIOD_MS, (onset, trip)
            assert not charging
            # A cut from the interrupt stops that collection's cycles at the cut.
            if any(e[2] < per and e[1] >= trip[0][1] for e in collected):
                halted += 1
            else:
                assert all(e[2] == per for e in collected), collected
        assert halted >= 1, halted
    finally:
        app_mod.GC_AFTER_LINES = was


def test_a_monitor_that_stops_answering_during_a_collection_is_told_by_the_loop():
    # Its read fails in a cycle from the interrupt, where telling it would allocate:
    # the cycles stop there (counted), and the loop's next cycle marks the monitor and
    # tells it; no firmware error. Onsets over a collection at every check round.
    was = app_mod.GC_AFTER_LINES
    app_mod.GC_AFTER_LINES = 0
    try:
        halts = 0
        for k in range(4):
            gc.collect()
            onset = 4.012 + k * 0.004
            nak = {"t": onset, "type": "sensor_fault", "pin": "GND1", "mode": "nak"}
            events, app = _run(nak, 4.6)
            kinds = [e[0] for e in events]
            assert "firmware_error" not in kinds, events
            assert "sensor_fault" in kinds, kinds
            halts += app.irq_alloc_halts
            del app
        assert halts >= 1, halts
    finally:
        app_mod.GC_AFTER_LINES = was
