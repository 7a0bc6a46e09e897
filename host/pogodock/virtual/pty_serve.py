"""``pogodock sim --pty``: the virtual dock behind a pseudo-terminal.

The slave side's path is printed as the first line of stdout; any serial tool
(``pogodock monitor --port PATH``, a terminal, mpremote-free scripts) can open
it like a dock's USB port. With ``link``, a symlink names the pty for as long
as the dock is served (``virtual.ptylink``). The simulator writes the dock's
output to the master side and reads host commands from it.

The slave is put in raw mode (no echo, no newline translation), and this
process keeps its own descriptor of it open: the master then never reports a
hang-up between two clients, and what the dock says while nobody listens
queues in the terminal's buffer. Writes never block the simulator: the
firmware's HAL is told how many bytes the terminal took (none while its buffer
is full), so the firmware's own output queue holds the rest and drops whole
lines when it overflows, counting them in its ``dropped_lines`` as on a board
whose host does not read.
"""

from __future__ import annotations

import fcntl
import os
import sys
import termios
import time
import tty
from typing import TextIO

from pogodock.virtual import ptylink, simrun

LINGER_S = 1.0


class PtySink:
    """Non-blocking writer on the master side: takes what the terminal takes now."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        """Write what fits; the count of bytes the terminal took (0 while it is full)."""
        try:
            return os.write(self.fd, data)
        except (BlockingIOError, InterruptedError):
            return 0


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
    boot_seed: int | None = None,
    link: str | None = None,
) -> int:
    stdout: TextIO = out if out is not None else sys.stdout
    stderr: TextIO = err if err is not None else sys.stderr
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        os.set_blocking(master, False)
        path = os.ttyname(slave)
        if link:
            ptylink.point(link, path)
        sink = PtySink(master)
        inbox = simrun.FdInbox(master)
        run = simrun.SimRun(scenario_path, sink.write, inbox, fast, speed, boot_seed)
        stdout.write((link or path) + "\n")
        stdout.flush()
        app = None
        try:
            app = run.run()
            # Give a client a moment to read what is still queued (a dock whose power
            # is off at the end has nothing more to say).
            end = time.monotonic() + LINGER_S
            while time.monotonic() < end:
                queued = app is not None and run.dock.powered and app.out.pending()
                if not queued and not unread_bytes(slave):
                    break
                if queued and app is not None:
                    app.flush()
                time.sleep(0.02)
        finally:
            dropped = run.dock.dropped_lines()
            if dropped:
                stderr.write(
                    "pogodock sim: the dock dropped %d lines because nobody read them in time\n"
                    % dropped
                )
    finally:
        if link:
            ptylink.unpoint(link, path)
        os.close(master)
        os.close(slave)
    return 0
