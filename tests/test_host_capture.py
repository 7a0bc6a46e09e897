"""What people have: raw captures of the dock's output, recordings in the old format,
recordings onto a full disk, and the file commands' answers to them."""

from __future__ import annotations

import csv
import errno
import io
import json
import subprocess
import time
from pathlib import Path

import pytest
from pogodock.link.reader import MAX_LINE_BYTES, Reader
from pogodock.recordings import export, replay
from pogodock.recordings.recorder import Recorder
from pogodock.records import (
    LOST,
    NOT_RECORDED,
    REBOOT,
    ConsoleText,
    DeviceLine,
    Event,
    LinkEvent,
    Record,
    Sample,
)
from support import cli

ROOT = Path(__file__).resolve().parents[1]
# misalign.json in 14 s: a device docks, sits crooked, is set straight.
SHORT_MISALIGN = {
    "board": "pico-dock-4",
    "seed": 2,
    "duration_s": 14,
    "sample_hz": 200,
    "load": [[0, 0], [1, 1500]],
    "events": [
        {"t": 1, "type": "dock"},
        {"t": 5, "type": "misalign", "pins": ["VBUS2", "GND2"], "extra_mohm": 400},
        {"t": 10, "type": "realign"},
    ],
}
OLD_FORMAT = ROOT / "tests" / "data" / "recording-v1.jsonl"
BANNER = [
    "MicroPython v1.24.0 on 2024-10-25; Raspberry Pi Pico with RP2040",
    'Type "help()" for more information.',
    ">>> ",
]


