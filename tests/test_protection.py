"""Protection (firmware/dockfw/protection.py): overcurrent (total and per pin), retry and
latch, dock temperature with hysteresis, contact heat, failing monitors. The whole
firmware on the simulated dock; the charge switch is checked against the simulator's
truth (what the SimDock was told, and the current the circuit let through)."""

import json

import pytest
from dockfw import protection as pr
from dockfw import protocol
from dockfw.app import CHECK_MS
from dockfw.health import BLIND_SCORE_CAP
from docksim.dock import COMMAND_COST_US, SimDock
from simrig import ROOT, load_scenario
from support.protectrig import (
    PERIOD_MS,
    PROT,
    flowing,
    go,
    kinds,
    on_since_boot,
    prot,
    samples,
    scn,
    switch_follows_events,
)

REPORT_MS = 200  # 5 Hz
ADDR = {"VBUS1": 0x40, "GND1": 0x41, "GND2": 0x42, "VBUS2": 0x43, "SENSE_V": 0x44}
SERVES = {
    "VBUS1": ["VBUS1"],
    "GND1": ["GND1"],
    "GND2": ["GND2"],
    "VBUS2": ["VBUS2"],
    "SENSE_V": ["VBUS1", "VBUS2"],
}
PINS = ("VBUS1", "GND1", "GND2", "VBUS2")


@pytest.fixture(scope="module")
def persistent():
    """4 A from 5 s to 22 s: trips at 5, 10, 15 (latched), host tries charge at 20, clears
    at 24 once the overload has gone."""
    cmds = [(20, {"cmd": "charge", "on": True, "id": 1}), (24, {"cmd": "clear", "id": 2})]
    return go(scn([{"t": 5, "type": "overload", "ma": 4000, "until": 22}], duration=27), cmds)


def test_overload_cuts_charging_within_two_sampling_periods(persistent):
    r = persistent
    evs = prot(r)
    trip, off = evs[0], evs[1]
    assert trip["kind"] == "overcurrent" and trip["severity"] == "fault"
    assert trip["pins"] == []  # 2 A per pin: only the total is over
    assert trip["total_ma"] > 3000 and trip["max_total_ma"] == 3000 and trip["latched"] is False
    assert 5_000 <= trip["t_ms"] <= 5_000 + 2 * PERIOD_MS, trip
    assert off["kind"] == "charge_off" and off["reason"] == "overcurrent"
    assert off["severity"] == "fault" and off["t_ms"] == trip["t_ms"]
    # The switch really opened: no current flows 2 periods after onset.
    t_off = switch_follows_events(r)[0]
    assert r.switch[1] == (t_off, False) and t_off <= 5_000 + 2 * PERIOD_MS, r.switch
    assert flowing(r, 4_990) > 1400 and flowing(r, 5_000 + 2 * PERIOD_MS) == 0
    # The health line during the trip: every pin faulted (the total was over).
    h = next(h for h in r.of_type("health") if h["t_ms"] > trip["t_ms"])
    assert h["charging"] is False and h["state"] == "fault"
    assert {p["state"] for p in h["pins"].values()} == {"fault"}


def _cut_ms(onset_s, ma, seed, load_ma=1500):
    """One overload of ``ma`` at ``onset_s``: (ms to the switch opening, whether the
    half read's guard made the cut)."""
    by_guard = []
    orig = pr.Protection.guard

    def guard(self, s, now):
        was = self.tripped
        orig(self, s, now)
        if self.tripped and not was:
            by_guard.append(now)

    pr.Protection.guard = guard
    try:
        ev = {"t": onset_s, "type": "overload", "ma": ma, "until": onset_s + 0.5}
        r = go(scn([ev], load=[[0, 0], [2, load_ma]], duration=int(onset_s) + 1, seed=seed))
    finally:
        pr.Protection.guard = orig
    off = [t for t, on in r.switch if not on]
    assert off, r.switch
    return off[0] - onset_s * 1000, bool(by_guard)


def test_overloads_at_every_phase_cut_within_two_periods():
    # The overload starts anywhere in a cycle: the supply pins' half reads see it
    # within half a period of a window that holds enough of it. (The simulator charges
    # no CPU time: tier C measures the cut on the emulated RP2040.)
    cuts = [_cut_ms(4 + k * 0.00029, 4500, 7) for k in range(18)]
    assert max(ms for ms, _ in cuts) <= 2 * PERIOD_MS, cuts
    assert any(g for _, g in cuts) and not all(g for _, g in cuts), cuts


