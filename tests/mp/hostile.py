# A seeded corpus of hostile command lines, every one of which the dock must refuse.
# Runs under CPython and MicroPython (tier B, the vboard tests, tools/reliability_commands.py):
# the same seed gives the same lines everywhere.
#
# corpus(seed, n, long_max) yields (line, codes, cid): ``line`` (bytes, no newline, never
# 0x0a or 0x03: Ctrl-C is the REPL's), the error ``codes`` one of which the answer must
# carry, and ``cid``: the id the answer must echo, None when it must be null, or ANY.
# Lines are built to be refused by construction (broken JSON, wrong types, out of
# bounds, too long, ...), many of them a valid and harmful command underneath: a
# ``set``, ``charge off`` or ``reboot`` that must not run. So a dock that took the whole
# corpus must still have its configuration, its charging and its boot.

ANY = "any"

BAD_JSON = ("bad_json",)
BAD_COMMAND = ("bad_command",)
BAD_VALUE = ("bad_value",)
TOO_LONG = ("too_long",)
UNKNOWN = ("unknown_command",)

SETTINGS = {
    "sample_hz": (1, 1000),
    "idle_hz": (1, 100),
    "report_hz": (0.1, 20),
    "min_current_ma": (10, 500),
    "max_total_ma": (100, 3000),  # the reference board's own limit is the top
    "contact_mw_limit": (50, 500),
    "temp_limit_c": (40, 85),
}
GOOD = [
    ("sample_hz", "50"),
    ("idle_hz", "2"),
    ("report_hz", "1"),
    ("min_current_ma", "100"),
    ("max_total_ma", "2000"),
    ("contact_mw_limit", "400"),
    ("temp_limit_c", "60"),
]
PINS = ("VBUS1", "GND1", "GND2", "VBUS2")


