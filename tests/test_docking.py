"""Docking (firmware/dockfw/docking.py): arrivals and departures with their session
numbers, the debounce that keeps a chattering contact from being a departure, mating
cycles per docking kept in the store, and the idle sampling rate between sessions."""

import pytest
from dockfw import docking as dk
from simrig import counted_cycles, run, stored_cycles
from support.protectrig import go

PERIOD_MS = 5  # 200 Hz docked
IDLE_MS = 200  # 5 Hz undocked
PINS = ("VBUS1", "GND1", "GND2", "VBUS2")
DOCKS = (2, 9, 15)
UNDOCKS = (6, 12)


def docking_events(r):
    return [e for e in r.of_type("event") if e["kind"] in ("docked", "undocked")]


def story(dock_at, undock_at, duration, load=None, **extra):
    events = [{"t": t, "type": "dock"} for t in dock_at]
    events += [{"t": t, "type": "undock"} for t in undock_at]
    obj = {
        "board": "pico-dock-4",
        "seed": 11,
        "duration_s": duration,
        "sample_hz": 200,
        "load": load or [[0, 0], [2, 1500]],
        "events": events,
    }
    obj.update(extra)
    return obj


@pytest.fixture(scope="module")
def sessions():
    """Three sessions; VBUS1 comes with 7990 cycles from an earlier life."""
    return run(story(DOCKS, UNDOCKS, 18, pins={"VBUS1": {"cycles": 7990}}))


def test_docked_and_undocked_with_session_numbers(sessions):
    evs = docking_events(sessions)
    assert [(e["kind"], e["session"]) for e in evs] == [
        ("docked", 1),
        ("undocked", 1),
        ("docked", 2),
        ("undocked", 2),
        ("docked", 3),
    ], evs
    assert all(e["severity"] == "info" and e["pins"] == [] for e in evs)
    for e, t in zip(evs[0::2], DOCKS, strict=True):
        # Seen at the next idle cycle, then ARRIVE_MS of presence at the docked rate.
        lo = t * 1000 + dk.ARRIVE_MS
        assert lo <= e["t_ms"] <= lo + IDLE_MS + 4 * PERIOD_MS, (e, t)
    for e, t in zip(evs[1::2], UNDOCKS, strict=True):
        lo = t * 1000 + dk.LEAVE_MS
        assert lo <= e["t_ms"] <= lo + 4 * PERIOD_MS, (e, t)
    for on, off in zip(evs[0::2], evs[1::2], strict=False):
        assert abs(off["duration_s"] - (off["t_ms"] - on["t_ms"]) / 1000) <= 1, (on, off)


def test_health_and_samples_follow_the_sessions(sessions):
    evs = docking_events(sessions)
    c = sessions.dock.circuit
    for h in sessions.of_type("health"):
        before = [e for e in evs if e["t_ms"] <= h["t_ms"]]
        assert h["session"] == sum(e["kind"] == "docked" for e in before), h
        assert h["docked"] == (bool(before) and before[-1]["kind"] == "docked"), h
    # Outside the debounce windows, a sample's docked flag is the simulator's truth.
    for s in sessions.of_type("sample"):
        t = s["t_ms"]
        if any(-50 < t - x * 1000 < dk.LEAVE_MS + IDLE_MS for x in DOCKS + UNDOCKS):
            continue
        assert s["docked"] == c.docked(t * 1000), s


def test_mating_cycles_counted_per_docking_and_persisted(sessions):
    # Counted as each device lands; saved as it leaves (a flash write stalls sampling,
    # so none is made as a device lands): the third session is still docked at the end.
    end = sessions.dock.end_us
    counted = {p: sessions.dock.circuit.mating_cycles(p, end) for p in PINS}
    assert counted == {"VBUS1": 7993, "GND1": 3, "GND2": 3, "VBUS2": 3}, counted
    assert list(sessions.app.docking.cycles) == [counted[p] for p in PINS]
    stored = stored_cycles(sessions.dock.store)
    assert stored == {p: n - 1 for p, n in counted.items()}, stored
    saves = [e for e in sessions.of_type("event") if e["kind"] == "state_saved"]
    assert [e["why"] for e in saves] == ["undocked", "undocked"], saves
    # The health lines count along: 7990 before the first docking, +1 per docking.
    evs = docking_events(sessions)
    for h in sessions.of_type("health"):
        n = sum(e["kind"] == "docked" and e["t_ms"] <= h["t_ms"] for e in evs)
        assert h["pins"]["VBUS1"]["cycles"] == 7990 + n and h["pins"]["GND2"]["cycles"] == n