def test_a_small_overload_on_a_heavy_load_waits_for_the_cycle_check():
    # 2.4 A to 3.2 A: a jump smaller than one supply pin's share (1.2 A) could be a
    # dropout's current moving to its sibling, so the half read leaves it to the
    # cycle's check of both sides, which cuts a period or two later.
    ms, by_guard = _cut_ms(4.0013, 3200, 5, load_ma=2400)
    assert not by_guard and ms <= 4 * PERIOD_MS, ms


def test_retry_after_five_seconds_trips_again_then_latches(persistent):
    r = persistent
    evs = prot(r)
    assert kinds(evs) == [
        ("overcurrent", None),
        ("charge_off", "overcurrent"),
        ("charge_on", "retry"),
        ("overcurrent", None),
        ("charge_off", "overcurrent"),
        ("charge_on", "retry"),
        ("overcurrent", None),
        ("charge_off", "overcurrent"),
        ("charge_on", "cleared by host"),
    ], kinds(evs)
    trips = [e for e in evs if e["kind"] == "overcurrent"]
    retries = [e for e in evs if e.get("reason") == "retry"]
    assert [t["latched"] for t in trips] == [False, False, True]
    for trip, retry in zip(trips, retries, strict=False):
        # Retried at the first check (every CHECK_MS) once RETRY_MS have passed.
        assert pr.RETRY_MS <= retry["t_ms"] - trip["t_ms"] <= pr.RETRY_MS + CHECK_MS + 10
    for retry, trip in zip(retries, trips[1:], strict=True):
        # The overload is still there: the retry trips within 2 periods of the rail.
        assert 0 <= trip["t_ms"] - retry["t_ms"] <= 2 * PERIOD_MS, (retry, trip)
        assert flowing(r, retry["t_ms"] + 3 * PERIOD_MS) == 0
    switch_follows_events(r)


def test_latched_until_the_hosts_clear(persistent):
    r = persistent
    latched_at = [e for e in prot(r) if e["kind"] == "overcurrent"][-1]["t_ms"]
    # The overload ends at 22 s: a retry would have stayed on. Latched, nothing happens.
    held = samples(r, latched_at + 1, 24_000)
    assert len(held) > 40 and not any(s["charging"] for s in held)
    assert flowing(r, 23_000) == 0
    # The host's charge on is refused while latched.
    err = next(x for x in r.lines if x["type"] in ("ack", "error") and x["id"] == 1)
    assert err["type"] == "error" and err["code"] == "unsafe"
    # clear: charging back on, answered, and it stays on (the overload has gone).
    ack = next(x for x in r.lines if x["type"] in ("ack", "error") and x["id"] == 2)
    assert ack["type"] == "ack" and ack["cmd"] == "clear"
    on = prot(r)[-1]
    assert on["kind"] == "charge_on" and on["reason"] == "cleared by host"
    t_on = switch_follows_events(r)[-1]
    assert 24_000 <= t_on <= 24_000 + 2 * PERIOD_MS + COMMAND_COST_US // 1000, r.switch
    assert all(s["charging"] for s in samples(r, on["t_ms"] + 1, 27_000))
    assert r.dock.charging and 1400 < flowing(r, 26_000) < 1600
    assert not r.app.protection.tripped and not r.app.protection.latched
    switch_follows_events(r)


def test_clear_called_directly_on_the_app():
    # Latch (three trips), then clear from a custom loop that steps the App by hand.
    s = load_scenario(scn([{"t": 3, "type": "overload", "ma": 4000, "until": 14}], duration=40))
    raw = []
    dock = SimDock(s, raw.append)
    from dockfw.app import App

    app = App(dock, sample_hz=200)
    app.start()
    clock = dock.clock
    cleared = False
    while dock.running():
        if not cleared and clock.now_us >= 16_000_000:
            assert app.protection.latched and not dock.charging
            app.commands.handle(b'{"cmd":"clear","id":1}')
            cleared = True
        app.step()
        dock.wait_us(app.period_us())
    lines = [protocol.decode(x) for x in b"".join(raw).splitlines()]
    evs = [e for e in lines if e["type"] == "event" and e["kind"] in PROT]
    assert [e["kind"] for e in evs].count("overcurrent") == 3
    assert evs[-1]["kind"] == "charge_on" and evs[-1]["reason"] == "cleared by host"
    assert 16_000 - PERIOD_MS <= evs[-1]["t_ms"] <= 16_000
    assert dock.charging and app.charging


