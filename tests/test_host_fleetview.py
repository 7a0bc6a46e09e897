"""The fleet overview (``monitor --all`` in a terminal): a worst-state row per dock, the
selected dock's pins and events below."""

from __future__ import annotations

import json

import pytest
from pogodock.link.fleet import TaggedQueue
from pogodock.records import DISCONNECTED, Decoder, LinkEvent, Record
from pogodock.views.fleetmodel import FleetModel, short_names
from pogodock.views.fleetview import FleetApp, FleetOverview
from rich.text import Text
from textual.widgets import DataTable, RichLog, Static

A, B, C = "3c6ef372fe955536", "daa66d2c7ddfd14b", "b54cda58fbbf458a"


def dock_lines(uid: str, pin_state: str, t: float = 1767225600.0) -> list[Record]:
    out: list[Record] = []
    dec = Decoder(out.append)
    env = {"v": 1, "boot": "b-" + uid[:4], "t_ms": 0}
    pins = [{"name": n, "rated_cycles": 10000, "max_ma": 3000} for n in ("VBUS1", "GND1")]
    dec.line(json.dumps({**env, "type": "hello", "seq": 0, "fw": "0.3.0",
                         "board": "pico-dock-4", "uid": uid, "pins": pins}), t)  # fmt: skip
    health = {
        "VBUS1": {"state": "ok", "r_mohm": 35.0, "score": 100},
        "GND1": {"state": pin_state, "r_mohm": 80.5, "score": 40},
    }
    dock_state = "fault" if pin_state == "fault" else "ok"
    dec.line(json.dumps({**env, "type": "health", "seq": 1, "charging": True, "docked": True,
                         "state": dock_state, "temp_c": 31.5, "pins": health}), t)  # fmt: skip
    dec.line(json.dumps({**env, "type": "event", "seq": 2, "kind": "oxidation",
                         "pins": ["GND1"], "severity": "warn"}), t)  # fmt: skip
    return [LinkEvent(t, "connected", "connected", port="/dev/x"), *out]


def text(table: DataTable, row: str, col: str) -> str:
    v = table.get_cell(row, col)
    return v.plain if isinstance(v, Text) else str(v)


def test_the_worst_dock_ranks_first_and_a_silent_one_above_the_healthy():
    fleet = FleetModel()
    for uid, state in ((A, "ok"), (B, "fault"), (C, "ok")):
        for rec in dock_lines(uid, state):
            fleet.apply(uid, rec)
    fleet.apply(C, LinkEvent(0.0, DISCONNECTED, "lost"))
    assert fleet.worst(B) == ("fault", "GND1")
    assert fleet.worst(C) == ("silent", "link")
    assert fleet.worst(A) == ("ok", "dock")
    assert fleet.ranked() == [B, C, A]
    assert short_names([A, B, "3c6ef37200000000"]) == {
        A: A,
        B: B[:8],
        "3c6ef37200000000": "3c6ef37200000000",
    }


@pytest.mark.asyncio
async def test_the_overview_shows_a_row_per_dock_and_the_selected_docks_pins():
    queue = TaggedQueue()
    lines = {uid: dock_lines(uid, state) for uid, state in ((A, "ok"), (B, "fault"))}
    for uid, recs in lines.items():
        for rec in recs[:2]:  # connected and hello: pins without values yet
            queue(uid, rec)
    app = FleetApp(queue, exporters=[lambda: "prometheus 127.0.0.1:9464"])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        for uid, recs in lines.items():
            for rec in recs[2:]:
                queue(uid, rec)
        app.pull()
        await pilot.pause()
        docks = app.query_one(FleetOverview)
        assert [str(r.value) for r in docks.rows] == [B, A]  # the fault first
        assert text(docks, B, "dock") == B[:8] and text(docks, B, "state") == "fault"
        assert text(docks, B, "where") == "GND1" and text(docks, A, "state") == "ok"
        assert text(docks, A, "°C") == "31.5" and text(docks, A, "link") == "up"
        # The selection stays with the dock first shown, wherever its row moves.
        assert app.selected == A and docks.cursor_row == 1
        pins = app.query_one("#pins", DataTable)
        assert text(pins, "VBUS1", "R mΩ") == "35.00"
        await pilot.press("up")
        await pilot.pause()
        assert app.selected == B
        assert text(pins, "GND1", "state") == "fault" and text(pins, "GND1", "R mΩ") == "80.50"
        events = app.query_one("#events", RichLog)
        assert "oxidation" in "\n".join(s.text for s in events.lines)
        status = str(app.query_one("#status", Static).render())
        assert "2 docks, 2 heard" in status and "prometheus 127.0.0.1:9464" in status
        await pilot.press("down")
        await pilot.pause()
        assert app.selected == A
        assert text(pins, "GND1", "state") == "ok"
        # A dock unplugged: its row says so at once.
        queue(A, LinkEvent(0.0, DISCONNECTED, "lost /dev/x"))
        app.pull()
        await pilot.pause()
        assert text(docks, A, "link") == "DOWN" and text(docks, A, "state") == "silent"
        assert app.selected == A and docks.cursor_row == 1
        assert "1 heard" in str(app.query_one("#status", Static).render())
        await pilot.press("q")
