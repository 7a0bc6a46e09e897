"""Strict JSON for host command lines: a line is executed only if it is JSON beyond doubt.

MicroPython's ``json.loads`` is lenient: it accepts ``{"a":1"b":2}`` and other
malformed text, and its ``bytes.decode`` takes any bytes. ``parse(line)`` reads one
line (bytes) and returns its value, or raises ``JSONError``. It accepts RFC 8259 JSON
in strict UTF-8 and nothing else, and refuses what RFC 8259 leaves open and a
command never needs: duplicate keys, escaped lone surrogates, numbers that are not
finite (1e400), nesting deeper than ``MAX_DEPTH``, more than ``MAX_VALUES`` values.

Two passes, so that a line costs the board a fraction of a millisecond: ``_scan``
(viper: machine code over a raw pointer into the line) checks every byte, unescapes
the strings into a preallocated buffer and notes each value as a token (kind, span)
in a preallocated array, duplicate keys compared there; then ``_build`` makes the
Python objects from the tokens, a heap object per value and nothing per byte, the
words commands are made of without even that (``_text``).

When the line is an object and its top-level ``"id"`` was read before the error,
the error carries that value (``JSONError.cid``), so the answer can still name it.
"""

from array import array

from micropython import const

from dockfw.viper import ptr8, ptr32, viper

MAX_DEPTH = const(4)  # an object holding a list is all a command needs
# A command has a dozen values at most (cleaned with every pin of a board); a line packed
# with hundreds of tiny ones would cost the board milliseconds to read.
MAX_VALUES = const(32)

# Token kinds (the low 4 bits of a token's first word; its nesting depth above them).
_OBJ = const(1)
_ARR = const(2)
_END = const(3)  # a container closes
_STR = const(4)  # a string: its unescaped UTF-8 in the scratch buffer
_KEY = const(5)
_INT = const(6)  # a number: its text in the line
_FLOAT = const(7)
_TRUE = const(8)
_FALSE = const(9)
_NULL = const(10)
# A token is four words: kind | depth << 4, start, end, the line position it began at.
# Values, container ends and keys: never more than 3 * MAX_VALUES + 1 tokens.
_TOKENS = const(100)
# The state words _scan leaves: the error's position and code, the token count, the
# top-level "id": its first token + 1 (0: none read) and the token after it.
_W_POS = const(0)
_W_CODE = const(1)
_W_COUNT = const(2)
_W_ID = const(3)
_W_ID_END = const(4)
_W_FLOATS = const(5)  # how many numbers have a fraction or an exponent
_W_OBJ = const(8)  # + depth: 1 when the container open at that depth is an object
_W_FIRST = const(16)  # + depth: its first token

_REASONS = (
    "",
    "text after the value",
    "more than %d values" % MAX_VALUES,
    "a value is missing",
    "unexpected byte 0x%02x",
    "nested deeper than %d" % MAX_DEPTH,
    "a key string is missing",
    "':' is missing",
    "not closed",
    "a ',' is missing",
    "a bad number",
    "a digit is missing",
    "a number out of range",
    "a string not closed",
    "a lone surrogate",
    "an unknown escape",
    "\\u needs four hex digits",
    "a control character in a string (escape it)",
    "not UTF-8",
    "a key given twice",
)
_E_NUMBER = const(10)
_E_DIGIT = const(11)
_E_RANGE = const(12)
_E_UNEXPECTED = const(4)

# Allocated once, at the first command line: the tokens, the state words and the
# unescaped strings of one line (never longer than the line).
_tok = array("i", bytes(4 * 4 * _TOKENS))
_w = array("i", bytes(4 * 24))
_scratch = bytearray(257)


class JSONError(ValueError):
    """Not strict JSON; ``args[0]`` says where and why. ``cid``: the top-level "id"
    read before the error, else None."""

    cid: object = None


def _bad(i, why):
    return JSONError("not strict JSON at byte %d: %s" % (i, why))


def parse(line):
    """The value of one JSON text (bytes); raises ``JSONError``."""
    into = [None]
    for _ in values(line, into):
        pass
    return into[0]