def test_three_trips_latch_only_within_a_minute():
    # Short overloads (each over before its retry): three within 40 s latch ...
    bursts = [{"t": t, "type": "overload", "ma": 4000, "until": t + 1} for t in (5, 20, 35)]
    r = go(scn(bursts, duration=45))
    trips = [e for e in prot(r) if e["kind"] == "overcurrent"]
    assert [t["latched"] for t in trips] == [False, False, True]
    assert kinds(prot(r))[-1] == ("charge_off", "overcurrent") and not r.dock.charging
    switch_follows_events(r)
    # ... spread over 70 s, the first has left the window when the third comes.
    bursts = [{"t": t, "type": "overload", "ma": 4000, "until": t + 1} for t in (5, 40, 75)]
    r = go(scn(bursts, duration=84))
    trips = [e for e in prot(r) if e["kind"] == "overcurrent"]
    assert [t["latched"] for t in trips] == [False, False, False]
    assert [e.get("reason") for e in prot(r) if e["kind"] == "charge_on"] == ["retry"] * 3
    assert r.dock.charging and r.app.charging
    switch_follows_events(r)


# -- overcurrent on one pin ----------------------------------------------------------------


def test_max_total_ma_cannot_be_raised_above_the_board():
    # pico-dock-4: 3000 mA per pin and 3000 total. One pin over its limit is always
    # the total over too, and the host cannot raise the total past the board's value.
    cmd = {"cmd": "set", "key": "max_total_ma", "value": 6000, "id": 1}
    r = go(scn([], duration=4), [(3, cmd)])
    err = next(x for x in r.lines if x["type"] == "error")
    assert err["id"] == 1 and err["code"] == "bad_value" and "3000" in err["message"]
    assert r.app.protection.max_total_ma == 3000


def test_one_pin_over_its_limit_on_the_reference_board_names_it():
    # VBUS2 open: VBUS1 carries all of a 3.5 A overload, over its 3 A (and the total).
    events = [
        {"t": 4, "type": "misalign", "pins": ["VBUS2"], "open": True},
        {"t": 6, "type": "overload", "ma": 3500, "until": 7},
    ]
    r = go(scn(events, duration=8))
    trip = prot(r)[0]
    assert trip["kind"] == "overcurrent" and trip["pins"] == ["VBUS1"]
    assert 6_000 <= trip["t_ms"] <= 6_000 + 2 * PERIOD_MS
    assert trip["total_ma"] > 3000


@pytest.fixture
def lowpin_boards(tmp_path):
    """A board like pico-dock-4 whose pins are rated 2 A each, the total still 3 A."""
    obj = json.loads((ROOT / "boards" / "pico-dock-4.json").read_text())
    obj["name"] = "pico-dock-4-2a"
    for p in obj["pins"]:
        p["max_ma"] = 2000
    (tmp_path / "pico-dock-4-2a.json").write_text(json.dumps(obj))
    return tmp_path


def test_per_pin_overcurrent_below_the_total(lowpin_boards):
    # VBUS2 open at 4 s; the load steps to 2.4 A at 6 s: all of it through VBUS1
    # (2.4 A > 2 A), the total (2.4 A) under its 3 A.
    load = [[0, 0], [2, 1500], [6, 2400]]
    events = [{"t": 4, "type": "misalign", "pins": ["VBUS2"], "open": True}]
    r = go(scn(events, load=load, duration=8, board="pico-dock-4-2a"), boards=lowpin_boards)
    evs = prot(r)
    assert kinds(evs)[:2] == [("overcurrent", None), ("charge_off", "overcurrent")], evs
    trip = evs[0]
    assert trip["pins"] == ["VBUS1"] and trip["severity"] == "fault"
    assert 6_000 <= trip["t_ms"] <= 6_000 + 2 * PERIOD_MS, trip
    assert 2200 < trip["total_ma"] <= 2500 and trip["max_total_ma"] == 3000
    assert flowing(r, 6_000 + 2 * PERIOD_MS) == 0
    h = next(h for h in r.of_type("health") if h["t_ms"] > trip["t_ms"])
    assert h["pins"]["VBUS1"]["state"] == "fault"
    assert h["pins"]["GND1"]["state"] == "ok" and h["pins"]["GND2"]["state"] == "ok"
    switch_follows_events(r)
    # The same load shared by both supply pins (1.2 A each) trips nothing.
    r = go(scn([], load=load, duration=8, board="pico-dock-4-2a"), boards=lowpin_boards)
    assert prot(r) == [] and r.dock.charging


