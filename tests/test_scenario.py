"""Scenario files (README, "Scenario files"): every example loads, every malformed input is
refused with the file, the place and the field in the message."""

import copy
import json
from pathlib import Path

import pytest
from docksim import scenario as S

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.json"))
BOARDS = str(ROOT / "boards")


def base():
    """A small valid scenario; events[0] is the dock."""
    return {
        "board": "pico-dock-4",
        "seed": 1,
        "duration_s": 60,
        "sample_hz": 200,
        "load": [[0, 0], [5, 1500]],
        "events": [{"t": 5, "type": "dock"}],
    }


def write(tmp_path, obj, name="x.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def refused(tmp_path, obj):
    path = write(tmp_path, obj)
    with pytest.raises(S.ScenarioError) as info:
        S.load(path, BOARDS)
    msg = str(info.value)
    assert msg.startswith(path + ": "), msg
    return msg


def test_examples_exist():
    assert len(SCENARIOS) >= 6


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_example_loads(path):
    sc = S.load(str(path), BOARDS)
    assert sc.board.name == sc.board_name
    assert sc.duration_us == int(sc.duration_s * 1000000 + 0.5)
    ts = [ev["t"] for ev in sc.events]
    assert ts == sorted(ts)
    assert sorted(sc.event_index) == list(range(len(sc.events)))
    assert set(sc.pins) == {p.name for p in sc.board.pins}


def test_events_are_sorted_and_keep_their_file_index():
    sc = S.load(str(ROOT / "scenarios" / "oxidation-60d.json"), BOARDS)
    # The file lists the oxidation (t 0) near its end.
    assert sc.events[0]["type"] == "oxidation"
    raw = json.loads((ROOT / "scenarios" / "oxidation-60d.json").read_text())
    assert raw["events"][sc.event_index[0]]["type"] == "oxidation"
    assert sc.event_index[0] == len(raw["events"]) - 2


def test_ties_keep_file_order(tmp_path):
    obj = base()
    obj["events"] += [
        {"t": 10, "type": "misalign", "pins": ["VBUS1"], "extra_mohm": 5},
        {"t": 10, "type": "realign"},
        {"t": 10, "type": "misalign", "pins": ["VBUS2"], "extra_mohm": 7},
    ]
    sc = S.load(write(tmp_path, obj), BOARDS)
    assert [e["type"] for e in sc.events] == ["dock", "misalign", "realign", "misalign"]
    assert sc.event_index == [0, 1, 2, 3]


def test_defaults_and_overrides(tmp_path):
    obj = base()
    del obj["sample_hz"]
    obj["pins"] = {"GND2": {"r_mohm": 80, "cycles": 1234}}
    sc = S.load(write(tmp_path, obj), BOARDS)
    assert sc.sample_hz is None and sc.idle_hz is None
    assert sc.ambient_c == 25 and sc.seating_sigma_mohm == 2
    assert sc.temp_swing_c == 10 and sc.temp_session_sigma_c == 2
    assert sc.pins["GND2"] == {"r_mohm": 80, "cycles": 1234}
    others = [sc.pins[n]["r_mohm"] for n in ("VBUS1", "GND1", "VBUS2")]
    assert all(30 <= r <= 40 for r in others)
    assert len(set(others)) == 3  # slightly different per pin
    again = S.load(write(tmp_path, obj, "y.json"), BOARDS)
    assert [again.pins[n] for n in sorted(again.pins)] == [sc.pins[n] for n in sorted(sc.pins)]
    obj["seed"] = 2
    other_seed = S.load(write(tmp_path, obj, "z.json"), BOARDS)
    assert other_seed.pins["VBUS1"]["r_mohm"] != sc.pins["VBUS1"]["r_mohm"]


def test_extras_accepted(tmp_path):
    obj = base()
    obj.update({"ambient_c": 35, "seating_sigma_mohm": 0, "idle_hz": 0.5, "description": "x"})
    obj.update({"temp_swing_c": 0, "temp_session_sigma_c": 1.5})
    obj["events"] += [
        {
            "t": 6,
            "type": "sensor_fault",
            "pin": "SENSE_V",
            "mode": "stuck",
            "until": 8,
            "note": "pad",
        },
        {"t": 7, "type": "sensor_fault", "pin": "GND2", "mode": "reset"},
        {"t": 9, "type": "misalign", "pins": ["VBUS2"], "open": True},
        {"t": 10, "type": "realign", "pins": ["VBUS2"]},
        {"t": 11, "type": "intermittent", "pin": "VBUS1", "rate_hz": 2, "dropout_ms": 1.5},
        {"t": 12, "type": "overload", "ma": 4000},
        {"t": 13, "type": "clean", "pins": ["GND1"]},
        {"t": 14, "type": "heat", "temp_c": -10},
        {"t": 15, "type": "undock"},
    ]
    sc = S.load(write(tmp_path, obj), BOARDS)
    assert sc.ambient_c == 35 and sc.seating_sigma_mohm == 0 and sc.idle_hz == 0.5
    assert sc.temp_swing_c == 0 and sc.temp_session_sigma_c == 1.5
    assert len(sc.events) == 10


def ev(**fields):
    return fields


# (name, event appended after the dock at t=5, the field the message must name, text in it)
BAD_EVENTS = [
    (
        "extra zero",
        ev(t=30, type="misalign", pins=["VBUS2"], extra_mohm=0),
        "extra_mohm",
        "must be a number > 0",
    ),
    (
        "extra negative",
        ev(t=30, type="misalign", pins=["VBUS2"], extra_mohm=-4),
        "extra_mohm",
        "> 0",
    ),
    (
        "extra string",
        ev(t=30, type="misalign", pins=["VBUS2"], extra_mohm="4"),
        "extra_mohm",
        "> 0",
    ),
    ("misalign neither", ev(t=30, type="misalign", pins=["VBUS2"]), "extra_mohm", "missing"),
    (
        "misalign both",
        ev(t=30, type="misalign", pins=["VBUS2"], open=True, extra_mohm=3),
        "open",
        "not both",
    ),
    (
        "open not bool",
        ev(t=30, type="misalign", pins=["VBUS2"], open="yes"),
        "open",
        "true or false",
    ),
    (
        "misalign pin",
        ev(t=30, type="misalign", pins=["VBUS9"], extra_mohm=3),
        "pins",
        "'VBUS9' is not a pin",
    ),
    (
        "misalign no pins",
        ev(t=30, type="misalign", pins=[], extra_mohm=3),
        "pins",
        "non-empty list",
    ),
    (
        "misalign pin twice",
        ev(t=30, type="misalign", pins=["GND1", "GND1"], extra_mohm=3),
        "pins",
        "twice",
    ),
    ("misalign pins missing", ev(t=30, type="misalign", extra_mohm=3), "pins", "missing"),
    (
        "misalign sense",
        ev(t=30, type="misalign", pins=["SENSE_V"], extra_mohm=3),
        "pins",
        "not a pin",
    ),
    ("unknown field", ev(t=30, type="dock", force=3), "force", "unknown field"),
    ("unknown field 2", ev(t=30, type="realign", extra_mohm=3), "extra_mohm", "unknown field"),
    ("t missing", ev(type="realign"), "t", "missing"),
    ("t negative", ev(t=-1, type="realign"), "t", ">= 0"),
    ("t string", ev(t="10", type="realign"), "t", ">= 0"),
    ("t bool", ev(t=True, type="realign"), "t", ">= 0"),
    ("t after end", ev(t=61, type="realign"), "t", "after the scenario ends"),
    ("realign pins", ev(t=30, type="realign", pins="VBUS1"), "pins", "list"),
    ("clean pins", ev(t=30, type="clean", pins=["VBUS7"]), "pins", "not a pin"),
    (
        "rate missing",
        ev(t=30, type="intermittent", pin="VBUS1", dropout_ms=3),
        "rate_hz",
        "missing",
    ),
    (
        "rate zero",
        ev(t=30, type="intermittent", pin="VBUS1", rate_hz=0, dropout_ms=3),
        "rate_hz",
        "> 0",
    ),
    (
        "dropout neg",
        ev(t=30, type="intermittent", pin="VBUS1", rate_hz=4, dropout_ms=-3),
        "dropout_ms",
        "> 0",
    ),
    (
        "dropout tiny",
        ev(t=30, type="intermittent", pin="VBUS1", rate_hz=4, dropout_ms=1e-5),
        "dropout_ms",
        "1 µs",
    ),
    (
        "until early",
        ev(t=30, type="intermittent", pin="VBUS1", rate_hz=4, dropout_ms=3, until=30),
        "until",
        "> t (30)",
    ),
    (
        "inter pin",
        ev(t=30, type="intermittent", pin="SENSE_G", rate_hz=4, dropout_ms=3),
        "pin",
        "not a pin",
    ),
    (
        "inter pins",
        ev(t=30, type="intermittent", pins=["VBUS1"], rate_hz=4, dropout_ms=3),
        "pins",
        "unknown",
    ),
    ("ox rate zero", ev(t=0, type="oxidation", pin="GND1", mohm_per_day=0), "mohm_per_day", "> 0"),
    ("ox pin missing", ev(t=0, type="oxidation", mohm_per_day=2), "pin", "missing"),
    ("ox pin number", ev(t=0, type="oxidation", pin=3, mohm_per_day=2), "pin", "not a pin"),
    ("overload ma", ev(t=30, type="overload", ma=0, until=40), "ma", "> 0"),
    ("overload until", ev(t=30, type="overload", ma=4000, until=20), "until", "> t"),
    (
        "fault mode",
        ev(t=30, type="sensor_fault", pin="VBUS1", mode="explode"),
        "mode",
        "nak, reset, stuck",
    ),
    (
        "fault pin",
        ev(t=30, type="sensor_fault", pin="SENSE_X", mode="nak"),
        "pin",
        "pin or sense monitor",
    ),
    (
        "fault reset until",
        ev(t=30, type="sensor_fault", pin="GND1", mode="reset", until=31),
        "until",
        "instant",
    ),
    ("fault mode missing", ev(t=30, type="sensor_fault", pin="GND1"), "mode", "missing"),
    ("heat hot", ev(t=30, type="heat", temp_c=500), "temp_c", "-40..150"),
    ("heat missing", ev(t=30, type="heat"), "temp_c", "missing"),
    ("note number", ev(t=30, type="dock", note=3), "note", "string"),
    ("dock twice", ev(t=30, type="dock"), "t", "already docked (since t=5)"),
]


@pytest.mark.parametrize("bad", BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS])
def test_bad_event_names_file_event_and_field(tmp_path, bad):
    _, event, field, text = bad
    obj = base()
    obj["events"].append(event)
    msg = refused(tmp_path, obj)
    assert ": events[1] (%s): field '%s': " % (event["type"], field) in msg, msg
    assert text in msg, msg


