"""Wire protocol v1: the one definition shared by the dock's encoder and the host's parser.

USB serial, UTF-8 JSON, one object per line. Every device line starts with the
envelope ``v, type, seq, boot, t_ms``. The host imports this module, so names
and kinds exist once. ``docs/protocol.md`` describes every message.
"""

import json

VERSION = 1

HELLO = "hello"
SAMPLE = "sample"
HEALTH = "health"
EVENT = "event"
ACK = "ack"
ERROR = "error"
LOG = "log"
TYPES = (HELLO, SAMPLE, HEALTH, EVENT, ACK, ERROR, LOG)

ENVELOPE = ("v", "type", "seq", "boot", "t_ms")

# Event kinds: detectors raise them by these names (tests/test_detector_contract.py).
EV_DOCKED = "docked"
EV_UNDOCKED = "undocked"
EV_MISALIGNMENT = "misalignment"
EV_INTERMITTENT = "intermittent"
EV_OXIDATION = "oxidation"
EV_WEAR = "wear"
EV_OVERCURRENT = "overcurrent"
EV_OVERHEAT = "overheat"
EV_SENSOR_FAULT = "sensor_fault"
EV_CHARGE_OFF = "charge_off"
EV_CHARGE_ON = "charge_on"
EV_CLEANED = "cleaned"
EV_CLEARED = "cleared"
EV_FIRMWARE_ERROR = "firmware_error"
EV_STORAGE = "storage"
EV_STATE_SAVED = "state_saved"
EV_HEAP_COLLECTED = "heap_collected"
EVENT_KINDS = (
    EV_DOCKED,
    EV_UNDOCKED,
    EV_MISALIGNMENT,
    EV_INTERMITTENT,
    EV_OXIDATION,
    EV_WEAR,
    EV_OVERCURRENT,
    EV_OVERHEAT,
    EV_SENSOR_FAULT,
    EV_CHARGE_OFF,
    EV_CHARGE_ON,
    EV_CLEANED,
    EV_CLEARED,
    EV_FIRMWARE_ERROR,
    EV_STORAGE,
    EV_STATE_SAVED,
    EV_HEAP_COLLECTED,
)
# Why a ``state_saved`` event's save was made (its ``why``).
SAVE_UNDOCKED = "undocked"  # a device left (or was gone when the dock booted)
SAVE_DOCKED = "docked"  # a device docked for long: a minute after it came, then hourly
SAVE_SETTINGS = "settings"  # a host's set while no device is docked
SAVE_REASONS = (SAVE_UNDOCKED, SAVE_DOCKED, SAVE_SETTINGS)
SEV_INFO = "info"
SEV_WARN = "warn"
SEV_FAULT = "fault"
SEVERITIES = (SEV_INFO, SEV_WARN, SEV_FAULT)
PIN_STATES = ("ok", "warn", "fault", "open", "unknown")
# hello's reset_cause: the hardware's reason, or the firmware's own note of why it reset.
RESET_CAUSES = ("power_on", "watchdog", "reboot", "crash", "soft", "other")

# Host-to-device commands: {"cmd": NAME, "id": ANY, ...arguments}.
CMD_INFO = "info"  # answered by a hello line, then the ack
CMD_GET = "get"  # optional "key": one setting, else all; the ack carries "config"
CMD_SET = "set"  # "key", "value": checked against SETTINGS bounds
CMD_CLEAR = "clear"  # counters and latched events (a latched charge cut-off too)
CMD_CHARGE = "charge"  # "on": true/false
CMD_CLEANED = "cleaned"  # optional "pins": the user cleaned the pins (all by default)
CMD_REBOOT = "reboot"  # the ack goes out, then the dock restarts
COMMANDS = (CMD_INFO, CMD_GET, CMD_SET, CMD_CLEAR, CMD_CHARGE, CMD_CLEANED, CMD_REBOOT)
# The arguments each command takes besides "cmd" and "id"; any other key is refused, so
# a misspelt argument (``"pin"`` for ``"pins"``) never falls back to a default.
COMMAND_ARGS = {
    CMD_INFO: (),
    CMD_GET: ("key",),
    CMD_SET: ("key", "value"),
    CMD_CLEAR: (),
    CMD_CHARGE: ("on",),
    CMD_CLEANED: ("pins",),
    CMD_REBOOT: (),
}

