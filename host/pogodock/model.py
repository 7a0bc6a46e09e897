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
    """One pin as the monitor shows it; None where the dock has not said."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.i_ma: float | None = None
        self.v_mv: float | None = None
        self.r_mohm: float | None = None
        self.r_max_mohm: float | None = None
        self.r_baseline_mohm: float | None = None
        self.drift_mohm_per_day: float | None = None
        self.days_to_clean: int | None = None
        self.intermittent_count: int | None = None
        self.cycles: int | None = None
        self.state: str | None = None
        self.score: float | None = None
        self.sensor_ok: bool | None = None
        # Peak resistance per report (r_max_mohm, else r_mohm): spikes stay visible.
        self.history: deque[float] = deque(maxlen=HISTORY)

    def add_sample(self, p: dict[str, Any]) -> None:
        self.i_ma = _num(p.get("i_ma"))
        self.v_mv = _num(p.get("v_mv"))
        self.r_mohm = _num(p.get("r_mohm"))
        self.r_max_mohm = _num(p.get("r_max_mohm"))
        ok = p.get("sensor_ok")
        if isinstance(ok, bool):
            self.sensor_ok = ok
        peak = self.r_max_mohm if self.r_max_mohm is not None else self.r_mohm
        if peak is not None:
            self.history.append(peak)

    def add_health(self, p: dict[str, Any]) -> None:
        state = p.get("state")
        if isinstance(state, str):
            self.state = state
        if "r_mohm" in p and self.r_mohm is None:
            self.r_mohm = _num(p.get("r_mohm"))
        self.r_baseline_mohm = _num(p.get("r_baseline_mohm"))
        self.drift_mohm_per_day = _num(p.get("drift_mohm_per_day"))
        self.days_to_clean = _int(p.get("days_to_clean"))
        self.intermittent_count = _int(p.get("intermittent_count"))
        self.cycles = _int(p.get("cycles"))
        self.score = _num(p.get("score"))


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
                self.temp_c = _num(data.get("temp_c"))
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


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:  # JSON integers have no bound; the dock never sends such
        return None
    return f if math.isfinite(f) else None  # the dock writes null, never inf or nan


def _int(v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, int):
        return None
    return v


def _short_value(v: Any) -> str:
    if isinstance(v, float):
        return "%g" % v
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v, separators=(",", ":"))
    return str(v)
