"""The reader core through real pseudo-terminals, against a fake dock the tests drive."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from host_fakedock import FakeDock, wait_for
from pogodock.link import ports
from pogodock.link.reader import Reader
from pogodock.records import (
    CONFIRMED,
    CONNECTED,
    DISCONNECTED,
    DOCK_CHANGED,
    LOST,
    PORT_ERROR,
    REBOOT,
    SHARED,
    UNCONFIRMED,
    Ack,
    ConsoleText,
    DeviceLine,
    Error,
    LinkEvent,
    Record,
    Sample,
)


@pytest.fixture
def reader(dock: FakeDock):
    r = Reader(str(dock.link), confirm_timeout=1.0, max_backoff=0.1)
    seen: list[Record] = []
    r.subscribe(seen.append)
    r.seen = seen  # type: ignore[attr-defined]
    r.start()
    assert wait_for(lambda: r.confirmed), "no hello for the info the reader sent"
    yield r
    r.stop()


def links(seen: list[Record], kind: str) -> list[LinkEvent]:
    return [r for r in seen if isinstance(r, LinkEvent) and r.kind == kind]


def seqs(seen: list[Record]) -> list[int]:
    """The seq of every dock line seen, in order."""
    return [r.seq for r in seen if isinstance(r, DeviceLine)]


def of(seen: list[Record], cls: type) -> list:
    return [r for r in seen if isinstance(r, cls)]


def test_connects_confirms_and_reads_samples(dock: FakeDock, reader: Reader):
    seen = reader.seen  # type: ignore[attr-defined]
    assert links(seen, CONNECTED) and links(seen, CONFIRMED)
    assert dock.commands[0]["cmd"] == "info"
    assert reader.hello is not None and reader.hello.board == "fake-board"
    for k in range(5):
        dock.sample(r_mohm=35 + k)
    assert wait_for(lambda: len(of(seen, Sample)) == 5)
    assert [s.pins["VBUS1"]["r_mohm"] for s in of(seen, Sample)] == [35, 36, 37, 38, 39]
    assert reader.lost == 0


def test_commands_are_matched_to_their_ack_or_error(dock: FakeDock, reader: Reader):
    ok = reader.request("info", timeout=3)
    assert isinstance(ok, Ack) and ok.cmd == "info"
    pending = reader.send("frobnicate", level=3)
    bad = pending.wait(3)
    assert isinstance(bad, Error) and bad.code == "unknown_command" and bad.id == pending.id
    assert dock.commands[-1] == {"cmd": "frobnicate", "id": pending.id, "level": 3}
    assert "unknown command" in pending.describe()


def test_seq_gaps_are_counted_and_console_text_is_kept(dock: FakeDock, reader: Reader):
    seen = reader.seen  # type: ignore[attr-defined]
    dock.sample()
    dock.skip(4)
    dock.console("Traceback (most recent call last):")
    dock.write(b"\xff\xfe\n")
    dock.sample()
    assert wait_for(lambda: len(of(seen, Sample)) == 2)
    lost = links(seen, LOST)
    assert len(lost) == 1 and lost[0].lost == 4
    assert reader.lost == 4
    texts = [c.text for c in of(seen, ConsoleText)]
    assert "Traceback (most recent call last):" in texts
    assert len(texts) == 2 and reader.console_lines == 2


def test_a_reboot_mid_stream_is_seen_and_the_dock_confirmed_again(dock: FakeDock, reader: Reader):
    seen = reader.seen  # type: ignore[attr-defined]
    dock.sample()
    dock.sample()
    dock.reboot("0000b002")
    dock.sample()
    assert wait_for(lambda: len(of(seen, Sample)) == 3)
    assert reader.reboots == 1 and reader.lost == 0
    assert len(links(seen, REBOOT)) == 1
    assert wait_for(lambda: reader.hello is not None and reader.hello.boot == "0000b002")
    assert reader.confirmed
    assert any("MicroPython" in c.text for c in of(seen, ConsoleText))


def test_a_port_that_vanishes_and_comes_back_is_reopened(dock: FakeDock, reader: Reader):
    seen = reader.seen  # type: ignore[attr-defined]
    # Lines the dock wrote but the reader had not read when it vanished are lost too:
    # the answer to the reader's info (hello, then ack: two writes a sample can fall
    # between) whole before the sample, and every line read before the unplug.
    assert wait_for(lambda: of(seen, Ack))
    dock.sample()
    assert wait_for(lambda: len(of(seen, Sample)) == 1)
    assert wait_for(lambda: dock.seq - 1 in seqs(seen)), (dock.seq, seqs(seen))
    dock.unplug()
    assert wait_for(lambda: links(seen, DISCONNECTED))
    assert wait_for(lambda: links(seen, PORT_ERROR))
    assert "no serial port" in links(seen, PORT_ERROR)[0].detail
    assert not reader.connected
    dock.skip(7)  # said while unplugged
    dock.plug()
    assert wait_for(lambda: len(links(seen, CONNECTED)) == 2)
    assert wait_for(lambda: reader.confirmed)
    dock.sample()
    assert wait_for(lambda: len(of(seen, Sample)) == 2)
    assert (reader.lost, reader.reboots) == (7, 0), seqs(seen)
    assert reader.request("info", timeout=3) is not None


def test_a_silent_device_is_reported_unconfirmed(tmp_path: Path):
    d = FakeDock(tmp_path / "ttySILENT")
    d.answer = False
    d.plug()
    try:
        with Reader(str(d.link), confirm_timeout=0.3) as r:
            seen: list[Record] = []
            r.subscribe(seen.append)
            r.start()
            assert wait_for(lambda: links(seen, UNCONFIRMED), 3)
            assert "no hello" in links(seen, UNCONFIRMED)[0].detail
            assert not r.confirmed
    finally:
        d.unplug()


def test_a_busy_port_names_the_process_holding_it(dock: FakeDock):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
            "print('held', flush=True)\n"
            "time.sleep(30)\n",
            str(dock.link),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = Reader(str(dock.link))
        with pytest.raises(ports.PortError) as e:
            r.connect()
        msg = str(e.value)
        assert "busy" in msg and "pid %d" % holder.pid in msg and "mpremote" in msg
        assert "\n" not in msg
    finally:
        holder.kill()
        holder.wait()


def test_missing_port_and_no_dock_are_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ports.PortError, match=r"no serial port .*plugged in"):
        Reader(str(tmp_path / "nothing")).connect()
    monkeypatch.setattr(ports, "find_docks", lambda: [])
    with pytest.raises(ports.PortError, match=r"no dock found.*2e8a:0005"):
        Reader().connect()


def test_auto_detect_probes_candidates_and_picks_the_one_that_says_hello(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    silent = FakeDock(tmp_path / "ttyACM0")
    silent.answer = False
    real = FakeDock(tmp_path / "ttyACM1", boot="0000d0c5")
    silent.plug()
    real.plug()
    try:
        # Only the USB enumeration is stood in for; both ports are real ptys.
        monkeypatch.setattr(ports, "find_docks", lambda: [str(silent.link), str(real.link)])
        with Reader(confirm_timeout=0.5) as r:
            r.start()
            assert r.current_port == str(real.link)
            assert wait_for(lambda: r.confirmed)
    finally:
        silent.unplug()
        real.unplug()


def test_commands_fail_at_once_without_a_port():
    r = Reader("/nonexistent/port")
    p = r.send("info")
    assert p.done and p.failure == "not connected" and p.wait(0) is None


def test_a_long_line_without_newline_is_cut_into_console_text():
    r = Reader("/nonexistent/port")
    seen: list[Record] = []
    r.subscribe(seen.append)
    r.feed(b"x" * 70000, time.time())
    assert len(of(seen, ConsoleText)) == 1


def test_a_port_open_elsewhere_without_a_lock_is_warned_about(tmp_path: Path):
    # Any file serves to show the /proc scan: a process holds it open, no lock.
    port = tmp_path / "ttyACM9"
    port.write_bytes(b"")
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nf = open(sys.argv[1])\nprint('open', flush=True)\ntime.sleep(30)\n",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        assert [h.pid for h in ports.holders(str(port))] == [other.pid]
        r = Reader(str(port))
        seen: list[Record] = []
        r.subscribe(seen.append)
        r._warn_if_shared(str(port))
        shared = links(seen, SHARED)
        assert len(shared) == 1 and "pid %d" % other.pid in shared[0].detail
    finally:
        other.kill()
        other.wait()


def test_a_new_boot_id_without_its_hello_is_asked_for_it(dock: FakeDock, reader: Reader):
    seen = reader.seen  # type: ignore[attr-defined]
    asked = len(dock.commands)
    dock.boot, dock.seq = "0000b002", 0  # rebooted, its own hello missed
    dock.sample()
    # The reader asks info; the hello that answers says it is the same dock: a reboot.
    assert wait_for(lambda: links(seen, REBOOT), 3)
    assert dock.commands[asked:] and dock.commands[asked]["cmd"] == "info"
    boots = [r.boot for r in seen if isinstance(r, Sample)]
    assert boots == ["0000b002"] and seen.index(links(seen, REBOOT)[0]) < seen.index(
        of(seen, Sample)[0]
    )


def test_a_dock_that_stays_silent_after_a_new_boot_id_is_called_rebooted(
    dock: FakeDock, reader: Reader
):
    seen = reader.seen  # type: ignore[attr-defined]
    dock.answer = False
    dock.boot, dock.seq = "0000b002", 0
    dock.sample()
    time.sleep(0.5)
    assert not of(seen, Sample)  # waiting for a hello to say which dock it is
    assert wait_for(lambda: of(seen, Sample), 3)  # after confirm_timeout (1 s)
    assert len(links(seen, REBOOT)) == 1 and reader.reboots == 1


def test_another_uid_on_the_port_is_a_dock_change_not_a_reboot(dock: FakeDock, reader: Reader):
    seen = reader.seen  # type: ignore[attr-defined]
    dock.sample()
    dock.uid = "fedcba9876543210"
    dock.reboot("0000b002")
    dock.sample()
    assert wait_for(lambda: len(of(seen, Sample)) == 2)
    changed = links(seen, DOCK_CHANGED)
    assert len(changed) == 1 and "fedcba9876543210" in changed[0].detail
    assert not links(seen, REBOOT) and reader.reboots == 0
    assert reader.uid == "fedcba9876543210"


def test_a_reply_left_on_the_port_by_an_earlier_host_is_not_taken_for_this_ones(
    dock: FakeDock, reader: Reader
):
    # An earlier `pogodock config get` gave up and left its ack unread on the port; a
    # later process's `set` with the same id must not read it as its own answer.
    dock.answer = False
    pending = reader.send("set", name="sample_hz", value=100)
    assert wait_for(lambda: dock.commands and dock.commands[-1]["cmd"] == "set")
    dock.emit("ack", [("id", pending.id), ("cmd", "get"), ("settings", {})])
    assert pending.wait(0.5) is None
    dock.emit("ack", [("id", pending.id), ("cmd", "set")])
    reply = pending.wait(3)
    assert isinstance(reply, Ack) and reply.cmd == "set"
    # Each process numbers from its own start, not from 1 as every other does.
    assert len({Reader("/nonexistent").send("info").id for _ in range(5)}) == 5


@pytest.mark.parametrize("end", ["unplug", "stop"])
def test_a_new_boot_s_lines_held_for_its_hello_are_handed_out_when_the_link_ends(
    dock: FakeDock, reader: Reader, end: str
):
    # A reboot whose hello was missed holds the new boot's lines until a hello or a
    # timeout; an unplug or a Ctrl-C before either must not lose them (a recorder
    # subscribed would never write them).
    seen = reader.seen  # type: ignore[attr-defined]
    dock.sample()
    assert wait_for(lambda: len(of(seen, Sample)) == 1)
    dock.answer = False  # its hello stays missed: the reader's info asks in vain
    before = reader.lines
    with dock._lock:
        dock.boot, dock.seq, dock.t_ms = "0000b002", 0, 0
    for _ in range(6):
        dock.sample()
    assert wait_for(lambda: reader.lines >= before + 6)
    assert len(of(seen, Sample)) == 1  # held: no hello yet
    if end == "unplug":
        dock.unplug()
        assert wait_for(lambda: links(seen, DISCONNECTED))
        dock.plug()  # for the fixture's own unplug
    else:
        reader.stop()
    assert [s.boot for s in of(seen, Sample)] == ["0000b001"] + ["0000b002"] * 6
    if end == "unplug":
        gone = links(seen, DISCONNECTED)[0]
        assert seen.index(of(seen, Sample)[-1]) < seen.index(gone)


def test_a_dock_of_another_protocol_version_is_named_so_not_as_no_pogodock(dock: FakeDock):
    dock.answer = False
    r = Reader(str(dock.link), confirm_timeout=0.5, max_backoff=0.1)
    seen: list[Record] = []
    r.subscribe(seen.append)
    r.start()
    try:
        line = b'{"v":2,"type":"sample","seq":%d,"boot":"0000b001","t_ms":0,"pins":{}}\n'
        for seq in range(3):
            dock.write(line % seq)
        assert wait_for(lambda: links(seen, UNCONFIRMED))
        (told,) = links(seen, UNCONFIRMED)
        assert "protocol version 2, expected 1" in told.detail, told.detail
        assert "may not be a pogodock" not in told.detail
        # Another port (or device) later says nothing: that is not the last one's version.
        dock.unplug()
        dock.plug()
        assert wait_for(lambda: len(links(seen, UNCONFIRMED)) == 2)
        assert "may not be a pogodock" in links(seen, UNCONFIRMED)[1].detail
    finally:
        r.stop()
