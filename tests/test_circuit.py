"""The simulated circuit: Kirchhoff sharing, sense pads and Kelvin pairs, window
averaging across change points, and every event's effect on the contacts."""

import time
from pathlib import Path

import pytest
from docksim import scenario as S
from docksim.circuit import Circuit

ROOT = Path(__file__).resolve().parents[1]
BOARDS = str(ROOT / "boards")
SCENARIOS = ROOT / "scenarios"

S_ = 1000000  # µs per second
R = {"VBUS1": 30.0, "GND1": 40.0, "GND2": 50.0, "VBUS2": 60.0}
ADDR = {"VBUS1": 0x40, "GND1": 0x41, "GND2": 0x42, "VBUS2": 0x43, "SENSE_V": 0x44, "SENSE_G": 0x45}
RSH = 10.0  # mOhm, every pin of pico-dock-4


def make(events=(), load=((0, 0), (5, 1500)), board="pico-dock-4", pins=None, **extra):
    obj = {
        "board": board,
        "seed": 7,
        "duration_s": 1000,
        "seating_sigma_mohm": 0,
        # exact expected values: a constant temperature (the field's daily cycle is off)
        "temp_swing_c": 0,
        "temp_session_sigma_c": 0,
        "load": [list(s) for s in load],
        "pins": {n: {"r_mohm": r} for n, r in (R if pins is None else pins).items()},
        "events": [{"t": 5, "type": "dock"}, *events],
    }
    obj.update(extra)
    return Circuit(S.parse(obj, "test", BOARDS))


def from_file(name):
    return Circuit(S.load(str(SCENARIOS / name), BOARDS))


def branch(c, name, t):
    return c.contact_mohm(name, t) + c.board.pin(name).shunt_uohm / 1000


def test_kirchhoff_sharing():
    c = make()
    t = 10 * S_
    i = {n: c.pin_current_ma(n, t) for n in R}
    assert c.load_ma(t) == pytest.approx(1500)
    assert i["VBUS1"] + i["VBUS2"] == pytest.approx(1500)
    assert i["GND1"] + i["GND2"] == pytest.approx(1500)
    # Sharing inverse to branch resistance (shunt + contact).
    assert i["VBUS1"] / i["VBUS2"] == pytest.approx((60 + RSH) / (30 + RSH))
    assert i["GND1"] / i["GND2"] == pytest.approx((50 + RSH) / (40 + RSH))
    for n in R:
        assert c.contact_mohm(n, t) == pytest.approx(R[n])


def test_pin_monitors_and_sense_pads():
    c = make()
    t = 10 * S_
    rail = c.board.rail_mv
    vp, vn = c.node_mv(t)
    # Parallel branch resistances give the node voltages.
    rps = 1 / (1 / (30 + RSH) + 1 / (60 + RSH))
    rpg = 1 / (1 / (40 + RSH) + 1 / (50 + RSH))
    assert rail - vp == pytest.approx(1500 * rps / 1000)
    assert vn == pytest.approx(1500 * rpg / 1000)
    pad_v = c.reading(ADDR["SENSE_V"], t)
    pad_g = c.reading(ADDR["SENSE_G"], t)
    assert pad_v[0] == pytest.approx((rail - vp) * 1000) and pad_v[1] == pytest.approx(vp)
    assert pad_g[0] == pytest.approx(vn * 1000) and pad_g[1] == 0
    for n in R:
        shunt_uv, bus_mv = c.reading(ADDR[n], t)
        i = c.pin_current_ma(n, t)
        assert shunt_uv == pytest.approx(i * RSH)
        assert bus_mv == pytest.approx(rail - i * RSH / 1000 if n.startswith("VBUS") else 0)
        # The firmware's formula: contact drop = sense reading - own shunt reading.
        sense = pad_v if n.startswith("VBUS") else pad_g
        assert sense[0] - shunt_uv == pytest.approx(i * R[n])


def test_source_in_a_quiet_window_equals_the_instant_reading():
    c = make()
    for name, addr in ADDR.items():
        assert c.source(addr)(10 * S_, 10 * S_ + 68100) == pytest.approx(
            c.reading(addr, 10 * S_)
        ), name


