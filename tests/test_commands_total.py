"""Total command handling, in process: every line one answer, nothing escapes, a flood of
commands never starves sampling, and settings never leave their bounds or their rules."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import termios

from dockfw import protocol
from dockfw import settings as S
from dockfw.app import App
from dockfw.commands import _ANSWER_BYTES
from dockfw.drift import Drift
from dockfw.strictjson import JSONError, parse
from docksim.dock import SimDock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mp.hostile import ANY, corpus
from mp.lineinbox import LineInbox
from pogodock.virtual.simrun import FdInbox
from support.cmdrig import answer_lines as answers
from support.cmdrig import dock_scenario, run_host
from support.jsongen import EXAMPLES, commands
from support.strictref import reference

PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def strict_lines(raw):
    """Every line the dock sent, read strictly: ASCII-clean UTF-8 and strict JSON."""
    return [reference(line, command=False) for line in b"".join(raw).splitlines()]


def cycles_between(r, t0_ms, t1_ms):
    return sum(x["cycles"] for x in r.of_type("sample") if t0_ms < x["t_ms"] <= t1_ms)


# -- what the issue found ---------------------------------------------------------------


def test_a_key_that_is_a_list_or_an_object_is_an_error_and_the_dock_carries_on():
    lines = [
        b'{"cmd":"get","id":1,"key":["max_total_ma"]}',
        b'{"cmd":"get","id":2,"key":{"a":1}}',
        b'{"cmd":"set","id":3,"key":["max_total_ma"],"value":2000}',
        b'{"cmd":"set","id":4,"key":{"k":"max_total_ma"},"value":2000}',
        b'{"cmd":"get","id":5,"key":"max_total_ma"}',
    ]
    r = run_host(dock_scenario(6), [(2 + k * 0.1, x + b"\n") for k, x in enumerate(lines)])
    a = answers(r)
    assert [(x["id"], x["type"], x.get("code")) for x in a] == [
        (1, "error", "bad_value"),
        (2, "error", "bad_value"),
        (3, "error", "bad_value"),
        (4, "error", "bad_value"),
        (5, "ack", None),
    ]
    assert a[-1]["config"] == {"max_total_ma": 3000}
    assert cycles_between(r, 3000, 6000) >= 590  # still sampling at 200/s to the end
    assert r.app.charging and r.dock.charging


def test_answers_echo_the_id_they_can_and_are_always_strict_json():
    lines = [
        (b'{"id":5,"cmd":3}', ("error", "bad_command", 5)),
        (b'{"cmd":"info","id":1e400}', ("error", "bad_json", None)),
        (b'{"cmd":"info","id":"\\ud800"}', ("error", "bad_json", None)),
        (b'{"id":"a\\u00e9\xf0\x9f\x98\x80","cmd":"nope"}',
         ("error", "unknown_command", "a\u00e9\U0001f600")),
        (b'{"id":7,"cmd":"set","key":"max_total_ma","value":2000"x":1}', ("error", "bad_json", 7)),
        (b'{"cmd":"info","id":2.5}', ("error", "bad_command", None)),
        (b'{"cmd":"info","id":true}', ("error", "bad_command", None)),
        (b'{"cmd":"info","id":[1]}', ("error", "bad_command", None)),
        (b'{"cmd":"info","id":"x","id":"y"}', ("error", "bad_json", None)),
        (b'{"cmd":"info","id":123456789012345678901234567890}',
         ("ack", None, 123456789012345678901234567890)),
    ]  # fmt: skip
    script = [(2 + k * 0.1, line + b"\n") for k, (line, _) in enumerate(lines)]
    r = run_host(dock_scenario(4), script)
    a = answers(r)
    assert [(x["type"], x.get("code"), x["id"]) for x in a] == [want for _, want in lines]
    assert len(r.of_type("hello")) == 2  # boot, and the one info that was a command
    strict_lines(r.raw)  # every line: strict UTF-8 and strict JSON


def test_lines_too_long_are_refused_whole_never_run_in_part():
    big = 21 * 1024
    harmful = [
        b'{"id":1,"cmd":"set","key":"max_total_ma","value":2000}',
        b'{"id":2,"cmd":"charge","on":false}',
        b'{"id":3,"cmd":"reboot"}',
    ]
    script = [(2 + k * 0.5, x + b" " * (big - len(x)) + b"\n") for k, x in enumerate(harmful)]
    script.append((4, b'{"id":4,"cmd":"get","key":"max_total_ma"}\n'))
    r = run_host(dock_scenario(5), script)
    a = answers(r)
    assert [(x["id"], x.get("code")) for x in a] == [
        (1, "too_long"),
        (2, "too_long"),
        (3, "too_long"),
        (4, None),
    ]
    assert a[-1]["config"] == {"max_total_ma": 3000}
    assert r.app.charging and len({x["boot"] for x in r.lines}) == 1


def test_an_idle_rate_that_leaves_a_device_unchecked_is_refused():
    r = run_host(
        dock_scenario(4),
        [
            (2.0, b'{"id":1,"cmd":"set","key":"idle_hz","value":0.002}\n'),
            (2.1, b'{"id":2,"cmd":"set","key":"sample_hz","value":0.5}\n'),
            (2.2, b'{"id":3,"cmd":"set","key":"idle_hz","value":1}\n'),
        ],
    )
    a = answers(r)
    assert [x.get("code") for x in a] == ["bad_value", "bad_value", None]
    assert "from 1 to 100 Hz" in a[0]["message"]


def test_at_the_slowest_idle_rate_a_docking_overload_is_cut_within_a_second():
    # The dock idles at 1 Hz (the lowest rate allowed); a device drawing 4 A lands at a
    # moment the slow schedule just missed.
    scn = dock_scenario(14, dock_at=6.02, ma=4000)
    r = run_host(scn, [(1, b'{"id":1,"cmd":"set","key":"idle_hz","value":1}\n')])
    assert answers(r)[0]["type"] == "ack"
    cut = [x for x in r.of_type("event") if x["kind"] == "overcurrent"]
    assert cut, "the overload was never cut"
    assert 6020 < cut[0]["t_ms"] <= 6020 + 1000 + 5


def test_a_command_flood_never_starves_sampling_and_an_overload_in_it_is_cut():
    # 6200 gets a second for 7 s, each costing the firmware what one costs an RP2040
    # (COMMAND_COST_US): the old loop took every waiting line at once and stopped sampling.
    flood = [b'{"cmd":"get","id":%d}' % k for k in range(6200 * 7)]
    script = [(3 + k / 6200, line + b"\n") for k, line in enumerate(flood)]
    scn = dock_scenario(12, events=[{"t": 6, "type": "overload", "ma": 4000, "until": 8}])
    r = run_host(scn, script)
    rate = cycles_between(r, 4000, 10000) / 6
    assert rate >= 0.9 * 200, rate  # commands take about 1/16 of the time
    cut = [x for x in r.of_type("event") if x["kind"] == "overcurrent"]
    assert cut and 6000 < cut[0]["t_ms"] < 6000 + 50, cut
    a = answers(r)
    assert len(a) == r.inbox.taken and len(a) >= 6 * 7  # each taken line answered
    assert [x["id"] for x in a] == list(range(len(a)))  # in order, none lost or doubled


def test_commands_wait_in_the_link_while_the_host_does_not_read_and_none_is_lost():
    scn = dock_scenario(10)
    taken = []

    def link(view):
        if 2_500_000 < dock.clock.now_us < 6_000_000:
            return 0  # the host holds the port but does not read
        taken.append(bytes(view))
        return len(view)

    dock = SimDock(scn, link)
    inbox = LineInbox(dock.clock)
    dock.attach_inbox(inbox)
    inbox.send_lines(3, [b'{"cmd":"info","id":%d}' % k for k in range(40)])
    app = App(dock, sample_hz=200)
    app.run()
    lines = [json.loads(x) for x in b"".join(taken).splitlines()]
    acks = [x for x in lines if x["type"] == "ack"]
    assert [x["id"] for x in acks] == list(range(40))  # each answered once, none lost
    assert all(x["t_ms"] >= 6000 for x in acks)  # after the link came back
    assert app.out.dropped > 0  # samples were dropped meanwhile, never an answer


def test_an_exception_inside_a_command_is_answered_then_handled_as_a_firmware_error():
    def broken(self, ctx, pins):
        raise RuntimeError("a bug")

    script = [
        (2.0, b'{"cmd":"cleaned","id":"c1"}\n'),
        (2.5, b'{"cmd":"get","id":"c2","key":"idle_hz"}\n'),
    ]
    original = Drift.cleaned_by_user
    Drift.cleaned_by_user = broken
    try:
        r = run_host(dock_scenario(10), script)
    finally:
        Drift.cleaned_by_user = original
    a = answers(r)
    assert [(x["id"], x.get("code")) for x in a] == [("c1", "internal"), ("c2", None)]
    assert "RuntimeError" in a[0]["message"]
    # Then the App's supervision: charging off at once, said, and back after a quiet spell.
    ev = [(x["kind"], x.get("where"), x.get("reason")) for x in r.of_type("event")]
    assert ("firmware_error", "command/Commands", None) in ev, ev
    assert ("charge_off", None, "firmware error") in ev, ev
    assert ev[-1][0] == "charge_on" and r.app.charging
    assert cycles_between(r, 3000, 10000) >= 0.97 * 200 * 7  # sampling never stopped


def test_an_argument_the_command_does_not_take_is_refused():
    r = run_host(
        dock_scenario(4),
        [
            (2.0, b'{"id":1,"cmd":"cleaned","pin":["GND1"]}\n'),  # "pins" misspelt
            (2.1, b'{"id":2,"cmd":"charge","on":false,"force":true}\n'),
            (2.2, b'{"id":3,"cmd":"cleaned","pins":[]}\n'),
        ],
    )
    assert [(x["id"], x.get("code")) for x in answers(r)] == [
        (1, "bad_value"),
        (2, "bad_value"),
        (3, "bad_value"),
    ]
    assert r.app.charging
    assert not [x for x in r.of_type("event") if x["kind"] in ("cleaned", "charge_off")]


def test_the_hostile_corpus_in_process():
    """The seeded hostile corpus through the whole loop (tier B and the vboard run it too)."""
    n = 1500
    items = list(corpus(5, n, long_max=4000))
    script = [(2 + k * 0.004, line + b"\n") for k, (line, _, _) in enumerate(items)]
    script.append((9, b'{"cmd":"get","id":"end"}\n'))
    # The answers are what is checked here, not their timing (the flood's test and
    # test_sim_fidelity's): lines cost no simulated time, or the corpus would take minutes.
    r = run_host(dock_scenario(10), script, cost_us=0)
    a = answers(r)
    assert len(a) == n + 1
    for (line, codes, cid), ans in zip(items, a, strict=False):
        assert ans["type"] == "error" and ans["code"] in codes, (line, ans)
        assert cid == ANY or ans["id"] == cid, (line, ans)
    first = {"sample_hz": 200, "idle_hz": 5, "report_hz": 5, "min_current_ma": 50}
    assert {k: a[-1]["config"][k] for k in first} == first
    assert a[-1]["config"]["max_total_ma"] == 3000
    assert r.app.charging and len({x["boot"] for x in r.lines}) == 1
    assert cycles_between(r, 2000, 10000) >= 0.97 * 200 * 8
    strict_lines(r.raw)


# -- the HAL line contract in the simulator --------------------------------------------


def test_fdinbox_hands_out_lines_as_the_hal_contract_says():
    rfd, wfd = os.pipe()
    try:
        inbox = FdInbox(rfd)
        assert inbox.read_line() is None
        cap = protocol.MAX_COMMAND_BYTES
        os.write(wfd, b'{"cmd":"info"}\r\n' + b"a" * cap + b"\n" + b"b" * (cap + 1) + b"\n")
        assert inbox.read_line() == b'{"cmd":"info"}\r'
        assert inbox.read_line() == b"a" * cap
        assert inbox.read_line() == b"b" * (cap + 1)
        assert inbox.read_line() is None
        # A line far longer than any buffer, in pieces, then a short one.
        os.write(wfd, b'{"cmd":"set","key":"max_total_ma","value":2000}')
        for _ in range(20):
            os.write(wfd, b" " * 4000)
            assert inbox.read_line() is None
        os.write(wfd, b"\npartial")
        long = inbox.read_line()
        assert long is not None and len(long) == cap + 1 and long.startswith(b'{"cmd":"set"')
        assert inbox.read_line() is None
        os.write(wfd, b" line\n")
        assert inbox.read_line() == b"partial line"
    finally:
        os.close(rfd)
        os.close(wfd)


def test_fdinbox_leaves_what_the_firmware_has_not_taken_in_the_link():
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    sent = 0
    try:
        inbox = FdInbox(rfd)
        line = b'{"cmd":"get","id":1}\n'
        while True:  # fill the pipe as a flooding host fills the terminal
            try:
                sent += os.write(wfd, line * 64)
            except BlockingIOError:
                break
        for _ in range(10):
            assert inbox.read_line() == line[:-1]
        # Held back: the rest waits in the pipe, not in the simulator's memory.
        assert len(inbox.buf) <= FdInbox.CHUNK
        waiting = fcntl.ioctl(rfd, termios.FIONREAD, b"\0\0\0\0")
        assert int.from_bytes(waiting, sys.byteorder) >= sent - FdInbox.CHUNK
    finally:
        os.close(rfd)
        os.close(wfd)
    assert sent > 10 * len(line)


# -- properties -------------------------------------------------------------------------

_state: dict = {}


def _app():
    """One App for every example: state left by earlier examples is part of the test."""
    if "app" not in _state:
        raw: list[bytes] = []
        dock = SimDock(dock_scenario(5), raw.append)
        app = App(dock, sample_hz=200)
        app.start()
        _state.update(app=app, raw=raw)
    return _state["app"], _state["raw"]


@PROPERTY
@given(commands())
def test_every_line_gets_exactly_one_answer_in_strict_json(line):
    app, raw = _app()
    raw.clear()
    app.commands.handle(line[: protocol.MAX_COMMAND_BYTES + 1])
    app.reboot_requested = False
    out = strict_lines(raw)
    assert all(max(x) < 0x80 for x in raw if x)  # ASCII: valid UTF-8 whatever came in
    a = [x for x in out if x["type"] in ("ack", "error")]
    assert len(a) == 1, (line, out)
    answer = a[0]
    sizes = [len(x) for x in b"".join(raw).splitlines(keepends=True)]
    assert sizes[-1] <= _ANSWER_BYTES
    try:
        cmd = parse(line) if len(line) <= protocol.MAX_COMMAND_BYTES else None
    except JSONError as e:
        cid = e.cid if type(e.cid) in (str, int) else None
        assert answer["type"] == "error" and answer["code"] == "bad_json"
        assert answer["id"] == cid
        return
    if isinstance(cmd, dict) and type(cmd.get("id")) in (str, int):
        assert answer["id"] == cmd["id"]
    elif cmd is not None:
        assert answer["id"] is None
    # Settings stay within their bounds and rules, whatever the line did.
    for key, (lo, hi, _unit) in protocol.SETTINGS.items():
        assert lo <= S.stored(app, key) / (1000 if key.endswith("_hz") else 1) <= hi
    assert S.broken_rule(app, {}) is None


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*sorted(protocol.SETTINGS), "bogus"]),
            st.integers(-5, 30000)
            | st.floats(-5, 30000)
            | st.floats(allow_nan=True, allow_infinity=True)
            | st.booleans()
            | st.none()
            | st.text(max_size=3),
        ),
        max_size=4,
    ),
    st.booleans(),
)
def test_settings_never_leave_their_bounds_or_their_rule(changes, together):
    app, _ = _app()
    before = S.values(app)
    if together:
        refused = S.apply(app, dict(changes))
        assert {k for k, _ in refused} <= {k for k, _ in changes}
        assert all(isinstance(why, str) and why for _, why in refused)
    else:
        for key, value in changes:
            v, why = S.check(app, key, value)
            kept = S.values(app)
            result = S.put(app, key, value)
            if why is not None:
                assert result == why and S.values(app) == kept
            elif result is not None:  # refused by the rule: nothing changed
                assert "must not exceed" in result and S.values(app) == kept
    for key, (lo, hi, _unit) in S.SETTINGS.items():
        hi = min(hi, app.board.max_total_ma) if key == "max_total_ma" else hi
        v = S.values(app)[key]
        assert lo <= v <= hi and type(v) in (int, float)
    assert S.broken_rule(app, {}) is None
    # What values() gives, apply() takes back whole.
    now = S.values(app)
    assert S.apply(app, now) == [] and S.values(app) == now
    S.apply(app, before)


def test_settings_resolution_whole_numbers_and_the_rule():
    app, _ = _app()
    keep = S.values(app)
    try:
        assert S.put(app, "idle_hz", 2.0004) is None and S.values(app)["idle_hz"] == 2
        assert S.put(app, "report_hz", 0.25) is None
        assert S.values(app)["report_hz"] == 0.25
        assert "whole number" in S.put(app, "max_total_ma", 2000.5)
        assert S.put(app, "max_total_ma", 2000.0) is None and S.values(app)["max_total_ma"] == 2000
        assert "from 100 to 3000 mA" in S.put(app, "max_total_ma", 3001)  # the board's limit
        assert "must not exceed" in S.put(app, "min_current_ma", 300)  # contact limit 250
        assert S.put(app, "contact_mw_limit", 400) is None
        assert S.put(app, "min_current_ma", 300) is None
        assert "must not exceed" in S.put(app, "contact_mw_limit", 200)
        assert S.put(app, "temp_limit_c", 60) is None and app.protection.temp_limit_mc == 60000
        refused = S.apply(
            app, {"idle_hz": 0.5, "bogus": 1, "contact_mw_limit": 100, "sample_hz": 100}
        )
        assert sorted(k for k, _ in refused) == ["bogus", "contact_mw_limit", "idle_hz"]
        assert S.values(app)["sample_hz"] == 100 and app.sample_millihz == 100000
        assert S.apply(app, [1, 2]) == [(None, "settings must be an object")]
    finally:
        S.apply(app, {"min_current_ma": 10})
        assert S.apply(app, keep) == []


def test_the_largest_answers_fit_the_bound_the_output_queue_reserves():
    app, raw = _app()
    # The id as long as the line allows, in 4-byte characters: 12 bytes each once escaped.
    templates = (
        b'{"id":"%s","cmd":"nope%s"}' % (b"%s", b"x" * 10),
        b'{"id":"%s","cmd":"set","key":"kkkkkkkkkkkkkkkkkkkk","value":1}',
        b'{"id":"%s","cmd":"get"}',
        b'{"id":"%s","cmd":"info","zzzzzzzzzzzzzzzzzzzz":1}',
        b'{"id":"%s","cmd":"info"}',
    )
    for template in templates:
        fill = (protocol.MAX_COMMAND_BYTES - len(template) + 2) // 4
        line = template % ("\U0001f600" * fill).encode()
        assert len(line) <= protocol.MAX_COMMAND_BYTES
        raw.clear()
        app.commands.handle(line)
        assert len(raw[-1]) <= _ANSWER_BYTES, (line, raw[-1])
        assert sum(len(x) for x in raw) <= app.commands.answer_room


def test_a_board_file_sets_what_a_host_could_set_and_nothing_beyond():
    from dockfw import board
    from dockfw.protection import CONTACT_MW_LIMIT

    for key in ("sample_hz", "idle_hz", "report_hz", "max_total_ma"):
        assert board._TOP[key][2] == protocol.SETTINGS[key][:2], key
    lo, hi = board._TOP["min_current_ma"][2]
    assert lo == protocol.SETTINGS["min_current_ma"][0]
    assert hi == CONTACT_MW_LIMIT * 1000 // protocol.UNSEEN_DROP_MV  # the settings' rule


def test_a_host_quiet_for_longer_than_ticks_diff_can_measure_still_gets_its_burst():
    """The command credit's stamp is refreshed at every check step: a first burst 2**30 µs
    (about 18 minutes) after boot gets the full credit, not what a wrapped ticks_diff
    of the stale stamp would give (30 ms, a sixteenth of it)."""
    burst_s = 2**30 / 1e6 + 0.03
    scn = dock_scenario(burst_s + 2)
    raw = []
    dock = SimDock(scn, raw.append)
    inbox = LineInbox(dock.clock)
    inbox.send_lines(burst_s, [b'{"cmd":"get","key":"idle_hz","id":%d}' % k for k in range(12)])
    dock.attach_inbox(inbox)

    def pace(app):
        def period_us():  # a time-lapse up to the burst, the board's 200/s from then
            return 5000 if dock.clock.now_us > (burst_s - 5) * 1e6 else 250000

        app.period_us = period_us

    dock.run_firmware(sample_hz=200, on_boot=pace)
    acks = [protocol.decode(x) for x in b"".join(raw).splitlines() if b'"ack"' in x]
    assert len(acks) == 12
    # Each get costs 9 ms and does not fit between cycles: the 100 ms of credit answers
    # ten of them within about 200 ms; without it they come one every 144 ms.
    assert acks[9]["t_ms"] - burst_s * 1000 < 250, [a["t_ms"] for a in acks]