def test_idle_sampling_between_sessions(sessions):
    hello = sessions.of_type("hello")[0]
    assert hello["sample_hz"] == 200 and hello["idle_hz"] == 5 and hello["report_hz"] == 5
    evs = docking_events(sessions)
    undocked = [(evs[0]["t_ms"] - 2_000, 0)] + [
        (e["t_ms"] + 2 * IDLE_MS + 10, 1) for e in evs if e["kind"] == "undocked"
    ]
    idle = []
    busy = []
    for s in sessions.of_type("sample"):
        t = s["t_ms"]
        if any(a <= t < d * 1000 for (a, _), d in zip(undocked, DOCKS, strict=True)):
            idle.append(s["cycles"])
        elif s["docked"] and not any(0 <= t - x * 1000 < 500 for x in DOCKS + UNDOCKS):
            busy.append(s["cycles"])
    assert len(idle) > 15 and max(idle) <= 2, idle
    assert len(busy) > 30 and all(36 <= n <= 41 for n in busy), busy
    # Over the whole run: 200 Hz while docked (and LEAVE_MS after each departure, until
    # it counts), 5 Hz the rest of the time. An arrival is seen at the first idle cycle
    # after it: up to one idle period later, as the cycles' phase falls.
    fast_s = sum(off - on for on, off in zip(DOCKS, (*UNDOCKS, 18), strict=True))
    fast_s += len(UNDOCKS) * dk.LEAVE_MS / 1000
    expected = fast_s * 200 + (18 - fast_s) * 5
    late = len(DOCKS) * IDLE_MS / 1000 * (200 - 5)
    cycles = sessions.app.sampler.cycles
    assert expected - late - 0.03 * expected < cycles < expected + 0.03 * expected


# -- debounce --------------------------------------------------------------------------------


def test_an_intermittent_contact_never_undocks():
    r = run("intermittent")
    assert [(e["kind"], e["session"]) for e in docking_events(r)] == [("docked", 1)]
    assert any(e["kind"] == "intermittent" for e in r.of_type("event"))
    assert counted_cycles(r.app) == {p: 1 for p in PINS}
    assert all(h["session"] == 1 for h in r.of_type("health") if h["t_ms"] > 6_000)


@pytest.mark.parametrize("load_ma", [1500, 0])
def test_long_dropouts_under_a_device_never_undock(load_ma):
    # Dropouts of up to 250 ms, two a second, on a supply and a ground pin.
    events = [
        {"t": 2, "type": "dock"},
        {"t": 3, "type": "intermittent", "pin": "VBUS2", "rate_hz": 2, "dropout_ms": 250},
        {"t": 3, "type": "intermittent", "pin": "GND1", "rate_hz": 2, "dropout_ms": 120},
    ]
    obj = story((), (), 14, load=[[0, 0], [2, load_ma]] if load_ma else [[0, 0]])
    obj["events"] = events
    r = run(obj)
    assert len(r.dock.circuit.dropouts("VBUS2", 0, r.dock.end_us)) > 10
    assert [e["kind"] for e in docking_events(r)] == ["docked"]
    assert counted_cycles(r.app) == {p: 1 for p in PINS}


@pytest.mark.parametrize(
    "gap_s, load_ma, departs",
    [(0.1, 1500, False), (0.25, 1500, False), (0.1, 0, False), (0.6, 1500, True), (0.6, 0, True)],
)
def test_a_lift_shorter_than_leave_ms_is_not_a_departure(gap_s, load_ma, departs):
    load = [[0, 0], [2, load_ma]] if load_ma else [[0, 0]]
    r = run(story((2, 5 + gap_s), (5,), 8, load=load))
    got = [(e["kind"], e["session"]) for e in docking_events(r)]
    if departs:
        assert got == [("docked", 1), ("undocked", 1), ("docked", 2)], got
        assert counted_cycles(r.app) == {p: 2 for p in PINS}
    else:
        assert got == [("docked", 1)], got
        assert counted_cycles(r.app) == {p: 1 for p in PINS}
    assert gap_s * 1000 < dk.LEAVE_MS or departs


