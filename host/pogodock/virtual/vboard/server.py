"""``pogodock vboard``: a virtual board on a pseudo-terminal, supervised.

One interpreter process at a time runs the board (``mp/vb_main.py``): its stdin and
stdout are pipes to this process, which relays them to the pseudo-terminal
(``port.PtyPort``), turns Ctrl-C into SIGINT when it should be an interrupt
(``gate.InputGate``), and starts a fresh interpreter when the board resets:

* soft reset (Ctrl-D, ``sys.exit()``, ``machine.soft_reset()``): the next interpreter
  boots into the REPL mode the old one was in (mpremote's soft reset from the raw REPL
  comes back to the raw REPL, without running ``main.py``) and reads on from the same
  stdin pipe (``process.StdinPipe``), so what the host sent right behind the Ctrl-D arrives;
* hard reset (``machine.reset()``, what ``mpremote reset`` calls): a power-on-like boot
  that runs ``main.py``, ``machine.reset_cause()`` then says ``WDT_RESET``; what the host
  had sent is lost, and for ``RESET_DARK_S`` the board is dark: no interpreter runs
  and what the host sends is thrown away, as while a Pico reboots and its USB port is
  enumerated again (mpremote writes ``\\r\\x02`` behind its ``reset``; late, on a
  loaded machine, it would otherwise prefix the firmware's first command). The port
  stays (a Pico's port vanishes for a moment; hosts that reconnect cope with both);
* the watchdog (``machine.WDT``): the interpreter reports when it is started, fed and
  stopped (``W<ms>;``, ``F``, and ``X`` for its CTRL.ENABLE cleared through
  ``mem32``); the deadline is kept here, so it runs on across soft resets, and when
  it passes the interpreter is killed wherever it is (a tight loop, a blocking read)
  and the board boots as after a hard reset, with ``reset_cause()`` ``WDT_RESET``.
  A hard reset stops the watchdog, as on the RP2040;
* power cuts (the scenario's ``power_cut`` events, ``docksim.power``): a timed
  one at its scenario time, one during a flash write when the interpreter's flash
  layer reports it (``P...;``, once part of the write has landed). The interpreter
  is killed wherever it is, nothing is said and what the host sends is thrown away
  for ``off_s``, then the board boots from power-on. A reset never cancels a pending
  cut: the cuts still to fall during a write are handed to every interpreter, and
  it reports each write it lets through (``K<k>;``). Each cut is said on stderr;
* the interpreter ending on its own (a crash): restarted like a power-on, and said on
  stderr.

The board's time (the scenario's timeline) runs from this process's start, across
all of those: the dock's hardware does not restart when its CPU does.
"""

from __future__ import annotations

import os
import select
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from docksim import scenario as scenario_mod
from docksim.power import WriteCuts, power_cuts

from pogodock.interrupts import sigterm_as_interrupt
from pogodock.paths import BOARDS_DIR
from pogodock.virtual import ptylink
from pogodock.virtual.vboard.gate import InputGate
from pogodock.virtual.vboard.interp import Interpreter, InterpreterError
from pogodock.virtual.vboard.port import PtyPort
from pogodock.virtual.vboard.process import Board, StdinPipe

PWRON_RESET = 1  # machine.PWRON_RESET on the rp2 port
WDT_RESET = 3  # machine.WDT_RESET: what machine.reset() leaves behind there
FRIENDLY = "friendly"
RAW = "raw"

OUT_LIMIT = 16384  # interpreter output waiting for the host; beyond it the board waits
IN_LIMIT = 65536  # host input waiting for the interpreter; beyond it the host waits
HOST_CHECK_S = 0.05  # how often to look for a host while none has the port open
QUICK_CRASHES = 3  # interpreters ending before they boot, in a row, before giving up
# The interpreter reports a watchdog feed at most this often (vb_console's constant of
# the same name): a feed it left unsaid was at most this long after the last one said,
# so the watchdog bites this much after the timeout, at most, and never before it.
WDT_FEED_REPORT_MS = 20
# The power cuts still to fall during a flash write, for the next interpreter (vb_main's
# constant of the same name). It and the board's paths go in the environment: the unix
# port interns every command-line argument and dies on one of 256 bytes or more.
POWER_CUTS_ENV = "POGODOCK_VBOARD_WRITE_CUTS"
# How long a hard reset leaves the board dark. A Pico's port is back a second or two
# after one; shorter here to keep tests quick, long enough for a tool's late bytes.
RESET_DARK_S = 0.5