def run_cli(*args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return cli.run_cli(*args, stdout=stdout, stdin=subprocess.DEVNULL, timeout=120)


def one_sentence(p: subprocess.CompletedProcess[str], command: str) -> str:
    assert p.returncode != 0
    assert "Traceback" not in p.stderr and "unexpected error" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pogodock %s: " % command), p.stderr
    return lines[0]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("scenario") / "misalign-short.json"
    path.write_text(json.dumps(SHORT_MISALIGN))
    return str(path)


@pytest.fixture(scope="module")
def sim_run(tmp_path_factory: pytest.TempPathFactory, scenario: str) -> tuple[Path, Path]:
    """One scenario through ``pogodock sim --record``: (the recording, stdout as a capture)."""
    tmp = tmp_path_factory.mktemp("simrec")
    rec, raw = tmp / "rec.jsonl", tmp / "raw.jsonl"
    with open(raw, "w") as out:
        p = run_cli(
            "sim", "--scenario", scenario, "--fast", "--boot-seed", "3", "--record", str(rec),
            stdout=out,
        )  # fmt: skip
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return rec, raw


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_sim_record_holds_every_line_the_dock_wrote_inline(sim_run: tuple[Path, Path]):
    rec, raw = sim_run
    written = raw.read_text().splitlines()
    records = [json.loads(x) for x in rec.read_text().splitlines()]
    # One pass of a JSON reader gets at every field of the dock's lines (jq '.dock.pins').
    assert [r["dock"] for r in records] == [json.loads(x) for x in written]
    samples = [r["dock"] for r in records if r["dock"]["type"] == "sample"]
    assert samples and all(isinstance(s["pins"]["GND2"], dict) for s in samples)
    # ... and the dock's own text, byte for byte, is each record's tail.
    assert [x[x.index('"dock":') + 7 : -1] for x in rec.read_text().splitlines()] == written


def test_export_of_a_raw_capture_matches_the_recording(sim_run: tuple[Path, Path], tmp_path):
    rec, raw = sim_run
    p = run_cli("export", str(rec), "--csv", str(tmp_path / "rec.csv"))
    assert p.returncode == 0 and p.stderr.startswith("wrote "), p.stderr
    p = run_cli("export", str(raw), "--csv", str(tmp_path / "raw.csv"))
    assert p.returncode == 0, p.stderr
    assert "from a raw capture (timed by the dock's clock)" in p.stderr.splitlines()[0]
    from_rec, from_raw = csv_rows(tmp_path / "rec.csv"), csv_rows(tmp_path / "raw.csv")
    assert len(from_rec) > 100

    def without_host_time(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{k: v for k, v in r.items() if k != "host_time_utc"} for r in rows]

    assert without_host_time(from_raw) == without_host_time(from_rec)
    # A capture's host times are the dock's clock, the last line at the file's last change.
    last = replay.load(str(raw)).records[-1].host_time
    assert last == pytest.approx(raw.stat().st_mtime)


def test_a_capture_with_console_text_and_cut_lines_says_what_it_skipped(
    sim_run: tuple[Path, Path], tmp_path: Path
):
    _rec, raw = sim_run
    lines = raw.read_text().splitlines()
    capture = tmp_path / "log"
    # cat /dev/ttyACM0 > log: started mid-line, the board reset (banner, REPL), a line
    # cut short where bytes were dropped, running on into the next.
    capture.write_text(
        "\n".join(
            [
                lines[3][len(lines[3]) // 2 :],
                *BANNER,
                *lines[4:40],
                lines[40][:50] + lines[41],
                *lines[42:],
            ]
        )
        + "\n"
    )
    p = run_cli("export", str(capture), "--csv", str(tmp_path / "log.csv"))
    assert p.returncode == 0, p.stderr
    note = p.stderr.splitlines()[0]
    assert note == (
        "%s: %d dock lines from a raw capture (timed by the dock's clock); "
        "3 console lines (not exported), 2 cut lines skipped" % (capture, len(lines) - 6)
    )
    got = replay.load(str(capture))
    assert (got.captured, got.console, got.cut) == (len(lines) - 6, 3, 2)
    assert [r.text for r in got.records if isinstance(r, ConsoleText)] == BANNER
    lost = [r for r in got.records if isinstance(r, LinkEvent) and r.kind == LOST]
    assert sum(r.lost for r in lost) == 2  # seq says two lines went: the cut one and 41
    p = run_cli("replay", str(capture), "--summary")
    assert p.returncode == 0 and "3 console lines" in p.stderr
    assert "a raw capture holds no host times" in p.stdout
    assert "skipped 2 cut lines of the file" in p.stdout


def test_a_recording_in_the_old_format_reads_as_before():
    # Made by the recorder before device lines went inline: every line an escaped string.
    assert '"line": "{\\"v\\":1' in OLD_FORMAT.read_text()
    rec = replay.load(str(OLD_FORMAT))
    # The fake dock's reboot printed a banner, as MicroPython does.
    assert (rec.recorded, rec.captured, rec.skipped, rec.console) == (39, 0, 0, 2)
    assert sum(isinstance(r, Sample) for r in rec.records) == 30
    assert [r.kind for r in rec.records if isinstance(r, Event)] == [
        "docked",
        "misalignment",
        "intermittent",
    ]
    links = [r for r in rec.records if isinstance(r, LinkEvent)]
    assert sum(r.lost for r in links if r.kind == LOST) == 3
    assert [r.kind for r in links].count(REBOOT) == 1
    assert export.exportable(rec.records)


def test_the_new_format_replays_what_the_old_format_held(tmp_path: Path):
    old = replay.load(str(OLD_FORMAT))
    again = tmp_path / "again.jsonl"
    r = Recorder(str(again))
    for rec in old.records:
        r(rec)
    r.close()
    assert '"dock":{"v":1' in again.read_text() and '"line"' not in again.read_text()
    new = replay.load(str(again))

    def picture(records: list[Record]) -> list[tuple[object, ...]]:
        return [
            (type(x).__name__, x.host_time, x.raw)
            if isinstance(x, DeviceLine)
            else (type(x).__name__, x.host_time, repr(x))
            for x in records
        ]

    assert picture(new.records) == picture(old.records)


class FullDisk:
    """A file on a disk that fills up: the write that crosses ``room`` takes what fits,
    then every write fails with ENOSPC until ``free()``."""

    def __init__(self, room: int) -> None:
        self.data = bytearray()
        self.room = room

    def write(self, data: bytes) -> int:
        left = self.room - len(self.data)
        if left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = data[:left]
        self.data += taken
        return len(taken)

    def free(self) -> None:
        self.room = 1 << 30


def dock_line(seq: int, r_mohm: float = 35.0) -> bytes:
    pins = {"GND1": {"i_ma": 900, "r_mohm": r_mohm}}
    return json.dumps(
        {"v": 1, "type": "sample", "seq": seq, "boot": "b1", "t_ms": 200 * seq, "pins": pins},
        separators=(",", ":"),
    ).encode()


def test_a_full_disk_is_said_once_and_every_record_after_it_starts_a_line(tmp_path: Path):
    disk = FullDisk(room=1000)
    said: list[str] = []
    recorder = Recorder("rec.jsonl", stream=disk, say=said.append)
    reader = Reader("/never/opened")
    reader.subscribe(recorder)
    seen: list[Record] = []
    reader.subscribe(seen.append)  # the monitor, behind the recorder
    for seq in range(20):
        reader.feed(dock_line(seq) + b"\n", 1767225600.0 + seq)
    assert len(seen) == 20  # nothing stopped the monitor
    assert len(said) == 1 and "cannot write (No space left on device)" in said[0]
    assert "FAILING: No space left on device" in recorder.state()
    written_before = recorder.records
    assert 0 < written_before < 20 and recorder.unwritten == 20 - written_before
    assert not disk.data.endswith(b"\n")  # the last record was cut short
    disk.free()
    for seq in range(20, 25):
        reader.feed(dock_line(seq) + b"\n", 1767225600.0 + seq)
    assert len(said) == 2 and "writing again" in said[1]
    assert recorder.state() == "recording rec.jsonl (%d records lost)" % (20 - written_before)
    lines = bytes(disk.data).split(b"\n")
    whole = [json.loads(x) for x in lines[written_before + 1 :] if x]
    assert whole[0] == {
        "host_time": whole[0]["host_time"],
        "not_recorded": 20 - written_before,
        "detail": "No space left on device",
    }
    assert [x["dock"]["seq"] for x in whole[1:]] == [20, 21, 22, 23, 24]
    # Replay skips the cut record, and does not blame the link for the records lost.
    path = tmp_path / "rec.jsonl"
    path.write_bytes(bytes(disk.data))
    rec = replay.load(str(path))
    assert rec.skipped == 1 and rec.not_recorded == 20 - written_before
    links = [r for r in rec.records if isinstance(r, LinkEvent)]
    assert [r.kind for r in links] == [NOT_RECORDED]
    assert "not lost on the link" in links[0].detail
    assert [r.seq for r in rec.records if isinstance(r, Sample)] == [
        *range(written_before),
        *range(20, 25),
    ]


def test_recording_onto_dev_full_never_stops_the_reader():
    said: list[str] = []
    recorder = Recorder("/dev/full", say=said.append)
    reader = Reader("/never/opened")
    reader.subscribe(recorder)
    seen: list[Record] = []
    reader.subscribe(seen.append)
    for seq in range(10):
        reader.feed(dock_line(seq) + b"\n", time.time())
    recorder.close()
    assert len(seen) == 10 and recorder.errors == 10 and recorder.records == 0
    assert len(said) == 1 and "/dev/full: cannot write (No space left on device)" in said[0]


def test_sim_record_onto_a_full_disk_says_so_runs_to_the_end_and_fails(
    sim_run: tuple[Path, Path], scenario: str
):
    _rec, raw = sim_run
    p = run_cli(
        "sim", "--scenario", scenario, "--fast", "--boot-seed", "3", "--record", "/dev/full"
    )
    assert p.returncode == 1  # the recording asked for is not whole
    assert p.stdout == raw.read_text()  # the dock's stream is whole
    err = p.stderr.splitlines()
    n = len(p.stdout.splitlines())
    assert err == [
        "recording /dev/full: cannot write (No space left on device); the sim goes on, "
        "records are lost until it can write again",
        "recording /dev/full: %d records could not be written" % n,
    ]


def test_sim_record_needs_the_stdio_mode(scenario: str):
    p = run_cli("sim", "--scenario", scenario, "--pty", "--record", "x.jsonl")
    assert "pogodock monitor --port PATH --record FILE" in one_sentence(p, "sim")


def test_plot_says_the_file_it_wrote_and_refuses_formats_it_cannot(
    sim_run: tuple[Path, Path], tmp_path: Path
):
    rec, _raw = sim_run
    p = run_cli("plot", str(rec), "--out", str(tmp_path / "rplot"))
    assert p.returncode == 0, p.stderr
    # (The axis depends on how fast the simulator ran: not asserted.)
    assert p.stderr.startswith("wrote %s.png (time axis: " % (tmp_path / "rplot"))
    assert (tmp_path / "rplot.png").read_bytes()[:4] == b"\x89PNG"
    p = run_cli("plot", str(rec), "--out", str(tmp_path / "r.txt"))
    assert one_sentence(p, "plot") == (
        "pogodock plot: cannot write %s: plot writes a .png, .svg or .pdf file"
        % (tmp_path / "r.txt")
    )
    assert not (tmp_path / "r.txt").exists()


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"hello\nworld\n", "holds no pogodock records"),
        (b"\xff\xfe\x00garbage\n", "holds no pogodock records"),
        (
            b'{"host_time":"2026-01-01T00:00:00Z","link":"connected","detail":"","port":"p"}\n',
            "holds no samples, health lines, events or link gaps to export",
        ),
    ],
)
def test_export_of_a_file_with_nothing_to_export_is_one_sentence(
    tmp_path: Path, content: bytes, words: str
):
    src = tmp_path / "in.jsonl"
    src.write_bytes(content)
    out = tmp_path / "out.csv"
    p = run_cli("export", str(src), "--csv", str(out))
    assert words in one_sentence(p, "export")
    assert not out.exists()


