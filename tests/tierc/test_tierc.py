"""Tier C: the flashed firmware on the official rp2 port (MicroPython v1.28.0, RPI_PICO) in
the emulated RP2040, its bus answered by the simulated dock; scenarios played there.

Each test boots ``make flash``'s image from littlefs (its ``hello`` says ``main.py`` ran),
plays a few emulated seconds of one fault and checks what the firmware reported and what
the emulator saw on the charge-enable pin. Without ``POGODOCK_RP2_IMAGE`` and
``POGODOCK_RP2_BOOTROM`` they fail with the sentence saying where the files come from.
"""

import json
import sys
from pathlib import Path

import pytest
from dockfw import protocol
from dockfw.app import FIRMWARE_VERSION

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import rp2board  # noqa: E402

WALL_S = 600  # the emulator runs at 0.15x to 0.4x real time on a busy 2-core machine


def play(name):
    try:
        rp2board.inputs()
    except rp2board.Rp2Error as e:
        pytest.fail(str(e), pytrace=False)
    board = rp2board.Rp2Board(HERE / ("%s.json" % name)).start()
    try:
        assert board.wait(timeout=WALL_S), "the emulator did not finish in %d s" % WALL_S
    finally:
        board.stop()
    assert board.failure() is None, board.failure()
    return board


def stream(board):
    """Every line decoded as protocol v1 (no console text: no traceback), one boot, no
    line lost; the ``hello`` of this firmware first."""
    console = [line for line in board.all_lines if not line.startswith(b"{")]
    assert not console, console
    records = [protocol.decode(line) for line in board.all_lines]
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert len({r["boot"] for r in records}) == 1
    assert records[0]["type"] == "hello" and records[0]["fw"] == FIRMWARE_VERSION
    assert records[0]["reset_cause"] == "power_on"
    assert any(r["type"] == "sample" and r["docked"] and r["charging"] for r in records)
    return records


def alarms(records):
    return [r for r in records if r["type"] == "event" and r["severity"] in ("warn", "fault")]


def test_a_crooked_device_is_reported_on_its_pins_and_side():
    board = play("misalign")
    records = stream(board)
    found = alarms(records)
    assert [(e["kind"], sorted(e["pins"]), e["side"]) for e in found] == [
        ("misalignment", ["GND2", "VBUS2"], "right")
    ]
    # Raised for the +400 mΩ: the event's resistances are the raised ones.
    assert all(r > 300 for r in found[0]["r_mohm"])
    assert board.dock.charging  # a tilt warns, it does not cut


def test_a_chattering_contact_is_reported_as_intermittent_on_that_pin():
    board = play("intermittent")
    records = stream(board)
    found = alarms(records)
    assert found and all(e["kind"] == "intermittent" for e in found), found
    assert {tuple(e["pins"]) for e in found} == {("VBUS1",)}
    assert found[0]["count"] >= 3


def test_an_overload_cuts_charging_on_the_pin_and_says_so():
    board = play("overload")
    records = stream(board)
    onset_ms = json.loads((HERE / "overload.json").read_text())["events"][1]["t"] * 1000
    # The emulator's view: the charge-enable pin was high at the onset and went low
    # while the overload lasted, once.
    (cut,) = board.dock.cuts()
    assert cut["charging"] and cut["cut_ms"] is not None, cut
    assert [on for _, on in board.dock.rail] == [False, True, False]
    assert board.dock.rail[-1][0] >= onset_ms * 1000
    # The firmware's view: an overcurrent fault, then charging off for it.
    found = alarms(records)
    kinds = [e["kind"] for e in found]
    assert kinds[:2] == ["overcurrent", "charge_off"], kinds
    assert found[0]["total_ma"] > found[0]["max_total_ma"]
    assert found[1]["reason"] == "overcurrent"
    last = [r for r in records if r["type"] == "sample"][-1]
    assert last["charging"] is False


def test_without_the_image_or_boot_rom_tier_c_says_which_variable_and_where(monkeypatch):
    monkeypatch.delenv(rp2board.IMAGE_VAR, raising=False)
    with pytest.raises(rp2board.Rp2Error, match=r"POGODOCK_RP2_IMAGE is not set.*micropython\.org"):
        rp2board.inputs()
    monkeypatch.setenv(rp2board.IMAGE_VAR, str(HERE / "overload.json"))  # any file
    monkeypatch.delenv(rp2board.BOOTROM_VAR, raising=False)
    with pytest.raises(rp2board.Rp2Error, match=r"POGODOCK_RP2_BOOTROM is not set.*pico-bootrom"):
        rp2board.inputs()
    monkeypatch.setenv(rp2board.BOOTROM_VAR, "/nonexistent/bootrom.bin")
    with pytest.raises(rp2board.Rp2Error, match="is not a file"):
        rp2board.inputs()