def test_undocked_pad_clips_and_nothing_flows():
    c = make(load=((0, 1500),))
    t = 2 * S_
    assert not c.docked(t)
    assert c.load_ma(t) == 0 and c.demand_ma(t) == 1500
    assert all(c.contact_mohm(n, t) is None for n in R)
    pad_v = c.source(ADDR["SENSE_V"])(t, t + 532)
    assert pad_v == (5000000.0, 0.0)  # the whole rail: far beyond the chip's ±320 mV
    assert c.source(ADDR["SENSE_G"])(t, t + 532) == (0.0, 0.0)
    assert c.reading(ADDR["VBUS1"], t) == (0.0, 5000.0)
    assert c.reading(ADDR["GND1"], t) == (0.0, 0.0)


def test_docked_without_load_does_not_clip():
    c = make(load=((0, 0),))
    t = 10 * S_
    assert c.docked(t) and c.load_ma(t) == 0
    assert c.reading(ADDR["SENSE_V"], t) == (0.0, 5000.0)
    assert c.reading(ADDR["SENSE_G"], t) == (0.0, 0.0)


def test_all_supply_contacts_open_means_unpowered():
    c = make(events=[{"t": 10, "type": "misalign", "pins": ["VBUS1", "VBUS2"], "open": True}])
    t = 20 * S_
    assert c.load_ma(t) == 0
    assert all(c.pin_current_ma(n, t) == 0 for n in R)
    assert c.reading(ADDR["SENSE_V"], t)[0] == 5000000.0  # unpowered: pad pulled down
    c = make(events=[{"t": 10, "type": "misalign", "pins": ["GND1", "GND2"], "open": True}])
    assert c.load_ma(t) == 0
    assert c.reading(ADDR["SENSE_V"], t) == (0.0, 5000.0)  # powered, no return path


def test_misalign_open_and_realign():
    c = make(
        events=[
            {"t": 20, "type": "misalign", "pins": ["VBUS2", "GND2"], "extra_mohm": 400},
            {"t": 35, "type": "misalign", "pins": ["VBUS2"], "open": True},
            {"t": 45, "type": "realign"},
        ]
    )
    t = 25 * S_
    assert c.contact_mohm("VBUS2", t) == pytest.approx(460)
    assert c.contact_mohm("GND2", t) == pytest.approx(450)
    assert c.contact_mohm("VBUS1", t) == pytest.approx(30)
    assert c.pin_current_ma("VBUS1", t) / c.pin_current_ma("VBUS2", t) == pytest.approx(470 / 40)
    t = 40 * S_
    assert c.contact_mohm("VBUS2", t) is None
    assert c.contact_mohm("GND2", t) == pytest.approx(450)  # still misaligned
    assert c.pin_current_ma("VBUS2", t) == 0
    assert c.pin_current_ma("VBUS1", t) == pytest.approx(1500)
    t = 50 * S_
    assert [c.contact_mohm(n, t) for n in R] == pytest.approx([R[n] for n in R])


def test_realign_of_some_pins_and_undock_ends_misalignment():
    c = make(
        events=[
            {"t": 20, "type": "misalign", "pins": ["VBUS2", "GND2"], "extra_mohm": 100},
            {"t": 30, "type": "realign", "pins": ["GND2"]},
            {"t": 40, "type": "undock"},
            {"t": 50, "type": "dock"},
        ]
    )
    assert c.contact_mohm("VBUS2", 35 * S_) == pytest.approx(160)
    assert c.contact_mohm("GND2", 35 * S_) == pytest.approx(50)
    assert c.contact_mohm("VBUS2", 55 * S_) == pytest.approx(60)


def test_oxidation_rises_docked_or_not_until_clean():
    c = make(
        events=[
            {"t": 10, "type": "oxidation", "pin": "GND1", "mohm_per_day": 86400},  # 1 mOhm/s
            {"t": 100, "type": "undock"},
            {"t": 200, "type": "dock"},
            {"t": 300, "type": "clean"},
            {"t": 400, "type": "oxidation", "pin": "GND1", "mohm_per_day": 8640},
        ]
    )
    assert c.contact_mohm("GND1", 10 * S_) == pytest.approx(40)
    assert c.contact_mohm("GND1", 60 * S_) == pytest.approx(90)
    assert c.contact_mohm("GND1", 150 * S_) is None  # undocked
    assert c.contact_mohm("GND1", 250 * S_) == pytest.approx(280)  # rose while away
    assert c.contact_mohm("GND2", 250 * S_) == pytest.approx(50)
    assert c.contact_mohm("GND1", 350 * S_) == pytest.approx(40)  # cleaned
    assert c.contact_mohm("GND1", 500 * S_) == pytest.approx(50)  # a new film starts from 0