# -- a dropout is not an overload ----------------------------------------------------------


def test_dropouts_on_one_pin_at_2400_ma_never_trip(monkeypatch):
    # The old false trip: while VBUS1 drops out, VBUS2 takes its current, and one
    # side's sum can count the moving current twice (2400 + ~1200 > 3000). The
    # supply pins' latest readings (half reads included) are what the guard judges.
    seen = [0, 0]
    orig_cycle, orig_guard = pr.Protection.cycle, pr.Protection.guard

    def look(s):
        sup = sum(s.now_ua[j] for j in (0, 3)) // 1000
        gnd = sum(s.i_ua[j] for j in (1, 2)) // 1000
        seen[0] = max(seen[0], sup, gnd)
        seen[1] = max(seen[1], min(sup, gnd))

    def cycle(self, s, now):
        look(s)
        orig_cycle(self, s, now)

    def guard(self, s, now):
        look(s)
        orig_guard(self, s, now)

    monkeypatch.setattr(pr.Protection, "cycle", cycle)
    monkeypatch.setattr(pr.Protection, "guard", guard)
    r = go(_intermittent(2400))
    assert [e for e in r.of_type("event") if e["kind"] in PROT] == []
    assert all(s["charging"] for s in r.of_type("sample")) and r.dock.charging
    assert on_since_boot(r)
    # The dropouts happened, were seen, and did push one side over the limit.
    assert len(r.dock.circuit.dropouts("VBUS1", 0, r.dock.end_us)) > 40
    assert any(e["kind"] == "intermittent" for e in r.of_type("event"))
    assert seen[0] > 3000 >= seen[1], seen


def _intermittent(load_ma, pin="VBUS1", rate=4, t=20, until=40, duration=45):
    obj = json.loads((ROOT / "scenarios" / "intermittent.json").read_text())
    obj["load"] = [[0, 0], [5, load_ma]]
    obj["duration_s"] = duration
    for ev in obj["events"]:
        if ev["type"] == "intermittent":
            ev.update(t=t, pin=pin, rate_hz=rate, until=until)
    return obj


def test_dropouts_on_a_ground_pin_never_trip():
    r = go(_intermittent(2400, pin="GND2", rate=8, t=7, until=20, duration=22))
    assert [e for e in r.of_type("event") if e["kind"] in PROT] == []
    assert on_since_boot(r)
    assert len(r.dock.circuit.dropouts("GND2", 0, r.dock.end_us)) > 60


# -- dock temperature ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def heat():
    events = [
        {"t": 5, "type": "heat", "temp_c": 85},
        {"t": 7, "type": "heat", "temp_c": 65},  # inside the hysteresis
        {"t": 9, "type": "heat", "temp_c": 60},  # the edge: not below 60
        {"t": 11, "type": "heat", "temp_c": 55},
    ]
    return go(scn(events, duration=13), [(6, {"cmd": "charge", "on": True, "id": 1})])


def test_dock_overheat_cuts_charging(heat):
    evs = prot(heat)
    assert kinds(evs) == [
        ("overheat", None),
        ("charge_off", "dock temperature"),
        ("cleared", None),
        ("charge_on", "dock cooled down"),
    ], evs
    hot, off, _, _ = evs
    assert hot["pins"] == [] and hot["severity"] == "fault"
    assert hot["temp_c"] == 85 and hot["limit_c"] == 70
    assert 5_000 <= hot["t_ms"] <= 5_000 + CHECK_MS + 10
    t_off = switch_follows_events(heat)[0]
    assert off["t_ms"] == hot["t_ms"] and flowing(heat, t_off + 1) == 0
    err = next(x for x in heat.lines if x["type"] == "error")
    assert err["id"] == 1 and err["code"] == "unsafe"


