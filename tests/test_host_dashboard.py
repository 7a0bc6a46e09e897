"""The Textual dashboard under Textual's pilot: from records, and live through the reader core."""

from __future__ import annotations

from pathlib import Path

import pytest
from dockfw import protocol
from dockfw.protocol import Fixed, Obj
from host_fakedock import FakeDock, wait_for
from pogodock.link.reader import Reader
from pogodock.views.dashboard import Dashboard, LiveSource, RecordsSource
from support.dashrecords import cell, dev, log_text, records
from support.pilotwait import shown
from textual.widgets import DataTable, RichLog, Sparkline, Static

# The pin table's columns only the health line fills.
HEALTH_COLUMNS = (
    "r_baseline_mohm",
    "drift_mohm_per_day",
    "days_to_clean",
    "intermittent_count",
    "cycles",
    "state",
    "score",
)


@pytest.mark.asyncio
async def test_dashboard_shows_pins_sparklines_events_and_link_health():
    app = Dashboard(RecordsSource(records(), "test"))
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.query_one("#pins", DataTable)
        spark = app.query_one("#spark-VBUS1", Sparkline)
        # A couple of refresh ticks: the sparkline fills last.
        await shown(pilot, lambda: list(spark.data or ()), lambda data: len(data) > 10)
        assert table.row_count == 2
        assert cell(table, "VBUS1", "r_mohm") == "35.00"
        assert cell(table, "VBUS1", "i_ma") == "1500"
        # Not sent by the firmware yet: dashes.
        for col in HEALTH_COLUMNS:
            assert cell(table, "GND1", col) == "—"
        assert spark.data is not None and max(spark.data) == 480.0  # the one-report spike survives
        assert 10 < len(spark.data) <= spark.size.width
        status = app.query_one("#status", Static)
        text = str(status.render())
        assert "lost 4" in text and "reboots 1" in text and "pico-dock-4" in text
        events = log_text(app.query_one("#events", RichLog))
        assert "misalignment GND1" in events and "rebooted" in events
        await pilot.press("i")  # a recording takes no commands: not offered, nothing sent
        await pilot.pause()
        assert "info" not in log_text(app.query_one("#events", RichLog))
        await pilot.press("q")
    assert app.return_value == 0


@pytest.mark.asyncio
async def test_health_lines_fill_the_table():
    health = dev(
        protocol.HEALTH,
        1,
        [
            ("charging", True),
            (
                "pins",
                Obj(
                    [
                        (
                            "VBUS1",
                            Obj(
                                [
                                    ("state", "warn"),
                                    ("r_mohm", Fixed(52000, 3)),
                                    ("r_baseline_mohm", Fixed(35000, 3)),
                                    ("drift_mohm_per_day", Fixed(1250, 3)),
                                    ("days_to_clean", 6),
                                    ("intermittent_count", 3),
                                    ("cycles", 1234),
                                    ("score", 71),
                                ]
                            ),
                        )
                    ]
                ),
            ),
        ],
    )
    app = Dashboard(RecordsSource([health], "test"))
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.query_one("#pins", DataTable)
        await shown(pilot, lambda: cell(table, "VBUS1", "score"), lambda t: t == "71")
        assert [cell(table, "VBUS1", c) for c in ("r_mohm", *HEALTH_COLUMNS)] == [
            "52.00",
            "35.00",
            "1.250",
            "6",
            "3",
            "1234",
            "warn",
            "71",
        ]
        assert "charging yes" in str(app.query_one("#status", Static).render())


@pytest.mark.asyncio
async def test_keys_send_commands_through_the_reader_core(tmp_path: Path):
    dock = FakeDock(tmp_path / "ttyDOCK")
    dock.plug()
    reader = Reader(str(dock.link), confirm_timeout=1.0)
    source = LiveSource(reader)
    reader.start()
    try:
        assert wait_for(lambda: reader.confirmed)
        app = Dashboard(source, refresh_s=0.05)
        async with app.run_test(size=(140, 40)) as pilot:
            for _ in range(5):
                dock.sample(r_mohm=36.5)
            await pilot.press("i")
            await pilot.press("o")
            for _ in range(100):
                await pilot.pause(0.05)
                if (
                    "charge #" in log_text(app.query_one("#events", RichLog))
                    and len(dock.commands) >= 3
                ):
                    break
            cmds = [c["cmd"] for c in dock.commands]
            assert cmds[0] == "info" and cmds[-2:] == ["info", "charge"]
            assert dock.commands[-1]["on"] is True
            log = log_text(app.query_one("#events", RichLog))
            assert "info #" in log and "ok" in log
            assert "charge #" in log and "unknown" in log  # the fake dock knows only info
            assert cell(app.query_one("#pins", DataTable), "VBUS1", "r_mohm") == "36.50"
            assert "connected" in str(app.query_one("#status", Static).render())
            await pilot.press("q")
    finally:
        reader.stop()
        dock.unplug()


@pytest.mark.asyncio
async def test_the_link_line_says_how_each_export_stands(tmp_path: Path):
    states = {"mqtt": "mqtt not connected (Not authorized)"}
    source = LiveSource(
        Reader(str(tmp_path / "ttyNONE")),  # never started: the dashboard only drains
        exporters=[lambda: states["mqtt"], lambda: "prometheus 127.0.0.1:9464"],
    )
    app = Dashboard(source, refresh_s=0.05)
    async with app.run_test(size=(160, 40)) as pilot:
        status = app.query_one("#status", Static)
        text = await shown(pilot, lambda: str(status.render()), lambda t: "prometheus" in t)
        assert "mqtt not connected (Not authorized)" in text
        assert "prometheus 127.0.0.1:9464" in text
        states["mqtt"] = "mqtt pogodock/0123456789abcdef/"
        text = await shown(pilot, lambda: str(status.render()), lambda t: "not connected" not in t)
        assert "mqtt pogodock/0123456789abcdef/" in text and "not connected" not in text


def test_clean_in_says_under_a_day_rather_than_zero():
    from pogodock.model import clean_in

    assert [clean_in(d) for d in (None, 0, 1, 42)] == ["—", "<1", "1", "42"]


def test_the_dashboard_leaves_when_its_terminal_goes_away(tmp_path: Path):
    """A closed terminal window must not leave a monitor spinning on a dead tty."""
    import fcntl
    import os
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    dock = FakeDock(tmp_path / "ttyDOCK")
    dock.plug()
    master, slave = os.openpty()
    # The window size by ioctl: termios.tcsetwinsize needs Python 3.11.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pogodock.cli", "monitor", "--port", str(dock.link)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,  # the pty is not its controlling terminal: no SIGHUP
        env=dict(os.environ, TERM="xterm-256color"),
    )
    os.close(slave)
    try:
        seen = b""
        end = time.monotonic() + 20
        while b"fake-board" not in seen and time.monotonic() < end:
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 65536)
        assert b"fake-board" in seen, "the dashboard never showed the dock"
        os.close(master)
        master = -1
        assert proc.wait(10) == 129
    finally:
        if master >= 0:
            os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        dock.unplug()
