"""The command-line parser accepts exactly strict JSON, and the encoder writes only that."""

import json

import pytest
from dockfw import protocol
from dockfw.strictjson import MAX_DEPTH, JSONError, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.jsongen import EXAMPLES, any_char, lines
from support.strictref import reference, same

PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def outcome(line):
    """(accepted, value) from the parser; anything but JSONError escapes and fails the test."""
    try:
        return True, parse(line)
    except JSONError:
        return False, None


@PROPERTY
@given(lines())
def test_the_parser_accepts_what_the_strict_reference_accepts_with_the_same_value(line):
    try:
        expected = (True, reference(line))
    except ValueError:
        expected = (False, None)
    got = outcome(line)
    assert got[0] == expected[0], (line, got, expected)
    assert same(got[1], expected[1]), (line, got, expected)


@pytest.mark.parametrize(
    "line",
    [
        # What MicroPython's json.loads accepted and the board executed.
        b'{"cmd":"set","key":"max_total_ma","value":2000"id":3}',
        b'{"cmd":"charge" "on":false}',
        b'{"cmd":"info",}',
        b'{"cmd":"info"} {"cmd":"reboot"}',
        b"{'cmd':'info'}",
        b'{cmd:"info"}',
        # RFC 8259 leaves these open; a command never needs them.
        b'{"cmd":"set","key":"max_total_ma","value":2000,"value":9000}',
        b'{"cmd":"info","id":"\\ud800"}',
        b'{"cmd":"info","id":"\\udc00\\ud800"}',
        b'{"cmd":"set","key":"max_total_ma","value":1e400}',
        b'{"cmd":"set","key":"max_total_ma","value":NaN}',
        b'{"cmd":"set","key":"max_total_ma","value":-Infinity}',
        b'{"cmd":"info","x":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
        # Not JSON at all.
        b'{"cmd":"info","id":"tab\there"}',
        b'{"cmd":"info","id":"\xc0\x80"}',  # overlong
        b'{"cmd":"info","id":"\xed\xa0\x80"}',  # an encoded surrogate
        b'{"cmd":"info","id":"\xf4\x90\x80\x80"}',  # above U+10FFFF
        b'{"cmd":"info","id":"\xe2\x82"}',  # cut short
        b'{"cmd":"info","id":01}',
        b'{"cmd":"info","id":1.}',
        b'{"cmd":"info","id":.5}',
        b'{"cmd":"info","id":+1}',
        b'{"cmd":"info","id":"\\x41"}',
        b'{"cmd":"info","id":"\\u12"}',
        b"\xef\xbb\xbf{}",
        b"",
        b"   ",
    ],
)
def test_lenient_or_open_forms_are_refused(line):
    with pytest.raises(JSONError):
        parse(line)
    with pytest.raises(ValueError):
        reference(line)


def test_what_a_command_needs_is_read_exactly():
    line = (
        b' {"cmd" : "cleaned", "id":"a\\"b\\\\\\u00e9\\ud83d\\ude00\xc3\xa9",'
        b' "pins":["VBUS1","GND2"], "x":[1.5e3,-0,-0.0,true,false,null,{}]}\r'
    )
    assert same(
        parse(line),
        {
            "cmd": "cleaned",
            "id": 'a"b\\\u00e9\U0001f600\u00e9',
            "pins": ["VBUS1", "GND2"],
            "x": [1500.0, 0, -0.0, True, False, None, {}],
        },
    )


@pytest.mark.parametrize(
    "line, cid",
    [
        (b'{"id":7,"cmd":"set","key":"max_total_ma","value":2000"x":1}', 7),
        (b'{"id":"abc","cmd":[1,2', "abc"),
        (b'{"cmd":"info","id":12,"x":NaN}', 12),
        (b'{"cmd":"info","x":NaN,"id":12}', None),  # the id came after the fault
        (b'{"id":1,"id":2}', None),  # two ids: neither is the host's for sure
        (b'{"x":{"id":5},"y":}', None),  # not the top-level id
        (b'[{"id":5},', None),
    ],
)
def test_an_error_carries_the_top_level_id_read_before_it(line, cid):
    with pytest.raises(JSONError) as e:
        parse(line)
    assert e.value.cid == cid
    assert "byte" in e.value.args[0]


@PROPERTY
@given(st.text(any_char, max_size=40))
def test_any_string_is_written_as_ascii_json_that_reads_back(text):
    line = protocol.encode("log", 1, "0badcafe", 5, [("msg", text), ("k", {text: text})])
    assert max(line) < 0x80  # ASCII: valid UTF-8 whatever the str held
    rec = json.loads(line)
    want = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    assert rec["msg"] == want and rec["k"] == {want: want}


def test_strings_are_checked_once_and_host_text_is_never_remembered(monkeypatch):
    monkeypatch.setattr(protocol, "_PLAIN", set())  # not what earlier tests left
    out = []
    protocol._value("VBUS1 ok-0.5", out.append)
    protocol._value('say "hi"\n', out.append)
    assert out == ['"VBUS1 ok-0.5"', '"say \\"hi\\"\\u000a"']
    assert "VBUS1 ok-0.5" in protocol._PLAIN  # the next time: a lookup
    assert 'say "hi"\n' not in protocol._PLAIN
    line = protocol.encode("ack", 1, "0badcafe", 5, [("id", protocol.Text("host-id-77"))])
    assert json.loads(line)["id"] == "host-id-77"
    assert "host-id-77" not in protocol._PLAIN
    # However many strings come, what is kept stays bounded.
    for k in range(500):
        protocol._value("s%d" % k, out.append)
    assert len(protocol._PLAIN) <= protocol._REMEMBERED


def test_floats_that_json_cannot_hold_are_written_as_null():
    line = protocol.encode("log", 1, "0badcafe", 5, [("a", float("inf")), ("b", 1.5)])
    rec = json.loads(line)
    assert rec["a"] is None and rec["b"] == 1.5


@pytest.mark.parametrize(
    "line,at,why",
    [
        (b'{"a":-}', 6, "a bad number"),
        (b'{"a":012}', 5, "a bad number"),
        (b'{"a":1.}', 7, "a digit is missing"),
        (b'{"a":1.5e+}', 10, "a digit is missing"),
        (b'{"a":1e}', 7, "a digit is missing"),
        (b'{"a":tru}', 5, "unexpected byte 0x74"),
        (b'{"a":nul', 5, "unexpected byte 0x6e"),
        (b'{"a":fals }', 5, "unexpected byte 0x66"),
        (b'{"a":"\\u12G4"}', 10, "\\u needs four hex digits"),
        (b'{"a":"\\ud83d\\ude0"}', 17, "\\u needs four hex digits"),
        (b'{"a" \t: 1 \r\n,}', 13, "a key string is missing"),
        (b" [1 , 2 ] x", 10, "text after the value"),
    ],
)
def test_the_first_fault_is_named_at_its_byte(line, at, why):
    with pytest.raises(JSONError) as e:
        parse(line)
    assert str(e.value) == "not strict JSON at byte %d: %s" % (at, why)


def test_numbers_literals_and_white_space_read_right():
    line = b' {"a" :\t[ -0 , 12.50e-1 , 3E+2 , true , false , null , "\\u00e9" ] }\r\n'
    assert parse(line) == {"a": [0, 1.25, 300.0, True, False, None, "\u00e9"]}
