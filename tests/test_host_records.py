"""Typed records: the fast path agrees with dockfw.protocol.decode, console text never crashes."""

import json
import sys
from pathlib import Path

import pytest
from dockfw import protocol
from dockfw.protocol import Fixed, Obj
from pogodock.model import DockModel, bucket_max
from pogodock.records import (
    DOCK_CHANGED,
    HOLD_MAX_LINES,
    LOST,
    REBOOT,
    Ack,
    ConsoleText,
    Decoder,
    Error,
    Event,
    Health,
    Hello,
    LinkEvent,
    Record,
    Sample,
    SeqTracker,
    iso_utc,
    parse_iso,
    parse_line,
)

# The host benchmark is a tool; its corpus is what these tests parse.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import bench_host


def line(kind, seq=0, boot="b1", t_ms=0, fields=()):
    return protocol.encode(kind, seq, boot, t_ms, list(fields)).rstrip(b"\n")


def test_every_firmware_line_of_a_scenario_parses_as_protocol_decode_does():
    data = bench_host.corpus(600)
    for raw in data.split(b"\n")[:-1]:
        rec = parse_line(raw, 1.0)
        assert not isinstance(rec, ConsoleText), rec
        assert rec.data == protocol.decode(raw)
        assert (rec.type, rec.seq, rec.boot, rec.t_ms) == (
            rec.data["type"],
            rec.data["seq"],
            rec.data["boot"],
            rec.data["t_ms"],
        )


@pytest.mark.parametrize(
    "kind, cls",
    [
        (protocol.HELLO, Hello),
        (protocol.SAMPLE, Sample),
        (protocol.HEALTH, Health),
        (protocol.EVENT, Event),
        (protocol.ACK, Ack),
        (protocol.ERROR, Error),
    ],
)
def test_each_type_gets_its_class(kind, cls):
    assert type(parse_line(line(kind, 3, "x", 9), 0.0)) is cls


