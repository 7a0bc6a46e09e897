"""What the monitor knows about a dock, built from records.

``DockModel.apply(record)`` folds one record in: per-pin latest values from
``sample`` and ``health`` lines, resistance history for sparklines, the event
log, charging state and link health (lost lines, reboots, console text). The
dashboard, the headless printer and replay all use it, so they agree.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from dockfw.protocol import HEALTH, SAMPLE

from pogodock import pinfields
from pogodock.records import (
    CONNECTED,
    DISCONNECTED,
    DOCK_CHANGED,
    LOST,
    PORT_ERROR,
    REBOOT,
    SHARED,
    Ack,
    ConsoleText,
    DeviceLine,
    Error,
    Event,
    Health,
    Hello,
    LinkEvent,
    Log,
    Record,
    Sample,
    iso_utc,
)

HISTORY = 4096
EVENT_LOG = 500
DASH = "—"


class PinView:
    """One pin as the monitor shows it: the latest value of every field in
    ``pinfields.FIELDS``, read as an attribute (``p.r_mohm``); None where the dock has
    not said or sent something of the wrong kind."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values: dict[str, Any] = dict.fromkeys(pinfields.BY_KEY)
        # Peak resistance per report (r_max_mohm, else r_mohm): spikes stay visible.
        self.history: deque[float] = deque(maxlen=HISTORY)

    def __getattr__(self, key: str) -> Any:
        # Only for names that are no real attribute: the fields.
        values = self.__dict__.get("values")
        if values is None or key not in values:
            raise AttributeError(key)
        return values[key]

    def add_sample(self, p: dict[str, Any]) -> None:
        self._take(pinfields.of_line(SAMPLE), p)
        peak = self.r_max_mohm if self.r_max_mohm is not None else self.r_mohm
        if peak is not None:
            self.history.append(peak)

    def add_health(self, p: dict[str, Any]) -> None:
        values = self.values
        r_mohm = values["r_mohm"]
        self._take(pinfields.of_line(HEALTH), p)
        # The resistance is the sample's (the health line's is its last one measured):
        # the health line's only stands in while the sample has none.
        if r_mohm is not None or "r_mohm" not in p:
            values["r_mohm"] = r_mohm

    def _take(self, fields: tuple[pinfields.PinField, ...], p: dict[str, Any]) -> None:
        values = self.values
        for f in fields:
            v = pinfields.read(f, p.get(f.key))
            # A pin's state stays what it was until the dock says another.
            if v is not None or f.kind != pinfields.STATE:
                values[f.key] = v


class LinkHealth:
    def __init__(self) -> None:
        self.connected: bool | None = None
        self.port = ""
        self.lines = 0
        self.lost = 0
        self.reboots = 0
        self.console = 0
        self.disconnects = 0
        self.errors = 0
        self.last_console: deque[str] = deque(maxlen=20)
        self.last_problem = ""


class DockModel:
    def __init__(self) -> None:
        self._new_dock()
        self.events: deque[str] = deque(maxlen=EVENT_LOG)
        self.link = LinkHealth()
        self.last_time: float | None = None
        self.first_time: float | None = None

    def _new_dock(self) -> None:
        """What belongs to one dock; another dock on the port starts it afresh, so that
        none of the first dock's pins, counts or state is shown as the second's."""
        self.pins: dict[str, PinView] = {}
        self.hello: Hello | None = None
        self.boot: str | None = None
        self.t_ms: int | None = None
        self.charging: bool | None = None
        self.docked: bool | None = None
        self.temp_c: float | None = None
        self.dock_state: str | None = None  # the health line's worst state
        self.event_counts: dict[str, int] = {}
        self.samples = 0
        self.health_lines = 0

    def pin(self, name: str) -> PinView:
        p = self.pins.get(name)
        if p is None:
            p = self.pins[name] = PinView(name)
        return p

    def log(self, t: float, text: str) -> None:
        self.events.append("%s %s" % (iso_utc(t)[11:23], text))

    def apply(self, rec: Record) -> str | None:
        """Fold ``rec`` in; returns a one-line description when it is worth a log line."""
        if self.first_time is None:
            self.first_time = rec.host_time
        self.last_time = rec.host_time
        if isinstance(rec, DeviceLine):
            self.link.lines += 1
            self.boot = rec.boot
            self.t_ms = rec.t_ms
            if isinstance(rec, Sample):
                self.samples += 1
                docked = rec.docked
                if isinstance(docked, bool):
                    self.docked = docked
                for name, p in rec.pins.items():
                    if isinstance(p, dict):
                        self.pin(name).add_sample(dict(p))
                return None
            if isinstance(rec, Health):
                self.health_lines += 1
                if isinstance(rec.charging, bool):
                    self.charging = rec.charging
                data = rec.data
                self.temp_c = pinfields.finite(data.get("temp_c"))
                state = data.get("state")
                self.dock_state = state if isinstance(state, str) else None
                for name, p in rec.pins.items():
                    if isinstance(p, dict):
                        self.pin(name).add_health(dict(p))
                return None
            text = describe(rec)
            if isinstance(rec, Hello):
                self.hello = rec
                for name in rec.pin_names:
                    self.pin(name)
            elif isinstance(rec, Event):
                self.event_counts[rec.kind] = self.event_counts.get(rec.kind, 0) + 1
                if rec.kind == "charge_on":
                    self.charging = True
                elif rec.kind == "charge_off":
                    self.charging = False
                elif rec.kind == "docked":
                    self.docked = True
                elif rec.kind == "undocked":
                    self.docked = False
            elif isinstance(rec, Error):
                self.link.errors += 1
            self.log(rec.host_time, text)
            return text
        if isinstance(rec, ConsoleText):
            self.link.console += 1
            self.link.lines += 1
            self.link.last_console.append(rec.text)
            text = describe(rec)
            self.log(rec.host_time, text)
            return text
        if isinstance(rec, LinkEvent):
            link = self.link
            if rec.kind == CONNECTED:
                link.connected = True
                link.port = rec.port
            elif rec.kind == DISCONNECTED:
                link.connected = False
                link.disconnects += 1
                link.last_problem = rec.detail
            elif rec.kind == PORT_ERROR:
                link.connected = False
                link.last_problem = rec.detail
            elif rec.kind == SHARED:
                link.last_problem = rec.detail
            elif rec.kind == LOST:
                link.lost += rec.lost
            elif rec.kind == REBOOT:
                link.reboots += 1
            elif rec.kind == DOCK_CHANGED:
                self._new_dock()
            text = describe(rec)
            self.log(rec.host_time, text)
            return text
        return None

    def health_summary(self) -> str:
        """One line: every pin's state and resistance, charging, link health."""
        parts = []
        for p in self.pins.values():
            parts.append(
                "%s %s %s mΩ %s mA" % (p.name, p.state or DASH, fmt(p.r_mohm, 1), fmt(p.i_ma, 0))
            )
        link = self.link
        parts.append(
            "charging %s, docked %s, temp %s °C"
            % (yes_no(self.charging), yes_no(self.docked), fmt(self.temp_c, 1))
        )
        parts.append(
            "lines %d, lost %d, reboots %d, console %d"
            % (link.lines, link.lost, link.reboots, link.console)
        )
        return "health: " + " | ".join(parts)