def test_a_failing_sense_monitor_is_not_a_departure():
    obj = story((2,), (), 11, load=[[0, 0]])
    obj["events"].append({"t": 5, "type": "sensor_fault", "pin": "SENSE_V", "mode": "nak"})
    obj["events"][-1]["until"] = 8
    r = run(obj)
    assert [e["kind"] for e in docking_events(r)] == ["docked"]
    assert counted_cycles(r.app) == {p: 1 for p in PINS}


# -- mating cycles from an earlier life ------------------------------------------------------


def test_seeded_cycles_reach_the_wear_warning():
    # VBUS1 at 7990 of its 10000 rated cycles: ten dockings bring it to 80 %.
    docks = [1 + 2 * k for k in range(10)]
    r = run(story(docks, [d + 1 for d in docks], 21, pins={"VBUS1": {"cycles": 7990}}))
    evs = docking_events(r)
    assert [e["session"] for e in evs if e["kind"] == "docked"] == list(range(1, 11))
    assert counted_cycles(r.app) == {"VBUS1": 8000, "GND1": 10, "GND2": 10, "VBUS2": 10}
    wear = [e for e in r.of_type("event") if e["kind"] == "wear"]
    assert len(wear) == 1, wear
    (w,) = wear
    assert w["pins"] == ["VBUS1"] and w["severity"] == "warn"
    assert (w["cycles"], w["rated_cycles"], w["used_pct"]) == (8000, 10000, 80)
    tenth = [e for e in evs if e["kind"] == "docked"][-1]
    assert tenth["t_ms"] == w["t_ms"] and tenth["seq"] < w["seq"]


def test_cycles_survive_a_reboot_and_sessions_restart():
    obj = story((2, 9), (5,), 11, pins={"VBUS1": {"cycles": 7990}})
    r = go(obj, [(7, {"cmd": "reboot", "id": 1})])
    hellos = r.of_type("hello")
    assert [h["reset_cause"] for h in hellos] == ["power_on", "reboot"]
    assert len({x["boot"] for x in r.lines}) == 2
    second = [e for e in docking_events(r) if e["boot"] == hellos[1]["boot"]]
    assert [(e["kind"], e["session"]) for e in second] == [("docked", 1)]
    assert counted_cycles(r.app) == {"VBUS1": 7992, "GND1": 2, "GND2": 2, "VBUS2": 2}
    assert r.of_type("health")[-1]["pins"]["VBUS1"]["cycles"] == 7992


def test_a_restart_with_the_device_on_the_dock_resumes_its_session_without_a_mating():
    from support.cmdrig import cmd, run_with

    r = run_with([cmd(8, cmd="reboot", id=1)], duration_s=12)
    docked = [x for x in r.lines if x["type"] == "event" and x["kind"] == "docked"]
    assert [d["resumed"] for d in docked] == [False, True]
    assert len({d["boot"] for d in docked}) == 2
    assert stored_cycles(r.dock.store) == {"VBUS1": 1, "GND1": 1, "GND2": 1, "VBUS2": 1}


# -- across power cuts: the state file says whether a device was docked ----------------------


def _boot_on(present, dock_at, duration=6):
    """A dock powering up on a flash whose docking state says ``present``, 100 cycles."""
    from simrig import Run, load_scenario

    obj = story(dock_at, (), duration, load=[[0, 1500]])
    state = {"version": 1, "present": present, "cycles": {p: 100 for p in PINS}}
    return Run(load_scenario(obj), store_files={dk.STATE: state})


