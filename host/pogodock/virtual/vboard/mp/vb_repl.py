"""The board's REPL, byte for byte as the rp2 port's (shared/runtime/pyexec.c).

* Friendly REPL: ``>>> `` prompt, echo, multi-line statements, Ctrl-A (raw REPL),
  Ctrl-B (banner), Ctrl-C (cancel), Ctrl-D (soft reboot), Ctrl-E (paste mode).
* Raw REPL (what mpremote uses): ``raw REPL; CTRL-B to exit\\r\\n>``; code up to Ctrl-D,
  answered ``OK``, then its output, ``\\x04``, its traceback, ``\\x04``, ``>``. An empty
  Ctrl-D is a soft reboot. Raw-paste mode (``\\x05A\\x01``) with flow control.
* At boot: ``boot.py``, then ``main.py`` unless the boot is into the raw REPL (a soft
  reboot from the raw REPL, as mpremote does), then the REPL. An exception ends the
  script with its traceback, ``SystemExit`` (``sys.exit()``, ``machine.soft_reset()``)
  soft-reboots, as on the board.

User code (boot.py, main.py, every REPL entry) runs in one ``__main__`` namespace. Its
source goes to ``compile`` as the bytes the host sent or the file holds, never decoded
here: bytes that are not UTF-8 then do what they do on a board (MicroPython's lexer
takes them as they are, or the code raises), and never stop the REPL itself.
Tracebacks leave out the virtual board's own frames (its modules are compiled with
source names that start with ``vboard:``), so they read as on the board.
"""

import io
import sys

from vb_lineedit import (
    CTRL_A,
    CTRL_B,
    CTRL_C,
    CTRL_D,
    CTRL_E,
    ENTER,
    LineEditor,
    continue_with_input,
    indent_after,
    shape,
)

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 128  # raw-paste flow-control window: half of pyexec's default 256-byte buffer
_HIDDEN_FRAMES = b'  File "vboard:'


class SoftReboot(Exception):
    """A soft reboot was asked for; ``args[0]``: True to boot into the raw REPL."""


def format_exception(exc, hide=True):
    """The traceback as the board prints it, console-ready (``\\r\\n``), in bytes: a
    message can hold bytes that are not UTF-8 (a name from such source), and the board
    sends them as they are. ``hide``: leave out the virtual board's own frames."""
    buf = io.BytesIO()
    # The rp2 stubs type BytesIO without its stream side; MicroPython has both.
    sys.print_exception(exc, buf)  # pyright: ignore[reportArgumentType]
    lines = buf.getvalue().split(b"\n")  # pyright: ignore[reportAttributeAccessIssue]
    if hide:
        lines = [x for x in lines if not x.startswith(_HIDDEN_FRAMES)]
    return b"\r\n".join(lines)


def banner():
    v = sys.implementation.version
    built = sys.version.split(" on ")[-1] if " on " in sys.version else "?"
    return "MicroPython v%d.%d.%d%s on %s; Raspberry Pi Pico with RP2040 (pogodock vboard)" % (
        v[0],
        v[1],
        v[2],
        ("-" + v[3]) if len(v) > 3 and v[3] else "",
        built,
    )