def test_clean_of_one_pin_leaves_the_others():
    c = make(
        events=[
            {"t": 10, "type": "oxidation", "pin": "GND1", "mohm_per_day": 86400},
            {"t": 10, "type": "oxidation", "pin": "GND2", "mohm_per_day": 86400},
            {"t": 20, "type": "clean", "pins": ["GND2"]},
        ]
    )
    assert c.contact_mohm("GND1", 30 * S_) == pytest.approx(60)
    assert c.contact_mohm("GND2", 30 * S_) == pytest.approx(50)


def test_heat_scales_contact_resistance():
    c = make(
        events=[{"t": 60, "type": "heat", "temp_c": 85}, {"t": 70, "type": "heat", "temp_c": 25}]
    )
    assert c.temp_c(50 * S_) == 25
    assert c.temp_c(65 * S_) == 85
    assert c.contact_mohm("VBUS1", 65 * S_) == pytest.approx(30 * (1 + 0.0039 * 60))
    assert c.contact_mohm("VBUS1", 75 * S_) == pytest.approx(30)
    warm = make(ambient_c=35)
    assert warm.temp_c(10 * S_) == 35
    assert warm.contact_mohm("GND2", 10 * S_) == pytest.approx(50 * 1.039)


def test_overload_replaces_the_load_until_its_end():
    c = from_file("faults.json")
    assert c.demand_ma(42 * S_) == 4000
    assert c.load_ma(42 * S_) == pytest.approx(4000)
    assert c.load_ma(46 * S_) == pytest.approx(1500)
    c = make(events=[{"t": 10, "type": "overload", "ma": 3000}])
    assert c.load_ma(900 * S_) == pytest.approx(3000)


def test_window_average_of_a_dropout_is_seventy_percent():
    c = from_file("intermittent.json")
    drops = c.dropouts("VBUS1", 20 * S_, 40 * S_)
    assert len(drops) > 40
    # A 3 ms dropout with no neighbour within 10 ms.
    for k in range(1, len(drops) - 1):
        s, e = drops[k]
        if e - s == 3000 and s - drops[k - 1][1] > 10000 and drops[k + 1][0] - e > 10000:
            break
    else:
        raise AssertionError("no isolated dropout")
    t0, t1 = s - 4000, s + 6000  # a 10 ms window holding the whole 3 ms open
    assert c.contact_mohm("VBUS1", s + 1500) is None
    assert c.contact_mohm("VBUS1", s - 1) is not None and c.contact_mohm("VBUS1", e) is not None
    closed1 = c.reading(0x40, t0)[0]
    closed2 = c.reading(0x43, t0)[0]
    avg1 = c.source(0x40)(t0, t1)[0]
    avg2 = c.source(0x43)(t0, t1)[0]
    assert avg1 == pytest.approx(0.7 * closed1)
    assert avg2 == pytest.approx(0.7 * closed2 + 0.3 * 1500 * RSH)  # the sibling takes it all
    # Ground side unaffected; the supply pad sees a larger drop while one pin carries all.
    assert c.source(0x41)(t0, t1) == pytest.approx(c.reading(0x41, t0))
    assert c.source(0x44)(t0, t1)[0] > c.reading(0x44, t0)[0]