def test_export_to_a_place_it_cannot_write_is_one_sentence(sim_run: tuple[Path, Path], tmp_path):
    rec, _raw = sim_run
    p = run_cli("export", str(rec), "--csv", str(tmp_path))
    assert "cannot write" in one_sentence(p, "export")
    p = run_cli("export", str(rec), "--csv", "/dev/full")
    assert "No space left on device" in one_sentence(p, "export")


def test_export_and_plot_refuse_to_write_over_the_file_they_read(
    sim_run: tuple[Path, Path], tmp_path: Path
):
    rec, _raw = sim_run
    mine = tmp_path / "rec.png"  # a recording may have any name, a picture's too
    mine.write_bytes(rec.read_bytes())
    (tmp_path / "again.jsonl").symlink_to(mine)
    for args, words in [
        (("export", str(mine), "--csv", str(mine)), "is the file being exported"),
        (("export", str(mine), "--csv", str(tmp_path / "again.jsonl")), "file being exported"),
        (("plot", str(mine), "--out", str(mine)), "is the file being plotted"),
        (("plot", str(tmp_path / "again.jsonl"), "--out", str(mine)), "file being plotted"),
    ]:
        p = run_cli(*args)
        assert p.returncode == 2 and words in one_sentence(p, args[0])
        assert mine.read_bytes() == rec.read_bytes()


