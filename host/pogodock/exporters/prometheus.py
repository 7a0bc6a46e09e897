"""``monitor --prometheus HOST:PORT``: what the monitor hears from its docks, as Prometheus metrics.

``PrometheusExporter`` keeps one ``DockModel`` per dock, keyed by the dock's
``uid`` (from its ``hello``), and is a prometheus_client collector: every scrape
is built from the models as they stand then, in base units, every series
labelled ``dock="<uid>"``. A dock's pin values, docked, charging and
temperature are left out while the monitor does not hear it (``pogodock_link_up``
0: port lost, another dock on the port, or silent for ``silent_after_s``), so
nothing stale is served as current; its counters and info stay.

Records reach it through a ``DockFollower`` per serial port (``follower()``;
the exporter itself is the first port's): a follower routes each record to
the dock its port's last ``hello`` named, so a different dock appearing on the
same port gets series of its own and is never a reboot of the previous one.
Lines that arrive before the port's dock is known (after a reconnect or a
reboot, until its hello) wait and go to the dock that hello names. A monitor
that follows several ports hands each reader a follower of one exporter.

The HTTP side is prometheus_client's (content negotiation, OpenMetrics, gzip)
on a daemon thread, serving ``/metrics`` only. It never touches a serial port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from dockfw.protocol import EVENT_KINDS, PIN_STATES, SEVERITIES, VERSION
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import ThreadingWSGIServer, make_wsgi_app
from prometheus_client.registry import CollectorRegistry

from pogodock import pinfields
from pogodock.model import DockModel
from pogodock.records import (
    CONNECTED,
    DISCONNECTED,
    DOCK_CHANGED,
    PORT_ERROR,
    REBOOT,
    DeviceLine,
    Event,
    Hello,
    LinkEvent,
    Record,
)

# The dock sends a health line about once a second and samples several times a
# second: this long without a line means the monitor no longer hears it.
SILENT_AFTER_S = 5.0
# Lines kept while a port's dock is not known yet (a few seconds of samples).
PENDING_MAX = 2000
DOCK_STATES = ("ok", "warn", "fault")


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); ValueError says why."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("--prometheus wants HOST:PORT (e.g. 127.0.0.1:9464), not %r" % text)
    return host, int(port)


def dock_key(hello: Hello) -> str:
    """The ``dock`` label: the uid; firmware that gives none is known by its board name."""
    return hello.uid or "board-" + hello.board


class DockSeries:
    """One dock as the exporter knows it: its model, its event counts, when it was heard."""

    def __init__(self, key: str, clock: Callable[[], float]) -> None:
        self.key = key
        self.clock = clock
        self.model = DockModel()
        # Every kind and severity from zero, so that increase() sees the first event.
        self.events: dict[tuple[str, str], int] = {
            (k, s): 0 for k in EVENT_KINDS for s in SEVERITIES
        }
        self.heard_at: float | None = None  # clock() at the last device line
        self.heard_unix: float | None = None
        self.follower: DockFollower | None = None  # the port it is heard on now

    def apply(self, rec: Record) -> None:
        self.model.apply(rec)
        if isinstance(rec, DeviceLine):
            self.heard_at = self.clock()
            self.heard_unix = rec.host_time
            if isinstance(rec, Event):
                key = (rec.kind, rec.severity)
                self.events[key] = self.events.get(key, 0) + 1

    def link_up(self, now: float, silent_after_s: float) -> bool:
        f = self.follower
        return (
            f is not None
            and f.connected
            and f.dock is self
            and self.heard_at is not None
            and now - self.heard_at < silent_after_s
        )


class DockFollower:
    """A reader subscriber for one serial port: hands each record to the dock heard there."""

    def __init__(self, exporter: PrometheusExporter) -> None:
        self.exporter = exporter
        self.connected = False
        self.dock: DockSeries | None = None  # None until a hello says who is on the port
        self.last_dock: DockSeries | None = None
        self._pending: deque[Record] = deque(maxlen=PENDING_MAX)

    def __call__(self, rec: Record) -> None:
        with self.exporter.lock:
            self._take(rec)

    def _take(self, rec: Record) -> None:
        if isinstance(rec, LinkEvent):
            if rec.kind in (CONNECTED, REBOOT, DOCK_CHANGED):
                # A reconnect may bring another dock; a new boot id may be another dock too.
                self.connected = True
                self._forget_dock()
            elif rec.kind in (DISCONNECTED, PORT_ERROR):
                self.connected = False
        elif isinstance(rec, DeviceLine):
            self.connected = True
            if isinstance(rec, Hello):
                self._hello(rec)
            elif self.dock is None and self.last_dock is not None:
                if rec.boot == self.last_dock.model.boot:
                    self._adopt(self.last_dock)  # same boot id: the same dock, reconnected
        if self.dock is None:
            self._pending.append(rec)
        else:
            self.dock.apply(rec)

    def _forget_dock(self) -> None:
        if self.dock is not None:
            self.last_dock = self.dock
            self.dock = None

    def _hello(self, hello: Hello) -> None:
        dock = self.exporter.series(dock_key(hello))
        if dock is not self.dock:
            self._forget_dock()
            self._adopt(dock)

    def _adopt(self, dock: DockSeries) -> None:
        other = dock.follower
        if other is not None and other is not self and other.dock is dock:
            other._forget_dock()  # the dock moved to this port
        dock.follower = self
        same = dock is self.last_dock
        self.dock = dock
        self.last_dock = dock
        pending, self._pending = self._pending, deque(maxlen=PENDING_MAX)
        for rec in pending:
            if not same and isinstance(rec, LinkEvent) and rec.kind == REBOOT:
                continue  # another dock took the port: not a reboot of this one
            dock.apply(rec)


class PrometheusExporter(DockFollower):
    """The docks' metrics for prometheus_client; itself the follower of the first port."""

    def __init__(
        self, silent_after_s: float = SILENT_AFTER_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """``clock``: seconds, only ever compared (tests give their own)."""
        self.lock = threading.Lock()
        self.clock = clock
        self.docks: dict[str, DockSeries] = {}
        self.silent_after_s = silent_after_s
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self.server: ThreadingWSGIServer | None = None
        super().__init__(self)

    def follower(self) -> DockFollower:
        """A subscriber for one more port's reader."""
        return DockFollower(self)

    def series(self, key: str) -> DockSeries:
        d = self.docks.get(key)
        if d is None:
            d = self.docks[key] = DockSeries(key, self.clock)
        return d

    # -- prometheus_client's side

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            return iter(self._families(self.clock()))

    def _families(self, now: float) -> list[Metric]:
        docks = sorted(self.docks.values(), key=lambda d: d.key)
        up = {d.key: d.link_up(now, self.silent_after_s) for d in docks}
        heard = [d for d in docks if up[d.key]]
        out: list[Metric] = []

        info = InfoMetricFamily(
            "pogodock_dock", "The dock's identity from its hello.", labels=("dock",)
        )
        link = GaugeMetricFamily(
            "pogodock_link_up",
            "1 while the monitor hears the dock: its port open, a line within the last %g s."
            % self.silent_after_s,
            labels=("dock",),
        )
        last = GaugeMetricFamily(
            "pogodock_last_heard_timestamp_seconds",
            "When the monitor last received a line from the dock (UNIX time).",
            labels=("dock",),
        )
        for d in docks:
            hello = d.model.hello
            if hello is not None:
                info.add_metric(
                    [d.key],
                    {
                        "firmware": hello.fw,
                        "board": hello.board,
                        "uid": hello.uid or "",
                        "protocol": str(hello.data.get("v", VERSION)),
                    },
                )
            link.add_metric([d.key], 1 if up[d.key] else 0)
            if d.heard_unix is not None:
                last.add_metric([d.key], d.heard_unix)
        out += [info, link, last]

        for name, attr, help in (
            ("pogodock_docked", "docked", "1 while a device is on the dock."),
            ("pogodock_charging", "charging", "1 while the dock's charge output is on."),
        ):
            g = GaugeMetricFamily(name, help, labels=("dock",))
            for d in heard:
                v = getattr(d.model, attr)
                if v is not None:
                    g.add_metric([d.key], 1 if v else 0)
            out.append(g)
        temp = GaugeMetricFamily(
            "pogodock_temperature_celsius",
            "The dock's temperature (RP2040 sensor).",
            labels=("dock",),
            unit="celsius",
        )
        state = GaugeMetricFamily(
            "pogodock_dock_state",
            "1 for the dock's state: its worst pin, fault while protection holds charging off.",
            labels=("dock", "state"),
        )
        for d in heard:
            if d.model.temp_c is not None:
                temp.add_metric([d.key], d.model.temp_c)
            s = d.model.dock_state
            if s is not None:
                for name in DOCK_STATES if s in DOCK_STATES else (*DOCK_STATES, s):
                    state.add_metric([d.key, name], 1 if name == s else 0)
        out += [temp, state]

        pins = [(d, p) for d in heard for p in d.model.pins.values()]
        for f in pinfields.GAUGES:
            g = GaugeMetricFamily(f.metric, f.help, labels=("dock", "pin"), unit=f.metric_unit)
            for d, p in pins:
                v = p.values[f.key]
                if v is not None:
                    g.add_metric([d.key, p.name], v * f.metric_scale)
            out.append(g)
        for f in pinfields.COUNTERS:
            c = CounterMetricFamily(f.metric, f.help, labels=("dock", "pin"))
            for d, p in pins:
                v = p.values[f.key]
                if v is not None:
                    c.add_metric([d.key, p.name], v)
            out.append(c)
        out += _pin_ratings(heard)
        pin_state = GaugeMetricFamily(
            "pogodock_pin_state", "1 for the pin's current state.", labels=("dock", "pin", "state")
        )
        for d, p in pins:
            if p.state is not None:
                for s in PIN_STATES if p.state in PIN_STATES else (*PIN_STATES, p.state):
                    pin_state.add_metric([d.key, p.name, s], 1 if s == p.state else 0)
        out.append(pin_state)

        events = CounterMetricFamily(
            "pogodock_events",
            "Events the dock reported, by kind and severity (every pair from zero).",
            labels=("dock", "kind", "severity"),
        )
        for d in docks:
            for (kind, severity), n in sorted(d.events.items()):
                events.add_metric([d.key, kind, severity], n)
        out.append(events)
        for name, help, count in (
            ("pogodock_lines", "Lines received from the dock.", lambda m: m.link.lines),
            ("pogodock_lost_lines", "Lines lost on the way (seq gaps).", lambda m: m.link.lost),
            ("pogodock_reboots", "Dock reboots the monitor saw.", lambda m: m.link.reboots),
        ):
            c = CounterMetricFamily(name, help, labels=("dock",))
            for d in docks:
                c.add_metric([d.key], count(d.model))
            out.append(c)
        return out

    # -- HTTP

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Starts the HTTP server on a daemon thread; returns the bound (host, port)."""
        metrics = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO") != "/metrics":
                start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
                return [b"only /metrics is served here\n"]
            return metrics(environ, start_response)

        server_class = _Server6 if ":" in host else ThreadingWSGIServer
        self.server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
        threading.Thread(target=self.server.serve_forever, name="prometheus", daemon=True).start()
        return host, self.server.server_address[1]

    def state(self) -> str:
        """Where the scrape endpoint is, in a few words (the dashboard's link line)."""
        if self.server is None:
            return "prometheus not serving"
        host, port = self.server.server_address[:2]
        return "prometheus %s:%d" % ("[%s]" % host if ":" in str(host) else host, port)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _pin_ratings(docks: list[DockSeries]) -> list[Metric]:
    """The ratings each pin's hello entry gives (for wear and current alerts)."""
    cycles = GaugeMetricFamily(
        "pogodock_pin_rated_mating_cycles",
        "Mating cycles the pin is rated for.",
        labels=("dock", "pin"),
    )
    current = GaugeMetricFamily(
        "pogodock_pin_max_current_amperes",
        "The most current the pin may carry before the dock cuts charging.",
        labels=("dock", "pin"),
        unit="amperes",
    )
    for d in docks:
        hello = d.model.hello
        for entry in hello.pins if hello is not None else ():
            if not isinstance(entry, dict):
                continue
            pin = str(entry.get("name"))
            n = entry.get("rated_cycles")
            if isinstance(n, int) and not isinstance(n, bool):
                cycles.add_metric([d.key, pin], n)
            ma = entry.get("max_ma")
            if isinstance(ma, (int, float)) and not isinstance(ma, bool):
                current.add_metric([d.key, pin], ma * 1e-3)
    return [cycles, current]


class _Server6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
