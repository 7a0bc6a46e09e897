"""One interpreter process of the virtual board, and the stdin it reads.

``Board`` starts ``micropython -m vb_main`` (``interp.Interpreter``) with its stdin
lent by the supervisor (``StdinPipe``), its stdout and stderr on one pipe (one console,
as on the board) and a control pipe of its own; ``server.Supervisor`` decides when
one ends and the next starts.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

from pogodock.virtual.vboard.interp import Interpreter


def _end_with_supervisor() -> None:
    """In the interpreter's process: SIGKILL when the supervisor goes, however it goes, so
    that no board runs on without its port (Linux ``prctl(PR_SET_PDEATHSIG)``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


class StdinPipe:
    """The interpreter's stdin: the board's USB receive buffer.

    It outlives a soft reset, as a Pico's CDC buffer does: the supervisor keeps both
    ends, and the next interpreter reads on where the last one stopped (mpremote and
    people send their next line right behind a Ctrl-D). A hard reset or a crash gets a
    fresh one: what was in it is lost, as when the USB device goes away.
    """

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        os.set_blocking(self.write_end, False)
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.read_end)
            os.close(self.write_end)


class Board:
    """One interpreter process: its stdin (lent by the supervisor), stdout and control."""

    def __init__(
        self, interp: Interpreter, args: list[str], stdin: StdinPipe, env: dict[str, str]
    ) -> None:
        """``env``: added to the interpreter's environment (what is too long for its
        command line: MicroPython's unix port dies on an argument of 256 bytes or
        more, it interns each one)."""
        own: list[int] = []  # this side's ends, closed here if the interpreter never starts
        theirs: list[int] = []  # the interpreter's ends, closed here once it has them
        try:
            for _ in range(2):
                r, w = os.pipe()
                own.append(r)
                theirs.append(w)
            stdout_w, control_w = theirs
            self.proc = subprocess.Popen(
                interp.command([*args, str(control_w)]),
                stdin=stdin.read_end,
                stdout=stdout_w,
                stderr=stdout_w,  # one console, as on the board
                pass_fds=(control_w,),
                env={**interp.env(), **env},
                cwd=interp.lib,
                # Its own session: a Ctrl-C typed at the vboard's terminal stops the
                # vboard, it is not an interrupt on the board's serial port.
                start_new_session=True,
                preexec_fn=_end_with_supervisor,
            )
        except BaseException:
            for fd in own:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        self.stdin = stdin.write_end
        self.stdout, self.control = own
        for fd in own:
            os.set_blocking(fd, False)
        self.closed = False
        self.spoke = False  # has it said anything on its control line yet
        self.control_buf = bytearray()  # the start of a control message still coming
        self.tail = bytearray()  # the end of its output, to explain a crash at boot

    def interrupt(self) -> None:
        try:
            self.proc.send_signal(signal.SIGINT)
        except ProcessLookupError:
            pass

    def read_output(self) -> bytes | None:
        """Output waiting in the pipe; None once the interpreter has ended."""
        try:
            data = os.read(self.stdout, 65536)
        except BlockingIOError:
            return b""
        if not data:
            return None
        self.tail = (self.tail + data)[-2000:]
        return data

    def write_input(self, data: bytearray) -> None:
        try:
            n = os.write(self.stdin, data)
        except BlockingIOError:
            return
        del data[:n]

    def stop(self) -> bytes:
        """End the interpreter; what it had written and nobody read yet. Once: after
        that its descriptors are closed (and their numbers may be a new board's)."""
        if self.closed:
            return b""
        self.closed = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        rest = bytearray()
        while True:
            data = self.read_output()
            if not data:
                break
            rest += data
        os.close(self.stdout)
        os.close(self.control)
        return bytes(rest)