@pytest.mark.parametrize(
    "present, dock_at, resumed, counted",
    [
        (True, (0,), True, 100),  # the same device, still there after the cut: no mating
        (True, (3,), False, 101),  # the dock was found empty: the next device is a mating
        (False, (0,), False, 101),  # docked during the cut
        (False, (3,), False, 101),
    ],
)
def test_mating_cycles_are_exact_across_a_power_cut(present, dock_at, resumed, counted):
    r = _boot_on(present, dock_at)
    (docked,) = [e for e in r.of_type("event") if e["kind"] == "docked"]
    assert docked["resumed"] is resumed
    assert counted_cycles(r.app) == {p: counted for p in PINS}


def test_a_docked_device_is_saved_a_minute_after_it_lands_then_hourly():
    # A power cut from then on finds it counted and resumes its session.
    from dockfw import app as app_mod

    r = _boot_on(False, (2,), duration=app_mod.SAVE_AFTER_ARRIVAL_S + 8)
    (docked,) = [e for e in r.of_type("event") if e["kind"] == "docked"]
    (saved,) = [e for e in r.of_type("event") if e["kind"] == "state_saved"]
    assert saved["why"] == "docked" and saved["stall_ms"] >= 0
    after_ms = saved["t_ms"] - docked["t_ms"]
    assert abs(after_ms - app_mod.SAVE_AFTER_ARRIVAL_S * 1000) <= 1000, after_ms  # whole seconds
    state = r.dock.store.load(dk.STATE, dk.STATE_VERSION)
    assert state["present"] is True and state["cycles"] == {p: 101 for p in PINS}


def test_an_empty_dock_at_boot_forgets_the_device_before_the_next_cut():
    # The state said docked; the dock is found empty: the file must say so at once, or a
    # second cut before the next docking would make that docking a "resume".
    # The save is the loop's, announced like any (a cycle may run from the timer
    # interrupt, where a save could neither allocate nor stall the chip unseen).
    saves = []
    orig = dk.Docking.save

    def save(self, present):
        saves.append(self.ctx.interruptible)
        orig(self, present)

    dk.Docking.save = save
    try:
        r = _boot_on(True, (), duration=2)
    finally:
        dk.Docking.save = orig
    assert not [e for e in r.of_type("event") if e["kind"] == "docked"]
    state = r.dock.store.load(dk.STATE, dk.STATE_VERSION)
    assert state["present"] is False and state["cycles"] == {p: 100 for p in PINS}
    assert saves == [False]
    (saved,) = [e for e in r.of_type("event") if e["kind"] == "state_saved"]
    assert saved["why"] == "undocked" and saved["stall_ms"] >= 0


class _Clock:
    """ticks_ms wrapping at 2**30, advanced by hand."""

    def __init__(self):
        self.ms = (1 << 30) - 5000  # near the wrap, to cross it too

    def ticks_ms(self):
        return self.ms & ((1 << 30) - 1)

    def ticks_diff(self, a, b):
        return ((a - b + (1 << 29)) & ((1 << 30) - 1)) - (1 << 29)


class _Sampler:
    docked = True
    presence_known = True


class _Ctx:
    def __init__(self, clock):
        from dockfw.board import load
        from dockfw.store import MemoryStore
        from simrig import ROOT

        self.clock = clock
        self.board = load(str(ROOT / "boards" / "pico-dock-4.json"))
        self.store = MemoryStore()
        self.charging = True


def test_settled_holds_however_long_the_device_stays():
    # 2**29 ms is where a ticks_diff against the arrival's stamp would turn negative.
    clock = _Clock()
    d = dk.Docking(_Ctx(clock))
    s = _Sampler()
    step_ms = 1000
    for _ in range(3):
        d.cycle(s, clock.ticks_ms())
        clock.ms += 20
    for _ in range(20):
        d.cycle(s, clock.ticks_ms())
        clock.ms += 20
    assert d.present and d.changed == 1 and d.settled()
    for _ in range((1 << 30) // step_ms + 10):  # a whole ticks period and more, docked
        clock.ms += step_ms
        d.cycle(s, clock.ticks_ms())
        assert d.settled()
    s.docked = False  # and the departure is still seen after all that time
    for _ in range(20):
        clock.ms += 20
        d.cycle(s, clock.ticks_ms())
    assert not d.present and d.changed == -1
