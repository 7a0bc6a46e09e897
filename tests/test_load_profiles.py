"""Load profiles in scenario files: each kind expands into load steps the circuit then
carries, trickles follow the seed, profiles replace the plain load only during their
interval, and every bad field is refused in one sentence naming the profile."""

import copy
import itertools
import math
from pathlib import Path

import pytest
from docksim import scenario as S
from docksim.circuit import Circuit

ROOT = Path(__file__).resolve().parents[1]
BOARDS = str(ROOT / "boards")
S_ = 1000000  # µs per second


def obj(profiles, load=((0, 0),), seed=7, duration_s=100):
    return {
        "board": "pico-dock-4",
        "seed": seed,
        "duration_s": duration_s,
        # Exact currents: no seating scatter, a constant temperature.
        "seating_sigma_mohm": 0,
        "temp_swing_c": 0,
        "temp_session_sigma_c": 0,
        "load": [list(s) for s in load],
        "load_profiles": profiles,
        "events": [{"t": 0, "type": "dock"}],
    }


def circuit(profiles, **kw):
    return Circuit(S.parse(obj(profiles, **kw), "test", BOARDS))


def ma_at(c, t_s):
    return c.load_ma(int(t_s * S_ + 0.5))


CC_CV = {
    "t": 10,
    "until": 60,
    "kind": "cc_cv",
    "cc_ma": 2000,
    "cv_at": 15,
    "end_ma": 100,
    "tau_s": 8,
    "step_s": 0.5,
}


def test_cc_cv_constant_then_exponential_taper():
    c = circuit([CC_CV], load=((0, 300),))
    assert ma_at(c, 5) == pytest.approx(300)  # the plain load before the profile
    for s in (10, 10.001, 17, 24.999):
        assert ma_at(c, s) == pytest.approx(2000)
    for k in (1, 2, 7, 30):
        start = 25 + 0.5 * k
        want = 100 + 1900 * math.exp(-0.5 * k / 8)
        # The step holds the taper's value at its start until the next step begins.
        assert ma_at(c, start + 0.000001) == pytest.approx(want, rel=1e-6)
        assert ma_at(c, start + 0.499) == pytest.approx(want, rel=1e-6)
    # The taper falls by exp(-step/tau) from one step to the next.
    assert ma_at(c, 30.2) - 100 == pytest.approx((ma_at(c, 29.7) - 100) * math.exp(-0.5 / 8))
    assert ma_at(c, 59.9) == pytest.approx(100 + 1900 * math.exp(-34.5 / 8), rel=1e-6)
    assert ma_at(c, 60) == pytest.approx(300)  # the plain load is back at until


def test_cc_cv_taper_settles_on_end_ma_and_stops_stepping():
    p = dict(CC_CV, t=0, cv_at=0, tau_s=1)
    del p["until"]  # to the scenario's end
    sc = S.parse(obj([p], duration_s=1000), "test", BOARDS)
    # ln(1900 / 0.001) ≈ 14.5 time constants, 29 half-second steps, then end_ma for good.
    assert len(sc.load) < 40
    c = Circuit(sc)
    assert ma_at(c, 0.2) == pytest.approx(2000)
    assert ma_at(c, 999) == pytest.approx(100)
    assert sc.load_profiles[0]["until"] == 1000


def test_pulsed_edges_are_exact_even_far_into_the_train():
    p = {
        "t": 2,
        "until": 1000,
        "kind": "pulsed",
        "high_ma": 1800,
        "low_ma": 40,
        "period_s": 0.7,
        "duty": 0.3,
    }
    c = circuit([p], load=((0, 500),), duration_s=1000)
    for k in (0, 1, 5, 1000, 1420):
        rise = 2 + k * 0.7
        fall = rise + 0.21
        assert ma_at(c, rise - 0.000002) == pytest.approx(40 if k else 500)
        assert ma_at(c, rise + 0.000002) == pytest.approx(1800)
        assert ma_at(c, fall - 0.000002) == pytest.approx(1800)
        assert ma_at(c, fall + 0.000002) == pytest.approx(40)
    # The last period (k = 1425 rises at 999.5) is cut short by until, the plain load back.
    assert ma_at(c, 999.6) == pytest.approx(1800)
    assert ma_at(c, 999.8) == pytest.approx(40)
    assert ma_at(c, 1000) == pytest.approx(500)


TRICKLE = {"t": 0, "kind": "trickle", "ma": 175, "jitter_ma": 125, "step_s": 2}