class VboardError(Exception):
    """Why the virtual board cannot run; one sentence."""


class Supervisor:
    def __init__(
        self,
        interp: Interpreter,
        port: PtyPort,
        board_args: list[str],
        err: TextIO,
        scenario,
        power_on: float,
    ) -> None:
        self.interp = interp
        self.port = port
        self.board_args = board_args  # scenario, boards folder, flash folder, power-on
        # (in the environment: the unix port dies on an argument of 256 bytes or more)
        self.err = err
        self.power_on = power_on  # time.monotonic() of scenario time 0
        self.timed_cuts = [c for c in power_cuts(scenario) if not c.during_write]
        self.write_cuts = WriteCuts(scenario)  # what is left of them, across interpreters
        self.dark_until: float | None = None  # power off or a hard reset: when it boots
        self.gate = InputGate()
        self.to_host = bytearray()
        self.host = False
        self.quick_crashes = 0
        self.cause = PWRON_RESET  # what machine.reset_cause() says until the next hard reset
        self.stdin = StdinPipe()
        self.wdt_timeout_s: float | None = None  # the watchdog's, while it runs
        self.wdt_deadline = 0.0  # time.monotonic() when it bites
        # None only between one interpreter's end and the next one's start.
        self.board: Board | None = None
        try:
            self.board = self._start(FRIENDLY, self.cause)
        except BaseException:
            self.stdin.close()
            raise

    def _start(self, mode: str, cause: int) -> Board:
        env = {POWER_CUTS_ENV: self.write_cuts.encode()}
        for k, value in enumerate(self.board_args):
            env["POGODOCK_VBOARD_ARG%d" % k] = value
        args = [mode, str(cause)]
        try:
            return Board(self.interp, args, self.stdin, env)
        except OSError as e:
            raise VboardError(
                "cannot start %s: %s" % (self.interp.micropython, e.strerror or e)
            ) from None

    def _restart(self, board: Board, mode: str, cause: int, soft: bool) -> None:
        """The next interpreter. A soft reset keeps what the host sent and the watchdog
        running; anything else resets the chip: both are lost."""
        self.board = None
        if not soft:
            self.wdt_timeout_s = None
        rest = board.stop()
        if self.host:
            self.to_host += rest
        self.gate.restart(keep_input=soft)
        self.cause = cause
        if soft:
            self.board = self._start(mode, cause)
            return
        self.stdin.close()
        self.stdin = StdinPipe()
        self.dark_until = time.monotonic() + RESET_DARK_S  # then it boots: _dark_step

    def _crashed(self, board: Board) -> None:
        self.board = None
        rest = board.stop()  # its last words (a traceback) belong on the console
        if self.host:
            self.to_host += rest
        code = board.proc.returncode
        if not board.spoke:
            self.quick_crashes += 1
            if self.quick_crashes >= QUICK_CRASHES:
                tail = board.tail.decode("utf-8", "replace").strip().splitlines()
                raise VboardError(
                    "the MicroPython interpreter ended at boot (exit status %s)%s"
                    % (code, ": " + tail[-1].strip() if tail else "")
                )
        self.err.write(
            "pogodock vboard: the interpreter ended (exit status %s); booting again as after "
            "a power cut\n" % code
        )
        self.err.flush()
        self._restart(board, FRIENDLY, PWRON_RESET, soft=False)

    def _control(self, board: Board, data: bytes, now: float) -> bool:
        """Act on the interpreter's control line; False when it was replaced."""
        board.spoke = True
        self.quick_crashes = 0
        buf = board.control_buf
        buf += data
        i = 0
        while i < len(buf):
            code = bytes(buf[i : i + 1])
            if code in (b"W", b"K", b"P"):
                end = buf.find(b";", i)
                if end < 0:
                    break  # the rest of it comes with the next read
                arg = bytes(buf[i + 1 : end]).decode("utf-8", "replace")
                i = end + 1
                if code == b"W":
                    self.wdt_timeout_s = int(arg) / 1000
                    self._watchdog_fed(now)
                elif code == b"K":
                    k = int(arg)
                    if self.write_cuts.pending.get(k, 0) > 0:
                        self.write_cuts.pending[k] -= 1
                else:
                    self._write_cut(board, arg, now)
                    return False
                continue
            i += 1
            if code in (b"E", b"I"):
                if self.gate.child_says(code, now):
                    board.interrupt()
            elif code == b"F":
                self._watchdog_fed(now)
            elif code == b"X":
                self.wdt_timeout_s = None
            elif code == b"s":
                self._restart(board, FRIENDLY, self.cause, soft=True)
                return False
            elif code == b"r":
                self._restart(board, RAW, self.cause, soft=True)
                return False
            elif code == b"h":
                self._restart(board, FRIENDLY, WDT_RESET, soft=False)
                return False
        del buf[:i]
        return True

    # -- power cuts -----------------------------------------------------------------
    def _write_cut(self, board: Board, report: str, now: float) -> None:
        """``P<k>,<bytes landed>,<bytes of the write>,<path>;``: the power fails in a
        write, part of which has landed."""
        k, kept, size, path = report.split(",", 3)
        cut = self.write_cuts.cuts[int(k)]
        self.write_cuts.pending.pop(cut.index, None)
        self._power_off(
            board,
            cut,
            now,
            ", during a write of %s (%s of %s bytes landed)" % (path, kept, size),
        )

    def _power_off(self, board: Board, cut, now: float, how: str = "") -> None:
        self.board = None
        self.wdt_timeout_s = None
        board.stop()  # what it had not sent yet dies with it
        self.gate.restart(keep_input=False)
        self.stdin.close()
        self.stdin = StdinPipe()
        self.dark_until = now + cut.off_us / 1e6
        self.cause = PWRON_RESET
        self.err.write(
            "pogodock vboard: power cut %d at t=%.3f s%s; off for %g s\n"
            % (cut.index, now - self.power_on, how, cut.off_us / 1e6)
        )
        self.err.flush()

    def _timed_cut_due(self, now: float) -> float | None:
        """The next timed cut's instant (time.monotonic()); due ones are handled."""
        while self.timed_cuts:
            cut = self.timed_cuts[0]
            at = self.power_on + cut.t_us / 1e6
            if now < at:
                return at
            self.timed_cuts.pop(0)
            board = self.board
            if board is not None:
                self._power_off(board, cut, now)
            # (One that falls while the power is off already changes nothing.)
        return None

    def _dark_step(self, until: float) -> None:
        """While the power is off or the board resets: the host's input goes nowhere,
        until the board boots (``self.cause`` says how it came to)."""
        self._check_host()
        now = time.monotonic()
        if now >= until:
            self.dark_until = None
            self.board = self._start(FRIENDLY, self.cause)
            return
        poller = select.poll()
        if self.host:  # what the board said before the cut is still on its way
            out = select.POLLOUT if self.to_host else 0
            poller.register(self.port.master, select.POLLIN | out)
        left = until - now
        due = self._timed_cut_due(now)
        if due is not None:
            left = min(left, due - now)
        if not self.host:
            left = min(left, HOST_CHECK_S)
        events = dict(poller.poll(max(0.0, left) * 1000))
        if self.host and events.get(self.port.master, 0) & select.POLLIN:
            self.port.read()
        if self.to_host and self.host:
            del self.to_host[: self.port.write(bytes(self.to_host))]

    def _watchdog_fed(self, now: float) -> None:
        if self.wdt_timeout_s is not None:
            self.wdt_deadline = now + self.wdt_timeout_s + WDT_FEED_REPORT_MS / 1000

    def _read_control(self, board: Board, now: float) -> bool:
        """Take what the control line holds; False when the interpreter was replaced."""
        try:
            data = os.read(board.control, 256)
        except BlockingIOError:
            return True
        if data == b"":  # the interpreter is gone without asking for a reset
            self._crashed(board)
            return False
        return self._control(board, data, now)

    def _watchdog_bites(self, board: Board, now: float) -> bool:
        """Reset the board if its watchdog has run out (after a last look at the control
        line: a feed may be waiting there); True when it did."""
        if self.wdt_timeout_s is None or now < self.wdt_deadline:
            return False
        if not self._read_control(board, now) or self.board is not board:
            return True
        if self.wdt_timeout_s is None or now < self.wdt_deadline:
            return False
        self.err.write(
            "pogodock vboard: the watchdog ran out (%d ms without a feed): hard reset\n"
            % round(self.wdt_timeout_s * 1000)
        )
        self.err.flush()
        self._restart(board, FRIENDLY, WDT_RESET, soft=False)
        return True

    def _check_host(self) -> None:
        host = self.port.host_present()
        if self.host and not host:
            self.port.forget_unread()
            self.to_host.clear()
        self.host = host

    def step(self) -> None:
        """Wait for something to happen on the port or the interpreter, and handle it."""
        if self.dark_until is not None:
            self._dark_step(self.dark_until)
            return
        board = self.board
        assert board is not None, "no interpreter: a restart failed"
        self._check_host()
        now = time.monotonic()
        cut_at = self._timed_cut_due(now)
        if self.board is not board:
            return
        self.gate.tick(now)
        poller = select.poll()
        if self.host:
            ev = select.POLLIN if self.gate.pending() < IN_LIMIT else 0
            poller.register(self.port.master, ev | (select.POLLOUT if self.to_host else 0))
        if self.gate.to_child:
            poller.register(board.stdin, select.POLLOUT)
        if len(self.to_host) < OUT_LIMIT:
            poller.register(board.stdout, select.POLLIN)
        poller.register(board.control, select.POLLIN)
        timeout = None
        if not self.host or self.gate.waiting_for_child():
            timeout = HOST_CHECK_S * 1000
        for deadline in (self.wdt_deadline if self.wdt_timeout_s is not None else None, cut_at):
            if deadline is not None:
                left_ms = max(0.0, (deadline - now) * 1000)
                timeout = left_ms if timeout is None else min(timeout, left_ms)
        events = dict(poller.poll(timeout))
        now = time.monotonic()

        if events.get(board.control) and not self._read_control(board, now):
            return
        if self._watchdog_bites(board, now):
            return
        if self.host and events.get(self.port.master, 0) & select.POLLIN:
            data = self.port.read()
            if data and self.gate.from_host(data, now):
                board.interrupt()
        if self.gate.to_child:
            board.write_input(self.gate.to_child)
        if events.get(board.stdout):
            out = board.read_output()
            if out is None:
                self._crashed(board)
                return
            if self.host:
                self.to_host += out
        if self.to_host and self.host:
            n = self.port.write(bytes(self.to_host))
            del self.to_host[:n]

    def stop(self) -> None:
        if self.board is not None:
            self.board.stop()
            self.board = None
        self.stdin.close()


