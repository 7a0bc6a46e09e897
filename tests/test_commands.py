"""Host commands against the real firmware on the simulated dock: every one is answered."""

import itertools
import json

import pytest
from host_fakedock import wait_for
from pogodock.link.reader import Reader
from pogodock.records import Ack, Error
from simrig import load_scenario
from support.cmdrig import cmd, run_with


def answers(run):
    return {
        rec["id"]: rec
        for rec in run.lines
        if rec["type"] in ("ack", "error") and rec.get("id") is not None
    }


def test_every_command_is_acked_with_its_id_and_does_what_it_says():
    r = run_with(
        [
            cmd(2, cmd="info", id=1),
            cmd(3, cmd="get", id=2),
            cmd(4, cmd="set", id=3, key="report_hz", value=2),
            cmd(8, cmd="get", id=4, key="report_hz"),
            cmd(10, cmd="charge", id=5, on=False),
            cmd(12, cmd="charge", id=6, on=True),
            cmd(14, cmd="cleaned", id=7, pins=["GND1"]),
            cmd(16, cmd="clear", id=8),
        ],
        duration_s=20,
    )
    a = answers(r)
    assert all(a[i]["type"] == "ack" for i in range(1, 9)), a
    assert [x["type"] for x in r.lines].count("hello") == 2  # boot, and the answer to info
    config = a[2]["config"]
    assert set(config) == {
        "sample_hz",
        "idle_hz",
        "report_hz",
        "min_current_ma",
        "max_total_ma",
        "contact_mw_limit",
        "temp_limit_c",
    }
    assert config["report_hz"] == 5 and a[4]["config"] == {"report_hz": 2}

    # Two sample lines a second after the set, five before.
    def per_s(t0):
        return sum(1 for x in r.lines if x["type"] == "sample" and t0 <= x["t_ms"] < t0 + 1000)

    assert per_s(1000) == 5 and per_s(6000) == 2
    assert a[5]["charging"] is False and a[6]["charging"] is True
    offs = [x for x in r.lines if x["type"] == "event" and x["kind"] in ("charge_off", "charge_on")]
    assert [(x["kind"], x["reason"]) for x in offs] == [
        ("charge_off", "host"),
        ("charge_on", "host"),
    ]
    # While charging was off no current flowed.
    off = [x for x in r.lines if x["type"] == "sample" and 10_600 <= x["t_ms"] <= 11_800]
    assert off and all(not x["charging"] and abs(x["pins"]["VBUS1"]["i_ma"]) < 10 for x in off)


