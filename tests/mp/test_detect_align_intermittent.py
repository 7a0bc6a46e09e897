# Tier B: the alignment and intermittent detectors under the real MicroPython
# preload: dockfw.app, docksim.dock
# interpreter: their per-cycle path allocates nothing (dips, dropouts, load steps,
# open and raised pins included), and on the simulated dock they raise the right
# events. Scenario lines are checked as they stream: a run's decoded lines would
# not fit the 192k heap beside the simulator.
import gc
import json

from dockfw.alignment import SHARE_HOLD, Alignment
from dockfw.intermittent import Intermittent
from fakectx import FakeCtx

R = 35000  # µΩ, a sound contact


def _detectors(ctx):
    align = Alignment(ctx)
    inter = Intermittent(ctx)
    ctx.detectors = (align, inter)
    return align, inter


def _even(ctx, total_ua, r_vbus2=R, r_gnd2=R):
    # VBUS1, GND1, GND2, VBUS2 (pico-dock-4), contacts of R unless given.
    ctx.share(total_ua, [R, R, r_gnd2, r_vbus2])


def test_cycle_paths_allocate_nothing():
    ctx = FakeCtx()
    _, inter = _detectors(ctx)
    _even(ctx, 1500000)
    for k in range(400):  # 2 s: levels, baselines, limits
        ctx.step()
        if k % 40 == 39:
            ctx.do_report()
    v1 = ctx.index("VBUS1")
    v2 = ctx.index("VBUS2")
    i1 = ctx.s.i_ua[v1]
    i2 = ctx.s.i_ua[v2]
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for k in range(1200):
            phase = k % 300
            s = ctx.s
            if phase == 10:  # a 3 ms dropout on VBUS1: its current moves to VBUS2
                s.i_ua[v1] = i1 // 3
                s.i_ua[v2] = i2 + i1 - i1 // 3
            elif phase == 11:
                s.i_ua[v1] = i1
                s.i_ua[v2] = i2
            elif phase == 100:  # a load step down on every pin, which persists
                for j in range(ctx.n):
                    s.i_ua[j] = s.i_ua[j] // 2
            elif phase == 200:
                for j in range(ctx.n):
                    s.i_ua[j] = s.i_ua[j] * 2
            elif phase == 250:  # VBUS2 raised, then open
                s.r_uohm[v2] = 400000
            elif phase == 270:
                s.i_ua[v2] = 0
                s.r_uohm[v2] = -1
            elif phase == 299:
                s.i_ua[v2] = i2
                s.r_uohm[v2] = R
            ctx.step()
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert used == 0, used
    assert inter.count(v1) == 4, [inter.count(j) for j in range(ctx.n)]
    assert sum(inter.count(j) for j in range(ctx.n)) == 4


def _blip(ctx, pins, fractions):
    # One cycle with pins[k] at fractions[k] (per 8) of its level, then back.
    s = ctx.s
    old = [s.i_ua[j] for j in range(ctx.n)]
    for k in range(len(pins)):
        s.i_ua[pins[k]] = old[pins[k]] * fractions[k] // 8
    ctx.step()
    for j in range(ctx.n):
        s.i_ua[j] = old[j]
    for _ in range(20):
        ctx.step()


def test_a_dropout_is_a_dip_while_the_device_current_holds():
    ctx = FakeCtx()
    _, inter = _detectors(ctx)
    _even(ctx, 1500000)
    for _ in range(100):
        ctx.step()
    v1, g1, g2, v2 = (ctx.index(p) for p in ("VBUS1", "GND1", "GND2", "VBUS2"))
    # The whole load blips: every pin dips. Not a contact.
    _blip(ctx, (v1, g1, g2, v2), (3, 3, 3, 3))
    assert inter.count(v1) == 0
    # The sibling dips as well (only the ground side's conversions missed it): a load blip.
    _blip(ctx, (v1, v2), (3, 3))
    assert inter.count(v1) == 0
    # VBUS1's current goes to VBUS2 while the ground pins carry on: a dropout.
    _blip(ctx, (v1, v2), (3, 13))
    assert inter.count(v1) == 1
    # The same with VBUS2's conversion missing it: the device current still held.
    _blip(ctx, (v1,), (2,))
    assert inter.count(v1) == 2
    # The sibling shows the current a cycle before the pin shows its dip.
    s = ctx.s
    i1 = s.i_ua[v1]
    i2 = s.i_ua[v2]
    s.i_ua[v2] = i2 + i1 // 2
    ctx.step()
    s.i_ua[v2] = i2
    s.i_ua[v1] = i1 // 2
    ctx.step()
    s.i_ua[v1] = i1
    for _ in range(20):
        ctx.step()
    assert inter.count(v1) == 3
    assert inter.count(v2) == inter.count(g1) == inter.count(g2) == 0


