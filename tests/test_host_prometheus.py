"""``monitor --prometheus``: metrics as Prometheus users expect, checked by promtool and a
real Prometheus server scraping the monitor while it follows the simulated dock."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dockfw.protocol import EVENT_KINDS, SEVERITIES
from pogodock.exporters.prometheus import PrometheusExporter
from pogodock.records import CONNECTED, DISCONNECTED, Decoder, LinkEvent
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_server import promtool_check_metrics, scraping_the_monitor
from support.cli import start_cli
from support.procs import interrupt

PINS = ("VBUS1", "GND1", "GND2", "VBUS2")
UID_A = "e6614103e7123456"
UID_B = "e661410300abcdef"

MISALIGN = str(Path(__file__).resolve().parents[1] / "scenarios" / "misalign.json")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Port:
    """One serial port's records into a follower: lines as the dock writes them, through
    the reader's own decoder (so a new boot id becomes a reboot link event, as live)."""

    def __init__(self, follower: Any) -> None:
        self.follower = follower
        self.decoder = Decoder(follower)
        self.uid = UID_A
        self.boot = "0000b001"
        self.seq = 0

    def line(self, type: str, **fields: Any) -> None:
        head = {"v": 1, "type": type, "seq": self.seq, "boot": self.boot, "t_ms": 100 * self.seq}
        self.seq += 1
        self.decoder.line(json.dumps({**head, **fields}), time.time())

    def link(self, kind: str) -> None:
        self.follower(LinkEvent(time.time(), kind, kind, port="/dev/ttyACM0"))

    def boot_as(self, uid: str, boot: str, hello: bool = True) -> None:
        self.uid, self.boot, self.seq = uid, boot, 0
        if hello:
            self.hello()

    def hello(self) -> None:
        pins = [{"name": p, "rated_cycles": 10000, "max_ma": 3000} for p in PINS]
        self.line("hello", fw="0.3.0", board="pico-dock-4", uid=self.uid, pins=pins)

    def sample(self, r_mohm: float = 35.5, i_ma: float = 1500.0) -> None:
        pins = {p: {"i_ma": i_ma, "v_mv": 4990, "r_mohm": r_mohm} for p in PINS}
        self.line("sample", docked=True, charging=True, cycles=40, pins=pins)

    def health(self, **pin: Any) -> None:
        pins = {p: {"state": "ok", "score": 100, "cycles": 7, **pin} for p in PINS}
        self.line("health", charging=True, docked=True, state="ok", temp_c=31.5, pins=pins)

    def event(self, kind: str, severity: str = "warn") -> None:
        self.line("event", kind=kind, pins=["VBUS2"], severity=severity)


Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def exposition(exporter: PrometheusExporter) -> str:
    return generate_latest(exporter.registry).decode()


def series(exporter: PrometheusExporter) -> Series:
    out: Series = {}
    for family in text_string_to_metric_families(exposition(exporter)):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: Series, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def names(found: Series, dock: str) -> set[str]:
    return {name for name, labels in found if ("dock", dock) in labels}


DOCK_VALUES = {
    "pogodock_docked",
    "pogodock_charging",
    "pogodock_temperature_celsius",
    "pogodock_dock_state",
    "pogodock_pin_current_amperes",
    "pogodock_pin_voltage_volts",
    "pogodock_pin_resistance_ohms",
    "pogodock_pin_health_score",
    "pogodock_pin_mating_cycles_total",
    "pogodock_pin_state",
}


def test_every_event_kind_and_severity_starts_at_zero_with_the_dock():
    exporter = PrometheusExporter()
    port = Port(exporter)
    port.link(CONNECTED)
    port.sample()
    assert not any(("dock", UID_A) in labels for _n, labels in series(exporter)), (
        "no dock label before the dock says who it is"
    )
    port.hello()
    found = series(exporter)
    for kind in EVENT_KINDS:
        for severity in SEVERITIES:
            n = value(found, "pogodock_events_total", dock=UID_A, kind=kind, severity=severity)
            assert n == 0, (kind, severity, n)
    port.event("misalignment")
    port.event("a_kind_from_newer_firmware", "info")
    found = series(exporter)
    count = value(found, "pogodock_events_total", dock=UID_A, kind="misalignment", severity="warn")
    assert count == 1
    assert value(found, "pogodock_events_total", dock=UID_A, kind="oxidation", severity="warn") == 0
    kind = "a_kind_from_newer_firmware"
    assert value(found, "pogodock_events_total", dock=UID_A, kind=kind, severity="info") == 1
    # The sample before the hello waited for it and counts for this dock.
    assert value(found, "pogodock_lines_total", dock=UID_A) == 4