# Settings the host may read and change: name -> (lowest, highest, unit). Protection
# limits can be tuned within these bounds but never switched off, and no rate leaves a
# docked device unchecked for more than a second: docking and overcurrent are seen at
# ``idle_hz`` until a device is known, at ``sample_hz`` after. Rates have a resolution of
# 0.001 Hz; the other settings are whole numbers. ``dockfw.settings`` checks them, and
# the rules that tie two settings together.
SETTINGS = {
    "sample_hz": (1, 1000, "Hz"),
    "idle_hz": (1, 100, "Hz"),
    "report_hz": (0.1, 20, "Hz"),
    "min_current_ma": (10, 500, "mA"),  # and at most contact_mw_limit (see dockfw.settings)
    "max_total_ma": (100, 20000, "mA"),  # and never above the board file's value
    "contact_mw_limit": (50, 500, "mW"),
    "temp_limit_c": (40, 85, "degC"),
}
# The rule between two settings: min_current_ma * UNSEEN_DROP_MV / 1000 <= contact_mw_limit.
# Below min_current_ma no contact drop is measured, so a contact's heat there goes unseen;
# a device stops charging before its contacts drop a volt of a 5 V rail, so the unseen
# heat stays under the limit.
UNSEEN_DROP_MV = 1000

# Error codes carried by ``error`` lines in ``code``.
E_BAD_JSON = "bad_json"
E_BAD_COMMAND = "bad_command"
E_UNKNOWN_COMMAND = "unknown_command"
E_BAD_VALUE = "bad_value"
E_UNSAFE = "unsafe"
E_TOO_LONG = "too_long"
E_INTERNAL = "internal"
ERROR_CODES = (
    E_BAD_JSON,
    E_BAD_COMMAND,
    E_UNKNOWN_COMMAND,
    E_BAD_VALUE,
    E_UNSAFE,
    E_TOO_LONG,
    E_INTERNAL,
)

# The longest command line, newline not counted. A longer one is refused whole.
MAX_COMMAND_BYTES = 256


class Fixed:
    """An integer shown as a decimal number: ``Fixed(35210, 3)`` encodes as 35.21.

    The dock keeps quantities as integers (µA, µV, µΩ); this turns them into
    JSON numbers without going through a float, which on the RP2040 is single
    precision and a heap object.
    """

    __slots__ = ("places", "value")

    def __init__(self, value, places):
        self.value = value
        self.places = places

    def text(self):
        v = self.value
        sign = ""
        if v < 0:
            sign = "-"
            v = -v
        scale = _SCALE[self.places]
        whole = v // scale
        frac = v % scale
        if not frac:
            return "%s%d" % (sign, whole)
        digits = ("%0*d" % (self.places, frac)).rstrip("0")
        return "%s%d.%s" % (sign, whole, digits)


_SCALE = (1, 10, 100, 1000, 10000, 100000, 1000000)


class Obj:
    """A JSON object whose keys keep the given order (MicroPython dicts do not)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs):
        self.pairs = pairs


class Text:
    """A string from the host (an id): written as safely as any, but never remembered
    (see ``_PLAIN``), so a host cannot fill the dock's memory of names."""

    __slots__ = ("s",)

    def __init__(self, s):
        self.s = s


def _value(v, put):
    if v is None:
        put("null")
    elif v is True:
        put("true")
    elif v is False:
        put("false")
    elif isinstance(v, Fixed):
        put(v.text())
    elif isinstance(v, int):
        put("%d" % v)
    elif isinstance(v, str):
        put('"%s"' % v if v in _PLAIN else _quoted(v, True))
    elif isinstance(v, Obj):
        _object(v.pairs, put)
    elif isinstance(v, dict):
        _object(v.items(), put)
    elif isinstance(v, (list, tuple)):
        put("[")
        first = True
        for item in v:
            if not first:
                put(",")
            first = False
            _value(item, put)
        put("]")
    elif isinstance(v, Text):
        put(_quoted(v.s, False))
    elif isinstance(v, float):
        # Finite floats as Python writes them (valid JSON); inf and nan have no JSON form.
        put(repr(v) if v - v == 0 else "null")
    else:
        put(_quoted(str(v), False))


def _object(pairs, put):
    put("{")
    first = True
    for k, v in pairs:
        if not first:
            put(",")
        first = False
        if not isinstance(k, str):
            k = str(k)
        put('"%s":' % k if k in _PLAIN else _quoted(k, True) + ":")
        _value(v, put)
    put("}")


