"""The live dashboard on an 80 x 24 terminal: every column, the quit key, Ctrl-C,
confirmations for c and f, the dock's temperature (Textual's pilot); and the
temperature in headless health lines."""

from __future__ import annotations

import io
from typing import Any

import pytest
from dash_screen import screen_lines
from dockfw import protocol
from dockfw.protocol import Obj
from pogodock.link.reader import Pending
from pogodock.records import Record
from pogodock.views.dashboard import Dashboard, RecordsSource, Source
from pogodock.views.headless import HeadlessPrinter
from support.dashrecords import PINS, STATES, dev, health, log_text
from support.pilotwait import cell_shown, shown
from textual.widgets import DataTable, RichLog


class FakeLive(Source):
    """A live source whose reader is faked: what the dashboard sends is kept."""

    live = True

    def __init__(self, recs: list[Record]) -> None:
        self.recs: list[Record] | None = recs
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def drain(self) -> list[Record]:
        recs, self.recs = self.recs or [], None
        return recs

    def send(self, cmd: str, **args: Any) -> Pending | str:
        self.sent.append((cmd, args))
        return Pending(len(self.sent), cmd, b"")


def live_records() -> list[Record]:
    hello = dev(
        protocol.HELLO,
        0,
        [
            ("fw", "0.1.0"),
            ("board", "pico-dock-4"),
            ("reset_cause", "power_on"),
            ("pins", [Obj([("name", n)]) for n in PINS]),
        ],
    )
    return [hello, health(1)]


@pytest.mark.asyncio
async def test_at_80x24_every_pin_shows_state_score_and_the_footer_quit():
    source = FakeLive(live_records())
    app = Dashboard(source, refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:

        def complete(ls: list[str]) -> bool:  # the footer, the status and every score drawn
            text = "\n".join(ls)
            return (
                "q quit" in ls[-1]
                and "temp 41.2" in text
                and all(
                    any(line.split()[-1:] == [str(score)] for line in ls)
                    for _, score in STATES.values()
                )
            )

        lines = await shown(pilot, lambda: screen_lines(app), complete)
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        table = app.query_one("#pins", DataTable)
        assert table.size.width <= 80
        rows = {}
        for line in lines:
            for name in PINS:
                if line.lstrip(" │").startswith(name + " "):
                    rows.setdefault(name, line.split())  # the table's, above the sparklines
        assert set(rows) == set(PINS), "a pin row is not on screen"
        for name, (state, score) in STATES.items():
            assert rows[name][-2:] == [state, str(score)]  # the last columns, not cut off
            assert "36.25" in rows[name] and "-623.0" in rows[name] and "12345" in rows[name]
        header = next(line for line in lines if "pin" in line and "state" in line)
        assert header.split()[-2:] == ["state", "score"]
        assert "temp 41.2 °C" in "\n".join(lines)
        footer = lines[-1]
        assert "q quit" in footer and "clear" in footer and "charge off" in footer
        assert "play/pause" not in footer
        await pilot.press("ctrl+c")
    assert app.return_value == 0


@pytest.mark.asyncio
async def test_clear_and_charge_off_ask_for_a_second_press():
    source = FakeLive(live_records())
    app = Dashboard(source, refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("c")
        await pilot.pause(0.05)
        assert source.sent == []
        assert "press c again within 3 s" in log_text(app.query_one("#events", RichLog))
        await pilot.press("c")
        await pilot.pause(0.05)
        assert source.sent == [("clear", {})]
        await pilot.press("f")
        await pilot.press("c")  # another key in between: f is asked again
        await pilot.press("f")
        await pilot.pause(0.05)
        assert source.sent == [("clear", {})]
        await pilot.press("f")
        await pilot.pause(0.05)
        assert source.sent == [("clear", {}), ("charge", {"on": False})]
        app.confirm_s = 0.1
        await pilot.press("c")
        await pilot.pause(0.3)  # too late: the second press asks again
        await pilot.press("c")
        await pilot.press("o")  # charge on needs no confirmation
        await pilot.pause(0.05)
        assert source.sent[2:] == [("charge", {"on": True})]
        await pilot.press("q")


@pytest.mark.asyncio
async def test_a_recording_shown_at_once_still_works():
    app = Dashboard(RecordsSource(live_records(), "test"), refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await cell_shown(pilot, app, "GND2", "score", "88") == "88"
        assert not app.query("#position")
        await pilot.press("ctrl+c")
    assert app.return_value == 0


def test_headless_health_lines_say_the_docks_temperature():
    out = io.StringIO()
    printer = HeadlessPrinter(out, every=1.0)
    for rec in live_records():
        printer.handle(rec)
    printer.summary(1767225700.0)
    assert "temp 41.2 °C" in out.getvalue().splitlines()[-1]
    unknown = HeadlessPrinter(io.StringIO())
    unknown.handle(health(2, temp_c=None))
    assert "temp — °C" in unknown.model.health_summary()


@pytest.mark.asyncio
async def test_a_column_widens_for_a_number_that_came_after_a_dash():
    source = FakeLive([*live_records()[:1], health(1, drift=None)])
    app = Dashboard(source, refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await cell_shown(pilot, app, "GND1", "drift_mohm_per_day", "—") == "—"
        source.recs = [health(2, drift=-10465336, cycles=12345678)]  # wider than the headers
        want = ["-10465", "12", "3", "12345678", "warn", "64"]
        # The record shown and the screen drawn before the table's next idle (as on a
        # loaded machine): DataTable widens a column only when idle, and a cell drawn
        # narrower before that stayed cut until the next record.
        app.pull()
        screen_lines(app)

        def gnd1_cells() -> list[str]:
            return next(line for line in screen_lines(app) if line.startswith(" GND1 ")).split()[4:]

        assert await shown(pilot, gnd1_cells, lambda cells: cells == want) == want
