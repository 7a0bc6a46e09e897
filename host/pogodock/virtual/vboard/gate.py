"""What host input reaches the interpreter, and when a Ctrl-C is an interrupt.

On a board, the USB driver watches for Ctrl-C while code runs: it raises
``KeyboardInterrupt`` and clears what was buffered, and the byte itself is never read.
While the REPL waits for input, Ctrl-C is an ordinary byte. The interpreter reports
which of the two applies (``E``: user code runs, ``I``: the REPL reads) on its control
line, and this gate acts on it:

* ``starting``: a fresh interpreter has not said yet; input is held for it.
* ``running``: input flows; a Ctrl-C drops what is not delivered yet and asks for a
  SIGINT; what follows is held (``interrupted``) until the interpreter has dealt with
  the interrupt and reads again, so the REPL, not the interrupted program, gets the
  bytes a tool sends after its Ctrl-C (mpremote sends ``\\r\\x03`` then ``\\r\\x01``).
  A further Ctrl-C meanwhile sends no second SIGINT (it could land in the middle of
  the interpreter's handling of the first); it only drops what was held before it.
* ``reading``: input flows, Ctrl-C included.

Pure logic, no descriptors: the supervisor moves ``to_child`` into the interpreter's
stdin and sends the signals.
"""

from __future__ import annotations

STARTING = "starting"
RUNNING = "running"
INTERRUPTED = "interrupted"
READING = "reading"

CTRL_C = b"\x03"
# An interrupt that user code catches and carries on from is never acknowledged; after
# this long the held input is let through to the still-running program.
INTERRUPT_GRACE_S = 1.0


class InputGate:
    def __init__(self) -> None:
        self.state = STARTING
        self.to_child = bytearray()  # ready for the interpreter's stdin
        self._held = bytearray()
        self._interrupted_at = 0.0

    def from_host(self, data: bytes, now: float) -> bool:
        """Take bytes the host sent; True when the interpreter must get SIGINT now."""
        if self.state == READING:
            self.to_child += data
            return False
        if self.state == STARTING:
            self._held += data
            return False
        k = data.rfind(CTRL_C)
        if k < 0:
            (self.to_child if self.state == RUNNING else self._held).extend(data)
            return False
        self._held = bytearray(data[k + 1 :])
        if self.state == INTERRUPTED:
            return False  # one interrupt is on its way already
        self.to_child.clear()
        self.state = INTERRUPTED
        self._interrupted_at = now
        return True

    def child_says(self, code: bytes, now: float) -> bool:
        """The interpreter's report (``b"E"`` or ``b"I"``); True when it must get SIGINT."""
        held = bytes(self._held)
        self._held.clear()
        if code == b"I":
            self.state = READING
            self.to_child += held
            return False
        self.state = RUNNING
        # A Ctrl-C sent while the board was booting interrupts the program it starts.
        return self.from_host(held, now) if held else False

    def tick(self, now: float) -> None:
        if self.state == INTERRUPTED and now - self._interrupted_at > INTERRUPT_GRACE_S:
            self.state = RUNNING
            self.to_child += self._held
            self._held.clear()

    def waiting_for_child(self) -> bool:
        """True while a deadline of ``tick`` is running."""
        return self.state == INTERRUPTED

    def pending(self) -> int:
        return len(self.to_child) + len(self._held)

    def restart(self, keep_input: bool) -> None:
        """A new interpreter: after a soft reset it reads what the old one left unread
        (what is here, after what waits in the stdin pipe the supervisor hands on to it);
        a hard reset (USB gone for a moment) loses it."""
        left = bytes(self.to_child) + bytes(self._held) if keep_input else b""
        self.to_child.clear()
        self._held = bytearray(left)
        self.state = STARTING