def _scenario(path, duration, until=None):
    with open(path) as f:
        obj = json.load(f)
    obj["duration_s"] = duration
    events = []
    for ev in obj["events"]:
        if ev["t"] < duration:
            if until is not None and "until" in ev:
                ev["until"] = until
            events.append(ev)
    obj["events"] = events
    return obj


def _events(obj):
    # Only the event lines are decoded and kept.
    from dockfw import protocol
    from dockfw.app import App
    from docksim.dock import SimDock
    from simload import load_scenario

    kept = []

    def write(view):
        # Only events are kept: look at the type in the envelope ('{"v":1,"type":"'
        # is 15 bytes) before copying anything, the heap being tight.
        if bytes(view[15:20]) != b"event":
            return
        for line in bytes(view).splitlines():
            rec = protocol.decode(line)
            if rec["kind"] not in ("docked", "undocked"):
                kept.append(rec)

    gc.collect()
    dock = SimDock(load_scenario(obj), write, views=True)
    App(dock, sample_hz=obj.get("sample_hz")).run()
    return kept


def test_misalignment_onset_update_and_clear_on_the_simulated_dock():
    evs = _events(_scenario("scenarios/misalign.json", 47))
    kinds = [(e["kind"], e["t_ms"]) for e in evs]
    assert len(evs) == 3, kinds
    first, update, cleared = evs
    assert first["kind"] == "misalignment" and 20000 < first["t_ms"] <= 21000, kinds
    assert sorted(first["pins"]) == ["GND2", "VBUS2"] and first["side"] == "right"
    assert first["open"] == [] and min(first["r_mohm"]) > 300
    assert update["kind"] == "misalignment" and 35000 < update["t_ms"] <= 36000, kinds
    assert update["open"] == ["VBUS2"]
    assert cleared["kind"] == "cleared" and cleared["was"] == "misalignment"
    assert 45000 < cleared["t_ms"] <= 46200, kinds


def test_intermittent_raised_and_cleared_on_the_simulated_dock():
    evs = _events(_scenario("scenarios/intermittent.json", 38, until=26))
    kinds = [(e["kind"], e["pins"], e["t_ms"]) for e in evs]
    assert len(evs) == 2, kinds
    raised, cleared = evs
    assert raised["kind"] == "intermittent" and raised["pins"] == ["VBUS1"], kinds
    assert 20000 < raised["t_ms"] <= 25000 and raised["count"] >= 3, kinds
    assert cleared["kind"] == "cleared" and cleared["was"] == "intermittent", kinds
    # ~10 s after the last dropout, which comes shortly before 26 s.
    assert 33000 <= cleared["t_ms"] <= 37000, kinds


def test_sharing_judges_a_trickle_tilt_per_report_allocating_nothing():
    # Issue 10's watch: 140 mA, GND2 raised 90 mOhm, no resistance on it (35 mA).
    ctx = FakeCtx()
    align, _ = _detectors(ctx)
    g2 = ctx.index("GND2")
    ctx.docking.present = False  # the empty dock first: the monitors' zeros
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(5):
            ctx.do_report()
        empty = gc.mem_alloc() - before
    finally:
        gc.enable()
    ctx.docking.present = True
    _even(ctx, 1500000)  # a phone first: the baselines learnt (that allocates, once)
    for _ in range(10):
        for _ in range(40):
            ctx.step()
        ctx.do_report()
    _even(ctx, 140000, r_gnd2=R + 90000)
    assert ctx.s.r_uohm[g2] < 0 and 30000 < ctx.s.i_ua[g2] < 40000
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(SHARE_HOLD):  # the tilt counted, not announced yet
            for _ in range(40):
                ctx.step()
            ctx.do_report()
        counting = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert align.shared[g2] == 1 and not ctx.events
    for _ in range(40):
        ctx.step()
    ctx.do_report()  # held a second report: announced (the rare path allocates)
    assert [(k, p, f["by"]) for k, p, _, f in ctx.events] == [("misalignment", ["GND2"], "sharing")]
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(10):
            for _ in range(40):
                ctx.step()
            ctx.do_report()
        held = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert (empty, counting, held) == (0, 0, 0), (empty, counting, held)
    assert len(ctx.events) == 1
