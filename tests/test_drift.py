"""Oxidation detection (dockfw.drift): unit tests on session series, then the simulator."""

import json
import random

import pytest
import simrig
from dockfw import sessionstat
from dockfw.detect import FAULT, OK, WARN
from dockfw.drift import CAP, LEARN_MIN, Drift
from dockfw.store import MemoryStore
from docksim.dock import SimDock
from mp.fakectx import CLEAN, PINS
from mp.fakectx import SessionCtx as Ctx

DAY = 86400


def feed(d, ctx, values, t):
    """One docking session: each pin's statistic (µΩ, None: too few reports)."""
    for j, r in enumerate(values):
        if r is not None:
            d.session(ctx, j, int(r), t)
    d.save(ctx)


ONSET = LEARN_MIN  # the day drift starts in the series: the baseline is learned by then


def series(
    d, ctx, days, sigma_uohm=500, seed=1, rate=None, pin=1, first=0, start_t=79200, onset=ONSET
):
    """Daily sessions from day ``first``; ``rate`` µΩ/day on ``pin`` from day ``onset``.
    Returns the day (0-based session index) of the first oxidation event, or None."""
    rnd = random.Random(seed)
    base = [30000 + 2500 * j for j in range(4)]
    found = None
    for day in range(days):
        t = start_t + DAY * day
        vals = [base[j] + rnd.gauss(0, sigma_uohm) for j in range(4)]
        if day < first:
            continue
        if rate and t > onset * DAY:
            vals[pin] += rate * (t - onset * DAY) / DAY
        n = len(ctx.of("oxidation"))
        feed(d, ctx, vals, t)
        if found is None and len(ctx.of("oxidation")) > n:
            found = day
    return found