def test_hysteresis_keeps_it_off_until_below_60(heat):
    hot, _, cleared, on = prot(heat)
    held = samples(heat, hot["t_ms"] + 1, 11_000)
    assert len(held) > 25 and not any(s["charging"] for s in held)
    assert flowing(heat, 8_000) == 0 and flowing(heat, 10_000) == 0
    assert cleared["was"] == "overheat" and cleared["temp_c"] == 55
    assert 11_000 <= cleared["t_ms"] <= 11_000 + CHECK_MS + 10
    assert on["t_ms"] == cleared["t_ms"] and on["severity"] == "info"
    assert all(s["charging"] for s in samples(heat, on["t_ms"] + 1, 13_000))
    assert heat.dock.charging and 1400 < flowing(heat, 12_500) < 1600
    switch_follows_events(heat)
    temps = [h["temp_c"] for h in heat.of_type("health") if 9_500 < h["t_ms"] < 10_900]
    assert temps and all(t == 60 for t in temps)


def test_dock_overheat_during_an_overcurrent_trip():
    # Tripped at 5; hot at 7; the retry (~10.2) must not switch on a hot dock; cooled
    # at 12: on again, once.
    events = [
        {"t": 5, "type": "overload", "ma": 4000, "until": 6},
        {"t": 7, "type": "heat", "temp_c": 85},
        {"t": 12, "type": "heat", "temp_c": 30},
    ]
    r = go(scn(events, duration=14))
    assert kinds(prot(r)) == [
        ("overcurrent", None),
        ("charge_off", "overcurrent"),
        ("overheat", None),
        ("cleared", None),
        ("charge_on", "dock cooled down"),
    ]
    assert flowing(r, 11_000) == 0 and r.dock.charging
    switch_follows_events(r)


def test_host_charge_off_survives_a_dock_overheat():
    events = [{"t": 5, "type": "heat", "temp_c": 85}, {"t": 7, "type": "heat", "temp_c": 30}]
    r = go(scn(events, duration=9), [(4, {"cmd": "charge", "on": False, "id": 1})])
    assert not r.dock.charging, kinds(prot(r))


def test_host_charge_off_survives_an_overcurrent_retry():
    events = [{"t": 5, "type": "overload", "ma": 4000, "until": 6}]
    r = go(scn(events, duration=12), [(7, {"cmd": "charge", "on": False, "id": 1})])
    assert not r.dock.charging, kinds(prot(r))


# -- contact heat --------------------------------------------------------------------------


def _contact_heat(extra, load_ma, duration=26):
    # VBUS1 raised from 4 s (its sibling still shares the current: cool), VBUS2 open
    # from 8 s: all the current through the raised contact.
    events = [
        {"t": 4, "type": "misalign", "pins": ["VBUS1"], "extra_mohm": extra},
        {"t": 8, "type": "misalign", "pins": ["VBUS2"], "open": True},
    ]
    return go(scn(events, load=[[0, 0], [2, load_ma]], duration=duration))


def test_contact_heat_names_the_pin_retries_and_latches():
    r = _contact_heat(150, 1400)
    evs = prot(r)
    assert kinds(evs) == [
        ("overheat", None),
        ("charge_off", "overheat"),
        ("charge_on", "retry"),
        ("overheat", None),
        ("charge_off", "overheat"),
        ("charge_on", "retry"),
        ("overheat", None),
        ("charge_off", "overheat"),
    ], evs
    hot = evs[0]
    assert hot["pins"] == ["VBUS1"] and hot["severity"] == "fault" and hot["limit_mw"] == 250
    # I^2 R from the circuit's truth.
    t_us = hot["t_ms"] * 1000 - 50_000
    i = r.dock.circuit.pin_current_ma("VBUS1", t_us) / 1000
    truth_mw = i * i * r.dock.circuit.contact_mohm("VBUS1", t_us)
    assert abs(hot["p_mw"][0] - truth_mw) < 0.05 * truth_mw, (hot["p_mw"], truth_mw)
    # Judged per cycle: over the limit for HEAT_MS once the sibling opened (the
    # smoothed heat crosses it within a few cycles).
    assert 8_000 + pr.HEAT_MS <= hot["t_ms"] <= 8_000 + pr.HEAT_MS + 100, hot
    assert [e["latched"] for e in evs if e["kind"] == "overheat"] == [False, False, True]
    t_off = switch_follows_events(r)[0]
    assert flowing(r, t_off + 1) == 0 and not r.dock.charging
    switch_follows_events(r)
    # While its sibling shared the load the raised contact stayed under the limit.
    h = [h for h in r.of_type("health") if 5_000 < h["t_ms"] < 8_000]
    assert h and all(0 < x["pins"]["VBUS1"]["p_mw"] < 250 for x in h)


