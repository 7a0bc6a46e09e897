"""The detection benchmark's scoring (tools/detectbench/) on synthetic events and
faults, no simulation; and every benchmark scenario file loads."""

import json
import sys
from pathlib import Path

import pytest
from docksim import scenario as S
from docksim.circuit import Circuit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import benchfile  # noqa: E402
from detectbench import results, scenarios  # noqa: E402
from detectbench import scoring as B  # noqa: E402

BENCH_FILES = sorted((ROOT / "tests" / "bench_scenarios").glob("*.json"))
BOARDS = str(ROOT / "boards")
PERIOD = 5.0  # ms: 200 Hz
LIMIT = 250.0  # mW: the contact heat limit the scorer is given


def F(kind, pins, onset, end=None, **kw):
    return B.Fault(kind, tuple(pins), float(onset), None if end is None else float(end), **kw)


def E(t, kind, pins=(), severity="warn", **kw):
    return B.Event(float(t), kind, tuple(pins), severity, **kw)


def score(faults, events):
    return B.score(faults, events, PERIOD, LIMIT)


def test_detected_with_latency():
    f = F("misalignment", ["VBUS2", "GND2"], 20000, 30000)
    sc = score([f], [E(19000, "docked", severity="info"), E(20400, "misalignment", ["GND2"])])
    (r,) = sc.results
    assert r.detected and r.latency_ms == 400
    assert r.goal_met is True
    assert sc.false_alarms == []


def test_misalignment_goal_fails_when_slow():
    f = F("misalignment", ["VBUS1"], 10000, 18000)
    (r,) = score([f], [E(11500, "misalignment", ["VBUS1"])]).results
    assert r.detected and r.latency_ms == 1500 and r.goal_met is False


def test_missed_wrong_pins_is_also_a_false_alarm():
    f = F("misalignment", ["VBUS2"], 20000, 30000)
    ev = E(20100, "misalignment", ["VBUS1"])
    sc = score([f], [ev])
    assert not sc.results[0].detected
    assert sc.results[0].goal_met is False
    assert sc.false_alarms == [ev]


def test_missed_wrong_kind_and_too_late():
    f = F("intermittent", ["VBUS1"], 10000, 30000, details={"rate_hz": 4})
    late = E(30000 + B.GRACE_MS + 1, "intermittent", ["VBUS1"])
    other = E(12000, "misalignment", ["VBUS1"])
    sc = score([f], [late, other])
    assert not sc.results[0].detected
    assert sc.false_alarms == [other, late]


def test_grace_after_end_and_tolerance_before_onset():
    f = F("intermittent", ["GND1"], 10000, 20000, details={"rate_hz": 1})
    r = score([f], [E(20000 + B.GRACE_MS, "intermittent", ["GND1"])]).results[0]
    assert r.detected
    r = score([f], [E(10000 - B.PRE_MS, "intermittent", ["GND1"])]).results[0]
    assert r.detected and r.latency_ms == -B.PRE_MS
    r = score([f], [E(10000 - B.PRE_MS - 1, "intermittent", ["GND1"])]).results[0]
    assert not r.detected


def test_intermittent_goal_depends_on_rate():
    ev = [E(16000, "intermittent", ["VBUS1"])]
    fast = F("intermittent", ["VBUS1"], 10000, 40000, details={"rate_hz": 2})
    slow = F("intermittent", ["VBUS1"], 10000, 40000, details={"rate_hz": 1})
    assert score([fast], ev).results[0].goal_met is False  # 6000 ms > 5000 ms
    r = score([slow], ev).results[0]
    assert r.goal_met is True and "rate < 2/s" in r.goal


def test_info_events_never_count():
    sc = score(
        [],
        [
            E(1, "docked", severity="info"),
            E(2, "cleared", ["VBUS1"], "info"),
            E(3, "charge_on", severity="info"),
            E(4, "undocked", severity="info"),
        ],
    )
    assert sc.false_alarms == [] and sc.results == []


def test_info_event_does_not_detect():
    f = F("sensor_fault", ["VBUS1"], 5000, 6000)
    sc = score([f], [E(5010, "sensor_fault", ["VBUS1"], "info")])
    assert not sc.results[0].detected


def test_whole_dock_fault_takes_any_pins_and_pin_fault_needs_overlap():
    assert B.pins_overlap((), ("VBUS1",)) and B.pins_overlap((), ())
    assert B.pins_overlap(("VBUS1", "VBUS2"), ("VBUS2",))
    assert not B.pins_overlap(("VBUS1",), ())
    f = F("overcurrent", [], 40000, 45000)
    sc = score(
        [f], [E(40007, "overcurrent", ["VBUS2"], "fault"), E(40007, "charge_off", [], "fault")]
    )
    r = sc.results[0]
    assert r.detected and r.cutoff_ms == 7 and r.measure == pytest.approx(1.4)
    assert r.goal_met is True and sc.false_alarms == []


