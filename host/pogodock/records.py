"""Typed records on top of ``dockfw.protocol.decode``.

Every line the dock sends becomes one record: a ``DeviceLine`` subclass for
protocol lines (``Hello``, ``Sample``, ``Health``, ``Event``, ``Ack``, ``Error``,
``Log``), ``ConsoleText`` for anything else (boot banner, traceback, garbage).
The reader core adds ``LinkEvent`` records of its own (connected, lost lines,
reboot, ...). Records keep the raw text so that a recording stores exactly what
arrived.

``parse_line`` has a fast path for lines as the dock's encoder writes them: the
envelope is read by one regular expression and the rest of the line is decoded
on first use (the reader, the recorder and the sequence tracker never need it;
a dashboard needs only what it shows). Whatever the fast path does not accept
goes through ``protocol.decode`` itself, which either accepts it or says why it
is console text.

Nothing a port or a file holds makes the parser raise: lines longer than
``MAX_LINE_CHARS``, JSON nested deeper than ``MAX_DEPTH`` (``json`` recurses once
per level, so 30 KB of ``[`` is a ``RecursionError``), envelopes with fields of the
wrong type and text that is not UTF-8 all become ``ConsoleText`` saying why.

``SeqTracker`` follows ``seq`` and ``boot`` and reports lost lines and new boot
ids; ``Decoder`` combines the two and is what the reader and replay feed. A new
boot id is a reboot only if the dock that says hello after it is the same
(``uid``): another dock on the same port is a ``DOCK_CHANGED``, never a reboot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypedDict

from dockfw import protocol
from dockfw.protocol import ENVELOPE, TYPES, VERSION, ProtocolError

_scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

# The longest line the dock writes is a hello of a few KB; anything near this is noise.
MAX_LINE_CHARS = 65536
# The protocol nests four levels; json.loads recurses once per level and a few
# hundred levels are enough to exhaust the stack of a thread.
MAX_DEPTH = 64
# Envelope integers are at most 18 digits (the fast path's pattern), so that every
# later use (float division, formatting) of seq and t_ms stays finite.
MAX_ENVELOPE_INT = 10**18
# What a console record keeps of a line too long to be anything but noise.
TOO_LONG_KEPT = 200

_NESTING_CHARS = re.compile(r'[\[\]{}"\\]')


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Does ``text`` nest arrays and objects deeper than ``limit`` (outside strings)?

    Lines with few brackets are answered by counting alone; the scan that follows
    strings and escapes runs only on lines with more brackets than ``limit``.
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = -1
    for m in _NESTING_CHARS.finditer(text):
        at = m.start()
        if at == escaped:
            continue
        c = text[at]
        if in_string:
            if c == "\\":
                escaped = at + 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "[" or c == "{":
            depth += 1
            if depth > limit:
                return True
        elif c == "]" or c == "}":
            depth -= 1
    return False


def loads_guarded(text: str, limit: int = MAX_LINE_CHARS) -> Any:
    """``json.loads`` that raises only ``ValueError``: too deep, too long, or not JSON."""
    if len(text) > limit:
        raise ValueError("line too long (%d characters)" % len(text))
    if too_deep(text):
        raise ValueError("nested deeper than %d levels" % MAX_DEPTH)
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


# A sample or health line's object for one pin, as the dock sent it (unchecked): its
# keys, their kinds and how the host reads them are in pogodock.pinfields.
PinObject = dict[str, Any]


class HelloPin(TypedDict, total=False):
    name: str
    role: str
    x_mm: float
    y_mm: float
    rated_cycles: int
    max_ma: int


# -- records -------------------------------------------------------------------


class Record:
    """Anything the reader hands to subscribers. ``host_time``: UNIX seconds, host clock."""

    __slots__ = ("host_time",)
    host_time: float


class DeviceLine(Record):
    """One protocol line: the envelope as attributes, the whole object as ``data``.

    ``raw`` is the line as received. ``data`` is decoded on first use when the
    fast path made the record (see ``parse_line``); if that decode fails after
    all, ``data`` holds the envelope only and ``problem`` says what was wrong.
    """

    __slots__ = ("_data", "boot", "problem", "raw", "seq", "t_ms", "type")

    def __init__(
        self,
        host_time: float,
        raw: str,
        type: str,
        seq: int,
        boot: str,
        t_ms: int,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.host_time = host_time
        self.raw = raw
        self.type = type
        self.seq = seq
        self.boot = boot
        self.t_ms = t_ms
        self._data = data
        self.problem = ""

    @property
    def data(self) -> dict[str, Any]:
        d = self._data
        if d is None:
            d = self._data = self._decode()
        return d

    def _decode(self) -> dict[str, Any]:
        raw = self.raw
        if too_deep(raw):
            self.problem = "nested deeper than %d levels" % MAX_DEPTH
        else:
            try:
                obj, end = _scan_once(raw, 0)
                if end == len(raw) and isinstance(obj, dict) and obj.get("seq") == self.seq:
                    return obj
            except (StopIteration, ValueError, RecursionError):
                pass
            try:
                return protocol.decode(raw)
            except ProtocolError as e:
                self.problem = str(e)
            except RecursionError:
                self.problem = "nested too deeply"
        return {
            "v": VERSION,
            "type": self.type,
            "seq": self.seq,
            "boot": self.boot,
            "t_ms": self.t_ms,
        }

    @property
    def plain_json(self) -> bool:
        """Is the line a JSON object any JSON reader takes (so a recording may inline it)?

        Decodes the body (once); Python's ``NaN`` and ``Infinity`` are not JSON to jq.
        """
        raw = self.raw
        return bool(self.data) and not self.problem and "NaN" not in raw and "Infinity" not in raw

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __repr__(self) -> str:
        return "%s(seq=%r, boot=%r, t_ms=%r)" % (
            type(self).__name__,
            self.seq,
            self.boot,
            self.t_ms,
        )


class Hello(DeviceLine):
    __slots__ = ()

    @property
    def fw(self) -> str:
        return str(self.data.get("fw", "?"))

    @property
    def board(self) -> str:
        return str(self.data.get("board", "?"))

    @property
    def uid(self) -> str | None:
        """The dock's unique id, None from firmware that does not say."""
        uid = self.data.get("uid")
        return uid if isinstance(uid, str) and uid else None

    @property
    def reset_cause(self) -> str:
        return str(self.data.get("reset_cause", "?"))

    @property
    def pins(self) -> list[HelloPin]:
        pins = self.data.get("pins")
        return pins if isinstance(pins, list) else []

    @property
    def pin_names(self) -> list[str]:
        return [str(p.get("name")) for p in self.pins if isinstance(p, dict)]


