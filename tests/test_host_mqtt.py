"""``monitor --mqtt``: the reader's records published to a real Mosquitto broker."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from dockfw import protocol
from dockfw.protocol import Fixed, Obj
from host_fakedock import FakeDock, wait_for
from mqtt_broker import Broker, Watcher, free_port
from pogodock.exporters.mqtt import MqttPublisher, MqttTarget
from pogodock.link.reader import Reader
from support.cli import start_cli
from support.procs import interrupt

PINS = ("VBUS1", "GND1", "GND2", "VBUS2")


def health(dock: FakeDock, r_mohm: float, state: str = "ok") -> None:
    pins = [
        (
            p,
            Obj(
                [
                    ("state", state),
                    ("score", 90),
                    ("r_mohm", Fixed(int(r_mohm * 1000), 3)),
                    ("r_baseline_mohm", Fixed(35000, 3)),
                    ("drift_mohm_per_day", Fixed(250, 3)),
                    ("days_to_clean", 40),
                    ("intermittent_count", 2),
                    ("cycles", 1234),
                ]
            ),
        )
        for p in dock.pins
    ]
    dock.emit(
        protocol.HEALTH,
        [("charging", True), ("docked", True), ("state", state), ("pins", Obj(pins))],
    )


def loads(raw: bytes | None) -> dict:
    assert raw is not None
    return json.loads(raw)


def stop(proc: subprocess.Popen) -> tuple[str, str]:
    interrupt(proc, timeout=10)
    return proc.communicate()


def test_the_monitor_publishes_the_simulated_dock(sim_pty, broker, watch):
    _sim, path = sim_pty
    mon = start_cli(
        "monitor", "--port", path, "--headless", "--mqtt", broker.url, "--duration", "12"
    )
    out, err = mon.communicate(timeout=40)
    assert mon.returncode == 0, err
    assert "Traceback" not in err
    assert re.search(
        r"^mqtt: connected to mqtt://127\.0\.0\.1:\d+, publishing under pogodock/", err, re.M
    )
    info_topics = [t for t in watch.topics() if t.endswith("/info")]
    assert len(info_topics) == 1, watch.topics()
    base = info_topics[0][: -len("/info")]
    info = loads(watch.get(base + "/info"))
    assert info["board"] == "pico-dock-4" and re.fullmatch(r"[0-9a-f]{16}", info["uid"])
    assert base == "pogodock/" + info["uid"]
    assert [p["name"] for p in info["pins"]] == list(PINS)
    for pin in PINS:  # docked at 5 s with 1500 mA over the VBUS1+VBUS2 pair
        body = loads(watch.get("%s/pin/%s" % (base, pin)))
        assert 0 < body["r_mohm"] < 1000, (pin, body)
        assert 600 < body["i_ma"] < 900, (pin, body)
        assert body["state"] in protocol.PIN_STATES and 0 <= body["score"] <= 100
        assert body["time"].endswith("Z")
    state = loads(watch.get(base + "/state"))
    assert state["docked"] is True and state["lost_lines"] == 0
    kinds = [loads(m)["kind"] for m in watch.messages(base + "/event")]
    assert "docked" in kinds, kinds
    assert "event info docked" in out  # headless output carries on beside MQTT
    # The monitor said goodbye: a newcomer finds "offline" retained.
    late = Watcher(broker)
    try:
        assert wait_for(lambda: late.get(base + "/status") == b"offline", 3)
        assert late.retained[base + "/status"] and late.get(base + "/info") is not None
    finally:
        late.close()


def test_the_last_will_says_offline_when_the_monitor_dies(dock, broker, watch):
    mon = start_cli(
        "monitor", "--port", str(dock.link), "--headless", "--mqtt", broker.url + "/home/dock1"
    )
    try:
        assert wait_for(lambda: watch.get("home/dock1/status") == b"online", 10), watch.topics()
        assert loads(watch.get("home/dock1/info"))["uid"] == dock.uid
        mon.kill()  # no goodbye: the broker's last will has to say it
        assert wait_for(lambda: watch.get("home/dock1/status") == b"offline", 10)
    finally:
        stop(mon)


def test_an_unplugged_dock_is_offline_and_back_online_when_plugged(dock, broker, watch):
    publisher = MqttPublisher(MqttTarget(broker.url))
    with Reader(str(dock.link), confirm_timeout=1.0, max_backoff=0.1) as reader:
        reader.subscribe(publisher)
        reader.start()
        publisher.start()
        status = "pogodock/%s/status" % dock.uid
        assert wait_for(lambda: watch.get(status) == b"online", 5)
        dock.unplug()
        assert wait_for(lambda: watch.get(status) == b"offline", 5)
        dock.plug()
        assert wait_for(lambda: watch.get(status) == b"online", 5)
    publisher.close()


def test_a_broker_restart_gets_the_latest_state_and_the_events_held_meanwhile(tmp_path, dock):
    broker = Broker(tmp_path).start()
    publisher = MqttPublisher(MqttTarget(broker.url + "/dock"))
    publisher.start()
    assert wait_for(publisher.connected.is_set, 5)
    assert publisher.state() == "mqtt dock/"
    watch = Watcher(broker)
    try:
        with Reader(str(dock.link), confirm_timeout=1.0, max_backoff=0.1) as reader:
            reader.subscribe(publisher)
            reader.start()
            assert wait_for(lambda: watch.get("dock/status") == b"online", 5)
            health(dock, 35.0)
            assert wait_for(lambda: watch.get("dock/pin/VBUS1") is not None, 5)
            watch.close()
            broker.stop()  # no persistence: the broker forgets every retained topic
            assert wait_for(lambda: not publisher.connected.is_set(), 5)
            assert publisher.state().startswith("mqtt not connected")
            unsent, published = publisher.unsent, publisher.published
            health(dock, 81.5, "warn")
            dock.event("oxidation", ["VBUS1"])
            assert wait_for(lambda: publisher.model.health_lines == 2, 5)
            assert wait_for(lambda: publisher.published == published + 1, 5)  # the event, queued
            assert publisher.unsent == unsent + 3  # two pins and the state: dropped, not queued
            broker.start()
            watch = Watcher(broker)
            assert wait_for(lambda: watch.get("dock/pin/VBUS1") is not None, 15)
            assert wait_for(lambda: watch.messages("dock/event"), 5)
        pin = loads(watch.get("dock/pin/VBUS1"))
        assert pin["r_mohm"] == 81.5 and pin["state"] == "warn"
        assert pin["r_baseline_mohm"] == 35.0 and pin["days_to_clean"] == 40
        assert pin["cycles"] == 1234 and pin["intermittent_count"] == 2
        assert watch.get("dock/status") == b"online"
        assert loads(watch.get("dock/info"))["board"] == "fake-board"
        assert [loads(m)["kind"] for m in watch.messages("dock/event")] == ["oxidation"]
    finally:
        publisher.close()
        watch.close()
        broker.stop()


def test_another_dock_on_the_port_gets_its_own_topics(dock, broker, watch):
    publisher = MqttPublisher(MqttTarget(broker.url))
    assert publisher.state() == "mqtt waiting for the dock"  # no topic before the hello
    with Reader(str(dock.link), confirm_timeout=1.0, max_backoff=0.1) as reader:
        reader.subscribe(publisher)
        reader.start()
        first = "pogodock/%s" % dock.uid
        assert wait_for(lambda: watch.get(first + "/status") == b"online", 5)
        dock.uid = "fedcba9876543210"
        dock.reboot("0000b002")
        assert wait_for(lambda: watch.get("pogodock/fedcba9876543210/status") == b"online", 5)
        assert watch.get(first + "/status") == b"offline"
        assert loads(watch.get("pogodock/fedcba9876543210/info"))["uid"] == dock.uid
    publisher.close()
    assert wait_for(lambda: watch.get("pogodock/fedcba9876543210/status") == b"offline", 5)


def test_credentials_from_the_url_and_a_refusal_said_once(tmp_path, dock):
    broker = Broker(tmp_path, users={"dock": "s3cr@t/"}).start()
    watch = Watcher(broker, auth=("dock", "s3cr@t/"))
    try:
        url = "mqtt://dock:%s@127.0.0.1:%d/d" % ("s3cr%40t%2F", broker.port)
        publisher = MqttPublisher(MqttTarget(url))
        publisher.start()
        assert wait_for(publisher.connected.is_set, 5), publisher.last_error
        publisher.close()
        assert wait_for(lambda: watch.get("d/status") == b"offline", 5)
        wrong = "mqtt://dock:nope@127.0.0.1:%d/d" % broker.port
        mon = start_cli(
            "monitor", "--port", str(dock.link), "--headless", "--mqtt", wrong, "--duration", "3"
        )
        _out, err = mon.communicate(timeout=20)
        assert mon.returncode == 0, err
        assert err.count("refused the connection") == 1 and "nope" not in err, err
    finally:
        watch.close()
        broker.stop()


def test_an_unreachable_broker_is_said_and_the_monitor_carries_on(dock):
    url = "mqtt://127.0.0.1:%d" % free_port()
    mon = start_cli(
        "monitor", "--port", str(dock.link), "--headless", "--mqtt", url, "--duration", "4"
    )
    # After the monitor's info: the port opens with its input flushed, so an earlier
    # line could be lost before anyone reads.
    assert wait_for(lambda: dock.commands, 15), "the monitor never asked the dock for info"
    dock.event("intermittent", ["GND1"])
    out, err = mon.communicate(timeout=20)
    assert mon.returncode == 0, err
    assert "mqtt: cannot reach %s now (" % url in err and "retrying in the background" in err
    assert "event warn intermittent GND1" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "url",
    ["http://broker", "mqtt://", "mqtt://broker:99999", "mqtt://broker/a/+", "mqtt://b/x?retain=1"],
)
def test_a_bad_mqtt_url_is_one_sentence(url):
    proc = start_cli("monitor", "--port", "/dev/null", "--headless", "--mqtt", url)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.startswith("pogodock monitor: --mqtt") and err.count("\n") == 1, err


def test_the_url_names_host_port_credentials_and_base():
    t = MqttTarget("mqtts://me:p%40ss@broker.local/home/docks/kitchen/")
    assert (t.host, t.port, t.tls) == ("broker.local", 8883, True)
    assert (t.username, t.password, t.base) == ("me", "p@ss", "home/docks/kitchen")
    assert t.display() == "mqtts://me@broker.local:8883"
    t = MqttTarget("mqtt://[::1]:1999")
    assert (t.host, t.port, t.tls, t.base, t.username) == ("::1", 1999, False, None, None)
    assert t.display() == "mqtt://[::1]:1999"


def strict(raw: bytes | None) -> dict:
    """JSON as a strict parser (Home Assistant's, jq) reads it: no NaN, no Infinity."""

    def refuse(name: str) -> None:
        raise AssertionError("%s in an MQTT payload" % name)

    assert raw is not None
    return json.loads(raw, parse_constant=refuse)


def state_of(raw: bytes | None) -> str | None:
    return None if raw is None else strict(raw).get("state")


def test_payloads_are_strict_json_when_the_dock_sends_inf_or_nan(dock, broker, watch):
    """Python reads 1e999 as inf and NaN as nan; they go out as null, never as Infinity."""
    publisher = MqttPublisher(MqttTarget(broker.url))
    with Reader(str(dock.link), confirm_timeout=1.0) as reader:
        reader.subscribe(publisher)
        reader.start()
        publisher.start()
        base = "pogodock/%s" % dock.uid
        assert wait_for(lambda: watch.get(base + "/status") == b"online", 5)
        line = protocol.encode(
            protocol.EVENT,
            dock.seq,
            dock.boot,
            dock.t_ms,
            [("kind", "oxidation"), ("pins", ["GND1"]), ("severity", "warn")],
        )
        dock.write(line[:-2] + b',"r_mohm":{"GND1":1e999},"drift_mohm_per_day":NaN}\n')
        dock.seq += 1
        dock.emit(protocol.HEALTH, [("charging", True), ("state", "ok")])
        health_line = protocol.encode(
            protocol.HEALTH, dock.seq, dock.boot, dock.t_ms, [("state", "warn")]
        )
        dock.write(health_line[:-2] + b',"session":-1e999,"dropped_lines":NaN}\n')
        dock.seq += 1
        assert wait_for(lambda: watch.messages(base + "/event"), 5)
        event = strict(watch.messages(base + "/event")[-1])
        assert event["kind"] == "oxidation"
        assert event["r_mohm"] == {"GND1": None} and event["drift_mohm_per_day"] is None
        # The state topic may not have arrived yet: "not yet" must keep waiting, not fail.
        assert wait_for(lambda: state_of(watch.get(base + "/state")) == "warn", 5)
        state = strict(watch.get(base + "/state"))
        assert state["session"] is None and state["dropped_lines"] is None
    publisher.close()