# -- the session statistic -------------------------------------------------------------
def test_median_in_place_matches_sorting():
    from array import array

    rnd = random.Random(3)
    for n in (1, 2, 3, 10, 11, 256):
        for _ in range(20):
            vals = [rnd.randint(-50, 50) for _ in range(n)]
            a = array("i", [7] * 5 + vals + [9] * 5)
            assert sessionstat.median_in_place(a, 5, n) == sorted(vals)[n // 2]
            assert sorted(a[5 : 5 + n]) == sorted(vals) and list(a[:5]) == [7] * 5


def test_a_long_session_decimates_evenly_into_the_buffer():
    st = sessionstat.SessionStats(2, CAP)
    for i in range(10000):  # 10000 reports of a ramp: every one offered
        st.add(1, i, i // 5)
    assert CAP // 2 <= st.count(1) <= CAP and st.count(0) == 0
    assert abs(st.median(1) - 5000) < 100  # spread over the whole session
    assert abs(st.mid_t(1) - 1000) < 20
    st.reset()
    assert st.count(1) == 0


# -- the change detector on session series -------------------------------------------
def test_a_2_5_mohm_per_day_drift_is_flagged_within_days_with_a_forecast():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    day = series(d, ctx, ONSET + 12, rate=2500)
    assert day is not None and ONSET + 1 <= day <= ONSET + 3
    _, pins, sev, f = ctx.of("oxidation")[0]
    assert pins == ["GND1"] and sev == "warn" and f["cause"] == "trend"
    assert f["drift_mohm_per_day"].value > 0  # Fixed, µΩ/day (the fit spans the onset)
    assert isinstance(f["days_to_clean"], int) and f["days_to_clean"] >= 1
    rise = f["r_mohm"].value - f["baseline_mohm"].value
    assert rise < 10000
    assert d.level(1) >= WARN and d.level(0) == OK
    faults = [e for e in ctx.of("oxidation") if e[2] == "fault"]
    assert faults and faults[0][3]["action"] == "clean now" and d.level(1) == FAULT
    assert all(e[1] == ["GND1"] for e in ctx.of("oxidation"))
    assert d.penalty(1) == 50 and d.penalty(0) == 0


@pytest.mark.parametrize("rate,typical,latest", [(500, 10, 14), (1000, 6, 8), (5000, 2, 2)])
def test_drift_rates_are_flagged_before_10_mohm(rate, typical, latest):
    """Days after the onset (one session a day here; tools/bench_drift.py has the
    field's two a day, 2 mOhm of scatter and the temperature cycle)."""
    days = []
    for seed in range(10):
        ctx = Ctx()
        d = Drift(ctx, CLEAN, CLEAN)
        day = series(d, ctx, ONSET + 30, seed=seed, rate=rate, pin=3)
        days.append(None if day is None else day - ONSET)
        assert ctx.of("oxidation")[0][1] == ["VBUS2"]
    assert None not in days and max(days) <= latest, days
    assert all(rate * (d + 0.2) < 10000 for d in days), days  # sessions at 22:00
    days.sort()
    assert days[5] <= typical, days


def test_quiet_pins_with_seating_scatter_stay_silent_for_two_months():
    for seed in range(20):
        ctx = Ctx()
        d = Drift(ctx, CLEAN, CLEAN)
        assert series(d, ctx, 60, sigma_uohm=500, seed=seed) is None, seed
        assert all(d.level(j) == OK for j in range(4))
        assert 0 <= d.baseline_uohm(0)
        # Seating scatter is not a trend: no drift rate (a rare 3-sigma slope stays small).
        slope = d.drift_uohm_per_day(0)
        assert slope is None or abs(slope) < 300, slope


def test_nothing_is_known_before_the_baseline():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    assert d.baseline_uohm(1) == -1 and d.drift_uohm_per_day(1) is None
    assert d.days_to_clean(1) is None and d.penalty(1) == 0
    for k in range(1, LEARN_MIN):
        feed(d, ctx, [30000, 31000, None, 32000], 1000 * k)
    assert d.baseline_uohm(1) == -1
    feed(d, ctx, [30000, 31000, None, 32000], 1000 * LEARN_MIN)
    assert d.baseline_uohm(1) == 31000 and d.baseline_uohm(2) == -1
    assert d.drift_uohm_per_day(1) == 0


def test_a_sudden_rise_trips_the_guards():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    for k in range(LEARN_MIN + 2):
        feed(d, ctx, [30000, 31000, 32000, 33000], 1000 * k)
    feed(d, ctx, [30000, 31000 + 12000, 32000, 33000], 16000)
    (ev,) = ctx.of("oxidation")
    assert ev[2] == "warn" and ev[3]["cause"] == "limit" and ev[1] == ["GND1"]
    feed(d, ctx, [30000, 31000 + 12500, 32000, 33000], 17000)
    assert len(ctx.of("oxidation")) == 1  # raised once
    feed(d, ctx, [30000, 31000, 32000 + 25000, 33000], 18000)
    ev = ctx.of("oxidation")[-1]
    assert ev[1] == ["GND2"] and ev[2] == "fault" and ev[3]["action"] == "clean now"
    assert d.level(2) == FAULT and d.penalty(2) == 50


def test_a_clean_is_detected_the_detector_rearms_and_catches_the_next_drift():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    assert series(d, ctx, ONSET + 12, rate=2500) is not None
    t = 79200 + (ONSET + 12) * DAY
    feed(d, ctx, [30000, 32500, 35000, 37500], t)  # wiped: back to the bare contact
    (ev,) = ctx.of("cleaned")
    assert ev[1] == ["GND1"] and ev[3]["by"] == "detected"
    assert d.level(1) == OK and d.drift_uohm_per_day(1) is None
    n = len(ctx.of("oxidation"))
    for k in range(1, 12):  # oxidising again, 2.5 mOhm/day from the clean
        feed(d, ctx, [30000, 32500 + 2500 * k, 35000, 37500], t + k * DAY)
    assert abs(d.baseline_uohm(1) - 35000) < 3000  # learned afresh
    again = ctx.of("oxidation")[n:]
    assert again and again[0][1] == ["GND1"] and again[0][2] == "warn"
    assert len(ctx.of("cleaned")) == 1


def test_a_noisy_low_session_under_a_slow_drift_is_not_a_clean():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    series(d, ctx, ONSET + 15, rate=1000, sigma_uohm=0)
    assert d.level(1) == WARN
    feed(d, ctx, [30000, 32500 + 15000 - 1500, 35000, 37500], 79200 + (ONSET + 15) * DAY)
    assert not ctx.of("cleaned") and d.level(1) >= WARN


def test_cleaned_by_the_host_is_verified_at_the_next_session():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    series(d, ctx, ONSET + 6, rate=2500)
    assert d.level(1) == WARN
    writes = ctx.store.writes
    d.cleaned_by_user(ctx, [1])
    assert d.level(1) == OK and ctx.store.writes == writes + 1
    # not really cleaned: the next session raises it again
    feed(d, ctx, [30000, 32500 + 17000, 35000, 37500], 79200 + (ONSET + 6) * DAY)
    assert not ctx.of("cleaned") and d.level(1) == WARN
    d.cleaned_by_user(ctx, [1])
    feed(d, ctx, [30000, 32500, 35000, 37500], 79200 + (ONSET + 7) * DAY)
    (ev,) = ctx.of("cleaned")
    assert ev[1] == ["GND1"] and ev[3]["by"] == "host" and d.level(1) == OK


def test_clear_rearms_and_a_contact_still_high_raises_again():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    series(d, ctx, ONSET + 6, rate=2500)
    n = len(ctx.of("oxidation"))
    d.clear(ctx)
    assert d.level(1) == OK
    feed(d, ctx, [30000, 32500 + 18000, 35000, 37500], 79200 + (ONSET + 6) * DAY)
    assert len(ctx.of("oxidation")) == n + 1 and d.level(1) == WARN


def test_state_survives_a_reboot_and_detection_is_unchanged():
    ref_ctx = Ctx()
    ref = series(Drift(ref_ctx, CLEAN, CLEAN), ref_ctx, ONSET + 12, rate=1000)
    store = MemoryStore()
    ctx = Ctx(store)
    assert series(Drift(ctx, CLEAN, CLEAN), ctx, ONSET + 1, rate=1000) is None
    ctx2 = Ctx(store)  # reboot: a new detector on the same store
    d2 = Drift(ctx2, CLEAN, CLEAN)
    assert d2.baseline_uohm(1) > 0 and d2.history_n[1] == ONSET + 1
    assert series(d2, ctx2, ONSET + 12, rate=1000, first=ONSET + 1) == ref
    got = ctx2.of("oxidation")[0][3]
    want = ref_ctx.of("oxidation")[0][3]
    assert got["r_mohm"].value == want["r_mohm"].value
    assert got["baseline_mohm"].value == want["baseline_mohm"].value
    assert got["drift_mohm_per_day"].value == want["drift_mohm_per_day"].value


def test_a_damaged_store_is_set_aside_and_learning_starts_afresh():
    store = MemoryStore()
    ctx = Ctx(store)
    series(Drift(ctx, CLEAN, CLEAN), ctx, LEARN_MIN + 1, rate=1000)
    good = json.loads(store.data["drift"])
    pin = dict(good["pins"]["GND1"])
    bad_pins = [
        {"t_s": pin["t_s"] + [1]},  # one more time than statistics
        {"learn_sessions": 99},
        {"alarm": 3},
        {"baseline_uohm": 2.5},
        {"verify": 1},
        {"r_uohm": [-5] * len(pin["t_s"])},
    ]
    variants = [{**good, "pool_sq_mohm2": "x"}, {**good, "pins": 5}, {**good, "version": 2}]
    variants += [{**good, "pins": {"GND1": {**pin, **change}}} for change in bad_pins]
    for bad in variants:
        store = MemoryStore({"drift": bad})
        d = Drift(Ctx(store), CLEAN, CLEAN)
        assert d.baseline_uohm(1) == -1 and d.level(1) == OK, bad
        ((name, _reason, action),) = store.take_problems()
        assert name == "drift" and "drift.bad" in action and "drift" not in store.data
    d = Drift(Ctx(MemoryStore({"drift": good})), CLEAN, CLEAN)
    assert d.baseline_uohm(1) == good["pins"]["GND1"]["baseline_uohm"] > 0


def test_state_saved_before_this_method_loads_and_keeps_detecting():
    """The release before (baseline from 3 sessions, up to 16, a 64-term sigma pool)
    saved the same fields: its state loads, its baseline and history are used."""
    t = [79200 + DAY * k for k in range(16)]
    pin = {
        "baseline_uohm": 32500,
        "learn_sum_uohm": 32500 * 16,
        "learn_sessions": 16,
        "cusum_pct": 250,
        "alarm": OK,
        "verify": False,
        "t_s": t,
        "r_uohm": [32500 + (300 if k % 2 else -300) for k in range(16)],
    }
    old = {"version": 1, "pool_sq_mohm2": 64 * 6 * 0.25, "pool_terms": 64}
    old["pins"] = {name: dict(pin) for name in PINS}
    store = MemoryStore({"drift": old})
    ctx = Ctx(store)
    d = Drift(ctx, CLEAN, CLEAN)
    assert not store.take_problems()
    assert d.baseline_uohm(1) == 32500 and d.history_n[1] == 16 and d.sigma() == 1000
    for k in range(16, 22):  # +3 mOhm a session on GND1 from here
        feed(d, ctx, [32500, 32500 + 3000 * (k - 15), 32500, 32500], 79200 + DAY * k)
    ox = ctx.of("oxidation")
    assert ox and {tuple(e[1]) for e in ox} == {("GND1",)}
    assert ox[0][3]["r_mohm"].value - 32500 < 10000


# -- the per-report path ----------------------------------------------------------------
class _Report:
    def __init__(self):
        self.r = [-1] * 4

    def r_uohm(self, j):
        return self.r[j]


class _Flags:
    def __init__(self):
        self.on = [False] * 4

    def misaligned(self, j):
        return self.on[j]

    active = misaligned


class _Docking:
    present = True

    def settled(self):
        return self.present


class _Clock:
    def ticks_ms(self):
        return 0


class ReportCtx(Ctx):
    def __init__(self):
        super().__init__()
        self.report = _Report()
        self.alignment = _Flags()
        self.intermittent = _Flags()
        self.docking = _Docking()
        self.clock = _Clock()
        self.temp = None
        self.t = 0

    def temp_mc(self):
        return self.temp

    def t_s(self):
        return self.t


def test_reports_skip_misaligned_dropouts_and_unknown_and_correct_to_25_c():
    ctx = ReportCtx()
    d = Drift(ctx, CLEAN, CLEAN)
    for session in range(LEARN_MIN):
        d.docked(ctx)
        for k in range(100):
            ctx.t = session * 1000 + k
            ctx.temp = 35000 if k % 2 else 15000  # +-10 °C: +-3.9 %
            f = 1 + 0.0039 * (ctx.temp / 1000 - 25)
            ctx.report.r = [int(30000 * f), int(31000 * f), -1, int(33000 * f)]
            ctx.alignment.on = [False, k % 3 == 0, False, False]
            ctx.intermittent.on = [False, False, False, k % 3 == 1]
            if k % 3 == 0:
                ctx.report.r[1] = 500000  # what a tilted pin reads: skipped
            if k % 3 == 1:
                ctx.report.r[3] = 900000
            d.report(ctx)
        d.undocked(ctx)
    for j, want in ((0, 30000), (1, 31000), (3, 33000)):
        assert abs(d.baseline_uohm(j) - want) <= 60, (j, d.baseline_uohm(j))
    assert d.baseline_uohm(2) == -1
    assert abs(d.history_r[16] - 31000) <= 60 and d.history_t[16 * 3] == 99 // 2  # pin 3, session 0
    ctx.docking.present = False
    d.docked(ctx)
    d.report(ctx)
    assert d.stats.count(0) == 0
    assert not ctx.of("oxidation")


def test_a_session_with_too_few_reports_is_ignored():
    ctx = ReportCtx()
    d = Drift(ctx, CLEAN, CLEAN)
    d.docked(ctx)
    ctx.report.r = [30000] * 4
    for _ in range(5):
        d.report(ctx)
    d.undocked(ctx)
    assert all(d.history_n[j] == 0 for j in range(4)) and ctx.store.writes == 1


# -- the simulator ------------------------------------------------------------------------
def daily(
    days,
    seed=11,
    rate=None,
    pin="GND1",
    session_s=600,
    seating=None,
    clean_day=None,
    temps=(),
    ox_day=0,
):
    """A scenario: one docking a day at 22:00, 1.2 A, sampled at 1 Hz; oxidation from
    ``ox_day``."""
    load = [[0, 0]]
    events = []
    for d in range(days):
        t = d * DAY + 79200
        load += [[t, 1200], [t + session_s, 0]]
        events += [{"t": t, "type": "dock"}, {"t": t + session_s, "type": "undock"}]
        if temps:
            events.append({"t": t - 3600, "type": "heat", "temp_c": temps[d % len(temps)]})
    if rate:
        events.append({"t": ox_day * DAY, "type": "oxidation", "pin": pin, "mohm_per_day": rate})
    if clean_day is not None:
        events.append({"t": clean_day * DAY, "type": "clean"})
    obj = {
        "board": "pico-dock-4",
        "seed": seed,
        "duration_s": days * DAY,
        "sample_hz": 1,
        "idle_hz": 0.01,
        "load": load,
        "events": events,
    }
    if seating is not None:
        obj["seating_sigma_mohm"] = seating
    return obj


def _events(run, kind):
    return [e for e in run.of_type("event") if e["kind"] == kind]


def _session_mohm(run, pin, k):
    """The true contact resistance in the middle of docking session ``k``."""
    a, b = run.dock.circuit.dock_sessions()[k]
    return run.dock.circuit.contact_mohm(pin, (a + b) // 2)


def _rise_at(run, pin, t_ms):
    """How far the contact had risen since the first session, in the session just
    ended at ``t_ms`` (an event at an undock), mOhm."""
    ended = [k for k, (a, b) in enumerate(run.dock.circuit.dock_sessions()) if b <= t_ms * 1000]
    return _session_mohm(run, pin, ended[-1]) - _session_mohm(run, pin, 0)


def _check_flagged_early(run, pin, rate, max_rise=10):
    ox = _events(run, "oxidation")
    assert ox and {tuple(e["pins"]) for e in ox} == {(pin,)}, ox
    warn = ox[0]
    assert warn["severity"] == "warn"
    rise = _rise_at(run, pin, warn["t_ms"])
    assert rise < max_rise, rise
    # the fit spans the sessions before the onset too: at a fast drift the first alarm
    # can come before its slope stands out of the scatter; the later events and the
    # health lines carry it once it does (until a cleaning restarts the fit)
    cleaned = [e["t_ms"] for e in _events(run, "cleaned")] + [float("inf")]
    healths = [h for h in run.of_type("health") if warn["t_ms"] <= h["t_ms"] < cleaned[0]]
    rates = [e["drift_mohm_per_day"] for e in ox] + [
        h["pins"][pin]["drift_mohm_per_day"] for h in healths
    ]
    rates = [d for d in rates if d is not None]
    assert rates and all(0.3 * rate < d < 1.35 * rate + 0.3 for d in rates), rates
    return warn


@pytest.fixture(scope="module")
def ox60():
    return simrig.run("oxidation-60d")


@pytest.mark.long
@pytest.mark.xdist_group("ox60")
def test_oxidation_60d_flags_gnd1_early_and_no_other_pin(ox60):
    # drift from the first docking: the baseline is learned over it, so the rise since
    # the first session is larger than above the learned baseline (7.5 mOhm in
    # tools/bench_detect.py, whose goal that is)
    warn = _check_flagged_early(ox60, "GND1", 2.5, max_rise=12.5)
    assert warn["t_ms"] < 5 * DAY * 1000
    assert isinstance(warn["days_to_clean"], int)
    assert any(e["severity"] == "fault" for e in _events(ox60, "oxidation"))


@pytest.mark.long
@pytest.mark.xdist_group("ox60")
def test_oxidation_60d_cleaned_after_day_50(ox60):
    (ev,) = _events(ox60, "cleaned")
    assert ev["pins"] == ["GND1"] and 50 * DAY * 1000 < ev["t_ms"] < 52 * DAY * 1000
    last = ox60.of_type("health")[-1]["pins"]["GND1"]
    bare = ox60.dock.scenario.pins["GND1"]["r_mohm"]
    assert last["state"] == "ok" and abs(last["r_baseline_mohm"] - bare) < 1.0  # learned afresh


@pytest.mark.long
@pytest.mark.xdist_group("ox60")
def test_oxidation_60d_health_carries_baseline_and_drift(ox60):
    # after the warn (day 5), before +20 mOhm (a fault) at the field's seating scatter
    mid = [h for h in ox60.of_type("health") if 6 * DAY * 1000 < h["t_ms"] < 7 * DAY * 1000]
    p = mid[-1]["pins"]["GND1"]
    assert p["r_baseline_mohm"] is not None and 1.5 < p["drift_mohm_per_day"] < 3.5
    assert p["state"] == "warn" and p["days_to_clean"] is not None


def test_demo_warns_gnd1_with_a_drift_before_the_clean_and_sees_the_clean():
    run = simrig.run("demo")
    ox = _events(run, "oxidation")
    assert ox and all(e["pins"] == ["GND1"] for e in ox)
    assert ox[0]["severity"] == "warn" and ox[0]["t_ms"] < 155000
    assert ox[0]["drift_mohm_per_day"] > 5000
    (ev,) = _events(run, "cleaned")
    assert ev["pins"] == ["GND1"] and ev["t_ms"] >= 200000


@pytest.mark.long
@pytest.mark.parametrize(
    "rate,pin,seed", [(1.0, "GND1", 21), (2.5, "VBUS2", 22), (5.0, "VBUS1", 23)]
)
def test_sim_drift_rates_on_several_pins(rate, pin, seed):
    # the field's defaults (2 mOhm of seating scatter, the daily temperature cycle);
    # oxidation from day 3, after the three sessions the detector arms on
    run = simrig.run(daily(18, seed=seed, rate=rate, pin=pin, ox_day=3))
    _check_flagged_early(run, pin, rate)


@pytest.mark.long
def test_sim_quiet_three_weeks_with_seating_scatter_and_temperature_swings():
    run = simrig.run(daily(21, seed=31, seating=0.8, temps=(15, 35, 25)))
    assert not _events(run, "oxidation")
    assert all(e["severity"] == "info" for e in run.of_type("event"))
    # corrected to 25 °C, the +-4 % swings do not read as seating scatter (1.7 mOhm without)
    assert run.app.drift.sigma() < 1300
    for j, p in enumerate(PINS):
        bare = run.dock.scenario.pins[p]["r_mohm"]  # at 25 °C
        assert abs(run.app.drift.baseline_uohm(j) / 1000 - bare) < 1.0


@pytest.mark.long
def test_sim_clean_after_oxidation_is_seen():
    run = simrig.run(daily(12, seed=41, rate=3.0, clean_day=9, ox_day=3))
    _check_flagged_early(run, "GND1", 3.0)
    (ev,) = _events(run, "cleaned")
    assert 9 * DAY * 1000 < ev["t_ms"] < 10 * DAY * 1000


class _RebootAt:
    """Host input: a ``reboot`` command once simulated time passes ``t_s``."""

    def __init__(self, t_s):
        self.t_us = t_s * 1000000
        self.clock = None
        self.sent = False

    def pending(self):
        return not self.sent and self.clock is not None and self.clock.now_us >= self.t_us

    def read_line(self):
        if self.pending():
            self.sent = True
            return b'{"cmd":"reboot","id":1}'
        return None


@pytest.mark.long
def test_sim_reboot_mid_series_keeps_the_baseline_and_the_detection():
    obj = daily(14, seed=51, rate=1.5, ox_day=3)
    ref = simrig.run(obj)
    scn = simrig.load_scenario(obj)
    raw = []
    inbox = _RebootAt(2 * DAY + 79200 + 700)  # just after the third session
    dock = SimDock(scn, raw.append, inbox)
    inbox.clock = dock.clock
    app = dock.run_firmware(sample_hz=scn.sample_hz, idle_hz=scn.idle_hz)
    assert dock.boots == 1 and inbox.sent
    lines = [simrig.protocol.decode(x) for x in b"".join(raw).splitlines()]
    ox = [e for e in lines if e["type"] == "event" and e["kind"] == "oxidation"]
    ref_ox = _events(ref, "oxidation")
    assert ox and ox[0]["pins"] == ["GND1"]
    # the same session or the next: after the reboot the reports fall at other instants,
    # and a CUSUM near its limit may cross it one session apart
    lag = abs(ox[0]["t_ms"] + 2 * DAY * 1000 + 79200700 - ref_ox[0]["t_ms"])
    assert lag < (DAY + 3600) * 1000, lag
    # the sessions after the reboot are sampled at other instants: the same within noise
    assert abs(app.drift.baseline_uohm(1) - ref.app.drift.baseline_uohm(1)) < 100