class _PinsByName(DeviceLine):
    """A line whose ``pins`` is an object of per-pin values by pin name (sample, health)."""

    __slots__ = ()

    @property
    def pins(self) -> dict[str, PinObject]:
        pins = self.data.get("pins")
        return pins if isinstance(pins, dict) else {}


class Sample(_PinsByName):
    __slots__ = ()

    @property
    def docked(self) -> bool | None:
        return self.data.get("docked")


class Health(_PinsByName):
    __slots__ = ()

    @property
    def charging(self) -> bool | None:
        return self.data.get("charging")


class Event(DeviceLine):
    __slots__ = ()

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", "?"))

    @property
    def pins(self) -> list[str]:
        pins = self.data.get("pins")
        return [str(p) for p in pins] if isinstance(pins, list) else []

    @property
    def severity(self) -> str:
        return str(self.data.get("severity", "info"))

    def extra(self) -> dict[str, Any]:
        """The fields beyond the envelope, ``kind``, ``pins`` and ``severity``."""
        skip = _EVENT_KEYS
        return {k: v for k, v in self.data.items() if k not in skip}


_EVENT_KEYS = frozenset((*ENVELOPE, "kind", "pins", "severity"))


class Ack(DeviceLine):
    __slots__ = ()

    @property
    def id(self) -> Any:
        return self.data.get("id")

    @property
    def cmd(self) -> str:
        return str(self.data.get("cmd", ""))


