"""The reader core against the real firmware in the simulator, served on a pseudo-terminal."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import serial
from host_fakedock import wait_for
from pogodock.link import ports
from pogodock.link.reader import Reader
from pogodock.records import Ack, Error, Hello, Record, Sample
from pogodock.virtual import ptylink
from support.cli import run_cli, start_cli, start_sim_pty
from support.procs import interrupt

ROOT = Path(__file__).resolve().parents[1]
MISALIGN = str(ROOT / "scenarios" / "misalign.json")


def test_the_reader_talks_to_the_real_firmware_over_a_pty(sim_pty):
    proc, path = sim_pty
    assert os.readlink(path).startswith("/dev/pts/") and os.path.exists(path)
    seen: list[Record] = []
    with Reader(path, confirm_timeout=3.0) as r:
        r.subscribe(seen.append)
        r.start()
        assert wait_for(lambda: r.confirmed, 5), "the simulated dock did not answer info"
        assert r.hello is not None and r.hello.board == "pico-dock-4"
        assert r.hello.pin_names == ["VBUS1", "GND1", "GND2", "VBUS2"]
        assert wait_for(lambda: sum(isinstance(x, Sample) for x in seen) >= 3, 5)
        sample = next(x for x in seen if isinstance(x, Sample))
        assert set(sample.pins) == {"VBUS1", "GND1", "GND2", "VBUS2"}
        assert {"i_ma", "v_mv", "r_mohm"} <= set(sample.pins["VBUS1"])
        ack = r.request("info", timeout=3)
        assert isinstance(ack, Ack) and ack.cmd == "info"
        err = r.request("no_such_command", timeout=3)
        assert isinstance(err, Error) and err.code == "unknown_command"
        assert r.lost == 0 and r.reboots == 0
    proc.send_signal(signal.SIGINT)
    assert proc.wait(5) == 130


def test_fast_sim_with_nobody_reading_finishes_and_counts_drops():
    proc = start_cli("sim", "--scenario", MISALIGN, "--fast", "--pty")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines()[0].startswith("/dev/pts/")
    assert len(out.splitlines()) == 1
    # The terminal buffer takes a part of the 300 lines; the rest is dropped and counted.
    assert "the dock dropped" in err and "lines because nobody read them" in err
    assert "Traceback" not in err


def test_a_host_that_stops_reading_sees_exactly_the_drops_the_dock_counts(tmp_path: Path):
    """The firmware's output queue, not the simulator, decides what is dropped: every line
    missing from the stream (a gap in ``seq``) is counted in the ``dropped_lines`` of the
    ``health`` lines that follow, as on a board whose host holds the port without reading."""
    proc, path = start_sim_pty(MISALIGN, tmp_path / "ttySIM", "--speed", "8")
    try:
        with serial.Serial(path, timeout=0.05) as port:
            time.sleep(3.0)  # 24 simulated seconds of lines against a ~20 kB terminal buffer
            data = b""
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                data += port.read(65536)
    finally:
        interrupt(proc)
    lines = [json.loads(x) for x in data.split(b"\n")[:-1]]
    assert len({x["boot"] for x in lines}) == 1
    seqs = [x["seq"] for x in lines]
    # Opening the port flushes what the terminal held (pyserial resets its input): the
    # boot's first lines may go before the host reads at all. None is lost after that.
    first = seqs[0]
    assert seqs == sorted(seqs) and first < 3, seqs[:5]
    healths = [x for x in lines if x["type"] == "health"]
    last = healths[-1]
    missing = last["seq"] + 1 - first - sum(1 for s in seqs if s <= last["seq"])
    assert missing > 10  # the host's stall did overflow the terminal and the queue
    assert last["dropped_lines"] == missing
    # Whole lines were dropped, never parts of one: every line above decoded.


def test_fast_sim_with_a_reader_delivers_the_stream(tmp_path: Path):
    proc, path = start_sim_pty(MISALIGN, tmp_path / "ttySIM", "--fast")
    seen: list[Record] = []
    with Reader(path) as r:
        r.subscribe(seen.append)
        r.start()
        assert proc.wait(60) == 0
        assert wait_for(lambda: any(isinstance(x, Hello) for x in seen), 5)
    samples = [x for x in seen if isinstance(x, Sample)]
    assert samples
    seqs = [s.seq for s in samples]
    assert seqs == sorted(seqs)


def test_the_link_names_the_pty_while_the_dock_is_served_and_goes_with_it(tmp_path: Path):
    # A scenario's end and a service manager's SIGTERM both take the link away, so that
    # a host still following it finds no port, not the next pty the kernel hands out.
    link = tmp_path / "ttyDOCK"
    proc, path = start_sim_pty(MISALIGN, link, "--fast")
    assert os.readlink(path).startswith("/dev/pts/")
    assert proc.wait(60) == 0
    assert not os.path.lexists(link)
    with pytest.raises(ports.PortError, match="no serial port"):
        Reader(str(link)).connect()
    proc, path = start_sim_pty(MISALIGN, link)
    assert os.path.islink(path)
    proc.terminate()
    assert proc.wait(10) == 130
    assert not os.path.lexists(link)


def test_a_link_that_would_replace_a_file_or_needs_no_pty_is_refused(tmp_path: Path):
    kept = tmp_path / "notes.txt"
    kept.write_text("mine")
    p = run_cli("sim", "--scenario", MISALIGN, "--pty", "--link", str(kept))
    assert p.returncode == 2 and "is not a symlink" in p.stderr and kept.read_text() == "mine"
    p = run_cli("sim", "--scenario", MISALIGN, "--link", str(tmp_path / "x"))
    assert p.returncode == 2 and "add --pty" in p.stderr
    p = run_cli("sim", "--scenario", MISALIGN, "--pty", "--link", str(tmp_path / "no" / "x"))
    assert p.returncode == 2 and "no folder" in p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("command", ["sim", "vboard"])
def test_a_link_in_a_folder_that_holds_no_symlink_is_refused_naming_the_link(command: str):
    # /proc passes every check a path can be given short of making one (root may write).
    args = ["--pty"] if command == "sim" else []
    p = run_cli(command, "--scenario", "demo", *args, "--link", "/proc/pogodock-link")
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr == (
        "pogodock %s: cannot make the link /proc/pogodock-link: No such file or directory\n"
        % command
    )


def test_a_link_that_cannot_be_made_when_the_dock_starts_names_the_link(tmp_path: Path):
    # Made after the check, as when the folder changes in between.
    with pytest.raises(ptylink.LinkError) as e:
        ptylink.point("/proc/pogodock-link", "/dev/pts/0")
    assert str(e.value) == "cannot make the link /proc/pogodock-link: No such file or directory"
    ptylink.point(str(tmp_path / "tty"), "/dev/pts/0")
    assert os.readlink(tmp_path / "tty") == "/dev/pts/0"
    assert os.listdir(tmp_path) == ["tty"]  # no step left behind


def test_stdio_sim_still_streams_to_stdout_and_answers_stdin():
    proc = run_cli("sim", "--scenario", MISALIGN, "--fast", input='{"cmd":"info","id":7}\n')
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert lines[0]["type"] == "hello"
    assert any(x["type"] == "ack" and x["id"] == 7 for x in lines)