def test_values_are_in_base_units_with_dock_and_pin_labels():
    exporter = PrometheusExporter()
    port = Port(exporter)
    port.link(CONNECTED)
    port.hello()
    port.sample(r_mohm=35.5, i_ma=1500)
    port.health(
        r_baseline_mohm=30.0,
        drift_mohm_per_day=8.64,
        days_to_clean=3,
        intermittent_count=2,
        state="warn",
        score=60,
    )
    found = series(exporter)
    pin = {"dock": UID_A, "pin": "GND2"}
    assert value(found, "pogodock_pin_current_amperes", **pin) == pytest.approx(1.5)
    assert value(found, "pogodock_pin_voltage_volts", **pin) == pytest.approx(4.99)
    assert value(found, "pogodock_pin_resistance_ohms", **pin) == pytest.approx(0.0355)
    assert value(found, "pogodock_pin_baseline_resistance_ohms", **pin) == pytest.approx(0.030)
    drift = value(found, "pogodock_pin_resistance_drift_ohms_per_second", **pin)
    assert drift == pytest.approx(1e-7)  # 8.64 mOhm a day
    assert value(found, "pogodock_pin_clean_in_seconds", **pin) == 3 * 86400
    assert value(found, "pogodock_pin_mating_cycles_total", **pin) == 7
    assert value(found, "pogodock_pin_intermittent_dropouts_total", **pin) == 2
    assert value(found, "pogodock_pin_health_score", **pin) == 60
    assert value(found, "pogodock_pin_rated_mating_cycles", **pin) == 10000
    assert value(found, "pogodock_pin_max_current_amperes", **pin) == pytest.approx(3.0)
    assert value(found, "pogodock_pin_state", state="warn", **pin) == 1
    assert value(found, "pogodock_pin_state", state="ok", **pin) == 0
    assert value(found, "pogodock_temperature_celsius", dock=UID_A) == 31.5
    assert value(found, "pogodock_dock_state", dock=UID_A, state="ok") == 1
    assert value(found, "pogodock_docked", dock=UID_A) == 1
    assert value(found, "pogodock_charging", dock=UID_A) == 1
    assert value(found, "pogodock_link_up", dock=UID_A) == 1
    info = {"dock": UID_A, "uid": UID_A, "firmware": "0.3.0", "board": "pico-dock-4"}
    assert value(found, "pogodock_dock_info", protocol="1", **info) == 1
    text = exposition(exporter)
    assert "# TYPE pogodock_pin_mating_cycles_total counter" in text
    assert not re.search(r"_(ma|mv|mohm|days?|count)\b", text), "units must be base units"


def test_pin_values_leave_while_the_link_is_down_and_return_with_it():
    exporter = PrometheusExporter()
    port = Port(exporter)
    port.link(CONNECTED)
    port.hello()
    port.sample()
    port.health()
    port.event("misalignment")
    assert DOCK_VALUES <= names(series(exporter), UID_A)

    port.link(DISCONNECTED)
    found = series(exporter)
    assert value(found, "pogodock_link_up", dock=UID_A) == 0
    assert not DOCK_VALUES & names(found, UID_A), "stale values served as current"
    kind = {"kind": "misalignment", "severity": "warn"}
    assert value(found, "pogodock_events_total", dock=UID_A, **kind) == 1, "counters stay"
    assert value(found, "pogodock_lines_total", dock=UID_A) == 4
    assert "pogodock_dock_info" in names(found, UID_A)
    assert value(found, "pogodock_last_heard_timestamp_seconds", dock=UID_A) is not None

    # Plugged back, the same boot id: the same dock, before any hello.
    port.link(CONNECTED)
    port.sample()
    found = series(exporter)
    assert value(found, "pogodock_link_up", dock=UID_A) == 1
    assert value(found, "pogodock_pin_resistance_ohms", dock=UID_A, pin="VBUS1") is not None
    assert value(found, "pogodock_lines_total", dock=UID_A) == 5
    assert value(found, "pogodock_reboots_total", dock=UID_A) == 0


