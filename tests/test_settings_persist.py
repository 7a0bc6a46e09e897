"""Limits a host set survive a reboot; a kept value the firmware refuses keeps its default
and is said. (The issue found max_total_ma and contact_mw_limit back at their defaults
after every reboot.)"""

from __future__ import annotations

import json

from dockfw import settings
from simrig import Run
from support.cmdlink import Link
from support.cmdrig import answer_lines as answers
from support.cmdrig import dock_scenario, run_host
from support.vboards import flashed, scenario, vboard

SET = [
    (2.0, b'{"id":1,"cmd":"set","key":"max_total_ma","value":2000}\n'),
    (2.1, b'{"id":2,"cmd":"set","key":"contact_mw_limit","value":200}\n'),
    (2.2, b'{"id":3,"cmd":"set","key":"report_hz","value":2.5}\n'),
    (2.3, b'{"id":4,"cmd":"set","key":"max_total_ma","value":99999}\n'),  # refused
]
GET = [(1.0, b'{"id":"g","cmd":"get"}\n')]


def config_after_boot(store_files) -> tuple[dict, list]:
    r = run_host_with_store(store_files)
    [got] = [a for a in answers(r) if a["id"] == "g"]
    storage = [e for e in r.of_type("event") if e["kind"] == "storage"]
    return got["config"], storage


def run_host_with_store(store_files):
    from mp.lineinbox import LineInbox

    def inbox_for(dock):
        inbox = LineInbox(dock.clock)
        for t, data in GET:
            inbox.send(t, data)
        return inbox

    return Run(dock_scenario(3), inbox_for=inbox_for, store_files=store_files)


def leaving_at(t, duration):
    """A device docked at 1 s that leaves at ``t``."""
    return dock_scenario(
        duration, events=[{"t": t, "type": "undock"}], load=[[0, 0], [1, 1500], [t, 0]]
    )


def saves(run) -> list:
    return [e for e in run.of_type("event") if e["kind"] == "state_saved"]


def test_host_set_limits_come_back_after_a_reboot():
    first = run_host(leaving_at(3, 4), SET)  # set while docked: saved as the device leaves
    assert [a.get("code") for a in answers(first)] == [None, None, None, "bad_value"]
    kept = first.dock.store.load(settings.STATE, settings.STATE_VERSION)
    assert kept["values"] == {"max_total_ma": 2000, "contact_mw_limit": 200, "report_hz": 2.5}
    config, storage = config_after_boot({settings.STATE: kept})
    assert config["max_total_ma"] == 2000 and config["contact_mw_limit"] == 200
    assert config["report_hz"] == 2.5 and not storage


def test_a_kept_value_out_of_bounds_keeps_its_default_and_is_said():
    text = json.dumps({"version": 1, "values": {"max_total_ma": 1e9, "contact_mw_limit": 180,
                                                "no_such": 1}})  # fmt: skip
    config, storage = config_after_boot({settings.STATE: text})
    assert config["contact_mw_limit"] == 180  # the good one applies
    assert config["max_total_ma"] == run_defaults()["max_total_ma"]
    reasons = sorted(e["reason"].split(":")[0] for e in storage)
    assert reasons == ["max_total_ma", "no_such"] and all(e["file"] == "settings" for e in storage)


def run_defaults() -> dict:
    config, _ = config_after_boot({})
    return config


def test_on_the_virtual_board_a_set_limit_survives_a_reboot_command(tmp_path, firmware_image):
    with vboard(scenario(tmp_path), flashed(tmp_path, firmware_image)) as port:
        link = Link(port)
        try:
            ack = link.request(b'{"cmd":"set","key":"max_total_ma","value":1800,"id":"s"}', "s")
            assert ack["type"] == "ack", ack
            link.request(b'{"cmd":"reboot","id":"r"}', "r")
            assert link.wait(
                lambda: any(r["type"] == "hello" and r["reset_cause"] == "reboot"
                            for _, r in link.snapshot()), 20)  # fmt: skip
            got = link.request(b'{"cmd":"get","key":"max_total_ma","id":"g"}', "g", timeout=20)
            assert got["config"] == {"max_total_ma": 1800}, got
        finally:
            link.close()


GET_LIMIT = (2.5, b'{"id":"g","cmd":"get","key":"max_total_ma"}\n')


def test_a_set_while_docked_writes_nothing_until_the_next_save():
    """A flash write stalls the whole chip: with a device docked, a set takes effect at
    once (get answers it) and goes to flash with the App's next save, announced."""
    docked = run_host(dock_scenario(4), [*SET[:1], GET_LIMIT])
    got = {a["id"]: a for a in answers(docked)}
    assert got[1]["config"] == {"max_total_ma": 2000} and got["g"]["config"] == got[1]["config"]
    assert docked.dock.store.load(settings.STATE, settings.STATE_VERSION) is None
    assert not saves(docked)
    left = run_host(leaving_at(3, 4), [*SET[:1], GET_LIMIT])
    [saved] = saves(left)
    ack = {a["id"]: a for a in answers(left)}[1]
    assert saved["why"] == "undocked" and saved["t_ms"] >= 3000 > ack["t_ms"]
    kept = left.dock.store.load(settings.STATE, settings.STATE_VERSION)
    assert kept["values"] == {"max_total_ma": 2000}


def test_a_set_with_no_device_docked_is_written_at_once_and_announced():
    empty = run_host(dock_scenario(3, dock_at=10), SET[:2])
    acks = [a for a in answers(empty) if a["type"] == "ack"]
    events = saves(empty)
    assert [e["why"] for e in events] == ["settings", "settings"]
    # Each right after its ack (the answer goes out first), its stall said.
    assert [e["seq"] for e in events] == [a["seq"] + 1 for a in acks]
    assert all(isinstance(e["stall_ms"], int) and e["stall_ms"] >= 0 for e in events)
    kept = empty.dock.store.load(settings.STATE, settings.STATE_VERSION)
    assert kept["values"] == {"max_total_ma": 2000, "contact_mw_limit": 200}
