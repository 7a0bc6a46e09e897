# Tier B: the scenario loader and the circuit under the real MicroPython interpreter.
from docksim import scenario as S
from docksim.circuit import Circuit

# tools/mptest.py runs from the repository root.
BOARDS = "boards"
SCENARIOS = "scenarios"
S_ = 1000000
R = {"VBUS1": 30.0, "GND1": 40.0, "GND2": 50.0, "VBUS2": 60.0}


def _close(a, b, tol=1e-6):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _make(events=(), board="pico-dock-4", pins=None, load=None):
    pins = R if pins is None else pins
    obj = {
        "board": board,
        "seed": 7,
        "duration_s": 100,
        "seating_sigma_mohm": 0,
        # exact expected values: a constant temperature (the field's daily cycle is off)
        "temp_swing_c": 0,
        "temp_session_sigma_c": 0,
        "load": load or [[0, 0], [5, 1500]],
        "pins": dict((n, {"r_mohm": r}) for n, r in pins.items()),
        "events": [{"t": 5, "type": "dock"}],
    }
    obj["events"].extend(events)
    return Circuit(S.parse(obj, "mp", BOARDS))


def test_examples_load():
    for name in ("demo", "faults", "intermittent", "misalign", "oxidation-60d", "quiet-week"):
        sc = S.load("%s/%s.json" % (SCENARIOS, name), BOARDS)
        ts = [ev["t"] for ev in sc.events]
        assert ts == sorted(ts), name


def test_bad_event_names_the_field():
    obj = {
        "board": "pico-dock-4",
        "seed": 1,
        "duration_s": 60,
        "events": [
            {"t": 5, "type": "dock"},
            {"t": 30, "type": "misalign", "pins": ["VBUS2"], "extra_mohm": 0},
        ],
    }
    try:
        S.parse(obj, "x.json", BOARDS)
    except S.ScenarioError as e:
        msg = str(e)
        assert msg.startswith(
            "x.json: events[1] (misalign): field 'extra_mohm': must be a number > 0"
        ), msg
    else:
        raise AssertionError("a bad scenario was accepted")


def test_kirchhoff():
    c = _make()
    t = 10 * S_
    i1 = c.pin_current_ma("VBUS1", t)
    i2 = c.pin_current_ma("VBUS2", t)
    g1 = c.pin_current_ma("GND1", t)
    g2 = c.pin_current_ma("GND2", t)
    assert _close(i1 + i2, 1500) and _close(g1 + g2, 1500), (i1, i2, g1, g2)
    assert _close(i1 / i2, 70.0 / 40.0)
    assert _close(g1 / g2, 60.0 / 50.0)
    # Sense pad minus own shunt = the contact's drop.
    pad = c.reading(0x44, t)[0]
    assert _close(pad - c.reading(0x40, t)[0], i1 * 30.0)


def test_dropout_window_average():
    c = Circuit(S.load(SCENARIOS + "/intermittent.json", BOARDS))
    drops = c.dropouts("VBUS1", 20 * S_, 40 * S_)
    found = None
    for k in range(1, len(drops) - 1):
        s, e = drops[k]
        if e - s == 3000 and s - drops[k - 1][1] > 10000 and drops[k + 1][0] - e > 10000:
            found = s
            break
    assert found is not None
    t0 = found - 4000
    closed1 = c.reading(0x40, t0)[0]
    closed2 = c.reading(0x43, t0)[0]
    assert _close(c.source(0x40)(t0, t0 + 10000)[0], 0.7 * closed1)
    assert _close(c.source(0x43)(t0, t0 + 10000)[0], 0.7 * closed2 + 0.3 * 1500 * 10.0)


def test_undocked_pad_clips():
    c = _make()
    assert c.source(0x44)(S_, S_ + 532) == (5000000.0, 0.0)
    assert c.source(0x45)(S_, S_ + 532) == (0.0, 0.0)


def test_kelvin_board():
    c = _make(board="feather-kelvin-2", pins={"VBUS": 40.0, "GND": 30.0}, load=[[0, 0], [5, 1200]])
    t = 10 * S_
    assert _close(c.reading(0x44, t)[0], 1200 * 40.0)
    assert _close(c.reading(0x45, t)[0], 1200 * 30.0)


def test_oxidation_and_clean():
    c = _make(
        events=[
            {"t": 10, "type": "oxidation", "pin": "GND1", "mohm_per_day": 86400},
            {"t": 50, "type": "clean"},
        ]
    )
    assert _close(c.contact_mohm("GND1", 30 * S_), 60.0)
    assert _close(c.contact_mohm("GND1", 60 * S_), 40.0)


def test_load_profiles_expand_as_under_cpython():
    obj = {
        "board": "pico-dock-4",
        "seed": 7,
        "duration_s": 100,
        "load": [[0, 0], [5, 1500]],
        "load_profiles": [
            {"t": 10, "until": 20, "kind": "trickle", "ma": 175, "jitter_ma": 125, "step_s": 2},
            {
                "t": 20,
                "until": 30,
                "kind": "cc_cv",
                "cc_ma": 2000,
                "cv_at": 2,
                "end_ma": 100,
                "tau_s": 4,
                "step_s": 1,
            },
            {
                "t": 30,
                "until": 32,
                "kind": "pulsed",
                "high_ma": 900,
                "low_ma": 50,
                "period_s": 0.8,
                "duty": 0.25,
            },
        ],
    }
    load = S.parse(obj, "mp", BOARDS).load
    # The trickle's walk and the taper as CPython computes them (same hash, same doubles).
    want = [
        [0, 0], [5, 1500], [10, 175.0], [12, 214.6197767695412], [14, 276.378967781784],
        [16, 272.57143957540393], [18, 299.7574181179516], [20, 2000],
        [23, 1579.7214878356692], [24, 1252.4082534540034], [25, 997.4964502079279],
        [26, 798.9709382257404], [27, 644.3591140343611], [28, 523.9473042820166],
        [29, 430.1704925558458], [30.0, 900], [30.2, 50], [30.8, 900], [31.0, 50],
        [31.6, 900], [31.8, 50], [32, 1500],
    ]  # fmt: skip
    assert len(load) == len(want), load
    for k in range(len(want)):
        got, exp = load[k], want[k]
        assert _close(got[0], exp[0], 1e-12) and _close(got[1], exp[1], 1e-12), (got, exp)
    obj["load_profiles"][2]["duty"] = 1
    try:
        S.parse(obj, "x.json", BOARDS)
    except S.ScenarioError as e:
        assert str(e) == (
            "x.json: load_profiles[2] (pulsed): field 'duty': must be a number > 0 and < 1, got 1"
        ), str(e)
    else:
        raise AssertionError("a duty of 1 was accepted")