# The dock writes the same few strings in every line (pin names, field names, kinds,
# states): each is checked once and remembered as plain (a reference in a set: nothing
# allocated per string, nothing left scattered in the heap), so writing it again costs
# a lookup and a format, less than the json.dumps it replaces. Bounded: past
# _REMEMBERED strings, the rest are checked each time.
_PLAIN = set()
_REMEMBERED = 96


def _quoted(s, remember):
    """``s`` as a JSON string: valid JSON in plain ASCII whatever ``s`` holds."""
    try:
        b = s.encode()
    except UnicodeError:  # CPython: a lone surrogate has no UTF-8 form
        return _escaped(s)
    # Printable ASCII with nothing to escape, found by bytes methods in C rather than a
    # loop over the characters.
    if len(b) == len(s) and (not b or min(b) >= 0x20) and b'"' not in b and b"\\" not in b:
        if remember and len(_PLAIN) < _REMEMBERED and len(s) <= 32:
            _PLAIN.add(s)
        return '"%s"' % s
    return _escaped(s)


def _escaped(s):
    # Everything outside printable ASCII as \uXXXX: the line stays ASCII, so it is valid
    # UTF-8 even where the str is not (a lone surrogate: MicroPython stores one as
    # bytes that are not UTF-8). A lone surrogate becomes U+FFFD, which every host decodes.
    out = ['"']
    for c in s:
        o = ord(c)
        if 0x20 <= o < 0x7F:
            out.append("\\" + c if o == 0x22 or o == 0x5C else c)
            continue
        if 0xD800 <= o <= 0xDFFF:
            o = 0xFFFD
        elif o > 0xFFFF:
            o -= 0x10000
            out.append("\\u%04x" % (0xD800 + (o >> 10)))
            o = 0xDC00 + (o & 0x3FF)
        out.append("\\u%04x" % o)
    out.append('"')
    return "".join(out)


_HEAD = '{"v":%d,"type":"%s","seq":'
_BOOT = ',"boot":"%s","t_ms":'


def line_start(kind):
    """The bytes every ``kind`` line starts with, up to its ``seq`` value (as ``write``
    writes them): for a line written piece by piece."""
    return (_HEAD % (VERSION, kind)).encode()


def boot_key(boot):
    """The bytes between a line's ``seq`` and ``t_ms`` values (as ``write``)."""
    return (_BOOT % boot).encode()


def write(put, kind, seq, boot, t_ms, fields=()):
    """Write one device line, newline-terminated, as fragments through ``put(str)``:
    the envelope, then ``fields``.

    ``fields`` is a sequence of (key, value) pairs, kept in order so that lines
    read well; values may be None, bools, ints, strings, ``Text``, ``Fixed``, lists,
    dicts and ``Obj`` of those. Fragments rather than one string: the dock copies them into
    its preallocated output queue, so a line never needs one large heap block.
    """
    put(_HEAD % (VERSION, kind) + "%d" % seq + _BOOT % boot + "%d" % t_ms)
    for k, v in fields:
        put(',"%s":' % k)
        _value(v, put)
    put("}\n")


def encode(kind, seq, boot, t_ms, fields=()):
    """One device line as bytes (see ``write``)."""
    out = []
    write(out.append, kind, seq, boot, t_ms, fields)
    return "".join(out).encode()


class ProtocolError(ValueError):
    pass


def decode(line):
    """Parse one device line into a dict, checking the envelope.

    Raises ProtocolError for text that is not a protocol line (a boot banner,
    a traceback): callers keep such text as console output.
    """
    if isinstance(line, (bytes, bytearray)):
        try:
            line = line.decode()
        except UnicodeError:
            raise ProtocolError("not UTF-8")
    line = line.strip()
    if not line.startswith("{"):
        raise ProtocolError("not a JSON object")
    try:
        rec = json.loads(line)
    except ValueError:
        raise ProtocolError("not valid JSON")
    if not isinstance(rec, dict):
        raise ProtocolError("not a JSON object")
    for key in ENVELOPE:
        if key not in rec:
            raise ProtocolError("envelope field %r missing" % key)
    if rec["v"] != VERSION:
        raise ProtocolError("protocol version %r, expected %d" % (rec["v"], VERSION))
    if rec["type"] not in TYPES:
        raise ProtocolError("unknown message type %r" % rec["type"])
    return rec


def command(cmd, cid, **args):
    """A host-to-device command line (bytes)."""
    obj = {"cmd": cmd, "id": cid}
    obj.update(args)
    return (json.dumps(obj) + "\n").encode()