def test_overcurrent_cutoff_goal_in_periods():
    f = F("overcurrent", [], 10000, 13000)
    r = score([f], [E(10006, "overcurrent", [], "fault"), E(10011, "charge_off", [], "fault")])
    r = r.results[0]
    assert r.measure == pytest.approx(11 / PERIOD) and r.goal_met is False
    r = score([f], [E(10006, "overcurrent", [], "fault")]).results[0]
    assert r.detected and r.goal_met is False and r.measure is None  # no charge_off at all


def test_charge_off_explained_or_not():
    heat = F("overheat", [], 60000, 70000)
    sc = score(
        [heat],
        [
            E(60002, "overheat", [], "fault"),
            E(60002, "charge_off", [], "fault"),
            E(80000, "charge_off", [], "fault"),
        ],
    )
    assert [e.t_ms for e in sc.false_alarms] == [80000]
    # Host-requested charge_off is info: never counted.
    assert score([], [E(5, "charge_off", [], "info")]).false_alarms == []


def test_contact_heat_explained_by_truth():
    hot = E(30000, "overheat", ["VBUS2"], "fault", truth_p_mw=0.7 * LIMIT)
    cold = E(50000, "overheat", ["VBUS1"], "fault", truth_p_mw=0.1 * LIMIT)
    off_hot = E(30000, "charge_off", [], "fault")
    off_cold = E(50000, "charge_off", [], "fault")
    sc = score([], [hot, off_hot, cold, off_cold])
    assert sc.false_alarms == [cold, off_cold]


def test_severity_required_for_a_fault_mark():
    f = F("wear", ["GND2"], 47000, severity="fault")
    assert not score([f], [E(47100, "wear", ["GND2"], "warn")]).results[0].detected
    assert score([f], [E(47100, "wear", ["GND2"], "fault")]).results[0].detected
    # ... but a warn is still explained by it, not a false alarm.
    assert score([f], [E(47100, "wear", ["GND2"], "warn")]).false_alarms == []


def test_fault_without_end_lasts_to_the_end():
    f = F("wear", ["VBUS1"], 0, at_boot=True)
    sc = score([f], [E(5000, "wear", ["VBUS1"]), E(9e9, "wear", ["VBUS1"])])
    assert sc.results[0].latency_ms == 5000 and sc.false_alarms == []


def test_oxidation_only_before_the_clean_and_rise_goal():
    day = B.DAY_MS
    f = F("oxidation", ["GND1"], 0, 50 * day, ref_ms=0.3 * day, details={"mohm_per_day": 2.5})
    r = score([f], [E(3.3 * day, "oxidation", ["GND1"])]).results[0]
    assert r.detected and r.measure == pytest.approx(7.5) and r.goal_met is True
    r = score([f], [E(4.5 * day, "oxidation", ["GND1"])]).results[0]
    assert r.measure == pytest.approx(10.5) and r.goal_met is False
    late = E(50 * day + 1000, "oxidation", ["GND1"])
    sc = score([f], [late])
    assert not sc.results[0].detected
    assert sc.false_alarms == []  # still within the grace: explained, not a false alarm


def test_one_event_can_detect_two_faults():
    a = F("misalignment", ["VBUS2", "GND2"], 20000, 45000)
    b = F("misalignment", ["VBUS2"], 20000, 45000, details={"open": True})
    sc = score([a, b], [E(20300, "misalignment", ["VBUS2", "GND2"])])
    assert all(r.detected for r in sc.results)


def test_percentile_nearest_rank():
    assert B.percentile([], 95) is None
    assert B.percentile([7], 95) == 7
    assert B.percentile(range(1, 101), 95) == 95
    assert B.percentile([1, 2, 3, 4, 100], 95) == 100


def _suite(runs):
    return results.score_runs(runs)