def values(line, into):
    """``parse`` a piece per ``next()`` (a generator): the scan, then the numbers, then
    the values a few tokens at a time, each piece well under a millisecond on the
    RP2040; the value goes in ``into[0]``. Raises ``JSONError``."""
    n = len(line)
    scratch = _scratch if n <= len(_scratch) else bytearray(n)
    tok = _tok
    w = _w
    code = _scan(line, n, tok, scratch, w)
    count = w[_W_COUNT]
    yield
    # A number beyond the float range is found as its value is built: before a syntax
    # error that comes after it in the line, as reading in order would find it.
    for k in range(count if w[_W_FLOATS] else 0):
        if tok[4 * k] & 15 == _FLOAT:
            v = float(line[tok[4 * k + 1] : tok[4 * k + 2]])
            if v - v != 0:  # inf: beyond the float range (1e400)
                raise _error(line, scratch, tok[4 * k + 3], _E_RANGE, k)
            yield
    if code:
        raise _error(line, scratch, w[_W_POS], code, count)
    yield from _build(line, scratch, 0, count, into)


def _error(line, scratch, pos, code, before):
    """The JSONError for ``code`` at ``pos``, with the top-level id if its value was
    read whole among the first ``before`` tokens."""
    why = _REASONS[code]
    if code == _E_UNEXPECTED:
        why = why % line[pos]
    e = _bad(pos, why)
    first = _w[_W_ID]
    end = _w[_W_ID_END]
    if first and end <= before:
        cid = [None]
        for _ in _build(line, scratch, first - 1, end, cid):
            pass
        e.cid = cid[0]
    return e


_PIECE = const(6)  # values built per piece


def _build(line, scratch, k, end, into):
    """The value of tokens ``k`` to ``end`` (a generator, a piece per few values) into
    ``into[0]``. Containers are filled from a stack, not by recursion."""
    tok = _tok
    stack = []  # the containers open, outermost first
    keys = []  # for each, the key its next value goes under
    piece = 0
    while k < end:
        b = 4 * k
        kind = tok[b] & 15
        k += 1
        if kind == _OBJ or kind == _ARR:
            stack.append({} if kind == _OBJ else [])
            keys.append(None)
            continue
        if kind == _KEY:
            keys[-1] = _text(scratch, tok[b + 1], tok[b + 2])
            continue
        if kind == _END:
            keys.pop()
            v = stack.pop()
        elif kind == _STR:
            v = _text(scratch, tok[b + 1], tok[b + 2])
        elif kind == _INT:
            a = tok[b + 1]
            z = tok[b + 2]
            v = _small_int(line, a, z) if z - a < 10 else int(line[a:z])
        elif kind == _FLOAT:
            v = float(line[tok[b + 1] : tok[b + 2]])
        else:
            v = True if kind == _TRUE else False if kind == _FALSE else None
        if not stack:
            into[0] = v
            return
        parent = stack[-1]
        if type(parent) is dict:
            parent[keys[-1]] = v
        else:
            parent.append(v)
        piece += 1
        if piece >= _PIECE:
            piece = 0
            yield


def _text(scratch, a, b):
    """The string unescaped at ``scratch[a:b]``: one of the words commands are made of
    without a new str (each new str costs the board ~0.1 ms: MicroPython looks it up
    among its interned strings first), anything else decoded."""
    k = _known(scratch, a, b, _WORD_BYTES, _WORD_AT, len(_WORDS))
    if k >= 0:
        return _WORDS[k]
    return str(memoryview(scratch)[a:b], "utf-8")


def _words():
    from dockfw.protocol import COMMAND_ARGS, COMMANDS, SETTINGS

    words = ["cmd", "id"]
    for w in COMMANDS + tuple(SETTINGS):
        words.append(w)
    for args in COMMAND_ARGS.values():
        for w in args:
            if w not in words:
                words.append(w)
    at = array("i", [0])
    for w in words:
        at.append(at[-1] + len(w))
    return tuple(words), "".join(words).encode(), at


_WORDS, _WORD_BYTES, _WORD_AT = _words()


@viper
def _known(scratch, a: int, b: int, words, at, count: int) -> int:
    """The index of the word ``words[at[k]:at[k + 1]]`` equal to ``scratch[a:b]``, or -1."""
    s = ptr8(scratch)
    wb = ptr8(words)
    wa = ptr32(at)
    n = b - a
    for k in range(count):
        w0 = wa[k]
        if wa[k + 1] - w0 != n:
            continue
        i = 0
        while i < n and wb[w0 + i] == s[a + i]:
            i += 1
        if i == n:
            return k
    return -1


