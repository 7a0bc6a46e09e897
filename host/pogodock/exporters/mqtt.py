"""``monitor --mqtt URL``: the dock's state published to an MQTT broker.

``MqttPublisher`` is a reader subscriber, like the recorder and the Prometheus
exporter: it folds records into its own ``DockModel`` and publishes, never
touching the serial port. Topics sit under a base, ``pogodock/<uid>`` unless the
URL gives one (``mqtt://broker/home/dock1`` -> ``home/dock1``):

- ``<base>/status`` (retained): ``online`` while the monitor hears the dock,
  ``offline`` when the link drops, the monitor stops, or (the broker's last will)
  the monitor dies.
- ``<base>/info`` (retained): the dock's ``hello``, as JSON.
- ``<base>/state`` (retained): charging, docked, worst pin state, temperature
  and link health, once per ``health`` line.
- ``<base>/pin/<name>`` (retained): one pin's current, voltage, resistance,
  baseline, drift, days to clean, intermittent count, cycles, state and score,
  once per ``health`` line.
- ``<base>/event`` (QoS 1, not retained): every dock event, as JSON; up to
  1000 wait in memory while the broker is away.

With ``discovery`` (``--ha-discovery``, homeassistant.py) each hello also retains
Home Assistant's discovery configs, published before anything else on every connect.

Retained topics are published again after every reconnect to the broker, so a
broker restart loses nothing that matters. paho-mqtt's network thread does the
reconnecting; publishing from the reader's thread is safe.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pogodock import pinfields
from pogodock.model import DockModel
from pogodock.records import (
    DISCONNECTED,
    PORT_ERROR,
    Event,
    Health,
    Hello,
    LinkEvent,
    Record,
    iso_utc,
)

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
KEEPALIVE_S = 30
ONLINE = b"online"
OFFLINE = b"offline"


class MqttTarget:
    """Where to publish: parsed from ``mqtt[s]://[user[:password]@]host[:port][/base]``."""

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url)
        except ValueError as e:  # 'mqtt://[::1': "Invalid IPv6 URL", not naming --mqtt
            raise ValueError("--mqtt: %r is not a URL (%s)" % (url, e)) from None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                "--mqtt wants mqtt://[user[:password]@]host[:port][/base/topic] "
                "(or mqtts:// for TLS), not %r" % url
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError(
                "--mqtt: the port in %r is not a number from 0 to 65535" % url
            ) from None
        if parts.query or parts.fragment:
            raise ValueError("--mqtt: %r has a ?query or #fragment, which means nothing here" % url)
        self.tls = parts.scheme == "mqtts"
        self.host = parts.hostname
        self.port = port if port is not None else DEFAULT_PORTS[parts.scheme]
        self.username = unquote(parts.username) if parts.username is not None else None
        self.password = unquote(parts.password) if parts.password is not None else None
        base = unquote(parts.path).strip("/")
        if "+" in base or "#" in base:
            raise ValueError("--mqtt: the base topic %r may not hold the wildcards + or #" % base)
        self.base = base or None

    def display(self) -> str:
        """The URL without its password, for messages."""
        user = "%s@" % self.username if self.username else ""
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s%s:%d" % ("mqtts" if self.tls else "mqtt", user, host, self.port)


def default_base(hello: Hello) -> str:
    """``pogodock/<uid>``: stable per dock, so several docks share one broker."""
    name = hello.uid or hello.board
    return "pogodock/" + "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