def test_contact_heat_at_300_mohm_and_1500_ma():
    # +300 mOhm carrying 1.5 A: ~750 mW in one contact, three times the limit.
    r = _contact_heat(300, 1500, duration=12)
    assert [e["pins"] for e in prot(r) if e["kind"] == "overheat"][:1] == [["VBUS1"]]


# -- failing monitors ----------------------------------------------------------------------


def _check_others_sampled(r, t0, t1, served, r_null=True):
    """Samples in [t0, t1): charging, the other pins' resistances close to the truth."""
    seen = samples(r, t0, t1)
    assert len(seen) >= (t1 - t0) // REPORT_MS - 2, (t0, t1, len(seen))
    c = r.dock.circuit
    for s in seen:
        assert s["charging"] is True
        for name in PINS:
            got = s["pins"][name]["r_mohm"]
            if name in served:
                if r_null:
                    assert got is None, (name, s)
                continue
            truth = c.contact_mohm(name, s["t_ms"] * 1000)
            assert got is not None and abs(got - truth) < 0.05 * truth + 0.5, (name, got, truth)
    return seen


@pytest.mark.parametrize(
    "monitor, mode, load_ma",
    # A silent sense monitor leaves its pins' heat unknown: charging goes on only
    # while each carries under the blind limit (500 mA at 250 mW), so 800 mA here.
    [("VBUS1", "nak", 1500), ("SENSE_V", "nak", 800), ("GND2", "stuck", 1500),
     ("SENSE_V", "stuck", 800)],
)  # fmt: skip
def test_a_failing_monitor_costs_knowledge_not_charging(monitor, mode, load_ma):
    ev = {"t": 5, "type": "sensor_fault", "pin": monitor, "mode": mode, "until": 8}
    r = go(scn([ev], load=[[0, 0], [2, load_ma]], duration=10))
    evs = prot(r)
    assert [e["kind"] for e in evs] == ["sensor_fault", "cleared"], evs
    fault, cleared = evs
    served = SERVES[monitor]
    assert sorted(fault["pins"]) == sorted(served) and fault["severity"] == "fault"
    assert fault["monitor"] == ADDR[monitor]
    assert fault["mode"] == ("no answer" if mode == "nak" else "stuck")
    # nak: the next check; stuck: a whole check round without a conversion, then the next.
    latest = 5_000 + (CHECK_MS + 10 if mode == "nak" else 2 * CHECK_MS + 10)
    assert 5_000 <= fault["t_ms"] <= latest, fault
    assert sorted(cleared["pins"]) == sorted(served) and cleared["was"] == "sensor_fault"
    assert cleared["monitor"] == ADDR[monitor] and cleared["severity"] == "info"
    assert 8_000 <= cleared["t_ms"] <= 8_000 + CHECK_MS + 10, cleared
    seen = _check_others_sampled(r, fault["t_ms"] + REPORT_MS, 8_000, served)
    if mode == "nak":
        assert all(s["faulty_monitors"] == [ADDR[monitor]] for s in seen)
    # Health meanwhile: a pin whose own monitor is down is unknown; the pins of a sense
    # monitor keep what their currents tell, a warning at least (their resistance and
    # heat are unseen); the dock is not "ok".
    h = next(h for h in r.of_type("health") if fault["t_ms"] < h["t_ms"] < 8_000)
    if monitor.startswith("SENSE"):
        assert all(h["pins"][p]["state"] == "warn" for p in served), h
        assert all(0 < h["pins"][p]["score"] <= BLIND_SCORE_CAP for p in served), h
    else:
        assert all(h["pins"][p]["state"] == "unknown" for p in served), h
        assert all(h["pins"][p]["score"] == 0 for p in served), h
    assert h["charging"] is True and h["state"] == "warn"
    # Back to normal: every pin measured again, never a charge switch.
    _check_others_sampled(r, cleared["t_ms"] + 2 * REPORT_MS, 10_000, ())
    h = [h for h in r.of_type("health") if h["t_ms"] > cleared["t_ms"]]
    assert h and all(x["state"] == "ok" for x in h)
    assert on_since_boot(r) and r.dock.charging


