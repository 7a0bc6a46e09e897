"""Recorder, replay, export and plot on recordings made by the real reader."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from host_fakedock import FakeDock, wait_for
from pogodock.link.reader import Reader
from pogodock.paths import SCENARIOS_DIR
from pogodock.recordings import export, plot, replay
from pogodock.recordings.recorder import Recorder
from pogodock.records import (
    LOST,
    REBOOT,
    ConsoleText,
    DeviceLine,
    Event,
    LinkEvent,
    Sample,
    parse_iso,
)
from pogodock.virtual import simrun
from support.cli import run_cli


def record_fake_session(tmp: Path) -> Path:
    """A short session with a fake dock: events, a spike, lost lines, console text, a reboot."""
    out = tmp / "session.jsonl"
    dock = FakeDock(tmp / "ttyDOCK")
    dock.plug()
    recorder = Recorder(str(out))
    reader = Reader(str(dock.link), confirm_timeout=1.0)
    reader.subscribe(recorder)
    samples: list[Sample] = []
    reader.subscribe(lambda r: samples.append(r) if isinstance(r, Sample) else None)
    try:
        reader.start()
        assert wait_for(lambda: reader.confirmed)
        dock.event("docked", [], "info")
        for k in range(20):
            dock.sample(r_mohm=35 + 0.1 * k, r_max=(400.0 if k == 10 else None))
        dock.event("misalignment", ["VBUS1"], "warn")
        dock.skip(3)
        dock.console("Traceback (most recent call last):")
        for _ in range(5):
            dock.sample(r_mohm=80)
        dock.reboot("0000b002")
        for _ in range(5):
            dock.sample(r_mohm=36)
        dock.event("intermittent", ["GND1"], "fault")
        assert wait_for(lambda: len(samples) == 30)
        assert wait_for(lambda: reader.lines >= 38)
    finally:
        reader.stop()
        recorder.close()
        dock.unplug()
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_fake_session(tmp_path_factory.mktemp("rec"))


@pytest.fixture(scope="module")
def sim_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real firmware's output for a whole scenario, through the reader core into a recording."""
    out = tmp_path_factory.mktemp("sim") / "misalign.jsonl"
    reader = Reader("/never/opened")
    recorder = Recorder(str(out))
    reader.subscribe(recorder)
    clock = [1767225600.0]

    def write(data: bytes) -> None:
        clock[0] += 0.2  # as if received in real time
        reader.feed(data, clock[0])

    simrun.SimRun(str(SCENARIOS_DIR / "misalign.json"), write, None, True).run()
    recorder.close()
    return out


def test_every_recorded_line_is_host_time_plus_what_arrived(session: Path):
    text = session.read_text()
    objs = [json.loads(x) for x in text.splitlines()]
    assert objs[0]["link"] == "connected"
    for o in objs:
        parse_iso(o["host_time"])
        assert o["host_time"].endswith("Z")
        assert sum(k in o for k in ("dock", "console", "link")) == 1
    docks = [o["dock"] for o in objs if "dock" in o]
    # Every protocol line inline, read in one pass of json.
    assert len(docks) == sum(isinstance(r, DeviceLine) for r in replay.load(str(session)).records)
    assert all(d["v"] == 1 for d in docks)
    assert "Traceback (most recent call last):" in [o.get("console") for o in objs]


def test_replay_finds_gaps_and_reboots_again(session: Path):
    rec = replay.load(str(session))
    assert rec.skipped == 0
    kinds = [r.kind for r in rec.records if isinstance(r, LinkEvent)]
    assert kinds.count(REBOOT) == 1
    lost = [r for r in rec.records if isinstance(r, LinkEvent) and r.kind == LOST]
    assert sum(x.lost for x in lost) == 3
    assert sum(isinstance(r, Sample) for r in rec.records) == 30
    assert [r.kind for r in rec.records if isinstance(r, Event)] == [
        "docked",
        "misalignment",
        "intermittent",
    ]
    text = replay.summary(rec)
    assert "3 lost, 1 reboot" in text
    assert "misalignment VBUS1" in text
    assert "VBUS1" in text and "min / median / max" in text


def test_a_recording_killed_mid_write_replays_and_resumes_cleanly(session: Path, tmp_path: Path):
    cut = tmp_path / "cut.jsonl"
    data = session.read_bytes()
    cut.write_bytes(data[: len(data) - 25])  # killed halfway through the last record
    first = replay.load(str(cut))
    assert first.skipped == 1
    r = Recorder(str(cut))  # the next session appends
    r(ConsoleText(1767225600.0, "after restart"))
    r.close()
    again = replay.load(str(cut))
    assert again.skipped == 1
    assert isinstance(again.records[-1], ConsoleText) and again.records[-1].text == "after restart"