class MqttPublisher:
    # A monitor following several docks runs a publisher (a broker client) per port, and
    # a broker drops a client whose id another takes: each gets its own number.
    _made = 0

    def __init__(
        self,
        target: MqttTarget,
        log: Callable[[str], None] | None = None,
        client: Any = None,
        discovery: Callable[[Hello, str], list[tuple[str, bytes]]] | None = None,
    ) -> None:
        """``log`` gets one line per change of the broker connection (headless mode);
        ``client`` replaces the paho client (tests); ``discovery(hello, base)`` gives
        retained (topic, payload) pairs outside the base that describe the dock."""
        self.target = target
        self.discovery = discovery
        self._discovered: list[tuple[str, bytes]] = []
        self.model = DockModel()
        self.base: str | None = None
        self.published = 0
        self.unsent = 0
        self.connected = threading.Event()
        self.last_error = ""
        self._log = log
        self._lock = threading.Lock()
        self._retained: dict[str, bytes] = {}
        self._client = client if client is not None else self._make_client()
        self._session = False

    def _make_client(self) -> Any:
        t = self.target
        MqttPublisher._made += 1
        n = MqttPublisher._made
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="pogodock-%s-%d%s"
            % (socket.gethostname()[:20], os.getpid(), "" if n == 1 else "-%d" % n),
        )
        if t.username is not None:
            client.username_pw_set(t.username, t.password)
        if t.tls:
            client.tls_set()
        client.reconnect_delay_set(1, 30)
        # QoS 1 lines wait for the broker while it is away, but not without end.
        client.max_queued_messages_set(1000)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        return client

    def probe(self, timeout_s: float = 3.0) -> str | None:
        """Why the broker cannot be reached over TCP now, or None when it can
        (paho retries quietly, so this gives the user the reason once)."""
        try:
            socket.create_connection((self.target.host, self.target.port), timeout_s).close()
        except OSError as e:
            return e.strerror or str(e) or type(e).__name__
        return None

    def state(self) -> str:
        """How the export stands, in a few words (the dashboard's link line)."""
        if self.connected.is_set():
            return "mqtt %s/" % self.base
        if self.base is None:
            return "mqtt waiting for the dock"
        why = " (%s)" % self.last_error if self.last_error else ""
        return "mqtt not connected%s" % why

    def start(self) -> None:
        """With a base topic in the URL, connects now; else at the dock's first hello,
        because the last will has to name the status topic before connecting."""
        if self.target.base is not None:
            self._open_session(self.target.base)

    def close(self) -> None:
        """Says ``offline`` (the will covers a crash) and disconnects."""
        self._end_session()

    def _open_session(self, base: str) -> None:
        self._end_session()
        self._client.will_set(base + "/status", OFFLINE, qos=1, retain=True)
        with self._lock:
            self.base = base
            self._retained = {k: v for k, v in self._retained.items() if k.startswith(base + "/")}
            self._session = True  # before connecting: on_connect publishes only in a session
        self._client.connect_async(self.target.host, self.target.port, KEEPALIVE_S)
        self._client.loop_start()

    def _end_session(self) -> None:
        if not self._session:
            return
        info = None
        with self._lock:
            if self.base is not None and self.connected.is_set():
                info = self._publish_locked(self.base + "/status", OFFLINE, qos=1, retain=True)
        if info is not None:
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass  # the broker went away meanwhile: the will says offline instead
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()
        self._session = False

    # -- broker connection (paho's network thread)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if getattr(reason, "is_failure", False):
            if str(reason) != self.last_error:  # paho retries: say it once, not every time
                self._say("mqtt: %s refused the connection: %s" % (self.target.display(), reason))
            self.last_error = str(reason)
            return
        self.last_error = ""
        with self._lock:
            # Discovery first: Home Assistant must know a sensor before its state arrives.
            for topic, payload in self._discovered:
                self._publish_locked(topic, payload, qos=1, retain=True)
            for topic, payload in self._retained.items():
                self._publish_locked(topic, payload, qos=0, retain=True)
        self.connected.set()
        self._say(
            "mqtt: connected to %s, publishing under %s/" % (self.target.display(), self.base)
        )

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and getattr(reason, "value", 0) != 0:
            self.last_error = str(reason)
            self._say("mqtt: lost %s (%s); reconnecting" % (self.target.display(), reason))

    def _say(self, text: str) -> None:
        if self._log is not None:
            self._log(text)

    # -- records (the reader's thread)

    def __call__(self, rec: Record) -> None:
        new_base = None
        with self._lock:
            self.model.apply(rec)
            if isinstance(rec, Hello):
                new_base = self._hello(rec)
            elif self.base is None:
                return  # no topic until the dock has said who it is
            elif isinstance(rec, Health):
                self._health(rec, self.base)
            elif isinstance(rec, Event):
                body = dict(rec.data, time=iso_utc(rec.host_time))
                self._publish_locked(self.base + "/event", _json(body), qos=1)
            elif isinstance(rec, LinkEvent) and rec.kind in (DISCONNECTED, PORT_ERROR):
                self._retain(self.base + "/status", OFFLINE)
        if new_base is not None:
            self._open_session(new_base)

    def _hello(self, rec: Hello) -> str | None:
        """Retains the hello and ``online``; returns a base topic that needs a new session."""
        base = self.target.base or default_base(rec)
        if base != self.base and self.base is not None:
            self._retain(self.base + "/status", OFFLINE)  # another dock on the port
        self._retained[base + "/info"] = _json(dict(rec.data))
        self._retained[base + "/status"] = ONLINE
        if self.discovery is not None:
            self._discovered = self.discovery(rec, base)
        if base != self.base or not self._session:
            return base  # the new session publishes what is retained once connected
        for topic, payload in self._discovered:  # a reboot may bring new firmware or pins
            self._publish_locked(topic, payload, qos=1, retain=True)
        self._publish_locked(base + "/info", self._retained[base + "/info"], qos=0, retain=True)
        self._publish_locked(base + "/status", ONLINE, qos=0, retain=True)
        return None

    def _health(self, rec: Health, base: str) -> None:
        m = self.model
        data = rec.data
        time = iso_utc(rec.host_time)
        for name, p in rec.pins.items():
            view = m.pins.get(name)
            if view is None or not isinstance(p, dict):
                continue
            body: dict[str, Any] = {f.key: view.values[f.key] for f in pinfields.PUBLISHED}
            if "r_mohm" in p:  # the last one measured, also when the current is too low now
                body["r_mohm"] = pinfields.finite(p["r_mohm"])
            body["time"] = time
            self._retain("%s/pin/%s" % (base, name), _json(body))
        state = {
            "charging": m.charging,
            "docked": m.docked,
            "state": data.get("state"),
            "temp_c": data.get("temp_c"),
            "session": data.get("session"),
            "dropped_lines": data.get("dropped_lines"),
            "boot": m.boot,
            "t_ms": m.t_ms,
            "lost_lines": m.link.lost,
            "reboots": m.link.reboots,
            "time": time,
        }
        self._retain(base + "/state", _json(state))

    def _retain(self, topic: str, payload: bytes) -> None:
        # QoS 0: while the broker is away paho drops these instead of queueing them,
        # so a stale state can never arrive after the fresh one sent on reconnect.
        self._retained[topic] = payload
        self._publish_locked(topic, payload, qos=0, retain=True)

    def _publish_locked(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> Any:
        if not self._session:
            self.unsent += 1
            return None
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == 0 or (
            qos and info.rc == mqtt.MQTT_ERR_NO_CONN
        ):  # QoS 1 waits in paho's queue
            self.published += 1
            return info
        # QoS 0 while away, or QoS 1 beyond the queue: lost (retained topics are
        # published again on reconnect).
        self.unsent += 1
        return None


def _json(body: dict[str, Any]) -> bytes:
    # The host's parser takes NaN and 1e999 (inf) from a dock, but a subscriber's strict
    # JSON parser (Home Assistant's, jq) refuses NaN and Infinity: they go out as null,
    # the protocol's own "no value".
    return json.dumps(_finite(body), separators=(",", ":"), allow_nan=False).encode()


def _finite(v: Any) -> Any:
    """``v`` with every NaN and infinity made None (the parser bounds how deep it nests)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v