def test_trickle_wanders_within_its_band_a_step_at_a_time():
    sc = S.parse(obj([TRICKLE], duration_s=3600), "test", BOARDS)
    steps = sc.load
    assert [s[0] for s in steps[:4]] == [0, 2, 4, 6]
    assert len(steps) == 1800 + 1  # every 2 s, then the plain load (none: 0) at the end
    values = [s[1] for s in steps[:-1]]
    assert values[0] == 175
    assert min(values) >= 50 and max(values) <= 300
    # A walk, not noise around a fixed level: no move bigger than half the jitter...
    assert max(abs(b - a) for a, b in itertools.pairwise(values)) <= 62.5 + 1e-9
    # ... and over an hour it visits most of the band.
    assert min(values) < 90 and max(values) > 260
    c = Circuit(sc)
    for k in (0, 1, 17, 900):
        assert ma_at(c, 2 * k + 1) == pytest.approx(values[k])
        assert ma_at(c, 2 * k + 1.99) == pytest.approx(values[k])


def test_trickle_follows_the_seed():
    def steps(seed, profiles=(TRICKLE,)):
        return S.parse(obj(list(profiles), seed=seed), "test", BOARDS).load

    assert steps(7) == steps(7)
    assert steps(7) != steps(8)
    # Two trickles in one file draw differently (the profile's index is in the draw).
    second = dict(TRICKLE, t=50)
    first = dict(TRICKLE, until=50)
    both = steps(7, (first, second))
    a = [s[1] for s in both if s[0] < 50]
    b = [s[1] for s in both if s[0] >= 50][: len(a)]
    assert a != b


def test_trickle_never_below_zero():
    p = dict(TRICKLE, ma=10, jitter_ma=200)
    values = [s[1] for s in S.parse(obj([p]), "test", BOARDS).load]
    assert min(values) == 0
    assert max(values) > 10


def test_profile_replaces_plain_load_only_during_its_interval():
    load = ((0, 0), (5, 1500), (12, 900), (20, 1100), (30, 700))
    p = {"t": 10, "until": 20, "kind": "pulsed", "high_ma": 2000, "low_ma": 0}
    p.update({"period_s": 4, "duty": 0.5})
    sc = S.parse(obj([p], load=load), "test", BOARDS)
    # The step at 12 falls inside the profile and is gone; the one at 20 (until) stays.
    assert sc.load == [
        [0, 0],
        [5, 1500],
        [10, 2000],
        [12, 0],
        [14, 2000],
        [16, 0],
        [18, 2000],
        [20, 1100],
        [30, 700],
    ]
    p["until"] = 25
    sc = S.parse(obj([p], load=load), "test", BOARDS)
    # Until falls between plain steps: the one in effect then (t 20, 1100 mA) is back.
    assert [s for s in sc.load if s[0] >= 24] == [[24, 0], [25, 1100], [30, 700]]
    c = Circuit(sc)
    assert ma_at(c, 7) == pytest.approx(1500)
    assert ma_at(c, 13) == pytest.approx(0)
    assert ma_at(c, 15) == pytest.approx(2000)
    assert ma_at(c, 26) == pytest.approx(1100)
    assert ma_at(c, 31) == pytest.approx(700)


def test_back_to_back_profiles_and_one_before_any_plain_step():
    first = {"t": 0, "until": 10, "kind": "trickle", "ma": 100, "jitter_ma": 0, "step_s": 5}
    second = dict(CC_CV, t=10, until=20, cv_at=20)
    # The file order does not matter: profiles are sorted by t.
    sc = S.parse(obj([second, first], load=((30, 400),)), "test", BOARDS)
    assert sc.load == [[0, 100.0], [5, 100.0], [10, 2000], [20, 0.0], [30, 400]]
    assert [p["t"] for p in sc.load_profiles] == [0, 10]


def test_parse_does_not_modify_its_input():
    o = obj([dict(CC_CV), dict(TRICKLE, t=70)])
    before = copy.deepcopy(o)
    S.parse(o, "test", BOARDS)
    assert o == before


def test_no_profiles_leaves_the_plain_load_alone():
    o = obj([], load=((0, 0), (5, 1500)))
    assert S.parse(o, "test", BOARDS).load == [[0, 0], [5, 1500]]
    del o["load_profiles"]
    sc = S.parse(o, "test", BOARDS)
    assert sc.load == [[0, 0], [5, 1500]]
    assert sc.load_profiles == []


PULSED = {"t": 0, "kind": "pulsed", "high_ma": 900, "low_ma": 50, "period_s": 1, "duty": 0.5}