def _file_size_limit(n: int):
    def limit() -> None:
        import resource

        # Writes past n bytes fail with EFBIG, as writes onto a full disk fail with ENOSPC.
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))

    return limit


@pytest.mark.parametrize(
    "command, option, name", [("export", "--csv", "out.csv"), ("plot", "--out", "out.png")]
)
def test_export_and_plot_that_cannot_write_it_all_keep_the_earlier_file(
    sim_run: tuple[Path, Path], tmp_path: Path, command: str, option: str, name: str
):
    rec, _raw = sim_run
    out = tmp_path / name
    p = run_cli(command, str(rec), option, str(out))
    assert p.returncode == 0, p.stderr
    whole = out.read_bytes()
    assert len(whole) > 8192
    p = cli.run_cli(
        command, str(rec), option, str(out), timeout=120, preexec_fn=_file_size_limit(8192)
    )
    assert "File too large" in one_sentence(p, command)
    assert out.read_bytes() == whole
    assert sorted(x.name for x in tmp_path.iterdir()) == [name]  # no temporary file left
    out.unlink()
    p = cli.run_cli(
        command, str(rec), option, str(out), timeout=120, preexec_fn=_file_size_limit(8192)
    )
    assert "File too large" in one_sentence(p, command)
    assert list(tmp_path.iterdir()) == []  # nothing rather than half a file