@viper
def _small_int(line, a: int, b: int) -> int:
    """The integer written at ``line[a:b]`` (checked by ``_scan``; at most 9 digits)."""
    s = ptr8(line)
    neg = s[a] == 0x2D
    i = a + 1 if neg else a
    v = 0
    while i < b:
        v = v * 10 + s[i] - 0x30
        i += 1
    return 0 - v if neg else v


@viper
def _space(line, i: int, n: int) -> int:
    """Where the white space from ``line[i]`` on ends (``n`` at the most)."""
    s = ptr8(line)
    while i < n:
        c = s[i]
        if c != 0x20 and c != 0x09 and c != 0x0A and c != 0x0D:
            break
        i += 1
    return i


@viper
def _quote(line, i: int, n: int) -> int:
    """Where the next '"' from ``line[i]`` on stands (``n``: none)."""
    s = ptr8(line)
    while i < n and s[i] != 0x22:
        i += 1
    return i


@viper
def _digits(line, i: int, n: int) -> int:
    """Where the decimal digits from ``line[i]`` on end (``n`` at the most)."""
    s = ptr8(line)
    while i < n and 0x30 <= s[i] and s[i] <= 0x39:
        i += 1
    return i


@viper
def _number(line, i: int, n: int) -> int:
    """The JSON number at ``line[i:n]``: where it ends << 1, | 1 when it has a fraction
    or an exponent; or -1 - (the error's position << 4 | its code)."""
    s = ptr8(line)
    if s[i] == 0x2D:
        i += 1
    first = i
    i = int(_digits(line, i, n))
    if i == first or (s[first] == 0x30 and i > first + 1):
        return -1 - ((first << 4) | _E_NUMBER)  # none, or a leading zero
    fraction = 0
    if i < n and s[i] == 0x2E:
        fraction = 1
        j = i + 1
        i = int(_digits(line, j, n))
        if i == j:
            return -1 - ((i << 4) | _E_DIGIT)
    if i < n and (s[i] == 0x65 or s[i] == 0x45):
        fraction = 1
        i += 1
        if i < n and (s[i] == 0x2B or s[i] == 0x2D):
            i += 1
        j = i
        i = int(_digits(line, i, n))
        if i == j:
            return -1 - ((i << 4) | _E_DIGIT)
    return (i << 1) | fraction


@viper
def _literal(line, i: int, n: int) -> int:
    """``_TRUE``, ``_FALSE`` or ``_NULL`` with its length << 4 when that word stands at
    ``line[i:n]``, else 0."""
    s = ptr8(line)
    c = s[i]
    if c == 0x74:
        word = b"true"
        kind = _TRUE
    elif c == 0x66:
        word = b"false"
        kind = _FALSE
    elif c == 0x6E:
        word = b"null"
        kind = _NULL
    else:
        return 0
    m = int(len(word))  # noqa: RUF046 (viper: a machine int)
    if i + m > n:
        return 0
    w = ptr8(word)
    k = 1
    while k < m:
        if s[i + k] != w[k]:
            return 0
        k += 1
    return kind | (m << 4)


@viper
def _hex4(line, i: int, n: int) -> int:
    """The four hex digits at ``line[i:i + 4]`` as a number, or -1 - the position of the
    first byte that is not one (``n`` and past: none)."""
    s = ptr8(line)
    code = 0
    end = i + 4
    while i < end:
        c = s[i] if i < n else 0
        if 0x30 <= c and c <= 0x39:
            code = code * 16 + c - 0x30
        elif 0x61 <= c and c <= 0x66:
            code = code * 16 + c - 0x57
        elif 0x41 <= c and c <= 0x46:
            code = code * 16 + c - 0x37
        else:
            return -1 - i
        i += 1
    return code


