"""The host never crashes on what a port or a file holds (Hypothesis).

Generated hostile input (JSON of every shape, broken JSON, bytes that are not
UTF-8, protocol envelopes with fields of the wrong type, 30 KB of ``[``, lines of
hundreds of KB) goes through the record parser, the reader core with a recorder
behind it, and the file commands (``replay``, ``export``, ``plot``), which read
the hostile lines both as a raw capture and inside recordings. Each must turn it
into records or skip and count it, never raise. The example count is
``POGODOCK_PROPERTY_EXAMPLES`` (default 150, ``tests/support/jsongen.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

from dockfw.protocol import TYPES
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pogodock import cli
from pogodock.link.reader import MAX_LINE_BYTES, Reader
from pogodock.model import DockModel, describe
from pogodock.recordings import export, plot, replay
from pogodock.recordings.recorder import Recorder
from pogodock.records import (
    MAX_ENVELOPE_INT,
    MAX_LINE_CHARS,
    ConsoleText,
    DeviceLine,
    Event,
    Hello,
    Record,
    parse_line,
)
from pogodock.views.headless import HeadlessPrinter, run_records
from support.jsongen import EXAMPLES, lines, scalars, texts, values

PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PIN_KEYS = ["i_ma", "v_mv", "r_mohm", "r_max_mohm", "sensor_ok", "state", "score", "cycles"]
BODY_KEYS = ["pins", "kind", "severity", "docked", "charging", "fw", "board", "id", "code", "msg"]
huge_ints = st.integers(min_value=-(10**400), max_value=10**400)
# Numbers no float holds, and what a float holds but a reading cannot be.
edges = st.sampled_from([10**400, -(10**400), 2**1024, math.inf, -math.inf, math.nan, 1e308])
odd_values = edges | values | huge_ints | st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def protocol_like(draw) -> bytes:
    """A dock line whose body fields have any type; one in four has a broken envelope."""
    obj = {
        "v": 1,
        "type": draw(st.sampled_from(TYPES)),
        "seq": draw(st.integers(0, 100)),
        "boot": draw(st.sampled_from(["b0", "b1"])),
        "t_ms": draw(st.integers(0, 10**6)),
    }
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(list(obj)))
        if draw(st.booleans()):
            del obj[key]
        else:
            obj[key] = draw(odd_values)
    for key in draw(st.lists(st.sampled_from(BODY_KEYS), max_size=4)):
        obj[key] = draw(odd_values)
    if draw(st.integers(0, 3)) > 0:
        pin = st.dictionaries(st.sampled_from(PIN_KEYS), odd_values, max_size=5)
        obj["pins"] = draw(
            st.dictionaries(st.sampled_from(["VBUS1", "GND1", ""]) | texts, pin, max_size=3)
            | st.lists(pin | odd_values, max_size=3)
            | odd_values
        )
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


ENVELOPE = b'{"v":1,"type":"sample","seq":1,"boot":"b","t_ms":5,'


@st.composite
def monster(draw) -> bytes:
    """Deep nesting (bare or behind a well-formed envelope), endless lines, endless numbers."""
    n = draw(st.sampled_from([65, 300, 30000]))  # 30 KB of '[' crashed the monitor once
    kind = draw(st.sampled_from(["deep", "deep-body", "open", "long", "long-body", "digits"]))
    if kind == "deep":
        return b"[" * n + b"]" * n
    if kind == "deep-body":
        return ENVELOPE + b'"pins":' + b'{"a":' * n + b"1" + b"}" * n + b"}"
    if kind == "open":
        return b"{" + b'"a":[' * n
    if kind == "long":
        return b"x" * (MAX_LINE_BYTES + n // 100)
    if kind == "long-body":
        return ENVELOPE + b'"pad":"' + b"a" * (MAX_LINE_BYTES + n // 100) + b'"}'
    digits = b"9" * (19 + n // 5)  # past the envelope's 18 digits, and past int()'s 4300
    return b'{"v":1,"type":"event","seq":' + digits + b',"boot":"b","t_ms":' + digits + b"}"


# Lines of spaces, Unicode's included: blank to bytes.strip(), not to str.strip().
spaces = st.text(st.characters(categories=["Zs", "Zl", "Zp", "Cc"]), max_size=5).map(
    lambda t: t.encode("utf-8", "surrogatepass")
)
hostile_lines = lines() | protocol_like() | monster() | spaces


def use(rec: Record, model: DockModel) -> None:
    """What the monitor, headless output and exporters do with a record."""
    describe(rec)
    model.apply(rec)
    if isinstance(rec, DeviceLine):
        assert type(rec.seq) is int and 0 <= rec.seq < MAX_ENVELOPE_INT
        assert type(rec.t_ms) is int and 0 <= rec.t_ms < MAX_ENVELOPE_INT
        assert type(rec.boot) is str
        assert isinstance(rec.data, dict)
        if rec.plain_json:  # the recorder inlines it: it must be JSON to any reader
            json.loads(rec.raw, parse_constant=_not_json)
        if isinstance(rec, Event):
            rec.extra()
        if isinstance(rec, Hello):
            assert isinstance(rec.fw + rec.board + rec.reset_cause + "".join(rec.pin_names), str)
    elif isinstance(rec, ConsoleText):
        assert len(rec.text) <= MAX_LINE_CHARS + 1


def _not_json(name: str) -> None:
    raise ValueError("%s is not JSON" % name)


@PROPERTY
@given(st.lists(hostile_lines, min_size=1, max_size=6))
def test_the_parser_turns_anything_into_records(raws: list[bytes]):
    model = DockModel()
    for raw in raws:
        for line in raw.split(b"\n"):
            rec = parse_line(line, 1767225600.0)
            use(rec, model)
            list(export.rows([rec], export.pin_columns([rec])))
    model.health_summary()


@settings(PROPERTY, max_examples=max(10, EXAMPLES // 2))
@given(
    st.lists(hostile_lines, min_size=1, max_size=6),
    st.lists(st.integers(1, 70000), min_size=1, max_size=8),
    st.sampled_from([b"\n", b"\r\n"]),
)
# Found by a longer hunt: a console line of exactly the limit recorded longer than that.
@example(raws=[b"x" * MAX_LINE_BYTES], cuts=[1], newline=b"\n")
@example(raws=[b"\x01" * MAX_LINE_BYTES], cuts=[1], newline=b"\n")  # escaped six-fold
def test_the_reader_and_the_recorder_take_anything_and_replay_it(
    raws: list[bytes], cuts: list[int], newline: bytes
):
    stream = newline.join(raws) + newline
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "rec.jsonl")
        reader = Reader("/never/opened")
        recorder = Recorder(path)
        seen: list[Record] = []
        reader.subscribe(recorder)
        reader.subscribe(seen.append)
        model = DockModel()
        at = 0
        for n in cuts:  # the port hands the bytes over in chunks of any size
            reader.feed(stream[at : at + n], 1767225600.0 + at)
            at += n
        reader.feed(stream[at:], 1767225600.0 + at)
        recorder.close()
        for rec in seen:
            use(rec, model)
        assert recorder.errors == 0
        live = [r for r in seen if isinstance(r, DeviceLine)]
        if not seen:
            return
        replayed = [r for r in replay.load(path).records if isinstance(r, DeviceLine)]
        assert [(r.type, r.seq, r.boot, r.t_ms, r.raw.strip()) for r in replayed] == [
            (r.type, r.seq, r.boot, r.t_ms, r.raw.strip()) for r in live
        ]


@st.composite
def recording_line(draw) -> bytes:
    """A line of a file given to replay, export or plot: records right and wrong, raw lines."""
    t = draw(st.just("2026-01-01T00:00:00.5Z") | scalars | texts | st.just("9999-12-31T23:59Z"))
    kind = draw(st.sampled_from(["dock", "line", "console", "link", "not_recorded", "raw"]))
    if kind == "raw":
        return draw(hostile_lines)
    body = draw(protocol_like())
    value = {
        "dock": st.just(json.loads(body)) if _is_json(body) else odd_values,
        "line": st.just(body.decode("utf-8", "replace")) | odd_values,
        "console": texts | odd_values,
        "link": st.sampled_from(["connected", "lost", "nope"]) | odd_values,
        "not_recorded": st.integers(-5, 5) | odd_values,
    }[kind]
    obj = {"host_time": t, kind: draw(value)}
    if draw(st.booleans()):
        obj["detail"] = draw(odd_values)
    text = json.dumps(obj, ensure_ascii=False)
    if draw(st.integers(0, 9)) == 0:  # a record cut short
        text = text[: draw(st.integers(1, len(text)))]
    return text.encode("utf-8", "surrogatepass")


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def run_cli_here(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, err.getvalue()


def assert_clean(code: int, err: str, command: str) -> None:
    assert "unexpected error" not in err and "Traceback" not in err, err
    if code != 0:
        assert code in (1, 2)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pogodock %s: " % command), err


@settings(PROPERTY, max_examples=max(10, EXAMPLES // 5))
@given(st.lists(recording_line(), min_size=0, max_size=12))
# Found by a longer hunt: a resistance no float holds, in replay's summary.
@example([b'{"v":1,"type":"sample","seq":0,"boot":"b","t_ms":0,"pins":{"A":{"r_mohm":1%s}}}'
          % (b"0" * 400)])  # fmt: skip
def test_replay_export_and_plot_take_any_file(file_lines: list[bytes]):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(b"\n".join(file_lines))
        code, err = run_cli_here("replay", str(path), "--summary")
        assert_clean(code, err, "replay")
        code, err = run_cli_here("replay", str(path), "--headless")
        assert_clean(code, err, "replay")
        code, err = run_cli_here("export", str(path), "--csv", str(Path(tmp) / "out.csv"))
        assert_clean(code, err, "export")
        try:
            rec = replay.load(str(path))
        except replay.RecordingError:
            return
        replay.summary(rec)
        run_records(rec.records, HeadlessPrinter(io.StringIO(), every=1.0))
        for axis in ("host", "device"):
            series, _marks = plot.collect(rec.records, axis)
            for s in series.values():
                assert all(math.isnan(x) or math.isfinite(x) for x in s.r + s.r_max)
        plot.choose_axis(rec.records)


def good_sample(seq: int, r_mohm: float) -> bytes:
    pins = {"VBUS1": {"i_ma": 900, "r_mohm": r_mohm, "r_max_mohm": r_mohm + 1}}
    return json.dumps(
        {"v": 1, "type": "sample", "seq": seq, "boot": "b0", "t_ms": 200 * seq, "pins": pins},
        separators=(",", ":"),
    ).encode()


@settings(PROPERTY, max_examples=max(5, EXAMPLES // 15))
@given(st.lists(recording_line(), min_size=1, max_size=12), st.booleans())
def test_plot_takes_any_file(file_lines: list[bytes], with_samples: bool):
    if with_samples:  # so that most examples get as far as drawing
        file_lines = [good_sample(k, 35.0 + k) for k in range(3)] + file_lines
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(b"\n".join(file_lines))
        code, err = run_cli_here("plot", str(path), "--out", str(Path(tmp) / "p"))
        assert_clean(code, err, "plot")
        assert (code == 0) == (Path(tmp) / "p.png").exists()


HOSTILE_FOR_THE_SCREEN = [
    b"[" * 30000,
    ENVELOPE + b'"pins":' + b'{"a":' * 30000 + b"1" + b"}" * 30000 + b"}",
    b"x" * (MAX_LINE_BYTES + 10),
    b"\xff\xfe not UTF-8 [bold]markup?[/bold]",
    b'{"v":1,"type":"hello","seq":0,"boot":"b0","t_ms":0,"fw":[1],"board":{"a":2},'
    b'"pins":[{"name":[[]]},7,{"name":"GND1"}]}',
    ENVELOPE.replace(b"5,", b"6,").replace(b'"seq":1', b'"seq":2')
    + b'"docked":"yes","pins":{"GND1":{"i_ma":1e999,"r_mohm":'
    + b"9" * 400
    + b',"r_max_mohm":NaN,"sensor_ok":"no"},"VBUS1":[1,2],"":{"r_mohm":-Infinity}}}',
    b'{"v":1,"type":"health","seq":3,"boot":"b0","t_ms":7,"charging":3,"pins":'
    b'{"GND1":{"state":[],"r_mohm":"35","drift_mohm_per_day":1e999,"days_to_clean":-1,'
    b'"intermittent_count":' + b"9" * 400 + b',"cycles":1.5,"score":' + b"9" * 400 + b"}}}",
    b'{"v":1,"type":"event","seq":4,"boot":"b0","t_ms":8,"kind":{"k":1},"pins":"GND1",'
    b'"severity":null,"why":' + b"[" * 60 + b"]" * 60 + b"}",
]


def test_the_dashboard_shows_hostile_lines_without_falling_over():
    import asyncio

    from pogodock.views.dashboard import Dashboard, RecordsSource

    recs = [parse_line(raw, 1767225600.0 + k) for k, raw in enumerate(HOSTILE_FOR_THE_SCREEN)]

    async def show() -> int | None:
        app = Dashboard(RecordsSource(recs, "hostile"))
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.5)  # a couple of refresh ticks
            await pilot.press("q")
        return app.return_value

    assert asyncio.run(show()) == 0