class Error(DeviceLine):
    __slots__ = ()

    @property
    def id(self) -> Any:
        return self.data.get("id")

    @property
    def code(self) -> str:
        return str(self.data.get("code", ""))

    @property
    def message(self) -> str:
        return str(self.data.get("message", ""))


class Log(DeviceLine):
    __slots__ = ()

    @property
    def msg(self) -> str:
        return str(self.data.get("msg", self.data.get("message", "")))


class ConsoleText(Record):
    """A line that is not protocol: boot banner, traceback, REPL output, noise."""

    __slots__ = ("reason", "text")

    def __init__(self, host_time: float, text: str, reason: str = "") -> None:
        self.host_time = host_time
        self.text = text
        self.reason = reason

    def __repr__(self) -> str:
        return "ConsoleText(%r)" % self.text


# Link event kinds (the reader's own observations, not device lines).
CONNECTED = "connected"
DISCONNECTED = "disconnected"
CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"
LOST = "lost"
REBOOT = "reboot"
PORT_ERROR = "port_error"
SHARED = "shared"  # another process has the port open too: lines may go to it
DOCK_CHANGED = "dock_changed"  # a hello with another uid after a new boot id: another dock
LINK_KINDS = (
    CONNECTED,
    DISCONNECTED,
    CONFIRMED,
    UNCONFIRMED,
    LOST,
    REBOOT,
    DOCK_CHANGED,
    PORT_ERROR,
    SHARED,
)
# Not the link's doing: records the recorder could not write (a full disk); replay
# shows it where the recording has the gap, so the gap is not blamed on the link.
NOT_RECORDED = "not_recorded"


class LinkEvent(Record):
    """What the host saw of the link: ``kind`` one of ``LINK_KINDS``; ``lost`` lines for LOST."""

    __slots__ = ("detail", "kind", "lost", "port")

    def __init__(
        self, host_time: float, kind: str, detail: str = "", lost: int = 0, port: str = ""
    ) -> None:
        self.host_time = host_time
        self.kind = kind
        self.detail = detail
        self.lost = lost
        self.port = port

    def __repr__(self) -> str:
        return "LinkEvent(%r, %r)" % (self.kind, self.detail)


_CLASSES: dict[str, type[DeviceLine]] = {
    protocol.HELLO: Hello,
    protocol.SAMPLE: Sample,
    protocol.HEALTH: Health,
    protocol.EVENT: Event,
    protocol.ACK: Ack,
    protocol.ERROR: Error,
    protocol.LOG: Log,
}


def _envelope_pattern() -> re.Pattern[str]:
    # The encoder writes the envelope first, in this order, with no spaces:
    # '{"v":%d,"type":"%s","seq":%d,"boot":"%s","t_ms":%d' (protocol.encode).
    names = "|".join(re.escape(t) for t in TYPES)
    keys = ENVELOPE
    return re.compile(
        r'\{"%s":%d,"%s":"(%s)","%s":(\d{1,18}),"%s":"([^"\\]*)","%s":(\d{1,18})([,}])'
        % (keys[0], VERSION, keys[1], names, keys[2], keys[3], keys[4])
    )


_envelope = _envelope_pattern().match
_LINE_START = '{"%s":' % ENVELOPE[0]


