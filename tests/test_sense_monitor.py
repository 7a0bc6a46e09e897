"""A failed sense monitor costs only resistance (issue 10): the pins it serves keep
their currents, their open-pin and sharing-based tilt detection and their
overcurrent check; only r_mohm (and the drop) become unknown, and contact heat falls
back on the blind limit. The whole firmware on SimDock with the monitor failing."""

import pytest
from dockfw import protection as pr
from dockfw.health import BLIND_SCORE_CAP
from support.protectrig import PERIOD_MS, flowing, go, samples, scn, switch_follows_events

GROUND = ("GND1", "GND2")
SUPPLY = ("VBUS1", "VBUS2")


def sense_down(name, *more, load_ma=800, until=9, duration=10):
    """SENSE_x silent from 3 s to ``until``, the device at ``load_ma`` from 2 s."""
    events = [{"t": 3, "type": "sensor_fault", "pin": name, "mode": "nak", "until": until}]
    return go(scn([*events, *more], load=[[0, 0], [2, load_ma]], duration=duration))


def misalignments(r):
    return [e for e in r.of_type("event") if e["kind"] == "misalignment"]


@pytest.mark.parametrize("mode", ["nak", "stuck"])
def test_its_pins_keep_their_currents_and_lose_only_resistance(mode):
    ev = {"t": 3, "type": "sensor_fault", "pin": "SENSE_G", "mode": mode, "until": 6}
    r = go(scn([ev], load=[[0, 0], [2, 800]], duration=7))
    during = samples(r, 3_600, 6_000)  # a stuck monitor is found at the next check
    assert during
    for s in during:
        pins = s["pins"]
        for name in GROUND:
            assert pins[name]["r_mohm"] is None and "sensor" in pins[name]["flags"], s
            assert 350 < pins[name]["i_ma"] < 450, s  # its own monitor still answers
        for name in SUPPLY:  # the other sense monitor's pins: untouched
            assert 20 < pins[name]["r_mohm"] < 60 and pins[name]["flags"] == [], s
    after = samples(r, 6_600, 7_000)
    assert after and all(s["pins"]["GND1"]["r_mohm"] is not None for s in after)
    assert not misalignments(r)  # nothing wrong but the monitor: no tilt read into it
    # Health: the ground pins a warning with their currents still watched, not unknown.
    health = [h for h in r.of_type("health") if 3_600 <= h["t_ms"] < 6_000]
    assert health
    for h in health:
        for name in GROUND:
            assert (
                h["pins"][name]["state"] == "warn"
                and 0 < h["pins"][name]["score"] <= BLIND_SCORE_CAP
            ), h
        for name in SUPPLY:
            assert h["pins"][name]["state"] == "ok", h


def test_an_open_pin_without_its_sense_monitor_shows_open_in_health():
    r = sense_down("SENSE_G", {"t": 5, "type": "misalign", "pins": ["GND2"], "open": True})
    # Open from the misalignment on; its sibling, left with all the current and no
    # way to bound its heat, a fault once charging went off for it.
    mis = misalignments(r)[0]["t_ms"]
    during = [h for h in r.of_type("health") if mis < h["t_ms"] < 9_000]
    assert during and all(h["pins"]["GND2"]["state"] == "open" for h in during), during
    assert all(h["pins"]["GND1"]["state"] == "fault" for h in during), during


def test_an_open_ground_pin_during_the_fault_is_raised_open():
    # Before the fix the pins' currents were null too: the open pin went unreported.
    # 800 mA: the siblings' 400 mA stay under the blind limit (500 mA) until GND2 opens.
    r = sense_down("SENSE_G", {"t": 5, "type": "misalign", "pins": ["GND2"], "open": True})
    evs = misalignments(r)
    assert len(evs) == 1, evs
    (mis,) = evs
    assert mis["pins"] == ["GND2"] and mis["open"] == ["GND2"] and mis["side"] == "right"
    assert mis["r_mohm"] == [None] and mis["by"] == "resistance"
    assert 5_000 < mis["t_ms"] <= 6_000, mis
    # GND1 now carries all 800 mA with its drop unknown: over the blind limit for a
    # second, charging goes off (contact heat needs the drop: it cannot be bounded).
    off = next(e for e in r.of_type("event") if e["kind"] == "charge_off")
    assert off["reason"] == "cannot bound contact heat" and off["pins"] == ["GND1"], off
    assert off["limit_ma"] == 500 and off["monitors"] == [0x45], off
    assert 6_000 <= off["t_ms"] <= 6_000 + pr.HEAT_MS // 4, off
    switch_follows_events(r)


def test_a_tilt_during_the_fault_is_raised_by_sharing():
    # 600 mA: VBUS1 takes ~450 of it once VBUS2 is raised, under the blind limit.
    tilt = {"t": 5, "type": "misalign", "pins": ["VBUS2"], "extra_mohm": 90}
    r = sense_down("SENSE_V", tilt, load_ma=600)
    evs = misalignments(r)
    assert len(evs) == 2, evs
    mis, measured = evs
    assert mis["pins"] == ["VBUS2"] and mis["by"] == "sharing" and mis["side"] == "right"
    assert mis["open"] == [] and mis["r_mohm"] == [None]
    assert 5_000 < mis["t_ms"] <= 6_000, mis
    # The monitor back at 9 s: the resistance judges it again, and says how high.
    assert measured["pins"] == ["VBUS2"] and measured["by"] == "resistance"
    assert 9_000 < measured["t_ms"] <= 10_000 and measured["r_mohm"][0] > 100, measured
    evs = r.of_type("event")
    assert not any(e["kind"] == "cleared" and e["was"] == "misalignment" for e in evs)
    assert not any(e["kind"] == "charge_off" for e in evs)


def test_overcurrent_on_its_pins_still_cuts_within_two_periods():
    over = {"t": 5, "type": "overload", "ma": 4000, "until": 6}
    r = sense_down("SENSE_G", over)
    trip = next(e for e in r.of_type("event") if e["kind"] == "overcurrent")
    assert 5_000 <= trip["t_ms"] <= 5_000 + 2 * PERIOD_MS, trip
    assert trip["estimated"] == [], trip  # measured: the pins' own monitors answer
    assert flowing(r, 4_990) > 700 and flowing(r, 5_000 + 2 * PERIOD_MS) == 0
    switch_follows_events(r)