def test_a_recording_of_another_protocol_version_says_so(
    sim_run: tuple[Path, Path], tmp_path: Path
):
    rec, raw = sim_run
    newer = tmp_path / "newer.jsonl"
    newer.write_text(rec.read_text().replace('"v":1,', '"v":2,'))
    newer_raw = tmp_path / "newer-raw.jsonl"
    newer_raw.write_text(raw.read_text().replace('"v":1,', '"v":2,'))
    for path in (newer, newer_raw):
        said = "%s was written by a dock speaking protocol version 2; this pogodock reads version 1"
        for args in (
            ("replay", "--summary"),
            ("export", "--csv", "-"),
            ("plot", "--out", str(tmp_path / "x.png")),
        ):
            p = run_cli(args[0], str(path), *args[1:])
            assert p.returncode == 1 and one_sentence(p, args[0]).endswith(said % path)
    # Some lines of another version among ours: read, and the rest said.
    lines = rec.read_text().splitlines()
    dock = [i for i, x in enumerate(lines) if '"dock":' in x]
    for i in dock[-3:]:
        lines[i] = lines[i].replace('"v":1,', '"v":7,')
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(lines) + "\n")
    p = run_cli("replay", str(mixed), "--summary")
    assert p.returncode == 0, p.stderr
    assert "skipped 3 lines of protocol version 7 of the file" in p.stdout
    assert p.stderr == (
        "%s: 3 lines of protocol version 7 skipped (this pogodock reads version 1)\n" % mixed
    )


def test_a_line_too_long_is_cut_once_and_the_next_line_still_reads():
    reader = Reader("/never/opened")
    seen: list[Record] = []
    reader.subscribe(seen.append)
    chunk = b"[" * 4096
    for _ in range(3 * MAX_LINE_BYTES // len(chunk)):  # 192 KB of '[' without a newline
        reader.feed(chunk, 1.0)
    reader.feed(b"]]]\n" + dock_line(0) + b"\n" + b"[" * 30000 + b"\n" + dock_line(1) + b"\n", 2.0)
    kinds = [type(r).__name__ for r in seen]
    assert kinds == ["ConsoleText", "Sample", "ConsoleText", "Sample"]
    assert isinstance(seen[0], ConsoleText) and "line too long" in seen[0].reason
    assert len(seen[0].text) < 300
    assert isinstance(seen[2], ConsoleText) and "nested deeper" in seen[2].reason


def test_the_dashboard_shows_a_failing_recording_on_its_link_line():
    from pogodock.views.dashboard import LiveSource

    recorder = Recorder("/dev/full")
    reader = Reader("/never/opened")
    reader.subscribe(recorder)
    source = LiveSource(reader, exporters=[recorder.state])  # as monitor --record wires it
    assert source.exports() == ["recording full"]
    reader.feed(dock_line(0) + b"\n" + b"\xff not UTF-8\n", time.time())
    recorder.close()
    assert source.exports() == [
        "recording full FAILING: No space left on device, 2 records not written"
    ]