def test_a_refusal_names_the_file_the_event_the_field_and_the_bound(tmp_path):
    obj = base()
    obj["events"] += [
        {"t": 10, "type": "realign"},
        {"t": 11, "type": "realign"},
        {"t": 30, "type": "misalign", "pins": ["VBUS2", "GND2"], "extra_mohm": 0},
    ]
    path = write(tmp_path, obj)
    with pytest.raises(S.ScenarioError) as info:
        S.load(path, BOARDS)
    assert (
        str(info.value)
        == "%s: events[3] (misalign): field 'extra_mohm': must be a number > 0, got 0" % path
    )


def test_unknown_event_type(tmp_path):
    obj = base()
    obj["events"].append({"t": 10, "type": "explode"})
    msg = refused(tmp_path, obj)
    assert "events[1] (explode): field 'type': unknown event type" in msg and "misalign" in msg


def test_event_without_type_or_not_an_object(tmp_path):
    obj = base()
    obj["events"].append({"t": 10})
    assert "events[1]: field 'type': missing" in refused(tmp_path, obj)
    obj["events"][1] = [10, "dock"]
    assert "events[1]: must be an object" in refused(tmp_path, obj)


def test_story_checks(tmp_path):
    obj = base()
    obj["events"] = [{"t": 5, "type": "undock"}]
    assert "events[0] (undock): field 't': no device is docked" in refused(tmp_path, obj)
    # Sorted by time before the story is checked: the file's order does not matter...
    obj["events"] = [{"t": 8, "type": "undock"}, {"t": 5, "type": "dock"}]
    S.load(write(tmp_path, obj, "ok.json"), BOARDS)
    # ...and a misalignment needs a docked device.
    obj["events"] = [
        {"t": 3, "type": "misalign", "pins": ["VBUS1"], "extra_mohm": 9},
        {"t": 5, "type": "dock"},
    ]
    assert "events[0] (misalign): field 't': no device is docked" in refused(tmp_path, obj)