def parse_line(raw: bytes | str, host_time: float) -> DeviceLine | ConsoleText:
    """One received line (without its newline) -> a typed record. Never raises.

    Fast path: a line as the dock's encoder writes it (envelope first, in
    order, no spaces; ending in ``}``; one line start in it) gets its envelope
    read by one regular expression, and its body is decoded on first use of
    ``data``. Anything else goes through ``protocol.decode`` at once, which
    accepts it or says why it is console text.
    """
    if isinstance(raw, bytes):
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return ConsoleText(host_time, raw.decode("utf-8", "replace").rstrip("\r"), "not UTF-8")
    else:
        text = raw
    if text[-1:] == "\r":
        text = text[:-1]
    if len(text) > MAX_LINE_CHARS:
        return too_long(text, host_time)
    m = _envelope(text)
    if m is not None and text[-1] == "}" and text.find(_LINE_START, 1) < 0:
        kind, seq, boot, t_ms, after = m.groups()
        cls = _CLASSES[kind]
        if after == "}" and m.end() == len(text):  # nothing but the envelope
            return cls(
                host_time,
                text,
                kind,
                int(seq),
                boot,
                int(t_ms),
                {"v": VERSION, "type": kind, "seq": int(seq), "boot": boot, "t_ms": int(t_ms)},
            )
        return cls(host_time, text, kind, int(seq), boot, int(t_ms))
    return parse_full(text, host_time)


def too_long(text: str, host_time: float) -> ConsoleText:
    """A line too long to be a dock's, kept as the start of it."""
    return ConsoleText(
        host_time,
        text[:TOO_LONG_KEPT] + "…",
        "line too long (%d characters), cut" % len(text),
    )


def parse_full(text: str, host_time: float) -> DeviceLine | ConsoleText:
    """The slow path: decode the whole line now, with the protocol's own decoder."""
    if too_deep(text):
        return ConsoleText(host_time, text, "nested deeper than %d levels" % MAX_DEPTH)
    try:
        obj = protocol.decode(text)
    except ProtocolError as e:
        return ConsoleText(host_time, text, str(e))
    except Exception as e:  # never let a strange line stop the reader
        return ConsoleText(host_time, text, "unreadable: %s" % type(e).__name__)
    return from_object(obj, text, host_time)


def envelope_problem(obj: dict[str, Any]) -> str:
    """Why ``obj`` (a JSON object) is not a protocol line, or '' when it is one."""
    for key in ENVELOPE:
        if key not in obj:
            return "envelope field %r missing" % key
    v = obj["v"]
    if type(v) is not int or v != VERSION:
        return "protocol version %r, expected %d" % (v, VERSION)
    if obj["type"] not in TYPES:
        return "unknown message type %r" % (obj["type"],)
    for key in ("seq", "t_ms"):
        n = obj[key]
        if type(n) is not int or not 0 <= n < MAX_ENVELOPE_INT:
            return "envelope field %r is not a count" % key
    if type(obj["boot"]) is not str:
        return "envelope field 'boot' is not a string"
    return ""


def from_object(obj: dict[str, Any], raw: str, host_time: float) -> DeviceLine | ConsoleText:
    """A decoded JSON object -> its record (``raw``: the text it came from)."""
    why = envelope_problem(obj)
    if why:
        return ConsoleText(host_time, raw, why)
    kind = obj["type"]
    return _CLASSES[kind](host_time, raw, kind, obj["seq"], obj["boot"], obj["t_ms"], obj)


# -- sequence tracking ------------------------------------------------------------


class SeqTracker:
    """Follows ``boot`` and ``seq``: lines lost (gaps) and reboots (new boot ids)."""

    __slots__ = ("boot", "lost", "reboots", "seq")

    def __init__(self) -> None:
        self.boot: str | None = None
        self.seq = -1
        self.lost = 0
        self.reboots = 0

    def resync(self) -> None:
        """Lines went missing for a reason already told (a recording that could not be
        written): the next line's ``seq`` is taken as it comes, not reported as lost."""
        self.seq = -1

    def check(self, rec: DeviceLine) -> LinkEvent | None:
        """Returns a LOST or REBOOT link event when ``rec`` reveals one, else None."""
        seq = rec.seq
        if rec.boot == self.boot:
            expected = self.seq + 1
            self.seq = seq
            if seq == expected or expected == 0:
                return None
            if isinstance(seq, int) and seq > expected:
                n = seq - expected
                self.lost += n
                return LinkEvent(
                    rec.host_time,
                    LOST,
                    "%d line%s lost before seq %d" % (n, "" if n == 1 else "s", seq),
                    lost=n,
                )
            return LinkEvent(
                rec.host_time, LOST, "seq went back from %r to %r" % (expected - 1, seq)
            )
        first = self.boot is None
        self.boot = rec.boot
        self.seq = seq
        if first:
            return None
        self.reboots += 1
        return LinkEvent(rec.host_time, REBOOT, "dock rebooted (boot id %s)" % rec.boot)

    def not_a_reboot(self) -> None:
        """The last new boot id turned out to be another dock's (its hello said so)."""
        self.reboots -= 1


