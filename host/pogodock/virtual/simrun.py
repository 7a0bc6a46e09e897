"""``pogodock sim``: the firmware's own App against a simulated dock, serial stream on stdout
(and, with ``--record``, into a recording)."""

from __future__ import annotations

import errno
import os
import select
import sys
import time
from typing import TYPE_CHECKING, BinaryIO

import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
from dockfw.app import App
from dockfw.protocol import MAX_COMMAND_BYTES
from docksim import scenario as scenario_mod
from docksim.dock import SimDock

from pogodock.paths import BOARDS_DIR

if TYPE_CHECKING:
    from pogodock.recordings.recorder import Recorder


class FdInbox:
    """Host commands arriving on a file descriptor (stdin, or a pty's master side),
    read without blocking, handed out as the firmware's HAL hands them (``read_line``
    in ``dockfw.app``): whole lines without their newline; a line longer than
    ``MAX_COMMAND_BYTES`` as its first ``MAX_COMMAND_BYTES + 1`` bytes, the rest
    discarded up to its newline. The descriptor is read only while no whole line
    waits here, so a host that sends faster than the firmware takes lines is held
    back by the terminal's buffer, as a dock's USB link holds it back."""

    CHUNK = 4096

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""  # read, not yet handed out: at most a chunk and a line's start
        self.cut: bytes | None = None  # the start of a line too long, while its rest goes
        self.ready: bytes | None = None  # the next whole line
        self.eof = False

    def _read(self) -> bool:
        """Read what the descriptor has now; False when nothing came."""
        if self.eof:
            return False
        try:
            ready, _, _ = select.select([self.fd], [], [], 0)
            if not ready:
                return False
            data = os.read(self.fd, self.CHUNK)
        except BlockingIOError:
            return False
        except OSError as e:
            if e.errno == errno.EIO:  # a pty with no client on its slave side right now
                return False
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def pending(self) -> bool:
        """True when a whole line is waiting."""
        limit = MAX_COMMAND_BYTES + 1
        while self.ready is None:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = self.buf[:nl]
                self.buf = self.buf[nl + 1 :]
                if self.cut is not None:
                    line, self.cut = self.cut, None
                self.ready = line[:limit]
                break
            if self.cut is None and len(self.buf) >= limit:
                self.cut = self.buf[:limit]
            if self.cut is not None:
                self.buf = b""  # the rest of a line too long: it will be refused anyway
            if not self._read():
                break
        return self.ready is not None

    def read_line(self) -> bytes | None:
        if not self.pending():
            return None
        line, self.ready = self.ready, None
        return line


class SimRun:
    """A virtual dock and the firmware on it, ready to ``run()`` to the scenario's end:
    the scenario loaded and the firmware wired to a simulated dock."""

    def __init__(
        self,
        scenario_path: str,
        write,
        inbox=None,
        fast: bool = True,
        speed: float = 1.0,
        boot_seed: int | None = None,
    ) -> None:
        self.scenario = scenario_mod.load(scenario_path, str(BOARDS_DIR))

        def sleep(seconds: float) -> None:
            time.sleep(seconds / speed)

        self.dock = SimDock(
            self.scenario, write, inbox, sleep=None if fast else sleep, boot_seed=boot_seed
        )

    def run(self) -> App | None:
        """Run the firmware, through any reboots the host asks for and any power cuts;
        the last App (None when the power failed while the firmware was starting and
        stayed off to the scenario's end)."""
        power = self.dock.power
        try:
            return self.dock.run_firmware(
                sample_hz=self.scenario.sample_hz, idle_hz=self.scenario.idle_hz
            )
        except BaseException as e:
            if power is not None and isinstance(e, power.PowerCut):
                return None
            raise


def run_stdio(
    scenario_path: str,
    fast: bool,
    out: BinaryIO | None = None,
    speed: float = 1.0,
    boot_seed: int | None = None,
    recorder: Recorder | None = None,
) -> int:
    """The dock's serial stream on ``out`` (stdout); with ``recorder``, every line also
    goes to it, as the monitor's ``--record`` writes it, timed by the host's clock."""
    stream = out if out is not None else sys.stdout.buffer
    splitter = None
    if recorder is not None:
        from pogodock.link.reader import LineSplitter
        from pogodock.records import Decoder

        splitter = LineSplitter(Decoder(recorder).line, recorder)

    def write(data: bytes) -> None:
        try:
            stream.write(data)
            if not fast:
                stream.flush()
        except BrokenPipeError:
            raise OutputGone from None
        if splitter is not None:
            splitter.feed(bytes(data), time.time())

    inbox = None
    try:
        inbox = FdInbox(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        inbox = None
    app = SimRun(scenario_path, write, inbox, fast, speed, boot_seed)
    try:
        app.run()
        stream.flush()
    except (OutputGone, BrokenPipeError):
        _quiet_stdout()
    return 0


class OutputGone(BaseException):
    """Whoever read the dock's stream has gone (``sim | head``): the run ends there. A
    BaseException, as a power cut is: the firmware's supervision catches ``Exception``
    and would carry on sampling, at full speed, into a closed pipe."""


def _quiet_stdout() -> None:
    # Python flushes stdout again at exit: pointed at the closed pipe, that would print
    # "Exception ignored ... BrokenPipeError".
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
