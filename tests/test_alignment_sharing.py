"""Tilt at trickle current (issue 10): where a pin's resistance cannot be measured,
the current sharing between same-role siblings shows the tilt (dockfw/alignment.py).
The whole firmware on SimDock; the sweep over seeds is tools/bench_tilt.py's."""

import sys

import pytest
from dockfw import alignment as al
from simrig import ROOT, run
from support.protectrig import samples, scn

sys.path.insert(0, str(ROOT / "tools"))
import bench_tilt


def misalignments(r):
    return [e for e in r.of_type("event") if e["kind"] == "misalignment"]


def test_the_issue_s_watch_a_ground_pin_raised_90_mohm_at_140_ma():
    events = [
        {"t": 5, "type": "misalign", "pins": ["GND2"], "extra_mohm": 90},
        {"t": 8, "type": "realign"},
    ]
    r = run(scn(events, load=[[0, 0], [2, 140]], duration=10))
    tilted = samples(r, 5_200, 8_000)
    for s in tilted:
        g1, g2 = s["pins"]["GND1"], s["pins"]["GND2"]
        assert g2["r_mohm"] is None and 30 < g2["i_ma"] < 45 and 95 < g1["i_ma"] < 110, s
    mis = misalignments(r)
    assert len(mis) == 1, mis
    ev = mis[0]
    assert ev["pins"] == ["GND2"] and ev["by"] == "sharing" and ev["side"] == "right", ev
    assert ev["r_mohm"] == [None] and ev["open"] == []
    assert 5_000 < ev["t_ms"] <= 6_000, ev
    cleared = [e for e in r.of_type("event") if e["kind"] == "cleared"]
    assert [e["was"] for e in cleared] == ["misalignment"] and cleared[0]["pins"] == ["GND2"]
    assert 8_000 < cleared[0]["t_ms"] <= 9_000, cleared
    health = [h for h in r.of_type("health") if 6_000 < h["t_ms"] < 8_000]
    assert health and all(h["pins"]["GND2"]["state"] == "warn" for h in health)


@pytest.mark.parametrize("total", [60, 100])
def test_a_50_mohm_tilt_at_trickle_is_raised_within_a_second_on_every_pin(total):
    for seed in range(4):  # each pin in turn, the onset at another phase of the reports
        ok, hit, false = bench_tilt.tilt_run((total, seed, 50.0))
        assert ok and false == 0, (total, seed, hit, false)


@pytest.mark.parametrize("name", sorted(bench_tilt.QUIET))
def test_no_false_tilt_on_trickle_steps_pulses_or_a_taper(name):
    for seed in range(2):
        assert bench_tilt.quiet_run((name, seed)) == 0, (name, seed)


def test_under_the_role_s_minimum_current_sharing_judges_nothing():
    # 30 mA split over two pins: the monitors' zeros are a tenth of it.
    r = run(
        scn(
            [{"t": 4, "type": "misalign", "pins": ["GND2"], "extra_mohm": 200}],
            load=[[0, 0], [2, 2 * al.SHARE_MIN_MA - 50]],
            duration=7,
        )
    )
    assert not misalignments(r)


def test_one_pin_per_role_has_nothing_to_share():
    # feather-kelvin-2: each role's one pin carries the whole current. Under
    # min_current_ma nothing can tell its tilt; above it, its resistance does.
    tilt = {"t": 4, "type": "misalign", "pins": ["GND"], "extra_mohm": 300}
    low = run(scn([tilt], load=[[0, 0], [2, 40]], duration=7, board="feather-kelvin-2"))
    assert not misalignments(low)
    high = run(scn([tilt], load=[[0, 0], [2, 200]], duration=7, board="feather-kelvin-2"))
    (ev,) = misalignments(high)
    assert ev["pins"] == ["GND"] and ev["by"] == "resistance" and ev["r_mohm"][0] > 300


def test_each_monitor_s_zero_is_learnt_on_the_empty_dock():
    r = run(scn([], load=[[0, 0], [2, 140]], duration=4))
    align = r.app.alignment
    for p in r.app.board.pins:
        # The chip's offset (25 µV sd), in 0.1 mA on the pin's shunt; learnt in the
        # 2 s before docking and left alone while the device draws 70 mA a pin.
        offset = r.dock.chips[p.addr].offset_uv * 10000 / p.shunt_uohm
        assert abs(align._zero[p.index] - offset) <= 3, (p.name, list(align._zero), offset)


@pytest.mark.parametrize("total", [600, 1500])
def test_a_50_mohm_tilt_on_the_resistance_rule_s_line_is_raised_by_the_sharing(total):
    # +50 mOhm is the resistance rule's line (+50 mOhm and +60 %): at currents where
    # resistance is known, the sharing raises it.
    for seed in range(4):
        ok, hit, false = bench_tilt.tilt_run((total, seed, 50.0))
        assert ok and false == 0, (total, seed, hit, false)


def test_a_long_tilt_does_not_become_the_pin_s_baseline():
    # Ten seconds tilted: a baseline that followed it would make the sibling look
    # tilted once the device sits straight again.
    events = [
        {"t": 5, "type": "misalign", "pins": ["GND2"], "extra_mohm": 50},
        {"t": 15, "type": "realign"},
    ]
    r = run(scn(events, load=[[0, 0], [2, 1500]], duration=22))
    mis = misalignments(r)
    assert [(e["pins"], e["by"]) for e in mis] == [(["GND2"], "sharing")], mis
    cleared = [e for e in r.of_type("event") if e["kind"] == "cleared"]
    assert [e["pins"] for e in cleared] == [["GND2"]] and 15_000 < cleared[0]["t_ms"] < 16_500


def test_a_sibling_s_stale_baseline_does_not_make_a_sound_pin_look_tilted():
    # GND1 oxidises by 40 mOhm while docked (its baseline follows), is cleaned while the
    # dock is empty, and the device docks again: GND1's baseline is 40 mOhm stale until
    # it has followed back down. The node voltage is taken from GND1's measured path,
    # so GND2, sound all along, is not judged tilted against it.
    day_s = 86_400
    events = [
        {"t": 2, "type": "oxidation", "pin": "GND1", "mohm_per_day": 40 * day_s / 110},
        {"t": 112, "type": "undock"},
        {"t": 113, "type": "clean"},
        {"t": 114, "type": "dock"},
    ]
    r = run(scn(events, load=[[0, 0], [2, 1500]], duration=124, sample_hz=50))
    assert not misalignments(r), misalignments(r)
    after = samples(r, 116_000, 124_000)
    assert after and all(s["pins"]["GND1"]["r_mohm"] < 60 for s in after), after[-1]
