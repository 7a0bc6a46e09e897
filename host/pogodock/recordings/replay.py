"""Reading recordings and captures back: ``pogodock replay`` and the loader export and plot use.

``load(path)`` reads, line by line and in any mix:

- recordings (``pogodock.recordings.recorder``): the ``dock`` form with the device line
  inline, and the older form with every protocol line as a ``line`` string;
- raw captures of the dock's own output (``cat /dev/ttyACM0 > log``,
  ``pogodock sim ... > raw.jsonl``): protocol lines, console text, and lines cut
  short where the capture began or the port dropped bytes. A raw capture holds no
  host times: its lines are timed by the dock's clock (made continuous across
  reboots), ending at the file's modification time.

Everything goes through the same parser and sequence tracker as the live
reader: lost lines and reboots come out as ``LinkEvent`` records again. Nothing
in a file makes the loader raise but a file that cannot be read or holds no
pogodock lines at all: cut lines and broken records are skipped and counted,
console text is kept as ``ConsoleText`` and counted (``Recording.note`` says
both), lines longer than a dock's (``records.MAX_LINE_CHARS``) or a recorder's
(``RECORD_LIMIT``) are skipped without being read whole.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from dockfw.protocol import VERSION

from pogodock.model import DockModel, describe, fmt
from pogodock.records import (
    LINK_KINDS,
    MAX_LINE_CHARS,
    NOT_RECORDED,
    ConsoleText,
    Decoder,
    DeviceLine,
    Event,
    LinkEvent,
    Record,
    Sample,
    from_object,
    iso_utc,
    loads_guarded,
    parse_iso,
)

# The longest record the recorder writes: a line of MAX_LINE_CHARS, each character
# escaped as JSON (\u0000: six), behind its host time.
RECORD_LIMIT = 6 * MAX_LINE_CHARS + 256
# Host times a recording may hold: 1970 up to the last day datetime can write.
_LAST_HOST_TIME = 253402214400.0
# A piece of a protocol line (where a capture began, where bytes were dropped) has
# the protocol's keys in it; console text (banners, tracebacks, the REPL) does not.
_PROTOCOL_KEY = re.compile(r'"[a-z][a-z0-9_]*":')


class RecordingError(Exception):
    pass


@dataclass
class Recording:
    path: str
    records: list[Record] = field(default_factory=list)
    file_lines: int = 0  # non-empty lines of the file
    recorded: int = 0  # records of a recording (with their host time)
    captured: int = 0  # protocol lines of a raw capture (timed by the dock's clock)
    console: int = 0  # console text, recorded or captured
    cut: int = 0  # pieces of protocol lines (a capture's first line, dropped bytes)
    skipped: int = 0  # lines that are no record: broken, too long, wrong types
    not_recorded: int = 0  # records the recorder could not write (a full disk)
    # Dock lines of another protocol version, by version: a dock this host cannot read.
    other_versions: dict[int, int] = field(default_factory=dict)

    @property
    def other_version_lines(self) -> int:
        return sum(self.other_versions.values())

    def versions_said(self) -> str:
        """'2' or '0 and 2': the other protocol versions found."""
        return " and ".join(str(v) for v in sorted(self.other_versions))

    @property
    def dock_lines(self) -> int:
        return sum(isinstance(r, DeviceLine) for r in self.records)

    def note(self, console_fate: str = "") -> str:
        """One sentence on what was read and what was not, or '' for a clean recording."""
        tail = []
        if self.console:
            tail.append("%d console line%s%s" % (self.console, _s(self.console), console_fate))
        if self.cut:
            tail.append("%d cut line%s skipped" % (self.cut, _s(self.cut)))
        if self.skipped:
            tail.append("%d unreadable line%s skipped" % (self.skipped, _s(self.skipped)))
        if self.other_versions:
            n = self.other_version_lines
            tail.append(
                "%d line%s of protocol version %s skipped (this pogodock reads version %d)"
                % (n, _s(n), self.versions_said(), VERSION)
            )
        if self.not_recorded:
            tail.append(
                "%d record%s the recorder could not write"
                % (self.not_recorded, _s(self.not_recorded))
            )
        if not (tail or self.captured):
            return ""
        text = "%s:" % self.path
        if self.captured:
            text += " %d dock line%s from a raw capture (timed by the dock's clock)" % (
                self.captured,
                _s(self.captured),
            )
            if tail:
                text += ";"
        return text + (" " + ", ".join(tail) if tail else "")


def _float(v: float) -> float:
    try:
        return float(v)
    except OverflowError:  # a JSON integer no float holds: no reading
        return math.nan


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _lines(f: Any) -> Any:
    """The file's lines as bytes, each cut at ``RECORD_LIMIT`` (+1, to tell) bytes:
    a file of one endless line is never read into memory whole."""
    limit = RECORD_LIMIT + 1
    while True:
        line = f.readline(limit)
        if not line:
            return
        if len(line) == limit and not line.endswith(b"\n"):
            while True:  # the rest of a line too long: read past it
                more = f.readline(limit)
                if not more or more.endswith(b"\n"):
                    break
        yield line


class _Loader:
    def __init__(self, path: str) -> None:
        self.rec = Recording(path)
        self.out: list[Record] = []
        self.decoder = Decoder(self.out.append)
        # A raw capture's clock: the dock's t_ms, continuous across reboots.
        self.boot: str | None = None
        self.offset_s = 0.0
        self.dock_s = 0.0
        self.estimated: list[Record] = []

    def read(self, f: Any) -> None:
        rec = self.rec
        records = rec.records
        for raw in _lines(f):
            raw = raw.rstrip(b"\r\n")  # console text keeps its spaces (a REPL's '>>> ')
            if not raw.strip():
                continue
            rec.file_lines += 1
            if len(raw) > (RECORD_LIMIT if raw.startswith(b'{"host_time"') else MAX_LINE_CHARS):
                rec.skipped += 1
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                self.captured_text(raw.decode("utf-8", "replace"), "not UTF-8")
            else:
                self.line(text)
            if self.out:
                records.extend(self.out)
                self.out.clear()
        self.take_released()
        records.extend(self.out)
        self.out.clear()

    def line(self, text: str) -> None:
        rec = self.rec
        if text.lstrip()[:1] != "{":  # (a line of Unicode spaces strips to nothing)
            self.captured_text(text, "not a JSON object")
            return
        text = text.strip()
        try:
            obj = loads_guarded(text, RECORD_LIMIT)
        except ValueError as e:
            if text.startswith('{"host_time"'):
                rec.skipped += 1  # a record cut short (killed, full disk)
            else:
                self.captured_text(text, str(e))
            return
        if not isinstance(obj, dict):
            self.captured_text(text, "not a JSON object")
        elif "host_time" in obj:
            self.recorded(obj, text)
        else:
            parsed = from_object(obj, text, 0.0)
            if isinstance(parsed, ConsoleText):
                if not self.other_version(obj):
                    self.captured_text(text, parsed.reason)
                return
            rec.captured += 1
            parsed.host_time = self.dock_time(parsed)
            self.take(parsed, estimated=True)

    def other_version(self, obj: dict[str, Any]) -> bool:
        """Counts ``obj`` when it is a line of another protocol version (which this host
        cannot read, whatever else it holds): the load then says why, not only how many
        lines it skipped."""
        v = obj.get("v")
        if type(v) is not int or v == VERSION:
            return False
        versions = self.rec.other_versions
        versions[v] = versions.get(v, 0) + 1
        return True

    def dock_time(self, line: DeviceLine) -> float:
        """A captured line's time on the dock's clock, continuous across reboots."""
        if self.boot is not None and line.boot != self.boot:
            self.offset_s += self.dock_s
        self.boot = line.boot
        self.dock_s = line.t_ms / 1000.0
        return self.offset_s + self.dock_s

    def captured_text(self, text: str, why: str) -> None:
        """A line of a capture (or garbage in a recording) that is no protocol line."""
        if _PROTOCOL_KEY.search(text):
            self.rec.cut += 1
            return
        self.rec.console += 1
        self.take(ConsoleText(self.offset_s + self.dock_s, text, why), estimated=True)

    def take(self, parsed: DeviceLine | ConsoleText, estimated: bool) -> None:
        start = len(self.out)
        self.decoder.take(parsed)
        if estimated:
            self.estimated.extend(self.out[start:])

    def take_released(self) -> None:
        """Lines still waiting for a hello at the end of the file (after a new boot id)."""
        held = self.decoder.held or []
        self.decoder.release()
        if self.rec.captured:
            ids = {id(r) for r in held}
            self.estimated.extend(r for r in self.out if id(r) in ids)

    def recorded(self, obj: dict[str, Any], text: str) -> None:
        rec = self.rec
        t = _host_time(obj.get("host_time"))
        if t is None:
            rec.skipped += 1
            return
        dock = obj.get("dock")
        line = obj.get("line")
        console = obj.get("console")
        link = obj.get("link")
        if isinstance(dock, dict):
            parsed = from_object(dock, _inline_text(text, dock), t)
            if isinstance(parsed, ConsoleText):
                if not self.other_version(dock):
                    rec.skipped += 1
                return
            rec.recorded += 1
            self.decoder.take(parsed)
        elif isinstance(line, str):
            parsed = self.decoder.line(line, t)
            rec.recorded += 1
            if isinstance(parsed, ConsoleText):
                rec.console += 1
        elif isinstance(console, str):
            rec.recorded += 1
            rec.console += 1
            self.decoder.take(ConsoleText(t, console, "recorded console text"))
        elif link in LINK_KINDS:
            rec.recorded += 1
            self.out.append(
                LinkEvent(t, link, str(obj.get("detail", "")), port=str(obj.get("port", "")))
            )
        elif type(obj.get(NOT_RECORDED)) is int:
            n = obj[NOT_RECORDED]
            rec.recorded += 1
            rec.not_recorded += n
            self.decoder.tracker.resync()
            self.out.append(
                LinkEvent(
                    t,
                    NOT_RECORDED,
                    "%d record%s not written to the recording (%s), not lost on the link"
                    % (n, _s(n), str(obj.get("detail", "")) or "the file could not be written"),
                )
            )
        else:
            rec.skipped += 1

    def finish(self, mtime: float) -> None:
        """Raw capture times: the dock's clock, the last line at the file's last write."""
        if not self.estimated:
            return
        shift = mtime - max(r.host_time for r in self.estimated)
        for r in self.estimated:
            r.host_time += shift


def _host_time(value: object) -> float | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        t = parse_iso(value)
    except (ValueError, OverflowError, OSError):
        return None
    return t if math.isfinite(t) and 0.0 <= t <= _LAST_HOST_TIME else None


_RECORD_START = '{"host_time":"'
_DOCK_KEY = '","dock":'


def _inline_text(text: str, dock: dict[str, Any]) -> str:
    """The device line as the dock wrote it. The recorder writes ``{"host_time":"<iso>",
    "dock":`` + the line + ``}``, and an ISO time holds no quote, so the first
    ``","dock":`` ends the prefix; a record another tool rewrote gets its line anew."""
    if text.startswith(_RECORD_START) and text.endswith("}"):
        at = text.find(_DOCK_KEY, len(_RECORD_START))
        if at > 0 and '"' not in text[len(_RECORD_START) : at]:
            inner = text[at + len(_DOCK_KEY) : -1]
            if inner.startswith("{") and inner.endswith("}"):
                return inner
    return json.dumps(dock, separators=(",", ":"), ensure_ascii=False)