@pytest.mark.parametrize("monitor", ["SENSE_V", "SENSE_G"])
def test_a_silent_sense_monitor_cuts_charging_above_the_blind_limit(monitor):
    # 1500 mA: 750 mA per pin, over the 500 mA at which a 1 Ohm contact makes 250 mW.
    ev = {"t": 5, "type": "sensor_fault", "pin": monitor, "mode": "nak", "until": 8}
    r = go(scn([ev], duration=16))
    evs = prot(r)
    assert kinds(evs) == [
        ("sensor_fault", None),
        ("charge_off", "cannot bound contact heat"),
        ("cleared", None),
        ("charge_on", "retry"),
    ], evs
    _, off, cleared, on = evs
    served = sorted(SERVES.get(monitor, ["GND1", "GND2"]))
    assert sorted(off["pins"]) == served and off["severity"] == "fault"
    assert off["monitors"] == [0x44 if monitor == "SENSE_V" else 0x45]
    assert off["limit_ma"] == 500 and all(700 < i < 800 for i in off["i_ma"]), off
    assert off["latched"] is False
    # Judged like heat: a second over the limit once the monitor fell silent.
    assert 5_000 + pr.HEAT_MS <= off["t_ms"] <= 5_000 + pr.HEAT_MS + CHECK_MS + 20, off
    assert flowing(r, off["t_ms"] + PERIOD_MS) == 0
    h = next(h for h in r.of_type("health") if off["t_ms"] < h["t_ms"] < 8_000)
    assert h["state"] == "fault" and h["charging"] is False
    # The pins it cut for: a fault, their heat unknown (their own monitors answer).
    assert all(h["pins"][p]["state"] == "fault" and h["pins"][p]["p_mw"] is None for p in served)
    # Retried once RETRY_MS have passed and every pin can be judged again.
    assert cleared["t_ms"] < on["t_ms"]
    assert off["t_ms"] + pr.RETRY_MS <= on["t_ms"] <= off["t_ms"] + pr.RETRY_MS + CHECK_MS + 10
    switch_follows_events(r)
    assert r.dock.charging and 1400 < flowing(r, 15_000) < 1600


@pytest.mark.parametrize("monitor", ["GND2", "SENSE_V"])
def test_a_monitor_reset_is_restored(monitor):
    ev = {"t": 5, "type": "sensor_fault", "pin": monitor, "mode": "reset"}
    r = go(scn([ev], duration=8))
    evs = prot(r)
    assert [e["kind"] for e in evs] == ["sensor_fault"], evs
    (warn,) = evs
    assert sorted(warn["pins"]) == sorted(SERVES[monitor]) and warn["severity"] == "warn"
    assert warn["mode"] == "reset" and warn["restored"] is True
    assert warn["monitor"] == ADDR[monitor]
    assert 5_000 <= warn["t_ms"] <= 5_000 + CHECK_MS + 10
    _check_others_sampled(r, warn["t_ms"] + REPORT_MS, 8_000, ())
    assert all(s["faulty_monitors"] == [] for s in r.of_type("sample"))
    assert on_since_boot(r) and r.dock.charging


def test_the_limits_these_tests_assume():
    # The constants the tests above lean on, so a change shows here first.
    assert (pr.RETRY_MS, pr.MAX_TRIPS, pr.TRIP_WINDOW_MS) == (5000, 3, 60000)
    assert (pr.CONTACT_MW_LIMIT, pr.TEMP_LIMIT_MC, pr.TEMP_HYSTERESIS_MC) == (250, 70000, 10000)
    board = json.loads((ROOT / "boards" / "pico-dock-4.json").read_text())
    assert board["max_total_ma"] == 3000 and {p["max_ma"] for p in board["pins"]} == {3000}
