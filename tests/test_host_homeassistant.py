"""``monitor --mqtt URL --ha-discovery``: Home Assistant MQTT discovery, checked on a real
Mosquitto against the fields Home Assistant's MQTT discovery documents, with every
value_template read against the state payloads the monitor really publishes."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import pytest
from dockfw import protocol
from dockfw.protocol import Fixed, Obj
from host_fakedock import FakeDock, wait_for
from mqtt_broker import Broker, Watcher
from pogodock.exporters import homeassistant as ha
from pogodock.exporters.homeassistant import DEFAULT_PREFIX
from pogodock.exporters.mqtt import MqttPublisher, MqttTarget
from pogodock.link.reader import Reader
from support.cli import start_cli
from support.procs import interrupt

# Home Assistant's MQTT sensor: the keys it documents (abbreviations aside) that we use.
SENSOR_KEYS = {
    "name", "unique_id", "state_topic", "value_template", "unit_of_measurement",
    "device_class", "state_class", "availability_topic", "payload_available",
    "payload_not_available", "device", "origin", "options", "suggested_display_precision",
}  # fmt: skip
REQUIRED = {"name", "unique_id", "state_topic", "value_template", "availability_topic", "device"}
DEVICE_KEYS = {"identifiers", "name", "model", "manufacturer", "sw_version"}
# Units Home Assistant accepts for each sensor device class used here.
CLASS_UNITS = {
    "current": {"A", "mA"},
    "temperature": {"°C", "°F", "K"},
    "duration": {"d", "h", "min", "s", "ms"},
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
TEMPLATE = re.compile(r"\{\{ value_json\.(\w+) \}\}")
TOPIC = re.compile(r"(.+)/sensor/([A-Za-z0-9_-]+)/([A-Za-z0-9_-]+)/config")
MEASURES = {"resistance", "current", "state", "days_to_clean"}


def health(dock: FakeDock) -> None:
    pin = Obj(
        [
            ("state", "warn"),
            ("score", 70),
            ("r_mohm", Fixed(41500, 3)),
            ("r_baseline_mohm", Fixed(35000, 3)),
            ("drift_mohm_per_day", Fixed(1500, 3)),
            ("days_to_clean", 9),
            ("intermittent_count", 0),
            ("cycles", 1234),
        ]
    )
    dock.emit(
        protocol.HEALTH,
        [
            ("charging", True),
            ("docked", True),
            ("state", "warn"),
            ("temp_c", Fixed(315, 1)),
            ("pins", Obj([(p, pin) for p in dock.pins])),
        ],
    )


def configs(watch: Watcher, prefix: str) -> dict[str, dict[str, Any]]:
    found = {}
    for topic in watch.topics():
        if topic.startswith(prefix + "/"):
            found[topic] = json.loads(watch.get(topic) or b"")
    return found


@pytest.mark.parametrize("prefix", [None, "site/ha"])
def test_each_dock_is_a_device_with_sensors_home_assistant_can_read(dock, broker, prefix):
    want_prefix = prefix or DEFAULT_PREFIX
    flag = ["--ha-discovery"] + ([prefix] if prefix else [])
    watch = Watcher(broker)
    mon = start_cli("monitor", "--port", str(dock.link), "--headless", "--mqtt", broker.url, *flag)
    try:
        base = "pogodock/%s" % dock.uid
        assert wait_for(lambda: watch.get(base + "/status") == b"online", 15), watch.topics()
        dock.sample(r_mohm=41.5, i_ma=1500.0)
        health(dock)
        assert wait_for(lambda: watch.get(base + "/pin/GND1") is not None, 5)
        assert wait_for(lambda: watch.get(base + "/state") is not None, 5)
        found = configs(watch, want_prefix)
        assert len(found) == 4 * len(dock.pins) + 2, sorted(found)

        objects = set()
        for topic, cfg in found.items():
            m = TOPIC.fullmatch(topic)
            assert m and m.group(1) == want_prefix and m.group(2) == "pogodock_" + dock.uid, topic
            objects.add(m.group(3))
            assert REQUIRED <= set(cfg) <= SENSOR_KEYS, (topic, sorted(cfg))
            assert cfg["unique_id"] == "%s_%s" % (m.group(2), m.group(3))
            device = cfg["device"]
            assert set(device) == DEVICE_KEYS
            assert device["identifiers"] == ["pogodock_" + dock.uid]
            assert (device["model"], device["sw_version"]) == ("fake-board", "fake")
            assert device["name"] == "pogodock " + dock.uid and device["manufacturer"]
            assert cfg["availability_topic"] == base + "/status"
            assert watch.get(base + "/status") == cfg["payload_available"].encode()

            # The template picks a key of the payload the monitor publishes on that topic.
            t = TEMPLATE.fullmatch(cfg["value_template"])
            assert t, cfg["value_template"]
            state = json.loads(watch.get(cfg["state_topic"]) or b"null")
            assert isinstance(state, dict) and t.group(1) in state, (cfg["state_topic"], state)
            value = state[t.group(1)]

            device_class = cfg.get("device_class")
            if device_class == "enum":
                assert "unit_of_measurement" not in cfg and "state_class" not in cfg
                assert value in cfg["options"], (topic, value)
            else:
                assert isinstance(value, (int, float)), (topic, value)
                assert cfg["state_class"] in STATE_CLASSES
                unit = cfg["unit_of_measurement"]
                assert device_class is None or unit in CLASS_UNITS[device_class], cfg
        want = {"%s_%s" % (p, m) for p in dock.pins for m in MEASURES}
        assert objects == want | {"dock_state", "dock_temperature"}
        gnd1 = found["%s/sensor/pogodock_%s/GND1_resistance/config" % (want_prefix, dock.uid)]
        assert gnd1["unit_of_measurement"] == "mΩ" and gnd1["state_topic"] == base + "/pin/GND1"
        assert json.loads(watch.get(base + "/pin/GND1") or b"")["r_mohm"] == 41.5
    finally:
        interrupt(mon, timeout=10)
        _out, err = mon.communicate()
        watch.close()
    assert "Traceback" not in err, err
    # Gone: Home Assistant shows the sensors unavailable.
    late = Watcher(broker)
    try:
        assert wait_for(lambda: late.get(base + "/status") == b"offline", 5)
        assert late.get(base + "/status") == gnd1["payload_not_available"].encode()
        # A Home Assistant that starts later still finds every config: retained.
        assert wait_for(lambda: configs(late, want_prefix) == found, 5)
        assert all(late.retained[t] for t in found)
    finally:
        late.close()


def test_discovery_is_off_unless_asked(dock, broker):
    watch = Watcher(broker)
    mon = start_cli("monitor", "--port", str(dock.link), "--headless", "--mqtt", broker.url)
    try:
        assert wait_for(lambda: watch.get("pogodock/%s/status" % dock.uid) == b"online", 15)
        health(dock)
        assert wait_for(lambda: watch.get("pogodock/%s/state" % dock.uid) is not None, 5)
        assert all(t.startswith("pogodock/") for t in watch.topics()), watch.topics()
    finally:
        interrupt(mon, timeout=10)
        mon.communicate()
        watch.close()


@pytest.mark.parametrize(
    "args, said",
    [
        (["--ha-discovery"], "--ha-discovery needs --mqtt URL"),
        (["--mqtt", "mqtt://127.0.0.1:1", "--ha-discovery", "a/+"], "--ha-discovery wants"),
        (["--mqtt", "mqtt://127.0.0.1:1", "--ha-discovery", "/"], "--ha-discovery wants"),
    ],
)
def test_a_bad_discovery_flag_is_one_sentence(args, said):
    proc = start_cli("monitor", "--port", "/dev/null", "--headless", *args)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.startswith("pogodock monitor: " + said) and err.count("\n") == 1, err


def discovery_publisher(broker: Broker) -> MqttPublisher:
    return MqttPublisher(
        MqttTarget(broker.url), discovery=functools.partial(ha.configs, prefix=DEFAULT_PREFIX)
    )


def devices(watch: Watcher) -> set[str]:
    return {c["device"]["identifiers"][0] for c in configs(watch, DEFAULT_PREFIX).values()}


def test_another_dock_on_the_port_is_another_device(dock, broker):
    watch = Watcher(broker)
    publisher = discovery_publisher(broker)
    try:
        with Reader(str(dock.link), confirm_timeout=1.0, max_backoff=0.1) as reader:
            reader.subscribe(publisher)
            reader.start()
            first = dock.uid
            assert wait_for(lambda: devices(watch) == {"pogodock_" + first}, 5), watch.topics()
            dock.uid = "fedcba9876543210"
            dock.reboot("0000b002")
            both = {"pogodock_" + first, "pogodock_fedcba9876543210"}
            assert wait_for(lambda: devices(watch) == both, 5), watch.topics()
            # The first dock's sensors go unavailable; the second's are available.
            assert watch.get("pogodock/%s/status" % first) == b"offline"
            assert wait_for(lambda: watch.get("pogodock/fedcba9876543210/status") == b"online", 5)
    finally:
        publisher.close()
        watch.close()


def test_a_broker_restarted_without_persistence_gets_the_configs_again(tmp_path, dock):
    broker = Broker(tmp_path).start()
    publisher = discovery_publisher(broker)
    watch = Watcher(broker)
    try:
        with Reader(str(dock.link), confirm_timeout=1.0, max_backoff=0.1) as reader:
            reader.subscribe(publisher)
            reader.start()
            assert wait_for(lambda: len(configs(watch, DEFAULT_PREFIX)) == 10, 5)
            before = configs(watch, DEFAULT_PREFIX)
            watch.close()
            broker.stop()  # forgets every retained config
            assert wait_for(lambda: not publisher.connected.is_set(), 5)
            broker.start()
            watch = Watcher(broker)
            assert wait_for(lambda: configs(watch, DEFAULT_PREFIX) == before, 15)
    finally:
        publisher.close()
        watch.close()
        broker.stop()


def test_every_pin_sensor_reads_a_field_mqtt_publishes_in_the_unit_the_dock_sends():
    """A sensor on a key the per-pin payload lacks would read unknown forever."""
    from pogodock import pinfields

    published = {f.key: f for f in pinfields.PUBLISHED}
    for _obj, _name, key, unit, _cls, _extra in ha.PIN_SENSORS:
        assert key in published, key
        # Home Assistant spells days "d"; every other unit is the protocol's own.
        if unit is not None and published[key].unit != "days":
            assert unit == published[key].unit, (key, unit)