def describe(rec: Record) -> str:
    """A record as one human line (for logs and headless output)."""
    if isinstance(rec, Event):
        where = ",".join(rec.pins) or "dock"
        extra = rec.extra()
        tail = (
            (" " + " ".join("%s=%s" % (k, _short_value(v)) for k, v in extra.items()))
            if extra
            else ""
        )
        return "event %s %s %s%s" % (rec.severity, rec.kind, where, tail)
    if isinstance(rec, Hello):
        return "hello: firmware %s, board %s, reset %s, boot %s" % (
            rec.fw,
            rec.board,
            rec.reset_cause,
            rec.boot,
        )
    if isinstance(rec, Ack):
        return "ack %s #%s" % (rec.cmd, rec.id)
    if isinstance(rec, Error):
        return "error #%s %s: %s" % (rec.id, rec.code, rec.message)
    if isinstance(rec, Log):
        return "log %s" % rec.msg
    if isinstance(rec, DeviceLine):
        return "%s seq %d" % (rec.type, rec.seq)
    if isinstance(rec, ConsoleText):
        return "console: %s" % rec.text
    if isinstance(rec, LinkEvent):
        return "link %s: %s" % (rec.kind, rec.detail)
    return repr(rec)


def fmt(v: float | int | None, places: int = 1) -> str:
    if v is None:
        return DASH
    if isinstance(v, float) and not math.isfinite(v):
        return DASH
    return "%.*f" % (places, v)


def clean_in(days: int | None) -> str:
    """The dock's whole-day forecast; under a day it says ``<1``."""
    if days is None:
        return DASH
    return "<1" if days < 1 else str(days)


def rate(v: float | None) -> str:
    """A drift in mΩ/day: thousandths where they tell (a real dock's 0.25), fewer for
    the demo's thousands, which would not fit 80 columns with three decimals."""
    if v is None or abs(v) < 10:
        return fmt(v, 3)
    return fmt(v, 1 if abs(v) < 1000 else 0)


def pin_cell(p: PinView, field: pinfields.PinField) -> str:
    """``field`` of pin ``p`` as a table cell shows it (``—`` where unknown)."""
    v = p.values[field.key]
    if field.key == "drift_mohm_per_day":
        return rate(v)
    if field.key == "days_to_clean":
        return clean_in(v)
    if field.kind == pinfields.NUMBER:
        return fmt(v, field.decimals)
    return DASH if v is None else str(v)


def yes_no(v: bool | None) -> str:
    if v is None:
        return DASH
    return "yes" if v else "no"


def bucket_max(values: Sequence[float], buckets: int) -> list[float]:
    """``values`` squeezed into at most ``buckets`` points, each the max of its bucket.

    A one-sample spike survives any squeeze, unlike with a mean.
    """
    n = len(values)
    if buckets <= 0 or n == 0:
        return []
    if n <= buckets:
        return list(values)
    out = []
    for b in range(buckets):
        lo = b * n // buckets
        hi = (b + 1) * n // buckets
        out.append(max(values[lo:hi]))
    return out


def _short_value(v: Any) -> str:
    if isinstance(v, float):
        return "%g" % v
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v, separators=(",", ":"))
    return str(v)
