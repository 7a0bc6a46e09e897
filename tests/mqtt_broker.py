"""A real Mosquitto broker for the MQTT tests, started and stopped by the tests themselves.

``make setup`` installs mosquitto (tools/ensure_mosquitto.sh). Each broker listens
on loopback on a port of its own, keeps nothing on disk, and can be stopped and
started again on the same port to play a broker restart.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from support.procs import terminate


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    assert found, "mosquitto is not installed: run `make setup` (tools/ensure_mosquitto.sh)"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, workdir: Path, users: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        lines = [
            "listener %d 127.0.0.1" % self.port,
            "persistence false",
            "log_dest file %s" % self.log,
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to user mosquitto, who cannot read workdir
        if users:
            pwfile = workdir / "passwd"
            pwfile.touch()
            for user, password in users.items():
                subprocess.run(
                    [_passwd_tool(), "-b", str(pwfile), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", "password_file %s" % pwfile]
        else:
            lines.append("allow_anonymous true")
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                log = self.log.read_text() if self.log.exists() else ""
                raise AssertionError("mosquitto exited: %s" % log[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("mosquitto did not listen on %d" % self.port)

    def stop(self) -> None:
        terminate(self.proc, 5)
        self.proc = None

    @property
    def url(self) -> str:
        return "mqtt://127.0.0.1:%d" % self.port


def _passwd_tool() -> str:
    found = shutil.which("mosquitto_passwd") or shutil.which(
        "mosquitto_passwd", path="/usr/sbin:/usr/local/sbin"
    )
    assert found, "mosquitto_passwd is missing: it comes with mosquitto (`make setup`)"
    return found


class Watcher:
    """An MQTT client subscribed to ``#`` that remembers the last message per topic."""

    def __init__(self, broker: Broker, auth: tuple[str, str] | None = None) -> None:
        self.last: dict[str, bytes] = {}
        self.retained: dict[str, bool] = {}
        self.all: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if auth is not None:
            self.client.username_pw_set(*auth)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("#", qos=1)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port, 30)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the watcher could not subscribe"

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.last[msg.topic] = msg.payload
            self.retained[msg.topic] = msg.retain
            self.all.append((msg.topic, msg.payload))

    def get(self, topic: str) -> bytes | None:
        with self._lock:
            return self.last.get(topic)

    def topics(self) -> list[str]:
        with self._lock:
            return sorted(self.last)

    def messages(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.all if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
