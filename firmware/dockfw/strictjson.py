"""Strict JSON for host command lines: a line is executed only if it is JSON beyond doubt.

MicroPython's ``json.loads`` is lenient: it accepts ``{"a":1"b":2}`` and other
malformed text, and its ``bytes.decode`` takes any bytes. ``parse(line)`` reads one
line (bytes) and returns its value, or raises ``JSONError``. It accepts RFC 8259 JSON
in strict UTF-8 and nothing else, and refuses what RFC 8259 leaves open and a
command never needs: duplicate keys, escaped lone surrogates, numbers that are not
finite (1e400), nesting deeper than ``MAX_DEPTH``, more than ``MAX_VALUES`` values.
Strings are found and checked with bytes methods (``find``, ``min``, ``max``), which
run at C speed on the board; only escapes and non-ASCII text are walked byte by byte.

When the line is an object and its top-level ``"id"`` was read before the error,
the error carries that value (``JSONError.cid``), so the answer can still name it.
"""

from micropython import const

MAX_DEPTH = const(4)  # an object holding a list is all a command needs
# A command has a dozen values at most (cleaned with every pin of a board); a line packed
# with hundreds of tiny ones would cost the board tens of milliseconds to read.
MAX_VALUES = const(32)

_WORDS = ((b"true", True), (b"false", False), (b"null", None))
_ESCAPES = {0x22: '"', 0x5C: "\\", 0x2F: "/", 0x62: "\b", 0x66: "\f", 0x6E: "\n", 0x72: "\r"}
_ESCAPES[0x74] = "\t"


class JSONError(ValueError):
    """Not strict JSON; ``args[0]`` says where and why. ``cid``: the top-level "id"
    read before the error, else None."""

    cid = None


def _bad(i, why):
    return JSONError("not strict JSON at byte %d: %s" % (i, why))


def parse(line):
    """The value of one JSON text (bytes); raises ``JSONError``."""
    st = [0, None, 0]  # where reading is, the top-level "id" once read, values read
    try:
        value = _value(line, st, 0)
        i = _ws(line, st[0])
        if i < len(line):
            raise _bad(i, "text after the value")
    except JSONError as e:
        e.cid = st[1]
        raise
    return value


def _ws(s, i):
    n = len(s)
    while i < n and s[i] in b" \t\n\r":
        i += 1
    return i


# Each reader takes the line and ``st`` (st[0]: the position, moved past what it read)
# and returns the value: no tuple per value, which costs an allocation on the board.


def _value(s, st, depth):
    i = st[0]
    n = len(s)
    st[2] += 1
    if st[2] > MAX_VALUES:
        raise _bad(i, "more than %d values" % MAX_VALUES)
    if i < n and s[i] in b" \t\n\r":
        i = _ws(s, i)
    if i >= n:
        raise _bad(i, "a value is missing")
    st[0] = i
    c = s[i]
    if c == 0x22:  # "
        return _string(s, st)
    if c == 0x2D or 0x30 <= c <= 0x39:
        return _number(s, st)
    if c == 0x7B or c == 0x5B:  # { [
        return _container(s, st, depth + 1)
    for word, v in _WORDS:
        if s.startswith(word, i):
            st[0] = i + len(word)
            return v
    raise _bad(i, "unexpected byte 0x%02x" % c)


def _container(s, st, depth):
    i = st[0]
    if depth > MAX_DEPTH:
        raise _bad(i, "nested deeper than %d" % MAX_DEPTH)
    is_object = s[i] == 0x7B
    close = 0x7D if is_object else 0x5D
    obj = {}
    items = []
    n = len(s)
    i = _ws(s, i + 1)
    if i < n and s[i] == close:
        st[0] = i + 1
        return obj if is_object else items
    while True:
        if is_object:
            if i < n and s[i] in b" \t\n\r":
                i = _ws(s, i)
            if i >= n or s[i] != 0x22:
                raise _bad(i, "a key string is missing")
            st[0] = i
            key = _string(s, st)
            if key in obj:
                if depth == 1 and key == "id":
                    st[1] = None  # two ids: which one the host meant is unknown
                raise _bad(i, "a key given twice")
            i = st[0]
            if i < n and s[i] in b" \t\n\r":
                i = _ws(s, i)
            if i >= n or s[i] != 0x3A:  # :
                raise _bad(i, "':' is missing")
            st[0] = i + 1
            v = _value(s, st, depth)
            obj[key] = v
            if depth == 1 and key == "id":
                st[1] = v
        else:
            st[0] = i
            items.append(_value(s, st, depth))
        i = st[0]
        if i < n and s[i] in b" \t\n\r":
            i = _ws(s, i)
        if i >= n:
            raise _bad(i, "not closed")
        c = s[i]
        if c == close:
            st[0] = i + 1
            return obj if is_object else items
        if c != 0x2C:  # ,
            raise _bad(i, "a ',' is missing")
        i += 1