def test_dropouts_are_a_deterministic_poisson_process():
    obj = {
        "board": "pico-dock-4",
        "seed": 11,
        "duration_s": 3000,
        "load": [[0, 1000]],
        "events": [
            {"t": 0, "type": "dock"},
            {
                "t": 100,
                "type": "intermittent",
                "pin": "GND2",
                "rate_hz": 4,
                "dropout_ms": 3,
                "until": 2100,
            },
        ],
    }
    a = Circuit(S.parse(obj, "a", BOARDS)).dropouts("GND2", 0, 3000 * S_)
    b = Circuit(S.parse(obj, "b", BOARDS)).dropouts("GND2", 0, 3000 * S_)
    assert a == b
    assert 8000 - 4 * 90 < len(a) < 8000 + 4 * 90  # 4 Hz over 2000 s; sigma ~ 90
    assert a[0][0] >= 100 * S_ and a[-1][1] <= 2100 * S_
    assert all(e - s >= 3000 for s, e in a)  # overlapping dropouts merge into longer ones
    obj["seed"] = 12
    assert Circuit(S.parse(obj, "c", BOARDS)).dropouts("GND2", 0, 3000 * S_) != a


def _integrate(c, addr, t0, t1):
    """The window average by brute force: the instant reading at every µs."""
    s = b = 0.0
    for t in range(t0, t1):
        r = c.reading(addr, t)
        s += r[0]
        b += r[1]
    return s / (t1 - t0), b / (t1 - t0)


@pytest.mark.parametrize("addr", [0x40, 0x43, 0x44, 0x45])
def test_averages_match_brute_force_across_change_points(addr):
    c = make(
        load=((0, 0), (5, 1500), (20.004, 1800)),
        events=[
            {"t": 20.002, "type": "misalign", "pins": ["VBUS2"], "extra_mohm": 200},
            {
                "t": 20.006,
                "type": "intermittent",
                "pin": "VBUS1",
                "rate_hz": 400,
                "dropout_ms": 1,
                "until": 20.03,
            },
            {"t": 20.01, "type": "heat", "temp_c": 60},
        ],
    )
    f = c.source(addr)
    t0 = 20 * S_
    for w0, w1 in ((t0, t0 + 8000), (t0 + 5000, t0 + 17000), (t0 + 1, t0 + 30000)):
        assert f(w0, w1) == pytest.approx(_integrate(c, addr, w0, w1), rel=1e-9, abs=1e-9)


def test_oxidation_inside_a_window_is_averaged():
    c = from_file("demo.json")  # GND1 oxidises at 11520 mOhm/day = 0.133 mOhm/s
    t0 = 10 * S_
    f = c.source(0x45)
    avg = f(t0, t0 + 68100)
    mid = c.reading(0x45, t0 + 34050)
    assert avg == pytest.approx(mid, rel=1e-6)
    assert f(t0 + 10 * S_, t0 + 10 * S_ + 1000)[0] > avg[0]  # still rising


def test_seating_varies_per_session_and_is_deterministic():
    sc = S.load(str(SCENARIOS / "demo.json"), BOARDS)
    c1 = Circuit(sc)
    c2 = Circuit(S.load(str(SCENARIOS / "demo.json"), BOARDS))
    sessions = c1.dock_sessions()
    assert sessions[0] == (5 * S_, 30 * S_) and sessions[-1] == (160 * S_, 200 * S_)
    per = [c1.contact_mohm("VBUS2", s + 1000) for s, _ in sessions]
    assert len(set(per)) == len(per)  # a new seating each time
    assert all(
        abs(r - sc.pins["VBUS2"]["r_mohm"]) < 3.5 * sc.seating_sigma_mohm + 1e-9 for r in per
    )
    assert per == [c2.contact_mohm("VBUS2", s + 1000) for s, _ in sessions]
    s, e = sessions[0]
    assert c1.contact_mohm("VBUS2", s + 1000) == c1.contact_mohm("VBUS2", e - 1000)


def test_default_resistances_differ_per_pin():
    c = Circuit(S.load(str(SCENARIOS / "misalign.json"), BOARDS))
    rs = [c.contact_mohm(n, 10 * S_) for n in R]
    assert all(29 < r < 41 for r in rs) and len(set(rs)) == 4