def test_export_writes_samples_and_events_with_units_and_utc_times(session: Path):
    rec = replay.load(str(session))
    buf = io.StringIO()
    n = export.write_csv(rec.records, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == n
    header = buf.getvalue().splitlines()[0].split(",")
    for col in (
        "host_time_utc",
        "t_ms",
        "boot",
        "seq",
        "type",
        "pin",
        "i_ma",
        "v_mv",
        "r_mohm",
        "r_max_mohm",
        "kind",
        "severity",
        "pins",
        "lost_lines",
    ):
        assert col in header
    samples = [r for r in rows if r["type"] == "sample"]
    assert len(samples) == 60  # 30 lines x 2 pins
    assert {r["pin"] for r in samples} == {"VBUS1", "GND1"}
    assert float(samples[0]["r_mohm"]) == pytest.approx(35.0)
    assert max(float(r["r_max_mohm"]) for r in samples) == pytest.approx(400.0)
    events = [r for r in rows if r["type"] == "event"]
    assert [(e["kind"], e["severity"], e["pins"]) for e in events] == [
        ("docked", "info", ""),
        ("misalignment", "warn", "VBUS1"),
        ("intermittent", "fault", "GND1"),
    ]
    link = {r["kind"]: r for r in rows if r["type"] == "link"}
    assert link["lost"]["lost_lines"] == "3" and "reboot" in link
    for r in rows:
        assert r["host_time_utc"].endswith("Z")
        parse_iso(r["host_time_utc"])


def _png_ok(path: Path, size: tuple[int, int]) -> None:
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(str(path))
    assert img.shape[1] == size[0] and img.shape[0] == size[1]
    rgb = img[:, :, :3]
    assert float(np.std(rgb)) > 0.05, "the picture is blank"
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50


def test_plot_of_a_session_with_events_and_a_reboot(session: Path, tmp_path: Path):
    out = tmp_path / "session.png"
    axis = plot.plot(replay.load(str(session)).records, str(out), title="test")
    assert axis == "device"  # the fake dock's clock runs far ahead of the host's
    _png_ok(out, (1400, 700))
    series, marks = plot.collect(replay.load(str(session)).records, "device")
    assert set(series) == {"VBUS1", "GND1"}
    assert max(series["VBUS1"].r_max) == pytest.approx(400.0)
    assert len(marks.events) == 3 and len(marks.reboots) == 1 and marks.losses[0][1] == 3


def test_plot_of_the_firmware_in_the_simulator(sim_recording: Path, tmp_path: Path):
    out = tmp_path / "sim.png"
    assert plot.plot(replay.load(str(sim_recording)).records, str(out), axis="host") == "host"
    _png_ok(out, (1400, 700))


def test_cli_replay_export_and_plot(sim_recording: Path, tmp_path: Path):
    p = run_cli("replay", str(sim_recording), "--summary")
    assert p.returncode == 0, p.stderr
    assert "board pico-dock-4" in p.stdout and "0 lost, 0 reboots" in p.stdout
    p = run_cli("replay", str(sim_recording))  # not a terminal: event lines
    assert p.returncode == 0, p.stderr
    assert "hello: firmware" in p.stdout and "health:" in p.stdout.splitlines()[-1]
    csv_out = tmp_path / "out.csv"
    p = run_cli("export", str(sim_recording), "--csv", str(csv_out))
    assert p.returncode == 0, p.stderr
    assert csv_out.read_text().startswith("host_time_utc,t_ms,boot,seq,type,pin,i_ma,v_mv,r_mohm")
    png = tmp_path / "out.png"
    p = run_cli("plot", str(sim_recording), "--out", str(png))
    assert p.returncode == 0, p.stderr
    _png_ok(png, (1400, 700))


@pytest.mark.parametrize(
    "args, words",
    [
        (("replay", "/nonexistent/rec.jsonl"), "no recording at"),
        (("export", "/nonexistent/rec.jsonl", "--csv", "x.csv"), "no recording at"),
        (("plot", "NOTAFILE", "--out", "x.png"), "no recording at"),
    ],
)
def test_cli_errors_are_one_sentence(args: tuple[str, ...], words: str):
    p = run_cli(*args)
    assert p.returncode != 0
    assert words in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "Traceback" not in p.stderr


def test_cli_refuses_files_that_are_not_recordings(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\nworld\n")
    p = run_cli("plot", str(bad), "--out", str(tmp_path / "x.png"))
    assert p.returncode == 1 and "holds no pogodock records" in p.stderr
    empty = tmp_path / "empty.jsonl"
    r = Recorder(str(empty))
    r(ConsoleText(0.0, "only console text"))
    r.close()
    p = run_cli("plot", str(empty), "--out", str(tmp_path / "x.png"))
    assert p.returncode == 1 and "no sample lines" in p.stderr
    assert "Traceback" not in p.stderr
