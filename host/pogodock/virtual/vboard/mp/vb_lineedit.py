"""The friendly REPL's line editor and its "is this statement complete?" rule.

``continue_with_input`` is MicroPython's own rule (py/repl.c), so multi-line input
behaves as on a board. ``LineEditor`` is a small readline: echo, backspace, Ctrl-C,
the control keys on an empty line, history on the arrow keys, and auto-indent (the
next line starts at the previous one's indentation, four more after a ``:``; Enter on a
line that holds only that indentation ends the statement). No cursor movement, no tab
completion.
"""

CTRL_A = 1
CTRL_B = 2
CTRL_C = 3
CTRL_D = 4
CTRL_E = 5
ENTER = -1

_COMPOUND = ("if", "while", "for", "try", "with", "def", "class", "async")
_ESC = 27
_BS = (8, 127)


def _is_ident(ch):
    return ch.isalpha() or ch.isdigit() or ch == "_"


def _starts_with_word(text, word):
    return text.startswith(word) and (len(text) == len(word) or not _is_ident(text[len(word)]))


def continue_with_input(text):
    """True if ``text`` (lines joined by ``\\n``) is not a complete statement yet."""
    if not text:
        return False
    compound = text[0] == "@" or any(_starts_with_word(text, w) for w in _COMPOUND)
    paren = brack = brace = 0
    quote = None  # None, "'", '"', "'''", '"""'
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "'" or ch == '"':
            triple = text[i : i + 3] == ch * 3
            if triple and (quote is None or quote == ch * 3):
                quote = None if quote else ch * 3
                i += 2
            elif quote is None or quote == ch:
                quote = None if quote else ch
        elif ch == "\\" and i + 1 < n and text[i + 1] in "'\"\\":
            if quote is not None:
                i += 1
        elif quote is None:
            if ch == "(":
                paren += 1
            elif ch == ")":
                paren -= 1
            elif ch == "[":
                brack += 1
            elif ch == "]":
                brack -= 1
            elif ch == "{":
                brace += 1
            elif ch == "}":
                brace -= 1
        i += 1
    if quote is not None and len(quote) == 3:
        return True
    if (paren > 0 or brack > 0 or brace > 0) and quote is None:
        return True
    if text[-1] == "\\":
        return True
    return compound and text[-1] != "\n"


def shape(source):
    """``source`` (bytes) as text for ``continue_with_input`` and ``indent_after``: every
    non-ASCII byte becomes ``?``. Only ASCII characters decide whether a statement goes
    on, and bytes that are not UTF-8 cannot stop the REPL this way."""
    return bytes([c if c < 128 else 63 for c in source]).decode()


def indent_after(line):
    """The indentation the line after ``line`` starts with."""
    if not line.strip():
        return ""
    n = len(line) - len(line.lstrip(" "))
    if line.rstrip().endswith(":"):
        n += 4
    return " " * n


class LineEditor:
    def __init__(self, console):
        self._con = console
        self._history = []
        self._line = bytearray()
        self._prompt = ""
        self._prefill = b""
        self._esc = 0
        self._recall = 0
        self._after_cr = False

    def start(self, prompt, indent=""):
        self._prompt = prompt
        self._prefill = indent.encode()
        self._line = bytearray(self._prefill)
        self._esc = 0
        self._recall = len(self._history)
        self._con.write_text(prompt + indent)

    def text(self):
        """The line as entered, bytes as the host sent them (untouched auto-indentation
        counts as nothing). Not decoded: the board's compiler takes them as they are."""
        if bytes(self._line) == self._prefill:
            return b""
        return bytes(self._line)

    def _blank(self):
        return not bytes(self._line).strip()

    def _replace(self, new):
        self._line = bytearray(new)
        self._con.write(b"\r" + self._prompt.encode() + bytes(self._line) + b"\x1b[K")

    def _escape(self, c):
        """Arrow keys and other escape sequences: up and down walk the history."""
        if self._esc == 1:
            self._esc = 2 if c in (ord("["), ord("O")) else 0
            return
        if ord("0") <= c <= ord("9") or c == ord(";"):
            return  # a parameter: wait for the final byte
        self._esc = 0
        if c == ord("A") and self._recall > 0:
            self._recall -= 1
            self._replace(self._history[self._recall])
        elif c == ord("B") and self._recall < len(self._history):
            self._recall += 1
            entry = self._history[self._recall] if self._recall < len(self._history) else b""
            self._replace(entry)

    def feed(self, c):
        """One byte from the host: None while editing, else ENTER or a control key."""
        after_cr = self._after_cr
        self._after_cr = c == 13
        if self._esc:
            self._escape(c)
            return None
        if c == CTRL_C:
            return CTRL_C
        if c in (CTRL_A, CTRL_B, CTRL_D, CTRL_E):
            return c if self._blank() else None
        if c == 13 or (c == 10 and not after_cr):
            self._con.write(b"\r\n")
            entered = bytes(self._line)
            if entered.strip() and entered != self._prefill:
                self._history.append(entered)
                if len(self._history) > 32:
                    self._history.pop(0)
            return ENTER
        if c == 10:
            return None  # the \n of a \r\n
        if c in _BS:
            self._backspace()
        elif c == _ESC:
            self._esc = 1
        elif c >= 32 or c == 9:
            self._line.append(c)
            self._con.write(bytes((c,)))
        return None

    def _backspace(self):
        line = self._line
        if not line:
            return
        if self._blank():  # in the indentation: back to the previous level
            n = (len(line) - 1) % 4 + 1
        else:
            n = 1
            while len(line) - n > 0 and line[len(line) - n] & 0xC0 == 0x80:
                n += 1  # the whole of a UTF-8 character
        self._line = line[: len(line) - n]
        if self._blank():
            self._con.write(b"\b \b" * n)
        else:
            self._con.write(b"\b \b")