class Decoder:
    """Lines in, records out (to ``emit``): the parse and sequence step of reader and replay.

    After a new boot id, once a hello has named the dock, the records wait (``held``)
    until the next hello says whether the same dock rebooted (``REBOOT``) or another
    one took the port (``DOCK_CHANGED``), so that every subscriber learns which before
    the first line of the new boot. A dock that never says hello is called rebooted
    after ``HOLD_MAX_LINES`` lines, or when the reader gives up waiting (``release``).
    """

    def __init__(self, emit: Callable[[Record], None]) -> None:
        self.emit = emit
        self.tracker = SeqTracker()
        self.lines = 0
        self.console = 0
        self.uid: str | None = None  # from the last hello; None before one or without uid
        self.hello_seen = False
        self.held: list[Record] | None = None  # None: not waiting for a hello
        self.held_since = 0.0  # host time of the new boot id's first line

    def line(self, raw: bytes | str, host_time: float) -> DeviceLine | ConsoleText:
        return self.take(parse_line(raw, host_time))

    def take(self, rec: DeviceLine | ConsoleText) -> DeviceLine | ConsoleText:
        """A line already parsed (replay decodes recordings itself) -> the same step."""
        self.lines += 1
        if isinstance(rec, ConsoleText):
            self.console += 1
        else:
            note = self.tracker.check(rec)
            if note is not None:
                if note.kind == REBOOT and self.hello_seen:
                    self.release()
                    self.held = [note]
                    self.held_since = rec.host_time
                else:
                    self._out(note)
        held = self.held
        if held is None:
            if isinstance(rec, Hello):
                self._named(rec)
            self.emit(rec)
        elif isinstance(rec, Hello):
            held.append(rec)
            self._decide(rec)
        else:
            held.append(rec)
            if len(held) > HOLD_MAX_LINES:
                self.release()
        return rec

    def release(self) -> None:
        """Stop waiting for a hello: the new boot id is the same dock's reboot."""
        held, self.held = self.held, None
        for r in held or ():
            self.emit(r)

    def _out(self, rec: Record) -> None:
        if self.held is None:
            self.emit(rec)
        else:
            self.held.append(rec)

    def _named(self, hello: Hello) -> None:
        self.uid = hello.uid
        self.hello_seen = True

    def _decide(self, hello: Hello) -> None:
        held = self.held
        assert held is not None
        note = held[0]
        old, new = self.uid, hello.uid
        if isinstance(note, LinkEvent) and old and new and old != new:
            self.tracker.not_a_reboot()
            held[0] = LinkEvent(
                note.host_time, DOCK_CHANGED, "another dock: uid %s (was %s)" % (new, old)
            )
        self._named(hello)
        self.release()


# A new boot id's lines wait at most this many for the hello that names the dock.
HOLD_MAX_LINES = 500


# -- time ------------------------------------------------------------------------


def iso_utc(t: float) -> str:
    """UNIX seconds -> ``2025-05-01T12:00:00.123456Z``."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> float:
    """ISO 8601 (``Z`` or an offset; naive means UTC) -> UNIX seconds."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    d = datetime.fromisoformat(text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.timestamp()
