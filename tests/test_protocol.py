import json

import pytest
from dockfw import protocol
from dockfw.protocol import Fixed, Obj, ProtocolError


@pytest.mark.parametrize(
    "value, places, text",
    [
        (35210, 3, "35.21"),
        (-5, 3, "-0.005"),
        (1200, 1, "120"),
        (0, 3, "0"),
        (7, 0, "7"),
        (123456, 3, "123.456"),
    ],
)
def test_fixed_point_numbers_encode_without_floats(value, places, text):
    assert Fixed(value, places).text() == text


def test_a_line_carries_the_envelope_first_and_round_trips():
    line = protocol.encode(
        protocol.SAMPLE,
        7,
        "0badc0de",
        2**40,
        [("pins", Obj([("B", 1), ("A", {"r_mohm": Fixed(35210, 3)})]))],
    )
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    text = line.decode()
    assert text.startswith('{"v":1,"type":"sample","seq":7,"boot":"0badc0de","t_ms":1099511627776,')
    assert text.index('"B"') < text.index('"A"')
    rec = protocol.decode(line)
    assert rec["pins"]["A"]["r_mohm"] == pytest.approx(35.21)
    assert rec["t_ms"] == 2**40


def test_strings_are_escaped():
    rec = protocol.decode(protocol.encode(protocol.LOG, 0, "x", 0, [("msg", 'a "quoted"\nline')]))
    assert rec["msg"] == 'a "quoted"\nline'


@pytest.mark.parametrize(
    "line, words",
    [
        ("MicroPython v1.24 on 2024-01-01; Raspberry Pi Pico", "not a JSON object"),
        ('{"v":1,"type":"sample"', "not valid JSON"),
        ('{"v":2,"type":"sample","seq":0,"boot":"a","t_ms":0}', "version"),
        ('{"v":1,"type":"gossip","seq":0,"boot":"a","t_ms":0}', "unknown message type"),
        ('{"v":1,"type":"sample","boot":"a","t_ms":0}', "'seq' missing"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_lines_that_are_not_protocol_are_refused_with_a_reason(line, words):
    with pytest.raises(ProtocolError, match=words):
        protocol.decode(line)


def test_commands_are_one_json_line_without_ctrl_c():
    line = protocol.command("info", 3)
    assert line.endswith(b"\n") and b"\x03" not in line
    assert json.loads(line) == {"cmd": "info", "id": 3}