class Rng:
    """xorshift32: the same numbers under every interpreter."""

    def __init__(self, seed):
        self.s = (seed * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n

    def pick(self, seq):
        return seq[self.next() % len(seq)]


def _b(text):
    return text.encode()


def _harmful(r, k):
    """A valid command that would change something, as text, id ``k`` first."""
    c = r.below(5)
    if c == 0:
        key, value = r.pick(GOOD)
        return '{"id":%d,"cmd":"set","key":"%s","value":%s}' % (k, key, value)
    if c == 1:
        return '{"id":%d,"cmd":"charge","on":false}' % k
    if c == 2:
        return '{"id":%d,"cmd":"reboot"}' % k
    if c == 3:
        return '{"id":%d,"cmd":"cleaned","pins":["%s"]}' % (k, r.pick(PINS))
    return '{"id":%d,"cmd":"clear"}' % k


_WRONG = ("[1]", "{}", '{"a":1}', "true", "false", "null", "1.5", "-7", '"x"', "[]", '""')


def _wrong_types(r, k):
    c = r.below(9)
    w = r.pick(_WRONG)
    if c == 0:
        if w == "null":  # "key": null asks for every setting: a valid get
            w = "[null]"
        return '{"id":%d,"cmd":"get","key":%s}' % (k, w), BAD_VALUE, k
    if c == 1:
        key, value = r.pick(GOOD)
        return '{"id":%d,"cmd":"set","key":%s,"value":%s}' % (k, w, value), BAD_VALUE, k
    if c == 2:
        key = r.pick(GOOD)[0]
        if w in ("1.5", "-7"):
            w = '"2000"'
        return '{"id":%d,"cmd":"set","key":"%s","value":%s}' % (k, key, w), BAD_VALUE, k
    if c == 3:
        if w in ("true", "false"):
            w = "1"
        return '{"id":%d,"cmd":"charge","on":%s}' % (k, w), BAD_VALUE, k
    if c == 4:
        if w == "null":
            w = '"VBUS1"'
        return '{"id":%d,"cmd":"cleaned","pins":%s}' % (k, w), BAD_VALUE, k
    if c == 5:
        if w in ('"x"', '""'):
            w = "7"
        return '{"id":%d,"cmd":%s}' % (k, w), BAD_COMMAND, k
    if c == 6:  # an id that is neither a string nor an integer: refused before it runs
        if w in ('"x"', "-7", '""', "null"):
            w = "2.5"
        return '{"id":%s,"cmd":"reboot"}' % w, BAD_COMMAND, None
    if c == 7:
        name = r.pick(("selfdestruct", "INFO", "info ", "", "set\\u0000", "reboot!"))
        return '{"id":%d,"cmd":"%s"}' % (k, name), UNKNOWN, k
    cmd = r.pick(("info", "clear", "reboot", "charge", "get"))
    extra = r.pick(('"force":true', '"pin":["GND1"]', '"Key":"idle_hz"', '"on":false'))
    if cmd == "charge" and extra == '"on":false':
        extra = '"off":true'
    return '{"id":%d,"cmd":"%s",%s}' % (k, cmd, extra), BAD_VALUE, k


def _out_of_bounds(r, k):
    key = r.pick(sorted(SETTINGS))
    lo, hi = SETTINGS[key]
    c = r.below(6)
    if c == 0:
        v = "%s" % (lo - 1 if type(lo) is int else lo / 2)
    elif c == 1:
        v = "%d" % (hi + 1 + r.below(100000))
    elif c == 2:
        v = "-%d" % (1 + r.below(1000))
    elif c == 3:
        v = r.pick(("1e300", "-1e300", "0", "0.0", "0.0009"))
    elif c == 4 and key not in ("sample_hz", "idle_hz", "report_hz"):
        v = "%d.5" % (lo + 1)  # a whole-number setting given a fraction
    else:
        v = r.pick(("1e-9", "100000000000000000000000", "-0"))
    return '{"id":%d,"cmd":"set","key":"%s","value":%s}' % (k, key, v), BAD_VALUE, k


def _not_finite(r, k):
    bad = r.pick(("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999", "nan", "inf"))
    if r.below(2):
        key = r.pick(GOOD)[0]
        return '{"id":%d,"cmd":"set","key":"%s","value":%s}' % (k, key, bad), BAD_JSON, k
    return '{"cmd":"info","id":%s}' % bad, BAD_JSON, None


def _duplicates(r, k):
    c = r.below(5)
    if c == 0:
        key, value = r.pick(GOOD)
        line = '{"id":%d,"cmd":"set","key":"%s","value":%s,"value":%s}' % (k, key, value, value)
    elif c == 1:
        line = '{"id":%d,"cmd":"charge","on":true,"on":false}' % k
    elif c == 2:
        line = '{"id":%d,"cmd":"info","cmd":"reboot"}' % k
    elif c == 3:
        key, value = r.pick(GOOD)
        line = '{"id":%d,"cmd":"set","key":"%s","key":"%s","value":%s}' % (k, key, key, value)
    else:  # the id twice: neither is echoed
        return '{"id":%d,"cmd":"reboot","id":%d}' % (k, k + 1), BAD_JSON, None
    return line, BAD_JSON, k


def _lone_surrogates(r, k):
    s = r.pick(("\\ud800", "\\udfff", "\\ud800\\u0041", "\\udc00\\ud800", "a\\udbff"))
    c = r.below(3)
    if c == 0:
        return '{"cmd":"reboot","id":"%s"}' % s, BAD_JSON, None
    if c == 1:
        return '{"id":%d,"cmd":"set","key":"%s","value":2000}' % (k, s), BAD_JSON, k
    return '{"id":%d,"cmd":"charge%s","on":false}' % (k, s), BAD_JSON, k


_NOT_UTF8 = (b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80",
             b"\xc3", b"\xf8\x88\x80\x80\x80", b"\xe0\x80\xaf", b"\xfe")  # fmt: skip


def _not_utf8(r, k):
    bad = r.pick(_NOT_UTF8)
    c = r.below(3)
    if c == 0:
        return b'{"cmd":"reboot","id":"' + bad + b'"}', BAD_JSON, None
    if c == 1:
        return _b('{"id":%d,"cmd":"info","x":"' % k) + bad + b'"}', BAD_JSON, k
    return _b('{"id":%d,"cmd":"charge","on":false,' % k) + bad + b"}", BAD_JSON, k


_CONTROLS = [c for c in range(0x20) if c not in (0x0A, 0x03)]
_NOT_SPACE = [c for c in _CONTROLS if c not in (0x09, 0x0D)]  # tab and CR are JSON whitespace


def _controls(r, k):
    c = r.below(3)
    if c == 0:  # inside a string, raw
        ch = bytes([r.pick(_CONTROLS)])
        line = _b('{"id":%d,"cmd":"set","key":"max_total' % k) + ch + b'_ma","value":2000}'
        return line, BAD_JSON, k
    ch = bytes([r.pick(_NOT_SPACE)])
    if c == 1:  # between tokens
        return _b('{"id":%d,"cmd":"charge",' % k) + ch + b'"on":false}', BAD_JSON, k
    return ch + _b('{"id":%d,"cmd":"reboot"}' % k) + ch * r.below(3), BAD_JSON, None


def _deep(r, k):
    if r.below(2):  # wide instead: more values than any command holds
        many = ",".join(["1"] * (30 + r.below(90)))
        return '{"id":%d,"cmd":"clear","x":[%s]}' % (k, many), BAD_JSON, k
    depth = 5 + r.below(120)
    nest = "[" * depth + "1" + "]" * depth
    line = '{"id":%d,"cmd":"info","x":%s}' % (k, nest)
    if len(line) > 256:
        return line, TOO_LONG, k
    return line, BAD_JSON, k


def _too_long(r, k, long_max):
    base = _harmful(r, k)
    size = 257 + r.below(max(1, long_max - 257))
    if r.below(2):
        pad = size - len(base)
        line = base[:-1] + ',"pad":"' + "x" * max(pad - 9, 1) + '"}'
    else:
        line = base + " " * max(size - len(base), 1)  # valid JSON, whitespace after it
    return line, TOO_LONG, k


def _malformed(r, k):
    base = _harmful(r, k)
    c = r.below(12)
    if c == 0:  # a missing comma, as MicroPython's json.loads let through
        i = base.rfind(",")
        return base[:i] + base[i + 1 :], BAD_JSON, (k if i > base.find(",") else ANY)
    if c == 1:
        return base[:-1] + ",}", BAD_JSON, k
    if c == 2:
        return base.replace('"', "'"), BAD_JSON, None
    if c == 3:
        return base.replace('"cmd"', "cmd"), BAD_JSON, k
    if c == 4:
        return base.replace(":", "=", 1), BAD_JSON, None
    if c == 5:
        return base + base, BAD_JSON, k
    if c == 6:
        return "\ufeff" + base, BAD_JSON, None
    if c == 7:  # cut short anywhere inside
        return base[: 1 + r.below(len(base) - 1)], BAD_JSON, ANY
    if c == 8:
        return base[:-1] + ",/*x*/}", BAD_JSON, k
    if c == 9:
        num = r.pick(("02000", "+2000", ".5", "2000.", "0x7d0", "1e", "--1", "1.e5"))
        return '{"id":%d,"cmd":"set","key":"max_total_ma","value":%s}' % (k, num), BAD_JSON, k
    if c == 10:
        word = r.pick(("True", "False", "None", "nul", "tru", "undefined"))
        return '{"id":%d,"cmd":"charge","on":%s}' % (k, word), BAD_JSON, k
    esc = r.pick(("\\x41", "\\u12", "\\U0001F600", "\\a", "\\'", "\\u00G0"))
    return '{"id":%d,"cmd":"info","x":"%s"}' % (k, esc), BAD_JSON, k


_STRUCTURE = '{}[]:,"'


def _deleted(r, k):
    """A harmful command with one structural byte taken out: never JSON any more."""
    base = _harmful(r, k)
    spots = [i for i in range(len(base)) if base[i] in _STRUCTURE]
    i = r.pick(spots)
    return base[:i] + base[i + 1 :], BAD_JSON, ANY


_NOT_OBJECTS = ("[1,2]", '"info"', "5", "null", "true", "[]", '[{"cmd":"reboot"}]',
                '"{\\"cmd\\":\\"reboot\\"}"', "-0.5", '["charge",false]')  # fmt: skip


def _not_objects(r, k):
    return r.pick(_NOT_OBJECTS), BAD_COMMAND, None


def _blank(r, k):
    return r.pick(("", " ", "\t", "\r", "  \t \r")), BAD_JSON, None


def _garbage(r, k):
    n = 1 + r.below(200)
    out = bytearray(n)
    for i in range(n):
        b = r.below(256)
        while b in (0x0A, 0x03):
            b = r.below(256)
        out[i] = b
    if out[0] in b"{ \t\r":  # never an object: refused whatever the rest is
        out[0] = 0x21
    return bytes(out), ("bad_json", "bad_command"), None


_KINDS = (
    _wrong_types,
    _out_of_bounds,
    _not_finite,
    _duplicates,
    _lone_surrogates,
    _not_utf8,
    _controls,
    _deep,
    None,  # too long: needs long_max
    _malformed,
    _deleted,
    _not_objects,
    _blank,
    _garbage,
)


def corpus(seed, n, long_max=21000, first_id=1):
    """``n`` hostile lines from ``seed``: (line, codes, cid) as the header says."""
    r = Rng(seed)
    for j in range(n):
        k = first_id + j
        kind = _KINDS[j % len(_KINDS)]
        if kind is None:
            line, codes, cid = _too_long(r, k, long_max)
        else:
            line, codes, cid = kind(r, k)
        if isinstance(line, str):
            line = line.encode()
        if len(line) > 256 and codes != TOO_LONG:
            codes = TOO_LONG
            cid = ANY
        yield line, codes, cid