def test_set_sample_hz_chooses_the_monitors_averaging_again():
    from dockfw.ina219 import choose_sadc

    r = run_with([cmd(8, cmd="set", id=1, key="sample_hz", value=40)], duration_s=14)
    assert answers(r)[1]["type"] == "ack"
    fast, slow = choose_sadc(1_000_000 // 200), choose_sadc(1_000_000 // 40)
    assert slow[1] > fast[1]  # 40 Hz leaves time to average more samples per reading
    # The supply pins' monitors are read twice a period (protection's half reads).
    halves = choose_sadc(1_000_000 // 40, 2)
    assert fast[1] < halves[1] < slow[1]
    for k, chip in enumerate(r.app.sampler.chips):
        split = k < len(r.app.board.pins) and r.app.board.pins[k].role == "supply"
        code, window_us = halves if split else slow
        assert chip.window_us == window_us, k
        # The simulated chip runs with what the driver wrote, not just what it chose.
        assert r.dock.chips[chip.addr].registers()["config"] >> 3 & 15 == code, k
    after = [x for x in r.lines if x["type"] == "sample" and x["t_ms"] > 9000]
    assert after and all(x["cycles"] == 8 for x in after)  # 40 Hz / 5 reports/s
    for x in after:  # docked at 5 s: the reconfiguration loses no pin
        assert all(0 < x["pins"][p]["r_mohm"] < 60 for p in x["pins"]), x
    assert not [x for x in r.lines if x["type"] == "event" and x["severity"] != "info"]


@pytest.mark.parametrize(
    "line, code",
    [
        (b"hello dock", "bad_json"),
        (b"[1, 2]", "bad_command"),
        (b'{"id": 3}', "bad_command"),
        (b'{"cmd": "selfdestruct", "id": 3}', "unknown_command"),
        (b'{"cmd": "set", "id": 3, "key": "max_total_ma", "value": 0}', "bad_value"),
        (b'{"cmd": "set", "id": 3, "key": "max_total_ma", "value": 9000}', "bad_value"),
        (b'{"cmd": "set", "id": 3, "key": "temp_limit_c", "value": "hot"}', "bad_value"),
        (b'{"cmd": "set", "id": 3, "key": "volume", "value": 11}', "bad_value"),
        (b'{"cmd": "charge", "id": 3, "on": "yes"}', "bad_value"),
        (b'{"cmd": "cleaned", "id": 3, "pins": ["VBUS9"]}', "bad_value"),
        (b'{"cmd": "info", "id": 3, "pad": "' + b"x" * 300 + b'"}', "too_long"),
    ],
)
def test_bad_commands_get_an_error_and_change_nothing(line, code):
    r = run_with([(2, line)], duration_s=4)
    errors = [x for x in r.lines if x["type"] == "error"]
    assert len(errors) == 1 and errors[0]["code"] == code, errors
    assert errors[0]["message"]
    assert r.app.protection.max_total_ma == 3000 and r.app.charging
    samples = [x for x in r.lines if x["type"] == "sample" and x["t_ms"] > 2500]
    assert samples  # and sampling went on


def test_charge_on_is_refused_while_protection_holds_it_off():
    r = run_with(
        [cmd(7, cmd="charge", id=1, on=True)],
        "faults",
        duration_s=9,
        events=[{"t": 5, "type": "dock"}, {"t": 6, "type": "heat", "temp_c": 85}],
    )
    a = answers(r)
    assert a[1]["type"] == "error" and a[1]["code"] == "unsafe"
    assert not r.app.charging


def test_reboot_restarts_the_firmware_with_a_new_boot_id():
    r = run_with([cmd(6, cmd="reboot", id=9)], duration_s=10)
    boots = []
    for x in r.lines:
        if not boots or boots[-1][0] != x["boot"]:
            boots.append((x["boot"], x["seq"], x["type"]))
    assert len(boots) == 2
    assert boots[1][1:] == (0, "hello")  # seq restarts, hello first
    ack = next(x for x in r.lines if x["type"] == "ack")
    assert ack["id"] == 9 and ack["boot"] == boots[0][0]
    assert r.lines[-1]["t_ms"] < 5000  # uptime restarted with the firmware


def test_a_host_that_does_not_read_costs_lines_not_samples():
    from docksim.dock import SimDock

    scn = load_scenario("misalign", duration_s=12)
    taken = []
    state = {"open": True}

    def link(view):
        if not state["open"]:
            return 0  # the USB buffer is full: nothing taken
        taken.append(bytes(view))
        return len(view)

    dock = SimDock(scn, link)
    from dockfw.app import App

    app = App(dock, sample_hz=scn.sample_hz)
    app.start()
    while dock.clock.now_us < 4_000_000:
        app.step()
        dock.wait_us(5000)
    state["open"] = False
    cycles_before = app.sampler.cycles
    steps = 0
    in_step_us = 0
    while dock.clock.now_us < 8_000_000:
        t0 = dock.clock.now_us
        app.step()
        in_step_us += dock.clock.now_us - t0
        steps += 1
        dock.wait_us(5000)
    # Every step sampled, and a step took no longer than its I2C wire time: the
    # firmware never waited for the link.
    assert app.sampler.cycles - cycles_before == steps
    assert in_step_us / steps < 700
    assert app.out.dropped > 0
    state["open"] = True
    while dock.clock.now_us < 10_000_000:
        app.step()
        dock.wait_us(5000)
    lines = [json.loads(x) for x in b"".join(taken).splitlines()]
    seqs = [x["seq"] for x in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    gaps = sum(b - a - 1 for a, b in itertools.pairwise(seqs))
    assert gaps == app.out.dropped  # every dropped line is a seq gap the host can see
    health = [x for x in lines if x["type"] == "health"]
    assert health[-1]["dropped_lines"] == app.out.dropped


def test_the_reader_gets_acks_errors_and_sees_the_reboot_over_a_pty(sim_pty):
    _, path = sim_pty
    with Reader(path, confirm_timeout=3.0) as r:
        r.start()
        assert wait_for(lambda: r.confirmed, 5)
        ack = r.request("set", key="report_hz", value=10, timeout=3)
        assert isinstance(ack, Ack)
        err = r.request("set", key="report_hz", value=1000, timeout=3)
        assert isinstance(err, Error) and err.code == "bad_value"
        boot = r.hello.boot if r.hello else None
        assert isinstance(r.request("reboot", timeout=3), Ack)
        assert wait_for(lambda: r.reboots == 1, 5)
        assert wait_for(lambda: r.hello is not None and r.hello.boot != boot, 5)