def test_typed_accessors():
    ev = parse_line(
        line(
            protocol.EVENT,
            fields=[
                ("kind", "misalignment"),
                ("pins", ["VBUS2", "GND2"]),
                ("severity", "warn"),
                ("r_mohm", Fixed(412500, 3)),
            ],
        ),
        0.0,
    )
    assert isinstance(ev, Event)
    assert (ev.kind, ev.pins, ev.severity) == ("misalignment", ["VBUS2", "GND2"], "warn")
    assert ev.extra() == {"r_mohm": 412.5}
    health = parse_line(
        line(
            protocol.HEALTH,
            fields=[
                ("charging", True),
                (
                    "pins",
                    Obj(
                        [
                            (
                                "VBUS1",
                                Obj(
                                    [
                                        ("state", "ok"),
                                        ("r_mohm", Fixed(35100, 3)),
                                        ("r_baseline_mohm", Fixed(35000, 3)),
                                        ("drift_mohm_per_day", Fixed(12, 3)),
                                        ("intermittent_count", 2),
                                        ("cycles", 7),
                                    ]
                                ),
                            )
                        ]
                    ),
                ),
            ],
        ),
        0.0,
    )
    assert isinstance(health, Health)
    assert health.charging is True
    assert health.pins["VBUS1"]["drift_mohm_per_day"] == pytest.approx(0.012)
    err = parse_line(
        line(
            protocol.ERROR,
            fields=[("id", 4), ("code", protocol.E_UNKNOWN_COMMAND), ("message", "no")],
        ),
        0.0,
    )
    assert isinstance(err, Error) and (err.id, err.code) == (4, "unknown_command")


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"MicroPython v1.24.0 on 2024-10-25; Raspberry Pi Pico with RP2040", "not a JSON object"),
        (b"Traceback (most recent call last):", "not a JSON object"),
        (b'{"v":1,"type":"sample","seq":1,"boot":"b","t_ms":5,"pins":{"A":', "not valid JSON"),
        (b'{"v":2,"type":"sample","seq":1,"boot":"b","t_ms":5}', "version"),
        (b'{"v":1,"type":"gossip","seq":1,"boot":"b","t_ms":5}', "unknown message type"),
        (b"\xff\xfe garbage", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_lines_that_are_not_protocol_become_console_text_with_the_reason(raw, reason):
    rec = parse_line(raw, 0.0)
    assert isinstance(rec, ConsoleText)
    assert reason in rec.reason


def test_two_lines_run_together_are_not_taken_for_one():
    # The dock drops the rest of a line (newline included) when the host stalls:
    # the next line then follows the cut one on the same line.
    a = line(
        protocol.SAMPLE, 1, "b", 0, [("pins", Obj([("VBUS1", Obj([("r_mohm", Fixed(35000, 3))]))]))]
    )
    b = line(protocol.SAMPLE, 2, "b", 200, [("docked", True)])
    rec = parse_line(a[:70] + b, 0.0)  # the first envelope is whole
    assert isinstance(rec, ConsoleText)


def test_crlf_and_spaced_lines_still_parse():
    raw = line(protocol.ACK, 1, "b", 0, [("id", 1)])
    assert isinstance(parse_line(raw + b"\r", 0.0), Ack)
    spaced = b'{"v": 1, "type": "ack", "seq": 1, "boot": "b", "t_ms": 0, "id": 1}'
    rec = parse_line(spaced, 0.0)
    assert isinstance(rec, Ack) and rec.id == 1


def test_seq_gaps_and_new_boot_ids_are_reported():
    t = SeqTracker()
    notes = []
    for kind, seq, boot in [
        ("sample", 0, "a"),
        ("sample", 1, "a"),
        ("sample", 5, "a"),
        ("hello", 0, "b"),
        ("sample", 1, "b"),
    ]:
        rec = parse_line(line(kind, seq, boot), 0.0)
        assert not isinstance(rec, ConsoleText)
        notes.append(t.check(rec))
    assert [n.kind if n else None for n in notes] == [None, None, LOST, REBOOT, None]
    assert notes[2] is not None and notes[2].lost == 3
    assert (t.lost, t.reboots) == (3, 1)


def test_decoder_emits_link_notes_before_the_line_that_reveals_them():
    out: list[Record] = []
    dec = Decoder(out.append)
    for seq in (0, 1, 4):
        dec.line(line(protocol.SAMPLE, seq, "a"), 0.0)
    dec.line(b"boot banner", 0.0)
    assert [type(r).__name__ for r in out] == [
        "Sample",
        "Sample",
        "LinkEvent",
        "Sample",
        "ConsoleText",
    ]
    assert (dec.lines, dec.console) == (4, 1)


def test_max_per_bucket_keeps_a_one_sample_spike():
    values = [35.0] * 1000
    values[617] = 480.0
    squeezed = bucket_max(values, 40)
    assert len(squeezed) == 40
    assert max(squeezed) == 480.0
    assert bucket_max([1.0, 2.0], 10) == [1.0, 2.0]
    assert bucket_max([], 10) == []


def test_model_shows_dashes_until_health_lines_arrive():
    m = DockModel()
    m.apply(
        parse_line(
            line(
                protocol.SAMPLE,
                0,
                "a",
                0,
                [
                    ("docked", True),
                    (
                        "pins",
                        Obj(
                            [
                                (
                                    "VBUS1",
                                    Obj(
                                        [
                                            ("i_ma", 1500),
                                            ("r_mohm", Fixed(35000, 3)),
                                            ("r_max_mohm", Fixed(90000, 3)),
                                        ]
                                    ),
                                )
                            ]
                        ),
                    ),
                ],
            ),
            0.0,
        )
    )
    p = m.pins["VBUS1"]
    assert (p.i_ma, p.r_mohm, p.state, p.r_baseline_mohm) == (1500.0, 35.0, None, None)
    assert list(p.history) == [90.0]  # the peak, so spikes show
    m.apply(LinkEvent(1.0, LOST, "2 lines lost", lost=2))
    assert m.link.lost == 2
    assert "VBUS1" in m.health_summary()


def test_iso_times_round_trip_in_utc():
    t = 1767225600.123456
    text = iso_utc(t)
    assert text == "2026-01-01T00:00:00.123456Z"
    assert parse_iso(text) == pytest.approx(t)
    assert parse_iso("2026-01-01T01:00:00+01:00") == pytest.approx(1767225600.0)


def test_bench_reports_a_rate():
    assert bench_host.lines_per_s(n_lines=2000, rounds=1) > 1000


def _hello(seq, boot, uid):
    return json.dumps(
        {
            "v": 1,
            "type": "hello",
            "seq": seq,
            "boot": boot,
            "t_ms": 0,
            "fw": "0.3.0",
            "board": "pico-dock-4",
            "uid": uid,
            "pins": [],
        }
    )


def _kinds(out):
    return [
        r.kind if isinstance(r, LinkEvent) else r.type
        for r in out
        if not isinstance(r, ConsoleText)
    ]


def test_a_new_boot_id_waits_for_the_hello_that_says_reboot_or_another_dock():
    out: list[Record] = []
    dec = Decoder(out.append)
    dec.line(_hello(0, "a", "1111111111111111"), 0.0)
    dec.line(line(protocol.SAMPLE, 1, "a"), 0.0)
    # Another dock's line arrives before its hello: nothing is handed out yet.
    dec.line(line(protocol.SAMPLE, 5, "b"), 0.0)
    assert _kinds(out) == ["hello", "sample"] and dec.held is not None
    dec.line(_hello(6, "b", "2222222222222222"), 0.0)
    assert _kinds(out) == ["hello", "sample", DOCK_CHANGED, "sample", "hello"]
    assert "2222222222222222" in out[2].detail and dec.uid == "2222222222222222"
    assert dec.tracker.reboots == 0
    # The same dock with a new boot id: a reboot, told before its lines.
    dec.line(_hello(0, "c", "2222222222222222"), 0.0)
    assert _kinds(out)[5:] == [REBOOT, "hello"] and dec.tracker.reboots == 1


def test_a_dock_that_never_says_hello_after_a_new_boot_id_is_called_rebooted():
    out: list[Record] = []
    dec = Decoder(out.append)
    dec.line(_hello(0, "a", "1111111111111111"), 0.0)
    for seq in range(HOLD_MAX_LINES + 1):
        dec.line(line(protocol.SAMPLE, seq, "b"), 0.0)
    assert dec.held is None
    assert _kinds(out)[:3] == ["hello", REBOOT, "sample"]
    assert len(out) == 2 + HOLD_MAX_LINES + 1


def test_the_model_of_another_dock_on_the_port_starts_afresh():
    model = DockModel()
    dec = Decoder(model.apply)
    dec.line(_hello(0, "a", "1111111111111111"), 0.0)
    dec.line(
        line(
            protocol.EVENT,
            1,
            "a",
            fields=[("kind", "misalignment"), ("pins", []), ("severity", "warn")],
        ),
        0.0,
    )
    assert model.event_counts == {"misalignment": 1}
    dec.line(_hello(0, "b", "2222222222222222"), 0.0)
    assert model.event_counts == {} and model.link.reboots == 0
    assert model.hello is not None and model.hello.uid == "2222222222222222"