BAD = [
    ("not a list", 5, "field 'load_profiles': must be a list"),
    ("not an object", [5], "load_profiles[0]: must be an object, got 5"),
    ("no kind", [{"t": 0}], "load_profiles[0]: field 'kind': missing"),
    ("unknown kind", [{"t": 0, "kind": "sine"}], "(sine): field 'kind': unknown kind (known:"),
    ("unknown field", [dict(PULSED, step_s=1)], "(pulsed): field 'step_s': unknown field"),
    ("missing field", [{"t": 0, "kind": "trickle", "ma": 5}], "field 'jitter_ma': missing"),
    ("t negative", [dict(PULSED, t=-1)], "field 't': must be a number >= 0"),
    ("t at the end", [dict(PULSED, t=100)], "field 't': 100 must be before the scenario ends"),
    ("until before t", [dict(PULSED, t=5, until=5)], "field 'until': must be a number > t (5)"),
    ("until late", [dict(PULSED, until=101)], "and <= duration_s (100), got 101"),
    ("until text", [dict(PULSED, until="9")], "field 'until': must be a number > t"),
    ("note", [dict(PULSED, note=3)], "field 'note': must be a string"),
    ("ma negative", [dict(TRICKLE, ma=-1)], "(trickle): field 'ma': must be a number within"),
    ("jitter bool", [dict(TRICKLE, jitter_ma=True)], "field 'jitter_ma': must be a number"),
    ("step tiny", [dict(TRICKLE, step_s=0.0001)], "field 'step_s': must be a number >= 0.001"),
    ("cc negative", [dict(CC_CV, cc_ma=-5)], "(cc_cv): field 'cc_ma': must be a number"),
    ("cv_at negative", [dict(CC_CV, cv_at=-1)], "field 'cv_at': must be a number >= 0"),
    ("end above cc", [dict(CC_CV, end_ma=2500)], "field 'end_ma': must be <= cc_ma (2000)"),
    ("tau zero", [dict(CC_CV, tau_s=0)], "field 'tau_s': must be a number > 0, got 0"),
    ("high negative", [dict(PULSED, high_ma=-1)], "(pulsed): field 'high_ma': must be"),
    ("low text", [dict(PULSED, low_ma="x")], "field 'low_ma': must be a number"),
    ("period zero", [dict(PULSED, period_s=0)], "field 'period_s': must be a number > 0"),
    ("duty 1", [dict(PULSED, duty=1)], "field 'duty': must be a number > 0 and < 1, got 1"),
    ("duty 0", [dict(PULSED, duty=0)], "field 'duty': must be a number > 0 and < 1, got 0"),
    (
        "pulse under 1 µs",
        [dict(PULSED, period_s=0.000001)],
        "field 'period_s': high and low must each last at least 0.000001 s",
    ),
    (
        "overlap",
        [dict(PULSED, t=10, until=30), dict(TRICKLE, t=20)],
        "load_profiles[1] (trickle): field 't': 20 falls inside load_profiles[0] (10..30); "
        "profiles may not overlap",
    ),
    (
        "overlap in file order",
        [dict(TRICKLE, t=20), dict(PULSED, t=10, until=30)],
        "load_profiles[0] (trickle): field 't': 20 falls inside load_profiles[1] (10..30)",
    ),
    (
        "too many pulses",
        [dict(PULSED, period_s=0.0001)],
        "(pulsed): field 'period_s': would generate more than 200000 load steps (use a "
        "longer period_s",
    ),
    (
        "too many in all",
        [dict(TRICKLE, step_s=0.001, until=90), dict(PULSED, t=90, period_s=0.00015)],
        "load_profiles[1] (pulsed): with the profiles before it, more than 200000 load steps",
    ),
]


@pytest.mark.parametrize("bad", BAD, ids=[b[0] for b in BAD])
def test_bad_profiles_name_file_profile_and_field(bad):
    _, profiles, want = bad
    with pytest.raises(S.ScenarioError) as e:
        S.parse(obj(profiles), "x.json", BOARDS)
    msg = str(e.value)
    assert msg.startswith("x.json: ")
    assert want in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    "profile",
    [dict(TRICKLE, step_s=0.001, jitter_ma=0), dict(CC_CV, step_s=0.001, until=None, tau_s=1e6)],
    ids=["trickle", "cc_cv"],
)
def test_too_fine_a_step_over_a_long_span_is_refused(profile):
    profile = {k: v for k, v in profile.items() if v is not None}
    with pytest.raises(S.ScenarioError) as e:
        S.parse(obj([profile], duration_s=1000), "x.json", BOARDS)
    assert "field 'step_s': would generate more than 200000 load steps (use a coarser" in str(
        e.value
    )
