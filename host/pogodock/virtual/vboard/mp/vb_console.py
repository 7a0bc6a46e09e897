"""The USB serial link as the interpreter sees it, and the line to the supervisor.

stdin and stdout are pipes to the supervisor, which relays them to the
pseudo-terminal. Ctrl-C never arrives here as a byte while code runs: the
supervisor turns it into SIGINT (a ``KeyboardInterrupt`` here), as the rp2 port's
USB driver turns it into an interrupt. To know when to do that, it is told on a
third descriptor (the control line) what this side is doing:

* ``E``: user code runs and Ctrl-C interrupts it;
* ``I``: the REPL reads input, or the code has switched Ctrl-C off with
  ``micropython.kbd_intr(-1)``: Ctrl-C is an ordinary byte;
* ``s`` / ``r``: soft reset wanted, the next boot in the friendly / raw REPL;
* ``h``: hard reset wanted (``machine.reset()``);
* ``W<ms>;``: the watchdog is started, or started again, with this timeout;
* ``X``: the watchdog was stopped (its CTRL.ENABLE cleared through ``machine.mem32``);
* ``F``: the watchdog was fed (at most every ``WDT_FEED_REPORT_MS``: the supervisor
  allows that much beyond the timeout, so a feed left unsaid never makes it bite early);
* ``P<k>,<landed>,<size>,<path>;``: the power fails now, in the middle of a flash
  write of ``size`` bytes to ``path``, ``landed`` of them on the flash (the scenario's
  power cut ``k``);
* ``K<k>;``: a flash write went through that power cut ``k`` lets pass.

After a reset request or a power cut this process waits to be ended by the supervisor, which then
starts a fresh interpreter: a reset frees everything, as on the board.

Text written through ``write_text`` is "cooked" (``\\n`` -> ``\\r\\n``) as the rp2
port cooks text output (``print``, the REPL); ``write`` sends bytes as they are, as
``sys.stdout.buffer`` does on the board.
"""

import select
import sys
import time

CTRL_C = 3
# How often a feed is reported at most; the supervisor's grace beyond the timeout
# (server.WDT_FEED_REPORT_MS, the same number).
WDT_FEED_REPORT_MS = 20


class Unplugged(Exception):
    """The supervisor closed stdin: it is going away."""


class Console:
    def __init__(self, control_fd):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._control = open(control_fd, "wb")
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._told = None
        self._running = False
        self._kbd_intr = True
        self._fed_told = 0

    # -- the control line -------------------------------------------------------------
    def _tell(self):
        code = b"E" if self._running and self._kbd_intr else b"I"
        if code != self._told:
            self._told = code
            self._control.write(code)

    def interruptible(self, on):
        """User code starts (a Ctrl-C from the host interrupts it) or ends (Ctrl-C is a
        byte for the REPL). Each run starts with Ctrl-C enabled, as pyexec does."""
        self._running = on
        self._kbd_intr = True
        self._tell()

    def kbd_intr(self, char):
        """``micropython.kbd_intr``: -1 makes Ctrl-C a byte until the running code ends."""
        self._kbd_intr = char != -1
        self._tell()

    def request_reset(self, code):
        """Ask the supervisor for a reset (``b"s"``, ``b"r"`` or ``b"h"``); never returns."""
        self._told = None
        self._control.write(code)
        self._wait_for_the_end()

    def power_cut(self, index, path, landed, size):
        """The power fails now, in the middle of a flash write; never returns."""
        path = path.replace(";", "?").replace(",", "?")
        self._control.write(b"P%d,%d,%d,%s;" % (index, landed, size, path.encode()))
        self._wait_for_the_end()

    def write_let_through(self, index):
        self._control.write(b"K%d;" % index)

    def _wait_for_the_end(self):
        while True:  # ended by the supervisor; a Ctrl-C cannot stop a reset
            try:
                time.sleep(1)
            except KeyboardInterrupt:
                pass

    def watchdog_started(self, timeout_ms):
        self._fed_told = time.ticks_ms()
        self._control.write(b"W%d;" % timeout_ms)

    def watchdog_stopped(self):
        self._control.write(b"X")

    def watchdog_fed(self):
        now = time.ticks_ms()
        if time.ticks_diff(now, self._fed_told) >= WDT_FEED_REPORT_MS:
            self._fed_told = now
            self._control.write(b"F")

    # -- the serial link --------------------------------------------------------------
    def read_byte(self):
        """The next byte from the host; a Ctrl-C that came as SIGINT counts as 0x03."""
        try:
            b = self._in.read(1)
        except KeyboardInterrupt:
            return CTRL_C
        if not b:
            raise Unplugged()
        return b[0]

    def discard_input(self):
        """Drop what the host sent before a Ctrl-C (the rp2 USB driver clears its buffer)."""
        while self._poll.poll(0):
            if not self._in.read(1):
                return

    def write(self, data):
        self._out.write(data)

    def write_text(self, text):
        self._out.write(text.replace("\n", "\r\n").encode())