def load(path: str) -> Recording:
    """Reads a recording or a capture; raises ``RecordingError`` (one sentence) when it
    cannot be read or holds nothing of a dock."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise RecordingError("no recording at %s" % path) from None
    except IsADirectoryError:
        raise RecordingError("%s is a folder, not a recording" % path) from None
    except OSError as e:
        raise RecordingError("cannot read %s: %s" % (path, e.strerror or e)) from None
    loader = _Loader(path)
    with f:
        try:
            loader.read(f)
            mtime = os.fstat(f.fileno()).st_mtime
        except OSError as e:
            raise RecordingError("cannot read %s: %s" % (path, e.strerror or e)) from None
    loader.finish(mtime)
    rec = loader.rec
    if not rec.file_lines:
        raise RecordingError("%s is empty" % path)
    if not rec.recorded and not rec.captured and rec.other_versions:
        raise RecordingError(
            "%s was written by a dock speaking protocol version %s; this pogodock reads "
            "version %d" % (path, rec.versions_said(), VERSION)
        )
    if not rec.recorded and not rec.captured:
        raise RecordingError(
            "%s holds no pogodock records: it is neither a recording (monitor --record) "
            "nor a capture of a dock's output" % path
        )
    return rec


def summary(recording: Recording) -> str:
    """Several lines of text: what the recording holds."""
    model = DockModel()
    types: dict[str, int] = {}
    r_by_pin: dict[str, list[float]] = {}
    boots: list[str] = []
    event_lines: list[str] = []
    for rec in recording.records:
        model.apply(rec)
        if isinstance(rec, DeviceLine):
            types[rec.type] = types.get(rec.type, 0) + 1
            if not boots or boots[-1] != rec.boot:
                boots.append(rec.boot)
            if isinstance(rec, Sample):
                for name, p in rec.pins.items():
                    r = p.get("r_mohm") if isinstance(p, dict) else None
                    if isinstance(r, (int, float)) and not isinstance(r, bool):
                        r = _float(r)
                        if math.isfinite(r):
                            r_by_pin.setdefault(name, []).append(r)
            elif isinstance(rec, Event):
                event_lines.append("  %s  %s" % (iso_utc(rec.host_time), describe(rec)))
        elif isinstance(rec, ConsoleText):
            types["console"] = types.get("console", 0) + 1
    out = ["recording %s" % recording.path]
    if model.first_time is not None and model.last_time is not None:
        out.append(
            "from %s to %s (%.1f s of host time)"
            % (
                iso_utc(model.first_time),
                iso_utc(model.last_time),
                model.last_time - model.first_time,
            )
        )
    if model.hello is not None:
        out.append("dock: firmware %s, board %s" % (model.hello.fw, model.hello.board))
    out.append(
        "lines: %d (%s)"
        % (
            model.link.lines,
            ", ".join("%s %d" % (k, v) for k, v in sorted(types.items())) or "none",
        )
    )
    link = model.link
    out.append(
        "link: %d lost, %d reboot%s, %d disconnect%s, %d console line%s, boots %s"
        % (
            link.lost,
            link.reboots,
            "" if link.reboots == 1 else "s",
            link.disconnects,
            "" if link.disconnects == 1 else "s",
            link.console,
            "" if link.console == 1 else "s",
            ", ".join(boots) or "none",
        )
    )
    if recording.captured:
        out.append(
            "times: a raw capture holds no host times; its lines are timed by the dock's "
            "clock, ending at the file's last change"
        )
    skipped = []
    if recording.skipped:
        skipped.append("%d unreadable line%s" % (recording.skipped, _s(recording.skipped)))
    if recording.cut:
        skipped.append("%d cut line%s" % (recording.cut, _s(recording.cut)))
    if recording.other_versions:
        n = recording.other_version_lines
        skipped.append("%d line%s of protocol version %s" % (n, _s(n), recording.versions_said()))
    if skipped:
        out.append("skipped %s of the file" % " and ".join(skipped))
    if recording.not_recorded:
        out.append(
            "%d record%s could not be written when recorded (not lost on the link)"
            % (recording.not_recorded, _s(recording.not_recorded))
        )
    if r_by_pin:
        out.append("contact resistance per pin (mΩ): min / median / max / last")
        for name, vals in r_by_pin.items():
            out.append(
                "  %-8s %s / %s / %s / %s"
                % (
                    name,
                    fmt(min(vals), 2),
                    fmt(statistics.median(vals), 2),
                    fmt(max(vals), 2),
                    fmt(vals[-1], 2),
                )
            )
    if model.pins and any(p.state for p in model.pins.values()):
        out.append(
            "last health: "
            + ", ".join("%s %s" % (p.name, p.state or "?") for p in model.pins.values())
        )
    out.append(
        "events: %d%s"
        % (
            len(event_lines),
            (" (" + ", ".join("%s %d" % kv for kv in sorted(model.event_counts.items())) + ")")
            if event_lines
            else "",
        )
    )
    out.extend(event_lines[:200])
    if len(event_lines) > 200:
        out.append("  ... and %d more" % (len(event_lines) - 200))
    return "\n".join(out)