def test_a_dock_silent_for_longer_than_the_limit_is_down():
    clock = Clock()
    exporter = PrometheusExporter(silent_after_s=5.0, clock=clock)
    port = Port(exporter)
    port.link(CONNECTED)
    port.hello()
    port.sample()
    clock.now += 4.9
    assert value(series(exporter), "pogodock_link_up", dock=UID_A) == 1
    clock.now += 0.2
    found = series(exporter)
    assert value(found, "pogodock_link_up", dock=UID_A) == 0
    assert not DOCK_VALUES & names(found, UID_A)
    port.sample()
    assert value(series(exporter), "pogodock_link_up", dock=UID_A) == 1


def test_another_dock_on_the_port_is_another_dock_never_a_reboot():
    exporter = PrometheusExporter()
    port = Port(exporter)
    port.link(CONNECTED)
    port.hello()
    port.sample(r_mohm=35.0)
    port.event("oxidation")
    # Another board on the same port: its first line arrives before its hello.
    port.boot_as(UID_B, "0000b002", hello=False)
    port.sample(r_mohm=99.0)
    port.hello()
    port.sample(r_mohm=99.0)
    port.event("misalignment")
    found = series(exporter)
    assert value(found, "pogodock_link_up", dock=UID_A) == 0
    assert value(found, "pogodock_link_up", dock=UID_B) == 1
    assert not DOCK_VALUES & names(found, UID_A)
    assert value(found, "pogodock_pin_resistance_ohms", dock=UID_B, pin="VBUS1") == 0.099
    assert value(found, "pogodock_reboots_total", dock=UID_B) == 0
    assert value(found, "pogodock_reboots_total", dock=UID_A) == 0
    assert value(found, "pogodock_lines_total", dock=UID_B) == 4
    a_pin = exporter.docks[UID_A].model.pins["VBUS1"]
    assert a_pin.r_mohm == 35.0, "the new dock's line went to the old one"
    ox = {"kind": "oxidation", "severity": "warn"}
    mis = {"kind": "misalignment", "severity": "warn"}
    assert value(found, "pogodock_events_total", dock=UID_A, **ox) == 1
    assert value(found, "pogodock_events_total", dock=UID_B, **ox) == 0
    assert value(found, "pogodock_events_total", dock=UID_B, **mis) == 1

    # The same dock rebooting is a reboot.
    port.boot_as(UID_B, "0000b003")
    port.sample()
    assert value(series(exporter), "pogodock_reboots_total", dock=UID_B) == 1


def test_a_dock_moved_to_another_port_is_heard_there_only():
    exporter = PrometheusExporter()
    first, second = Port(exporter), Port(exporter.follower())
    second.uid = UID_B
    for port in (first, second):
        port.link(CONNECTED)
        port.hello()
        port.sample()
    found = series(exporter)
    assert value(found, "pogodock_link_up", dock=UID_A) == 1
    assert value(found, "pogodock_link_up", dock=UID_B) == 1

    second.link(DISCONNECTED)
    first.link(DISCONNECTED)
    moved = Port(exporter.follower())  # dock A, plugged into a third port
    moved.boot = first.boot
    moved.seq = first.seq
    moved.link(CONNECTED)
    moved.hello()
    first.link(CONNECTED)  # the first port comes back empty
    found = series(exporter)
    assert value(found, "pogodock_link_up", dock=UID_A) == 1
    assert value(found, "pogodock_link_up", dock=UID_B) == 0