@viper
def _scan(line, n: int, tok, scratch, state) -> int:
    """Check ``line[:n]`` and write its tokens and unescaped strings; 0, or the error's
    code (its position in ``state[_W_POS]``). The tokens before an error are valid.
    Every step mirrors reading in order: the first fault in the line is the one named."""
    s = ptr8(line)
    t = ptr32(tok)
    out = ptr8(scratch)
    w = ptr32(state)
    w[_W_ID] = 0
    w[_W_ID_END] = 0
    w[_W_COUNT] = 0
    floats = 0
    i = 0
    o = 0  # where the next unescaped byte goes
    depth = 0
    ntok = 0
    nval = 0
    id_tok = -1  # the top-level "id" value's first token, while it is being read
    err = 0
    pos = 0
    state_ = 0  # 0: a value; 1: a key; 2: a value was read whole
    while True:
        if state_ == 0:  # ---------------------------------------------- a value
            nval += 1
            if nval > MAX_VALUES:
                err = 2
                pos = i
                break
            # (int(): viper takes what a call returns as an object)
            i = int(_space(line, i, n))
            if i >= n:
                err = 3
                pos = i
                break
            c = s[i]
            b = 4 * ntok
            if c == 0x22:  # a string: below, shared with keys
                kind = _STR
            elif c == 0x2D or (0x30 <= c and c <= 0x39):
                start = i
                number = int(_number(line, i, n))
                if number < 0:
                    err = (-1 - number) & 15
                    pos = (-1 - number) >> 4
                    break
                i = number >> 1
                kind = _INT
                if number & 1:
                    kind = _FLOAT
                    floats += 1
                t[b] = kind | (depth << 4)
                t[b + 1] = start
                t[b + 2] = i
                t[b + 3] = start
                ntok += 1
                state_ = 2
                continue
            elif c == 0x7B or c == 0x5B:  # { [
                if depth + 1 > MAX_DEPTH:
                    err = 5
                    pos = i
                    break
                depth += 1
                t[b] = (_OBJ if c == 0x7B else _ARR) | (depth << 4)
                t[b + 1] = 0
                t[b + 2] = 0
                t[b + 3] = i
                ntok += 1
                w[_W_OBJ + depth] = 1 if c == 0x7B else 0
                w[_W_FIRST + depth] = ntok
                close = 0x7D if c == 0x7B else 0x5D
                i += 1
                i = int(_space(line, i, n))
                if i < n and s[i] == close:
                    i += 1
                    b = 4 * ntok
                    t[b] = _END | (depth << 4)
                    t[b + 1] = 0
                    t[b + 2] = 0
                    t[b + 3] = i - 1
                    ntok += 1
                    depth -= 1
                    state_ = 2
                elif close == 0x7D:
                    state_ = 1
                else:
                    state_ = 0
                continue
            else:
                word = int(_literal(line, i, n))
                kind = word & 15
                i += word >> 4
                if kind == 0:
                    err = 4
                    pos = i
                    break
                t[b] = kind | (depth << 4)
                t[b + 1] = 0
                t[b + 2] = 0
                t[b + 3] = i
                ntok += 1
                state_ = 2
                continue
        elif state_ == 1:  # ---------------------------------------------- a key
            i = int(_space(line, i, n))
            if i >= n or s[i] != 0x22:
                err = 6
                pos = i
                break
            kind = _KEY
        else:  # ------------------------------------------ a value was read whole
            if depth == 0:
                i = int(_space(line, i, n))
                if i < n:
                    err = 1
                    pos = i
                break
            if depth == 1 and id_tok >= 0:
                w[_W_ID] = id_tok + 1
                w[_W_ID_END] = ntok
                id_tok = -1
            i = int(_space(line, i, n))
            if i >= n:
                err = 8
                pos = i
                break
            c = s[i]
            is_obj = w[_W_OBJ + depth]
            if c == (0x7D if is_obj else 0x5D):
                b = 4 * ntok
                t[b] = _END | (depth << 4)
                t[b + 1] = 0
                t[b + 2] = 0
                t[b + 3] = i
                ntok += 1
                i += 1
                depth -= 1
                continue  # the container itself was read whole
            if c != 0x2C:  # ,
                err = 9
                pos = i
                break
            i += 1
            state_ = 1 if is_obj else 0
            continue
        # ------------------------------------------ a string (a value or a key) at i
        q = i
        i += 1
        end = int(_quote(line, i, n))
        if end >= n:
            err = 13
            pos = i
            break
        sa = o
        while True:
            bs = i
            while bs < end and s[bs] != 0x5C:
                bs += 1
            # The plain bytes [i, bs): no control character, strict UTF-8 (RFC 3629: no
            # overlong forms, no surrogates, nothing above U+10FFFF).
            k = i
            while k < bs:
                if s[k] < 0x20:
                    err = 17
                    pos = i
                    break
                k += 1
            if err:
                break
            k = i
            while k < bs:
                c = s[k]
                out[o] = c
                o += 1
                if c < 0x80:
                    k += 1
                    continue
                lo = 0x80
                hi = 0xBF
                need = 0
                if 0xC2 <= c and c <= 0xDF:
                    need = 1
                elif 0xE0 <= c and c <= 0xEF:
                    need = 2
                    if c == 0xE0:
                        lo = 0xA0  # shorter forms are overlong
                    elif c == 0xED:
                        hi = 0x9F  # beyond: the surrogates
                elif 0xF0 <= c and c <= 0xF4:
                    need = 3
                    if c == 0xF0:
                        lo = 0x90
                    elif c == 0xF4:
                        hi = 0x8F  # beyond: above U+10FFFF
                if need == 0 or k + need >= bs or s[k + 1] < lo or s[k + 1] > hi:
                    err = 18
                    pos = k
                    break
                m = k + 2
                while m <= k + need:
                    if s[m] < 0x80 or s[m] > 0xBF:
                        err = 18
                        pos = k
                        break
                    m += 1
                if err:
                    break
                m = k + 1
                while m <= k + need:
                    out[o] = s[m]
                    o += 1
                    m += 1
                k += need + 1
            if err:
                break
            if bs >= end:
                i = end + 1
                break
            e = s[bs + 1]  # end > bs: there is a byte after the backslash
            i = bs + 2
            if e == 0x75:  # u
                code = int(_hex4(line, i, n))
                if code < 0:
                    err = 16
                    pos = -1 - code
                    break
                i += 4
                if 0xD800 <= code and code <= 0xDBFF and i + 1 < n:
                    if s[i] == 0x5C and s[i + 1] == 0x75:
                        low = int(_hex4(line, i + 2, n))
                        if low < 0:
                            err = 16
                            pos = -1 - low
                            break
                        if 0xDC00 <= low and low <= 0xDFFF:
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                if 0xD800 <= code and code <= 0xDFFF:
                    err = 14
                    pos = bs
                    break
                if code < 0x80:
                    out[o] = code
                    o += 1
                elif code < 0x800:
                    out[o] = 0xC0 | (code >> 6)
                    out[o + 1] = 0x80 | (code & 0x3F)
                    o += 2
                elif code < 0x10000:
                    out[o] = 0xE0 | (code >> 12)
                    out[o + 1] = 0x80 | ((code >> 6) & 0x3F)
                    out[o + 2] = 0x80 | (code & 0x3F)
                    o += 3
                else:
                    out[o] = 0xF0 | (code >> 18)
                    out[o + 1] = 0x80 | ((code >> 12) & 0x3F)
                    out[o + 2] = 0x80 | ((code >> 6) & 0x3F)
                    out[o + 3] = 0x80 | (code & 0x3F)
                    o += 4
            else:
                c = 0
                if e == 0x22 or e == 0x5C or e == 0x2F:
                    c = e
                elif e == 0x62:
                    c = 0x08
                elif e == 0x66:
                    c = 0x0C
                elif e == 0x6E:
                    c = 0x0A
                elif e == 0x72:
                    c = 0x0D
                elif e == 0x74:
                    c = 0x09
                else:
                    err = 15
                    pos = bs
                    break
                out[o] = c
                o += 1
            if i > end:  # the quote found first was escaped: find the real end
                end = int(_quote(line, i, n))
                if end >= n:
                    err = 13
                    pos = i
                    break
        if err:
            break
        b = 4 * ntok
        t[b] = kind | (depth << 4)
        t[b + 1] = sa
        t[b + 2] = o
        t[b + 3] = q
        ntok += 1
        if kind == _STR:
            state_ = 2
            continue
        # A key: given twice in this object (compared unescaped)?
        first = w[_W_FIRST + depth]
        m = first
        dup = False
        while m < ntok - 1:
            mb = 4 * m
            if t[mb] == (_KEY | (depth << 4)) and t[mb + 2] - t[mb + 1] == o - sa:
                a = t[mb + 1]
                k = 0
                while k < o - sa and out[a + k] == out[sa + k]:
                    k += 1
                if k == o - sa:
                    dup = True
                    break
            m += 1
        is_id = depth == 1 and o - sa == 2 and out[sa] == 0x69 and out[sa + 1] == 0x64
        if dup:
            if is_id:
                w[_W_ID] = 0  # two ids: which one the host meant is unknown
            err = 19
            pos = q
            break
        i = int(_space(line, i, n))
        if i >= n or s[i] != 0x3A:  # :
            err = 7
            pos = i
            break
        i += 1
        if is_id:
            id_tok = ntok
        state_ = 0
    w[_W_COUNT] = ntok
    w[_W_FLOATS] = floats
    w[_W_POS] = pos
    w[_W_CODE] = err
    return err