class Repl:
    def __init__(self, console, raw):
        self._con = console
        self.raw = raw
        self.namespace = {"__name__": "__main__"}
        self._editor = LineEditor(console)
        self._text = b""  # friendly: the lines of a statement entered so far
        self._pasting = False  # friendly: in paste mode (Ctrl-E)
        self._paste = bytearray()
        self._raw_line = bytearray()

    # -- running user code --------------------------------------------------------------
    def execute(self, source, filename, mode):
        """Compile and run ``source`` (bytes) in the REPL's namespace: the exception, or None.

        ``SystemExit`` is returned too; the caller turns it into a soft reboot after
        saying what it must. After a Ctrl-C, what the host sent before it is dropped.
        """
        try:
            code = compile(source, filename, mode)
            self._con.interruptible(True)
            exec(code, self.namespace)
        except BaseException as e:  # whatever user code raises is reported, as on a board
            if isinstance(e, KeyboardInterrupt):
                self._con.discard_input()
            self._con.interruptible(False)
            return e
        self._con.interruptible(False)
        return None

    def _report(self, exc):
        if exc is not None and not isinstance(exc, SystemExit):
            self._con.write(format_exception(exc))

    def run_file(self, path):
        """boot.py / main.py at boot, as ``pyexec_file_if_exists``."""
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError:
            return
        self.namespace["__file__"] = path
        exc = self.execute(source, path, "exec")
        self._report(exc)
        if isinstance(exc, SystemExit):
            raise SoftReboot(self.raw)

    def boot(self):
        self.run_file("boot.py")
        if not self.raw:
            self.run_file("main.py")

    # -- the loop -----------------------------------------------------------------------
    def run(self):
        """Serve the REPL until a soft reboot (raises ``SoftReboot``)."""
        self._con.interruptible(False)
        if self.raw:
            self._con.write(RAW_BANNER + b">")
        else:
            self._friendly_banner()
        pending = None
        while True:
            try:
                if pending is None:
                    c = self._con.read_byte()
                else:
                    c, pending = pending, None
                if self.raw:
                    self._raw_char(c)
                else:
                    self._friendly_char(c)
            except KeyboardInterrupt:
                # A Ctrl-C that arrived as a signal between two reads: as if read.
                pending = CTRL_C

    # -- friendly REPL ------------------------------------------------------------------
    def _friendly_banner(self):
        self._con.write_text(banner() + '\nType "help()" for more information.\n')
        self._restart()

    def _restart(self, prompt=">>> ", indent=""):
        if prompt == ">>> ":
            self._text = b""
        self._pasting = False
        self._editor.start(prompt, indent)

    def _friendly_char(self, c):
        if self._pasting:
            self._paste_char(c)
            return
        r = self._editor.feed(c)
        if r is None:
            return
        line = self._editor.text()
        if not self._text:
            if r == CTRL_A:
                self._con.write(b"\r\n" + RAW_BANNER + b">")
                self.raw = True
                self._raw_line = bytearray()
            elif r == CTRL_B:
                self._con.write(b"\r\n")
                self._friendly_banner()
            elif r == CTRL_C:
                self._con.write(b"\r\n")
                self._restart()
            elif r == CTRL_D:
                self._con.write(b"\r\n")
                raise SoftReboot(False)
            elif r == CTRL_E:
                self._con.write(b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ")
                self._pasting = True
                self._paste = bytearray()
            elif not line:
                self._restart()
            elif continue_with_input(shape(line)):
                self._text = line + b"\n"
                self._restart("... ", indent_after(shape(line)))
            else:
                self._run_statement(line)
            return
        if r == CTRL_C:
            self._con.write(b"\r\n")
            self._restart()
            return
        if r != CTRL_D:
            if r != ENTER:
                return
            text = self._text + line
            if continue_with_input(shape(text)):
                self._text = text + b"\n"
                self._restart("... ", indent_after(shape(line)))
                return
        self._run_statement(self._text + line)

    def _run_statement(self, text):
        exc = self.execute(text, "<stdin>", "single")
        self._report(exc)
        if isinstance(exc, SystemExit):
            raise SoftReboot(False)
        self._restart()

    def _paste_char(self, c):
        if c == CTRL_C:
            self._con.write(b"\r\n")
            self._restart()
        elif c == CTRL_D:
            self._con.write(b"\r\n")
            source = bytes(self._paste)
            self._pasting = False
            exc = self.execute(source, "<stdin>", "exec")
            self._report(exc)
            if isinstance(exc, SystemExit):
                raise SoftReboot(False)
            self._restart()
        else:
            self._paste.append(c)
            self._con.write(b"\r\n=== " if c == 13 else bytes((c,)))

    # -- raw REPL -----------------------------------------------------------------------
    def _raw_char(self, c):
        line = self._raw_line
        if c == CTRL_A:
            if len(line) == 2 and line[0] == CTRL_E:
                self._raw_line = bytearray()
                self._raw_paste(line[1])
                self._con.write(b">")
                return
            self._raw_line = bytearray()
            self._con.write(RAW_BANNER + b">")
        elif c == CTRL_B:
            self._raw_line = bytearray()
            self.raw = False
            self._con.write(b"\r\n")
            self._friendly_banner()
        elif c == CTRL_C:
            self._raw_line = bytearray()
        elif c == CTRL_D:
            self._raw_line = bytearray()
            self._con.write(b"OK")
            if not line:
                self._con.write(b"\r\n")
                raise SoftReboot(True)
            self._raw_execute(line)
            self._con.write(b">")
        else:
            line.append(c)

    def _raw_execute(self, source):
        exc = self.execute(bytes(source), "<stdin>", "exec")
        self._con.write(b"\x04")
        self._report(exc)
        self._con.write(b"\x04")
        if isinstance(exc, SystemExit):
            raise SoftReboot(True)

    def _raw_paste(self, kind):
        if kind != ord("A"):
            self._con.write(b"R\x00")
            return
        window = PASTE_WINDOW
        self._con.write(b"R\x01" + bytes((window & 0xFF, window >> 8, 1)))
        source = bytearray()
        left = window
        while True:
            c = self._con.read_byte()
            if c == CTRL_C or c == CTRL_D:
                self._con.write(b"\x04")  # end of data, acknowledged
                break
            source.append(c)
            left -= 1
            if left == 0:
                self._con.write(b"\x01")  # room for another window
                left = window
        if c == CTRL_C:
            # The board raises KeyboardInterrupt while reading the code: an exec error.
            self._con.write(b"\x04")
            self._con.write_text("Traceback (most recent call last):\nKeyboardInterrupt: \n")
            self._con.write(b"\x04")
            return
        self._raw_execute(source)
