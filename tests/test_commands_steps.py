"""A command line is handled in steps between sampling cycles (dockfw.commands): whatever
runs between those steps, every line is answered exactly once, its answer whole and in
seq order, and a failure in any step is answered and ends in charging off."""

from __future__ import annotations

import json

from dockfw import protocol
from dockfw import settings as S
from dockfw.app import App
from dockfw.commands import Commands
from docksim.dock import SimDock
from mp.lineinbox import LineInbox
from support.cmdrig import answer_lines as answers
from support.cmdrig import dock_scenario, run_host


def settled_app(raw):
    """An App on a simulated dock, a device docked and reported on, driven by hand."""
    dock = SimDock(dock_scenario(6, dock_at=0.3), raw.append)
    app = App(dock, sample_hz=200)
    app.start()
    while dock.clock.now_us < 1_500_000:
        app.step()
        dock.wait_us(app.period_us())
    inbox = LineInbox(dock.clock)
    dock.attach_inbox(inbox)
    return dock, app, inbox


def stream(raw) -> list[dict]:
    return [protocol.decode(x) for x in b"".join(raw).splitlines()]


def test_a_command_runs_in_steps_each_a_piece_of_it():
    raw = []
    dock, app, inbox = settled_app(raw)
    dock.command_cost_us = 0
    inbox.send_lines(1.5, [b'{"cmd":"info","id":"i"}', b'{"cmd":"get","id":"g"}'])
    steps = 0
    while True:
        ran = app.commands.step()  # False too while an answer waits for the link
        app.flush()
        if not ran and not app.commands.busy():
            break
        steps += ran
    got = [(r["type"], r.get("id")) for r in stream(raw) if r["type"] in ("hello", "ack")]
    assert got[-3:] == [("hello", None), ("ack", "i"), ("ack", "g")]
    assert steps >= 2 * 3  # each line: read, then at least two more (the simulator's

    # clock stands still while the firmware computes: a step ends only where a piece asks)
    # The pieces a step is made of: the parse, the checks, the command, then the answer a
    # field or a few settings at a time.
    def count(line):
        n = 0
        for _ in app.commands._handle(line):
            app.flush()  # an answer waits until the link has taken what was before it
            n += 1
        return n

    pieces = {
        name: count(line)
        for name, line in (
            ("get", b'{"cmd":"get","id":1}'),
            ("info", b'{"cmd":"info","id":1}'),
            ("bad", b'{"cmd":"get","id":1,,}'),
        )
    }
    assert pieces["get"] >= 8 and pieces["info"] >= 20 and pieces["bad"] >= 4, pieces


def test_an_answer_finished_while_a_report_line_is_open_goes_out_behind_it_in_seq_order():
    raw = []
    dock, app, inbox = settled_app(raw)
    inbox.send_lines(1.5, [b'{"cmd":"get","id":7}'])
    commands = app.commands
    assert commands.step() and commands.busy()  # the line read: the command under way
    commands.step()
    # The next report is begun by a cycle, and its sample line opened by a step...
    while not app.out.is_open():
        dock.wait_us(app.period_us())
        app.tick()
        while not app.out.is_open() and app.work_step():
            pass
    # ...when the command's last steps run and queue its answer.
    while commands.busy():
        commands.step()
    while app.work_step():
        pass
    app.flush()
    records = stream(raw)
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, none lost
    kinds = [r["type"] for r in records]
    assert kinds.count("ack") == 1
    ack = kinds.index("ack")
    assert kinds[ack - 1] == "sample"  # held behind the line being written
    assert records[ack]["id"] == 7 and len(records[ack]["config"]) == len(S.NAMES)


def test_a_failure_halfway_through_an_answer_is_answered_once_and_handled(monkeypatch):
    """The answer's first pieces are staged when a step fails: they never reach the
    wire; the line gets one ``internal`` error, then the App's supervision takes it."""
    put = Commands._put
    calls = []

    def failing(self, v):
        calls.append(v)
        if len(calls) == 4:  # the id, the command, two settings written: then a bug
            raise RuntimeError("a bug halfway")
        put(self, v)

    monkeypatch.setattr(Commands, "_put", failing)
    script = [
        (2.0, b'{"cmd":"get","id":"g1"}\n'),
        (2.5, b'{"cmd":"charge","on":false,"id":"c2"}\n'),
    ]
    r = run_host(dock_scenario(4), script)  # every line decoded: none half written
    a = answers(r)
    assert [(x["id"], x.get("code")) for x in a] == [("g1", "internal"), ("c2", None)]
    assert "RuntimeError" in a[0]["message"]
    ev = [(x["kind"], x.get("where"), x.get("reason")) for x in r.of_type("event")]
    assert ("firmware_error", "command/Commands", None) in ev, ev
    assert ("charge_off", None, "firmware error") in ev, ev


def test_a_set_while_docked_is_written_before_a_reboot():
    script = [
        (2.0, b'{"id":1,"cmd":"set","key":"max_total_ma","value":2000}\n'),
        (2.2, b'{"id":2,"cmd":"reboot"}\n'),
    ]
    r = run_host(dock_scenario(4), script)
    kept = r.dock.store.load(S.STATE, S.STATE_VERSION)
    assert kept["values"] == {"max_total_ma": 2000}
    hellos = [x for x in r.of_type("hello")]
    assert [h["reset_cause"] for h in hellos][-1] == "reboot"


def test_the_answer_bytes_are_what_the_protocol_encoder_writes():
    """The staged writer (numbers digit by digit, cached names) and protocol.encode give
    the same line for the same fields."""
    raw = []
    dock, app, _ = settled_app(raw)
    fields = [
        ("id", protocol.Text('x"\u00e9')),
        ("cmd", "get"),
        ("config", protocol.Obj([("sample_hz", protocol.Fixed(200500, 3)), ("n", -12)])),
        ("list", [protocol.Obj([("a", None), ("b", True)]), 3]),
        ("big", 1 << 40),
    ]
    seq = app.seq
    t_ms = app.uptime.t_ms()
    raw.clear()
    for _ in app.commands._line(protocol.ACK, fields):
        pass
    app.flush()
    want = protocol.encode(protocol.ACK, seq, dock.boot_id, t_ms, fields)
    assert b"".join(raw) == want
    assert json.loads(want)["config"] == {"sample_hz": 200.5, "n": -12}
