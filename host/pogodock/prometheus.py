"""``monitor --prometheus HOST:PORT``: a scrape endpoint for the dock's state.

``PrometheusExporter`` is a reader subscriber: it folds every record into its
own ``DockModel`` (and counts events by kind and severity), and serves
``GET /metrics`` in the Prometheus text format 0.0.4 from a
``ThreadingHTTPServer`` on a daemon thread. It never touches the serial port.
Metrics the dock has not reported yet are left out.
"""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dockfw.protocol import PIN_STATES

from pogodock.model import DockModel
from pogodock.records import Event, Record

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (metric, PinView attribute, help)
PIN_GAUGES = (
    ("pogodock_pin_current_ma", "i_ma", "Latest current through the pin, mA."),
    ("pogodock_pin_voltage_mv", "v_mv", "Latest voltage at the pin, mV."),
    ("pogodock_pin_resistance_mohm", "r_mohm", "Latest contact resistance, milliohm."),
    ("pogodock_pin_baseline_mohm", "r_baseline_mohm", "Baseline contact resistance, milliohm."),
    ("pogodock_pin_drift_mohm_per_day", "drift_mohm_per_day", "Resistance drift, milliohm/day."),
    ("pogodock_pin_days_to_clean", "days_to_clean", "Days until the pin needs cleaning."),
    ("pogodock_pin_score", "score", "Pin health score."),
    ("pogodock_pin_intermittent_count", "intermittent_count", "Intermittent contacts seen."),
    ("pogodock_pin_cycles", "cycles", "Dock cycles counted for the pin."),
)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); ValueError says why."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("--prometheus wants HOST:PORT (e.g. 127.0.0.1:9464), not %r" % text)
    return host, int(port)


def _value(v: float | int | bool) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
    return repr(v)


def _label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**kw: str) -> str:
    return "{%s}" % ",".join('%s="%s"' % (k, _label(v)) for k, v in kw.items())


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class PrometheusExporter:
    def __init__(self) -> None:
        self.model = DockModel()
        self.events: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def __call__(self, rec: Record) -> None:
        with self._lock:
            self.model.apply(rec)
            if isinstance(rec, Event):
                key = (rec.kind, rec.severity)
                self.events[key] = self.events.get(key, 0) + 1

    def render(self) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help: str, rows: Sequence[tuple[str, float | int | bool]]):
            if rows:
                out.append("# HELP %s %s" % (name, help))
                out.append("# TYPE %s %s" % (name, kind))
                out.extend("%s%s %s" % (name, lab, _value(v)) for lab, v in rows)

        with self._lock:
            m = self.model
            pins = list(m.pins.values())
            for name, attr, help in PIN_GAUGES:
                rows = [(_labels(pin=p.name), getattr(p, attr)) for p in pins]
                family(name, "gauge", help, [(lab, v) for lab, v in rows if v is not None])
            rows = []
            for p in pins:
                if p.state is not None:
                    states = PIN_STATES if p.state in PIN_STATES else (*PIN_STATES, p.state)
                    rows += [(_labels(pin=p.name, state=s), int(s == p.state)) for s in states]
            family("pogodock_pin_state", "gauge", "1 for the pin's current state.", rows)
            for name, v, help in (
                ("pogodock_charging", m.charging, "1 while the dock is charging."),
                ("pogodock_docked", m.docked, "1 while a device is docked."),
            ):
                family(name, "gauge", help, [("", v)] if v is not None else [])
            link = m.link
            family("pogodock_lines_total", "counter", "Lines read.", [("", link.lines)])
            family("pogodock_lost_lines_total", "counter", "Lines lost.", [("", link.lost)])
            family("pogodock_reboots_total", "counter", "Dock reboots.", [("", link.reboots)])
            rows = [(_labels(kind=k, severity=s), n) for (k, s), n in sorted(self.events.items())]
            family("pogodock_events_total", "counter", "Dock events by kind/severity.", rows)
        return "\n".join(out) + "\n"

    def serve(self, host: str, port: int) -> tuple[str, int]:
        """Starts the HTTP server on a daemon thread; returns the bound (host, port)."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404, "only /metrics is served here")
                    return
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = (_Server6 if ":" in host else _Server)((host, port), Handler)
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
