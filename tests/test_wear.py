"""Mating-cycle wear (dockfw.wear): unit tests with a small context, then the simulator."""

import simrig
from dockfw.detect import FAULT, OK, WARN
from dockfw.store import MemoryStore
from dockfw.wear import Wear
from mp.fakectx import PINS, SessionCtx


class Ctx(SessionCtx):
    def __init__(self, cycles, rated=(10000, 10000, 10000, 10000), store=None):
        super().__init__(store, cycles, rated)

    def dock(self, wear):
        """What the App does at a docking: docking counts, then wear looks."""
        for j in range(len(PINS)):
            self.docking.cycles[j] += 1
        wear.docked(self)


def test_a_pin_warns_at_80_percent_and_faults_at_its_rating_once_each():
    ctx = Ctx([7998, 0, 0, 0])
    w = Wear(ctx)
    ctx.dock(w)  # 7999
    assert not ctx.events and w.level(0) == OK
    ctx.dock(w)  # 8000: 80 %
    assert ctx.events == [
        ("wear", ["VBUS1"], "warn", {"cycles": 8000, "rated_cycles": 10000, "used_pct": 80})
    ]
    assert w.level(0) == WARN
    for _ in range(50):
        ctx.dock(w)
    assert len(ctx.events) == 1
    ctx.docking.cycles[0] = 9999
    ctx.dock(w)
    kind, pins, sev, f = ctx.events[-1]
    assert (kind, pins, sev, f["used_pct"]) == ("wear", ["VBUS1"], "fault", 100)
    assert w.level(0) == FAULT
    for _ in range(10):
        ctx.dock(w)
    assert [(e[1], e[2]) for e in ctx.events] == [(["VBUS1"], "warn"), (["VBUS1"], "fault")]


def test_each_pin_against_its_own_rating():
    ctx = Ctx([0, 0, 0, 0], rated=(10000, 10000, 10000, 100))
    w = Wear(ctx)
    for _ in range(100):
        ctx.dock(w)
    assert [(e[1], e[2], e[3]["cycles"]) for e in ctx.events] == [
        (["VBUS2"], "warn", 80),
        (["VBUS2"], "fault", 100),
    ]


def test_a_pin_past_both_thresholds_at_once_raises_only_the_fault():
    ctx = Ctx([12000, 0, 0, 0])
    w = Wear(ctx)
    ctx.dock(w)
    assert [(e[1], e[2]) for e in ctx.events] == [(["VBUS1"], "fault")]
    assert ctx.events[0][3]["used_pct"] == 120


def test_a_reboot_does_not_raise_again():
    store = MemoryStore()
    ctx = Ctx([7999, 0, 0, 0], store=store)
    w = Wear(ctx)
    ctx.dock(w)
    assert len(ctx.events) == 1
    w.undocked(ctx)  # saved as the device leaves, never as it lands
    ctx2 = Ctx(list(ctx.docking.cycles), store=store)  # reboot: same flash
    w2 = Wear(ctx2)
    ctx2.dock(w2)
    assert not ctx2.events and w2.level(0) == WARN


def test_a_new_store_announces_a_pin_already_past_80_percent_once():
    ctx = Ctx([8500, 0, 0, 0])
    w = Wear(ctx)
    assert w.level(0) == WARN  # known at boot, announced at the next docking
    ctx.dock(w)
    ctx.dock(w)
    assert [(e[1], e[2]) for e in ctx.events] == [(["VBUS1"], "warn")]


def test_new_pins_with_fewer_cycles_are_watched_afresh():
    ctx = Ctx([7999, 0, 0, 0])
    w = Wear(ctx)
    ctx.dock(w)
    ctx.docking.cycles[0] = 0  # pins replaced, counts reset
    ctx.dock(w)
    assert w.level(0) == OK
    ctx.docking.cycles[0] = 7999
    ctx.dock(w)
    assert [(e[1], e[2]) for e in ctx.events] == [(["VBUS1"], "warn"), (["VBUS1"], "warn")]


def test_penalty_grows_from_half_life_to_30_points():
    ctx = Ctx([0, 5000, 7500, 20000])
    w = Wear(ctx)
    assert [w.penalty(j) for j in range(4)] == [0, 0, 15, 30]
    assert [w.level(j) for j in range(4)] == [OK, OK, OK, FAULT]


def test_a_damaged_wear_record_is_set_aside_and_a_good_one_is_read():
    store = MemoryStore({"wear": {"version": 1, "raised": {"VBUS1": "x", "GND1": 9}}})
    w = Wear(Ctx([0, 0, 0, 0], store=store))
    assert list(w.raised) == [OK, OK, OK, OK]
    ((name, reason, action),) = store.take_problems()
    assert name == "wear" and "wear.raised: 'VBUS1'" in reason and "wear.bad" in action
    assert "wear" not in store.data and "wear.bad" in store.data
    good = MemoryStore({"wear": {"version": 1, "raised": {"GND1": 2, "OLD9": 1}}})
    w = Wear(Ctx([0, 0, 0, 0], store=good))
    assert list(w.raised) == [OK, FAULT, OK, OK] and good.take_problems() == []


# -- the simulator ------------------------------------------------------------------------
def _scenario(cycles):
    return {
        "board": "pico-dock-4",
        "seed": 3,
        "duration_s": 12,
        "sample_hz": 50,
        "load": [[0, 0], [1, 1000], [5, 0], [7, 1000], [11, 0]],
        "pins": {"VBUS1": {"cycles": cycles}, "GND2": {"cycles": 9998}},
        "events": [
            {"t": 1, "type": "dock"},
            {"t": 5, "type": "undock"},
            {"t": 7, "type": "dock"},
            {"t": 11, "type": "undock"},
        ],
    }


def test_sim_seeded_cycles_raise_wear_at_the_docking_that_crosses():
    run = simrig.run(_scenario(7999))
    wear = [e for e in run.of_type("event") if e["kind"] == "wear"]
    assert [(e["pins"], e["severity"], e["cycles"], e["used_pct"]) for e in wear] == [
        (["VBUS1"], "warn", 8000, 80),
        (["GND2"], "warn", 9999, 99),
        (["GND2"], "fault", 10000, 100),
    ]
    assert all(e["rated_cycles"] == 10000 for e in wear)
    health = run.of_type("health")[-1]["pins"]
    assert health["VBUS1"]["state"] == "warn" and health["GND2"]["state"] == "fault"
    assert health["GND1"]["state"] == "ok"