def test_figures_count_and_leave_slow_faults_out_of_the_percentile():
    day = B.DAY_MS
    run = scenarios.ScenarioRun("x", "x.json", "pico-dock-4", PERIOD, 100 * day)
    run.faults = [
        F("misalignment", ["VBUS1"], 10000, 20000),
        F("intermittent", ["GND1"], 30000, 40000, details={"rate_hz": 4}),
        F("oxidation", ["GND2"], 0, None, ref_ms=0, details={"mohm_per_day": 1}),
        F("wear", ["GND2"], 0, at_boot=True),
        F("sensor_fault", ["VBUS2"], 50000, 51000),
    ]
    run.events = [
        E(10300, "misalignment", ["VBUS1"]),
        E(32000, "intermittent", ["GND1"]),
        E(5 * day, "oxidation", ["GND2"]),
        E(60000, "wear", ["GND2"]),
        E(70000, "misalignment", ["VBUS2"]),  # false alarm
    ]
    crashed = scenarios.ScenarioRun("y", "y.json", error="Traceback ...")
    crashed.faults = [F("overheat", [], 1000, 2000)]
    figs = results.figures(_suite([run, crashed]))
    assert figs["detect_scenarios"] == 2
    assert figs["detect_faults"] == 6
    assert figs["detect_missed"] == 2  # the sensor fault, the crashed scenario's
    assert figs["detect_false_alarms"] == 1
    assert figs["detect_latency_ms_p95"] == 2000  # of 300, 2000: not 5 days, not 60 s
    assert figs["detect_oxidation_rise_mohm_max"] == 5.0
    assert figs["detect_oxidation_latency_days_max"] == 5.0
    assert figs["detect_scenario_errors"] == 1
    assert figs["detect_missed_sensor_fault"] == 1
    assert figs["detect_goals_failed"] == 2


def test_report_prints_tables():
    run = scenarios.ScenarioRun("x", "x.json", "pico-dock-4", PERIOD, 60000)
    run.faults = [F("overcurrent", [], 40000, 45000, label="t=40s overload 4000 mA")]
    run.events = [
        E(40007, "overcurrent", [], "fault"),
        E(40007, "charge_off", [], "fault"),
        E(50000, "intermittent", ["VBUS1"]),
    ]
    out = []
    results.report(_suite([run]), out.append)
    text = "\n".join(out)
    assert "== overcurrent (protection.py): 1 faults, 0 missed" in text
    assert "charge_off <= 2 periods (1.40 = 7 ms)" in text
    assert "== false alarms: 1" in text


def test_merge_json_keeps_other_keys(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"fw_alloc_bytes_per_cycle": 0, "detect_latency_ms_p95": 5}))
    benchfile.merge_json(path, {"detect_missed": 1, "detect_latency_ms_p95": None})
    assert json.loads(path.read_text()) == {"fw_alloc_bytes_per_cycle": 0, "detect_missed": 1}


def test_wear_marks_from_a_scenario():
    scn = S.load(str(ROOT / "tests" / "bench_scenarios" / "wear.json"), BOARDS)
    marks = {(f.pins, f.severity, f.at_boot): f.onset_ms for f in scenarios.wear_faults(scn)}
    # VBUS1 7990 -> 8000 at the 10th dock; GND2 9990 is past 80 % at boot, 100 % at the 10th.
    tenth = [ev["t"] for ev in scn.events if ev["type"] == "dock"][9] * 1000.0
    assert marks == {
        (("VBUS1",), None, False): tenth,
        (("GND2",), None, True): 0.0,
        (("GND2",), "fault", False): tenth,
    }


@pytest.mark.parametrize("path", BENCH_FILES, ids=[p.stem for p in BENCH_FILES])
def test_bench_scenario_loads(path):
    scn = S.load(str(path), BOARDS)
    assert scn.description
    assert scn.duration_s > 0


def test_suite_covers_every_detector():
    kinds = {}
    quiet = []
    for path in scenarios.scenario_paths():
        scn = S.load(str(path), BOARDS)
        faults = scenarios.sim_faults(scn, Circuit(scn)) + scenarios.wear_faults(scn)
        for f in faults:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        if not faults:
            quiet.append(path.stem)
    assert len(BENCH_FILES) >= 15
    assert set(kinds) == set(B.KINDS)
    assert all(n >= 2 for n in kinds.values()), kinds
    assert len(quiet) >= 4, quiet


def test_a_seed_sweep_runs_each_scenario_at_its_own_seed_and_others(tmp_path):
    path = tmp_path / "short.json"
    path.write_text(
        json.dumps(
            {
                "board": "pico-dock-4",
                "seed": 41,
                "duration_s": 1.5,
                "load": [[0, 0], [0.2, 1200]],
                "events": [{"t": 0.2, "type": "dock"}],
            }
        )
    )
    runs = scenarios.run_all([path], jobs=1, seeds=3)
    assert [r.error for r in runs] == [None, None, None]
    assert [r.name for r in runs] == ["ex/short", "ex/short@1", "ex/short@2"]
    assert runs[0].seed == 41
    assert len({r.seed for r in runs}) == 3
    assert all(r.cycles > 200 for r in runs)