def _number(s, st):
    i = st[0]
    n = len(s)
    start = i
    if s[i] == 0x2D:  # -
        i += 1
    first = i
    v = 0
    while i < n:
        c = s[i]
        if c < 0x30 or c > 0x39:
            break
        v = v * 10 + c - 0x30  # small ints: no allocation, no slice
        i += 1
    if i == first or (s[first] == 0x30 and i > first + 1):  # no digit, or a leading zero
        raise _bad(first, "a bad number")
    if i >= n or s[i] not in b".eE":
        st[0] = i
        return -v if first > start else v
    if s[i] == 0x2E:  # .
        i += 1
        j = i
        while i < n and 0x30 <= s[i] <= 0x39:
            i += 1
        if i == j:
            raise _bad(i, "a digit is missing")
    if i < n and s[i] in b"eE":
        i += 1
        if i < n and s[i] in b"+-":
            i += 1
        j = i
        while i < n and 0x30 <= s[i] <= 0x39:
            i += 1
        if i == j:
            raise _bad(i, "a digit is missing")
    st[0] = i
    v = float(s[start:i])
    if v - v != 0:  # inf: beyond the float range (1e400)
        raise _bad(start, "a number out of range")
    return v


def _string(s, st):
    """The string whose opening quote is at ``st[0]``."""
    i = st[0] + 1
    end = s.find(b'"', i)
    if end < 0:
        raise _bad(i, "a string not closed")
    if s.find(b"\\", i, end) < 0:  # no escapes: the common case, one slice
        st[0] = end + 1
        return _text(s, i, end)
    parts = []
    while True:
        bs = s.find(b"\\", i, end)
        if bs < 0:
            parts.append(_text(s, i, end))
            st[0] = end + 1
            return "".join(parts)
        parts.append(_text(s, i, bs))
        e = s[bs + 1]  # end > bs: there is a byte after the backslash
        i = bs + 2
        if e == 0x75:  # u
            code = _hex4(s, i)
            i += 4
            if 0xD800 <= code <= 0xDBFF and s.startswith(b"\\u", i):
                low = _hex4(s, i + 2)
                if 0xDC00 <= low <= 0xDFFF:
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
            if 0xD800 <= code <= 0xDFFF:
                raise _bad(bs, "a lone surrogate")
            parts.append(chr(code))
        else:
            text = _ESCAPES.get(e)
            if text is None:
                raise _bad(bs, "an unknown escape")
            parts.append(text)
        if i > end:  # the quote found first was escaped: find the real end
            end = s.find(b'"', i)
            if end < 0:
                raise _bad(i, "a string not closed")


def _hex4(s, i):
    for k in range(i, i + 4):
        if k >= len(s) or s[k] not in b"0123456789abcdefABCDEF":
            raise _bad(k, "\\u needs four hex digits")
    return int(s[i : i + 4], 16)


def _text(s, a, b):
    """The unescaped string bytes ``s[a:b]`` as str: no control characters, strict UTF-8."""
    if a == b:
        return ""
    seg = s[a:b]
    if min(seg) < 0x20:
        raise _bad(a, "a control character in a string (escape it)")
    if max(seg) >= 0x80:
        bad = _utf8_error(seg)
        if bad >= 0:
            raise _bad(a + bad, "not UTF-8")
    return seg.decode()


def _utf8_error(seg):
    """Offset of the first byte that breaks strict UTF-8 (RFC 3629: no overlong forms,
    no surrogates, nothing above U+10FFFF), or -1."""
    n = len(seg)
    i = 0
    while i < n:
        c = seg[i]
        if c < 0x80:
            i += 1
            continue
        lo = 0x80
        hi = 0xBF
        if 0xC2 <= c <= 0xDF:
            need = 1
        elif 0xE0 <= c <= 0xEF:
            need = 2
            if c == 0xE0:
                lo = 0xA0  # shorter forms are overlong
            elif c == 0xED:
                hi = 0x9F  # beyond: the surrogates
        elif 0xF0 <= c <= 0xF4:
            need = 3
            if c == 0xF0:
                lo = 0x90
            elif c == 0xF4:
                hi = 0x8F  # beyond: above U+10FFFF
        else:
            return i
        if i + need >= n or not lo <= seg[i + 1] <= hi:
            return i
        for k in range(i + 2, i + need + 1):
            if not 0x80 <= seg[k] <= 0xBF:
                return i
        i += need + 1
    return -1
