"""``pogodock sim --pty``: the virtual dock behind a pseudo-terminal.

The slave side's path is printed as the first line of stdout; any serial tool
(``pogodock monitor --port PATH``, a terminal, mpremote-free scripts) can open
it like a dock's USB port. The simulator writes the dock's output to the
master side and reads host commands from it.

The slave is put in raw mode (no echo, no newline translation), and this
process keeps its own descriptor of it open: the master then never reports a
hang-up between two clients, and what the dock says while nobody listens
queues in the terminal's buffer. Writes never block the simulator: when the
buffer is full the line is dropped and counted, as the real dock does when
the host does not read.
"""

from __future__ import annotations

import fcntl
import os
import sys
import termios
import time
import tty
from typing import TextIO

from pogodock import simrun

LINGER_S = 1.0


class PtySink:
    """Non-blocking writer on the master side: whole lines or nothing, never waits."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.rest = b""  # the tail of a line the terminal took only part of
        self.lines = 0
        self.dropped = 0

    def _flush_rest(self) -> bool:
        while self.rest:
            try:
                n = os.write(self.fd, self.rest)
            except BlockingIOError:
                return False
            except OSError:
                self.rest = b""
                return False
            self.rest = self.rest[n:]
        return True

    def write(self, data: bytes) -> int:
        """Send ``data`` (whole lines) or drop it; returns ``len(data)`` either way.

        The chunk is always taken, sent or dropped, so a caller that honours
        the return value (the firmware's output queue) never offers it again.
        """
        n_lines = data.count(b"\n") or 1
        if not self._flush_rest():
            self.dropped += n_lines
            return len(data)
        try:
            n = os.write(self.fd, data)
        except OSError:  # BlockingIOError: the terminal's buffer is full
            self.dropped += n_lines
            return len(data)
        if n < len(data):
            self.rest = data[n:]
        self.lines += n_lines
        return len(data)


def unread_bytes(fd: int) -> int:
    """Bytes written to the master that no client has read yet (queued on the slave)."""
    try:
        buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
        return int.from_bytes(buf, sys.byteorder)
    except OSError:
        return 0


def serve(
    scenario_path: str,
    fast: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
    speed: float = 1.0,
) -> int:
    stdout: TextIO = out if out is not None else sys.stdout
    stderr: TextIO = err if err is not None else sys.stderr
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)
        sink = PtySink(master)
        inbox = simrun.FdInbox(master)
        app = simrun.build(scenario_path, sink.write, inbox, fast, speed)
        stdout.write(path + "\n")
        stdout.flush()
        try:
            app.run()
            # Give a client a moment to read what is still queued.
            end = time.monotonic() + LINGER_S
            while (sink.rest or unread_bytes(slave)) and time.monotonic() < end:
                sink._flush_rest()
                time.sleep(0.02)
        finally:
            if sink.dropped:
                stderr.write(
                    "pogodock sim: %d of %d lines dropped because nobody read them in time\n"
                    % (sink.dropped, sink.dropped + sink.lines)
                )
    finally:
        os.close(master)
        os.close(slave)
    return 0