BAD_TOP = [
    ("unknown field", {"colour": "red"}, "field 'colour': unknown field"),
    ("board unknown", {"board": "nope"}, "field 'board': no board 'nope'"),
    (
        "board path",
        {"board": "../boards/pico-dock-4"},
        "field 'board': must be a board name without a path",
    ),
    ("board number", {"board": 4}, "field 'board': must be a board name"),
    ("seed negative", {"seed": -1}, "field 'seed': must be an integer"),
    ("seed float", {"seed": 1.5}, "field 'seed': must be an integer"),
    ("seed bool", {"seed": True}, "field 'seed': must be an integer"),
    ("duration zero", {"duration_s": 0}, "field 'duration_s': must be a number > 0"),
    ("sample_hz", {"sample_hz": 0}, "field 'sample_hz': must be a number within"),
    ("idle_hz", {"idle_hz": "fast"}, "field 'idle_hz': must be a number within"),
    ("ambient", {"ambient_c": "warm"}, "field 'ambient_c'"),
    ("sigma", {"seating_sigma_mohm": -1}, "field 'seating_sigma_mohm'"),
    ("swing", {"temp_swing_c": -1}, "field 'temp_swing_c'"),
    ("temp sigma", {"temp_session_sigma_c": "x"}, "field 'temp_session_sigma_c'"),
    ("events not list", {"events": {}}, "field 'events': must be a list"),
    ("load not list", {"load": 5}, "field 'load': must be a list"),
    ("pins not object", {"pins": []}, "field 'pins': must be an object"),
    (
        "load unsorted",
        {"load": [[0, 0], [5, 100], [5, 200]]},
        "load[2]: t 5 must be later than the step before",
    ),
    ("load negative", {"load": [[0, -1]]}, "load[0]: must be [t, ma]"),
    ("load triple", {"load": [[0, 1, 2]]}, "load[0]: must be [t, ma]"),
    ("load late", {"load": [[0, 1], [61, 2]]}, "load[1]: t 61 is after the scenario ends"),
    (
        "pin unknown",
        {"pins": {"VBUS9": {"r_mohm": 30}}},
        "pins.VBUS9: not a pin of board pico-dock-4",
    ),
    (
        "pin r zero",
        {"pins": {"VBUS1": {"r_mohm": 0}}},
        "pins.VBUS1: field 'r_mohm': must be a number > 0",
    ),
    (
        "pin cycles",
        {"pins": {"VBUS1": {"cycles": -2}}},
        "pins.VBUS1: field 'cycles': must be an integer >= 0",
    ),
    ("pin field", {"pins": {"VBUS1": {"wear": 2}}}, "pins.VBUS1: field 'wear': unknown field"),
    ("pin not object", {"pins": {"VBUS1": 30}}, "pins.VBUS1: must be an object"),
]