def test_feather_kelvin_readings():
    c = make(board="feather-kelvin-2", pins={"VBUS": 40, "GND": 30}, load=((0, 0), (5, 1200)))
    t = 10 * S_
    rail = c.board.rail_mv
    rsh = 20.0
    vp, vn = c.node_mv(t)
    assert vp == pytest.approx(rail - 1200 * (40 + rsh) / 1000)
    assert vn == pytest.approx(1200 * (30 + rsh) / 1000)
    k_v = c.reading(0x44, t)
    k_g = c.reading(0x45, t)
    assert k_v[0] == pytest.approx(1200 * 40) and k_v[1] == pytest.approx(vp)
    assert k_g[0] == pytest.approx(1200 * 30) and k_g[1] == pytest.approx(vn)
    assert c.reading(0x40, t) == pytest.approx((1200 * rsh, rail - 1200 * rsh / 1000))
    assert c.reading(0x41, t) == pytest.approx((1200 * rsh, 0))
    # Undocked: the supply Kelvin pair sees the whole rail, like a pad.
    assert c.reading(0x44, 2 * S_) == (5000000.0, 0.0)
    assert c.reading(0x45, 2 * S_) == (0.0, 0.0)


def test_rail_switch():
    c = make()
    c.set_rail(False, 20 * S_)
    c.set_rail(True, 30 * S_)
    assert c.load_ma(10 * S_) == pytest.approx(1500)
    assert c.load_ma(25 * S_) == 0
    assert c.reading(ADDR["SENSE_V"], 25 * S_) == (0.0, 0.0)
    assert c.reading(ADDR["VBUS1"], 25 * S_) == (0.0, 0.0)
    assert c.load_ma(35 * S_) == pytest.approx(1500)


def test_faults_list():
    f = from_file("faults.json").faults()
    kinds = [(x["kind"], x["pins"], x["t_us"], x["end_us"]) for x in f]
    assert kinds == [
        ("sensor_fault", ["VBUS1"], 20 * S_, 25 * S_),
        ("sensor_fault", ["GND2"], 30 * S_, 30 * S_),
        ("overcurrent", [], 40 * S_, 45 * S_),
        ("overheat", [], 60 * S_, 70 * S_),
    ]
    f = from_file("misalign.json").faults()
    assert [(x["kind"], x["pins"], x["t_us"], x["end_us"]) for x in f] == [
        ("misalignment", ["VBUS2", "GND2"], 20 * S_, 45 * S_),
        ("misalignment", ["VBUS2"], 35 * S_, 45 * S_),
    ]
    assert f[1]["open"] is True and f[0]["extra_mohm"] == 400
    f = from_file("oxidation-60d.json").faults()
    assert f == [
        {
            "kind": "oxidation",
            "pins": ["GND1"],
            "t_us": 0,
            "end_us": 4320000 * S_,
            "mohm_per_day": 2.5,
            "type": "oxidation",
            "event": 120,
        }
    ]
    c = make(events=[{"t": 10, "type": "sensor_fault", "pin": "SENSE_G", "mode": "stuck"}])
    assert c.faults()[0]["pins"] == ["GND1", "GND2"] and c.faults()[0]["monitor"] == "SENSE_G"


def test_mating_cycles():
    c = make(pins={"VBUS1": 30, "GND1": 40, "GND2": 50, "VBUS2": 60})
    assert c.mating_cycles("VBUS1", 0) == 0
    assert c.mating_cycles("VBUS1", 10 * S_) == 1


def test_common_call_is_fast():
    c = from_file("intermittent.json")
    fs = [c.source(a) for a in ADDR.values()]
    n = 5000
    start = time.perf_counter()
    for k in range(n):
        t = 10 * S_ + k * 1000
        for f in fs:
            f(t, t + 1064)
    per_call_us = (time.perf_counter() - start) / (n * len(fs)) * 1e6
    assert per_call_us < 20, per_call_us


def test_fast_oxidation_readings_follow_the_exact_solution():
    # demo.json: GND1 rises 0.133 mOhm/s, so the cached secant is refreshed often.
    c = from_file("demo.json")
    exact = from_file("demo.json")
    f = c.source(0x45)
    g = c.source(0x41)
    for k in range(200):
        t0 = 10 * S_ + k * 37013
        for fn, addr in ((f, 0x45), (g, 0x41)):
            avg = fn(t0, t0 + 1064)
            mid = exact.reading(addr, t0 + 532)
            assert avg[0] == pytest.approx(mid[0], abs=0.1), (k, addr)  # LSB: 10 µV
            assert avg[1] == pytest.approx(mid[1], abs=1e-5)
