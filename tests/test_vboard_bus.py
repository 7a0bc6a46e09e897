"""The I2C bus recovery of ``dockfw.rp2040`` on the virtual board: the firmware's own
open-drain pin work (SCL clocked, SDA read, a STOP) reaching the simulated lines.

Only GPIO edges free a stuck slave on the vboard (a transaction on a held bus just
times out), and only an SDA read through ``machine.Pin`` tells a short from it, so
what the dock reports here is what ``RP2040.recover_bus`` did. (What protection does
meanwhile is tests/test_monitor_faults.py's business, in simulated time.)
"""

from __future__ import annotations

import json
import shutil
import time

import serial
from dockfw import protocol
from support.vboards import scenario, vboard

STUCK_AT = 1.0
SHORT = (2.0, 3.0)


def _bus_events(seen: list[dict]) -> list[dict]:
    return [e for e in seen if e["kind"] in ("sensor_fault", "cleared") and e["monitor"] is None]


def _short_over(seen: list[dict]) -> bool:
    bus = _bus_events(seen)
    held = [i for i, e in enumerate(bus) if e.get("mode") == "bus held low"]
    return bool(held) and any(e["kind"] == "cleared" for e in bus[held[0] :])


def test_the_firmware_clocks_a_stuck_slave_free_and_waits_out_a_short(tmp_path, firmware_image):
    flash = tmp_path / "flash"
    shutil.copytree(firmware_image, flash)
    events = [
        {"t": 0.3, "type": "dock"},
        {"t": STUCK_AT, "type": "bus_fault", "mode": "stuck_slave", "pulses": 7},
        {"t": SHORT[0], "type": "bus_fault", "mode": "short", "until": SHORT[1]},
    ]
    seen: list[dict] = []
    with vboard(scenario(tmp_path, events=events), flash) as port:
        ser = serial.Serial(port, timeout=0.05)  # the firmware talks only to an open port
        try:
            buf = b""
            end = time.monotonic() + 30
            while time.monotonic() < end and not _short_over(seen):
                buf += ser.read(4096)
                *lines, buf = buf.split(b"\n")
                seen += [
                    rec
                    for rec in (protocol.decode(x) for x in lines if x.startswith(b"{"))
                    if rec["type"] == "event"
                ]
        finally:
            ser.close()
    said = json.dumps(seen)
    bus = _bus_events(seen)
    # The stuck slave: its seven clocks are within the recovery's nine, so the first try
    # frees it, and the monitors answer again. Which transaction meets it first decides
    # how that is told: a sampling read leaves the recovery to the next check round,
    # before protection looks (one warning, restored); a housekeeping read is met by
    # that round's protection first (a fault at no tries, cleared after the one try).
    stuck = bus[0]
    assert stuck["kind"] == "sensor_fault" and stuck["mode"] == "bus timeout", said
    if stuck.get("restored"):
        assert stuck["tries"] == 1 and stuck["severity"] == "warn", said
        rest = bus[1:]
    else:
        assert stuck["tries"] == 0 and stuck["severity"] == "fault", said
        freed = bus[1]
        assert freed["kind"] == "cleared" and freed["tries"] == 1, said
        assert freed["t_ms"] < SHORT[0] * 1000, said
        rest = bus[2:]
    # The short: nine clocks leave SDA low (read back through machine.Pin); the tries go
    # on, backing off, until it is gone.
    held, cleared = rest[0], rest[-1]
    assert held["kind"] == "sensor_fault" and held["severity"] == "fault", said
    assert any(e["kind"] == "sensor_fault" and e["mode"] == "bus held low" for e in bus), said
    assert cleared["kind"] == "cleared" and cleared["tries"] > 1, said
    assert cleared["t_ms"] - held["t_ms"] >= (SHORT[1] - SHORT[0]) * 1000 - 300, said