@pytest.mark.parametrize("bad", BAD_TOP, ids=[b[0] for b in BAD_TOP])
def test_bad_top_level(tmp_path, bad):
    _, change, text = bad
    obj = base()
    obj.update(change)
    msg = refused(tmp_path, obj)
    assert text in msg, msg


@pytest.mark.parametrize("key", ["board", "seed", "duration_s"])
def test_required_top_level(tmp_path, key):
    obj = base()
    del obj[key]
    assert "field '%s': missing" % key in refused(tmp_path, obj)


def test_file_problems(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(S.ScenarioError, match=r"broken\.json: not valid JSON"):
        S.load(str(path), BOARDS)
    with pytest.raises(S.ScenarioError, match=r"missing\.json: cannot read"):
        S.load(str(tmp_path / "missing.json"), BOARDS)
    path.write_text("[1, 2]")
    with pytest.raises(S.ScenarioError, match=r"broken\.json: expected a JSON object"):
        S.load(str(path), BOARDS)


def test_bad_board_file_is_reported_through_the_scenario(tmp_path):
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "odd.json").write_text(json.dumps({"name": "odd", "mcu": "avr"}))
    obj = base()
    obj["board"] = "odd"
    path = write(tmp_path, obj)
    with pytest.raises(S.ScenarioError) as info:
        S.load(path, str(boards))
    assert str(info.value).startswith(path + ": field 'board': ")


def test_parse_does_not_modify_its_input():
    obj = base()
    obj["events"].append({"t": 2, "type": "oxidation", "pin": "GND1", "mohm_per_day": 1})
    before = copy.deepcopy(obj)
    sc = S.parse(obj, "mem", BOARDS)
    assert obj == before
    assert sc.source == "mem" and sc.events[0]["type"] == "oxidation"
