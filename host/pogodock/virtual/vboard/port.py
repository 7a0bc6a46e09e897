"""The virtual board's USB serial port: a pseudo-terminal that hosts open by path.

The supervisor holds the master side; hosts (mpremote, ``pogodock monitor``, a
terminal) open the slave path. The slave is set raw once (no echo, no newline
translation) and not kept open here, so the master can tell whether a host has the
port open: with none, it reports a hang-up. That stands in for DTR: the rp2 port
drops its output while no host holds the port, and so does the virtual board, so a
host that opens the port later gets current lines, not a backlog. For the same reason
what a host left unread when it closed the port is thrown away.
"""

from __future__ import annotations

import errno
import os
import select
import termios
import tty


class PtyPort:
    def __init__(self) -> None:
        self.master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self.path = os.ttyname(slave)
        finally:
            os.close(slave)
        os.set_blocking(self.master, False)
        self._poll = select.poll()
        self._poll.register(self.master, select.POLLIN)

    def host_present(self) -> bool:
        for _, ev in self._poll.poll(0):
            if ev & select.POLLHUP:
                return False
        return True

    def forget_unread(self) -> None:
        """Throw away what the last host left unread (it waits on the slave side)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return
        try:
            termios.tcflush(fd, termios.TCIFLUSH)
        finally:
            os.close(fd)

    def read(self) -> bytes:
        """What the host wrote (b"" when nothing is there or no host is)."""
        try:
            return os.read(self.master, 4096)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as e:
            if e.errno == errno.EIO:  # no host on the slave side
                return b""
            raise

    def write(self, data: bytes) -> int:
        """Send what the terminal takes now; the count taken."""
        try:
            return os.write(self.master, data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as e:
            if e.errno == errno.EIO:
                return 0
            raise

    def close(self) -> None:
        os.close(self.master)
