"""tools/bench_drift_bound.py: the oracle's matched-ramp test and its threshold, on small
runs (the README's figures come from the long ones)."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import bench_drift_bound as bound  # noqa: E402
from bench_drift import DAY  # noqa: E402


def test_a_ramp_without_scatter_scores_its_own_matched_z():
    t = np.arange(20) * DAY / 2 + DAY / 4
    onset = t[9]  # sessions 10.. carry 2.5, 5, 7.5 ... mOhm at 5 mOhm/day
    x = np.maximum(0.0, 5.0 * (t - onset) / DAY)
    z = bound.best_z(t, x, 5.0, 2.0)
    mu = x[10:13]  # three sessions after the onset
    assert z[12, 3] == pytest.approx(math.sqrt((mu * mu).sum()) / 2.0, rel=1e-9)
    assert z[12].max() == z[12, 3]  # the true onset fits best
    assert np.all(z[:10, 1:] <= 0.0)  # nothing before the onset


def test_after_an_alarm_only_onsets_after_it_count():
    z = np.full((6, 4), -np.inf)
    z[2, 1] = 5.0  # raises
    z[3, 2] = 5.0  # an onset before session 2's alarm: not counted again
    z[4, 1] = 5.0  # a new onset after it
    assert bound.alarms(z, 4.0) == [2, 4]


def test_the_threshold_keeps_the_null_years_within_the_budget():
    zs = bound.null_z(2, 5.0, 2.0)
    thr, per_year = bound.threshold_for(zs, 2, 1.0)
    assert per_year <= 1.0
    assert sum(len(bound.alarms(z, thr - 0.02)) for z in zs) / 2 > 1.0  # the lowest such
    rises = bound.detection(20, 5.0, 2.0, thr)
    assert all(0 < r < 20 for r in rises)  # every fast drift raised, most before +10
    assert sorted(rises)[10] < 10
