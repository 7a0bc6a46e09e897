"""``monitor --mqtt URL --ha-discovery [PREFIX]``: Home Assistant's MQTT discovery.

At each ``hello`` the publisher retains one config per sensor at
``<prefix>/sensor/<node>/<object>/config`` (prefix ``homeassistant`` by default, the
node ``pogodock_<uid>``), so that Home Assistant creates a device per dock with a
sensor per pin and measure, reading the state topics mqtt.py already publishes: no
state is published twice. Every sensor is available while ``<base>/status`` says
``online``. Nothing here subscribes: Home Assistant gets no commands over MQTT.
"""

from __future__ import annotations

import json
from typing import Any

from dockfw.protocol import PIN_STATES

from pogodock import __version__
from pogodock.exporters.mqtt import OFFLINE, ONLINE
from pogodock.records import Hello

DEFAULT_PREFIX = "homeassistant"
MANUFACTURER = "pogodock"
DOCK_STATES = ("ok", "warn", "fault")  # the health line's worst state (open counts as warn)

# (object id, name, key in the state payload, unit, device class, extra config)
# Home Assistant has no device class for resistance: a plain measurement in mOhm.
PIN_SENSORS: tuple[tuple[str, str, str, str | None, str | None, dict[str, Any]], ...] = (
    ("resistance", "resistance", "r_mohm", "mΩ", None, {"suggested_display_precision": 1}),
    ("current", "current", "i_ma", "mA", "current", {"suggested_display_precision": 0}),
    ("state", "state", "state", None, "enum", {"options": list(PIN_STATES)}),
    ("days_to_clean", "days to clean", "days_to_clean", "d", "duration", {}),
)
DOCK_SENSORS: tuple[tuple[str, str, str, str | None, str | None, dict[str, Any]], ...] = (
    ("state", "state", "state", None, "enum", {"options": list(DOCK_STATES)}),
    ("temperature", "temperature", "temp_c", "°C", "temperature", {}),
)


def check_prefix(prefix: str) -> str:
    """The discovery prefix as a topic; ValueError says why it cannot be one."""
    topic = prefix.strip("/")
    if not topic or "+" in topic or "#" in topic:
        raise ValueError(
            "--ha-discovery wants a topic prefix without the wildcards + or # "
            "(default %s), not %r" % (DEFAULT_PREFIX, prefix)
        )
    return topic


def node_id(hello: Hello) -> str:
    """``pogodock_<uid>``: the characters discovery allows in a node id, stable per dock."""
    return "pogodock_" + _safe(hello.uid or "board-" + hello.board)


def configs(hello: Hello, base: str, prefix: str) -> list[tuple[str, bytes]]:
    """(topic, retained payload) for every sensor of the dock that said ``hello``,
    whose state topics sit under ``base``."""
    node = node_id(hello)
    device = {
        "identifiers": [node],
        "name": "pogodock %s" % (hello.uid or hello.board),
        "model": hello.board,
        "manufacturer": MANUFACTURER,
        "sw_version": hello.fw,
    }
    common = {
        "availability_topic": base + "/status",
        "payload_available": ONLINE.decode(),
        "payload_not_available": OFFLINE.decode(),
        "device": device,
        "origin": {"name": "pogodock", "sw_version": __version__},
    }
    pins = [str(p["name"]) for p in hello.pins if isinstance(p, dict) and "name" in p]
    # (object id, name, state topic, spec)
    sensors = [
        (_safe("%s_%s" % (pin, spec[0])), "%s %s" % (pin, spec[1]), "%s/pin/%s" % (base, pin), spec)
        for pin in pins
        for spec in PIN_SENSORS
    ] + [("dock_" + spec[0], "dock " + spec[1], base + "/state", spec) for spec in DOCK_SENSORS]
    out = []
    for obj_id, name, state_topic, (_obj, _name, key, unit, device_class, extra) in sensors:
        body: dict[str, Any] = {
            "name": name,
            "unique_id": "%s_%s" % (node, obj_id),
            "state_topic": state_topic,
            # A null renders as None, which Home Assistant's MQTT sensor takes as unknown.
            "value_template": "{{ value_json.%s }}" % key,
        }
        if unit is not None:
            body["unit_of_measurement"] = unit
            body["state_class"] = "measurement"
        if device_class is not None:
            body["device_class"] = device_class
        body.update(extra)
        body.update(common)
        topic = "%s/sensor/%s/%s/config" % (prefix, node, obj_id)
        out.append((topic, json.dumps(body, separators=(",", ":")).encode()))
    return out


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