def _seed_mating_cycles(flash: Path, scenario) -> None:
    """The scenario's per-pin ``cycles`` are what an earlier life of the dock counted: put
    them where the firmware keeps them (``sim.flash.earlier_life``, as ``pogodock sim``
    does) unless the flash has its own state there already."""
    from docksim.flash import earlier_life

    files = earlier_life(scenario)
    for path in files:
        target = flash / path.lstrip("/")
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[path])


def serve(
    scenario_path: str,
    flash: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    link: str | None = None,
) -> int:
    """Run the virtual board until interrupted (SIGINT, SIGTERM); with ``link``, a symlink
    there names its port while it runs (``virtual.ptylink``)."""
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    # Refused here, with the simulator's own message, before any port exists.
    scenario = scenario_mod.load(scenario_path, str(BOARDS_DIR))
    if flash is not None and not Path(flash).is_dir():
        raise VboardError(
            "no folder %s for the board's flash (create it, or leave --flash out for an "
            "empty one)" % flash
        )
    try:
        interp = Interpreter()
    except InterpreterError as e:
        raise VboardError(str(e)) from None
    sigterm_as_interrupt()
    with tempfile.TemporaryDirectory(prefix="pogodock-vboard-") as work:
        try:
            interp.compile(Path(work) / "lib")
        except InterpreterError as e:
            raise VboardError(str(e)) from None
        flash_dir = Path(flash).resolve() if flash is not None else Path(work) / "flash"
        flash_dir.mkdir(exist_ok=True)
        _seed_mating_cycles(flash_dir, scenario)
        port = PtyPort()
        args = [str(Path(scenario_path).resolve()), str(BOARDS_DIR.resolve()), str(flash_dir)]
        # Power-on: the port appears and the first interpreter starts; scenario time 0.
        power_on_us = time.monotonic_ns() // 1000
        supervisor = None
        try:
            supervisor = Supervisor(
                interp, port, [*args, str(power_on_us)], stderr, scenario, power_on_us / 1e6
            )
            if link:
                ptylink.point(link, port.path)
            stdout.write((link or port.path) + "\n")
            stdout.flush()
            while True:
                supervisor.step()
        finally:
            if link:
                ptylink.unpoint(link, port.path)
            if supervisor is not None:
                supervisor.stop()
            port.close()
