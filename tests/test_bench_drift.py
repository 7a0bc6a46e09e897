"""tools/bench_drift.py: the short-cut's sessions are the simulator's, and over many
dock-years the real drift detector stays quiet and still catches drift (short runs here;
the README's figures come from the long ones)."""

import sys
from pathlib import Path

import pytest
from docksim import scenario as scenario_mod
from docksim.circuit import Circuit
from docksim.sessions import session_temp_c

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import bench_drift  # noqa: E402

BOARDS = str(ROOT / "boards")


def test_the_short_cut_draws_the_simulators_seating_and_temperature():
    obj, model, times, _ = bench_drift.verify_scenario(7001, 3, 2.0, 10.0, 2.0)
    circuit = Circuit(scenario_mod.parse(obj, "t", BOARDS))
    sessions = circuit.dock_sessions()
    assert len(sessions) == len(times) == 6
    for k, (a, _) in enumerate(sessions):
        t = a + 1000000
        assert circuit.temp_c(t) == pytest.approx(model.temp_c(k, times[k][0]))
        tf = 1 + 0.0039 * (circuit.temp_c(t) - 25)
        for j, name in enumerate(bench_drift.PINS):
            assert circuit.contact_mohm(name, t) == pytest.approx(model.contact_25(j, k) * tf)


def test_the_daily_cycle_spans_the_field_and_sessions_vary():
    morning = [session_temp_c(3, k, 7 * 3600 + 86400 * k, 25, 10, 2) for k in range(200)]
    afternoon = [session_temp_c(3, k, 15 * 3600 + 86400 * k, 25, 10, 2) for k in range(200)]
    assert 14 < min(morning) and max(afternoon) < 42
    assert sum(afternoon) / 200 - sum(morning) / 200 > 12  # cos 0 against cos(-8 h)
    mean = sum(morning) / 200
    sd = (sum((t - mean) ** 2 for t in morning) / 199) ** 0.5
    assert 1.5 < sd < 2.5  # the session-to-session draw


def test_the_firmwares_temperature_correction_undoes_the_simulators():
    for temp in (14.0, 25.0, 36.0):
        r = 35000 * (1 + 0.0039 * (temp - 25))
        assert abs(bench_drift.fw_correct(int(r), int(temp * 1000)) - 35000) < 40


def test_two_dock_years_at_field_scatter_raise_no_false_oxidation():
    # 0.15 a dock-year over 40 (README); these two seeds are quiet, a change to the
    # detector that made false alarms common would not be
    out = []
    per_year = bench_drift.false_alarms(2, 2.0, 10.0, 2.0, 1, out=out.append)
    assert per_year == 0, out


@pytest.mark.parametrize("rate", [0.5, 5.0])
def test_drift_at_field_scatter_is_raised_near_plus_10_mohm(rate):
    res = [bench_drift._detect_job((5000 + i, rate, 20.0, 2.0, 10.0, 2.0)) for i in range(6)]
    rises = [r[3][0] for r in res if r[3] is not None]
    assert len(rises) == 6, res
    assert max(rises) < (10 if rate < 5 else 13), rises
    assert sorted(rises)[3] < 10, rises