def test_promtool_finds_nothing_to_fix():
    exporter = PrometheusExporter()
    port = Port(exporter)
    port.link(CONNECTED)
    port.hello()
    port.sample()
    port.health(
        r_baseline_mohm=30.0,
        drift_mohm_per_day=1.5,
        days_to_clean=12,
        intermittent_count=1,
        state="a_state_from_newer_firmware",
    )
    port.event("misalignment")
    other = Port(exporter.follower())
    other.uid = 'odd "uid" \\ from a\nbad board'
    other.link(CONNECTED)
    other.hello()
    other.link(DISCONNECTED)
    text = exposition(exporter)
    assert 'state="a_state_from_newer_firmware"' in text and "pogodock_link_up" in text
    code, said = promtool_check_metrics(text)
    assert code == 0 and said == "", said


def test_a_real_prometheus_scrapes_the_monitor_following_a_dock(tmp_path: Path):
    """The first misalignment is seen by increase(); pins leave when the dock does."""
    # Docked at 1.25 s, misaligned (400 mOhm more on VBUS2 and GND2) at 5 s.
    with scraping_the_monitor(tmp_path, MISALIGN, "4") as (prom, target, sim):
        info = prom.wait_for('pogodock_dock_info{board="pico-dock-4"}', timeout=20)
        dock = info[0]["metric"]["dock"]
        assert re.fullmatch(r"[0-9a-f]{16}", dock) and info[0]["metric"]["uid"] == dock
        pins = prom.wait_for(
            'pogodock_pin_resistance_ohms{dock="%s"} > 0' % dock, timeout=20, want=len(PINS)
        )
        assert sorted(r["metric"]["pin"] for r in pins) == sorted(PINS)
        assert all(0 < float(r["value"][1]) < 1 for r in pins), pins

        seen = prom.wait_for(
            'increase(pogodock_events_total{dock="%s",kind="misalignment"}[1m]) > 0' % dock,
            timeout=30,
        )
        assert [r["metric"]["severity"] for r in seen] == ["warn"]
        history = prom.query(
            'pogodock_events_total{dock="%s",kind="misalignment",severity="warn"}[1m]' % dock
        )
        assert history[0]["values"][0][1] == "0", "the counter must be scraped at 0 first"
        assert prom.query('pogodock_link_up{dock="%s"}' % dock)[0]["value"][1] == "1"

        # What a person's curl or browser gets, and nothing beside /metrics.
        with urllib.request.urlopen("http://%s/metrics" % target, timeout=3) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://%s/other" % target, timeout=3)
        assert e.value.code == 404

        interrupt(sim)  # the dock goes away: the monitor loses its port
        prom.wait_for('pogodock_link_up{dock="%s"} == 0' % dock, timeout=15)
        prom.wait_for('pogodock_pin_resistance_ohms{dock="%s"}' % dock, timeout=5, want=0)
        assert prom.query('pogodock_events_total{dock="%s",kind="misalignment"} > 0' % dock)


@pytest.mark.parametrize("address", ["nonsense", "127.0.0.1:99999", "127.0.0.1:"])
def test_a_bad_prometheus_address_is_one_sentence(address):
    proc = start_cli("monitor", "--port", "/dev/null", "--headless", "--prometheus", address)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "HOST:PORT" in err and "Traceback" not in err, err


def test_a_port_in_use_is_one_sentence():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = start_cli("monitor", "--port", "/dev/null", "--prometheus", "127.0.0.1:%d" % port)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.startswith("pogodock monitor: cannot serve --prometheus on 127.0.0.1:%d" % port)
    assert err.count("\n") == 1, err


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_exporter_says_where_it_serves(host):
    exporter = PrometheusExporter()
    assert exporter.state() == "prometheus not serving"
    _host, port = exporter.serve(host, 0)
    try:
        shown = "[%s]" % host if ":" in host else host
        assert exporter.state() == "prometheus %s:%d" % (shown, port) and port > 0
        with urllib.request.urlopen("http://%s:%d/metrics" % (shown, port), timeout=3) as r:
            assert not re.search(rb"^pogodock_", r.read(), re.M)  # no dock, no series yet
    finally:
        exporter.close()
    assert exporter.state() == "prometheus not serving"
