"""``make demo``: per-day figures marked as compressed, and its end said as the demo's end."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dash_screen import screen_lines
from dockfw import protocol
from dockfw.protocol import Fixed
from host_fakedock import FakeDock, wait_for
from pogodock.link.reader import Reader
from pogodock.views.dashboard import Dashboard, LiveSource
from pogodock.views.headless import DEMO_OVER, HeadlessPrinter
from textual.widgets import RichLog, Static

ROOT = Path(__file__).resolve().parents[1]
OXIDATION = [
    ("kind", "oxidation"),
    ("pins", ["GND1"]),
    ("severity", "warn"),
    ("drift_mohm_per_day", Fixed(11236032, 3)),
    ("days_to_clean", 0),
]
MISALIGN = str(ROOT / "scenarios" / "misalign.json")


def test_the_demo_ends_saying_so_when_its_scenario_ends():
    """Headless (stdout a pipe): the monitor stops when the virtual dock leaves."""
    began = time.monotonic()
    p = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py"), "--scenario", MISALIGN, "--speed", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1].endswith(" " + DEMO_OVER), lines[-3:]
    assert " health: " in lines[-2] and "misalignment" in p.stdout
    assert "plugged in" not in p.stdout
    # The end came from the scenario (60 s at 20x), not the --duration bound (42 s).
    assert time.monotonic() - began < 40


@pytest.mark.asyncio
async def test_the_demo_dashboard_marks_per_day_figures_and_says_when_it_is_over(tmp_path):
    dock = FakeDock(tmp_path / "ttyDOCK")
    dock.plug()
    reader = Reader(str(dock.link), confirm_timeout=1.0, max_backoff=0.1)
    source = LiveSource(reader, demo=True)
    reader.start()
    try:
        assert wait_for(lambda: reader.confirmed)
        app = Dashboard(source, refresh_s=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            dock.sample(r_mohm=36.5)
            dock.emit(protocol.EVENT, OXIDATION)
            dock.event("misalignment", ["GND1"])
            await pilot.pause(0.3)
            screen = "\n".join(screen_lines(app))
            assert "drift/d*" in screen and "clean d*" in screen
            assert "* per compressed day" in screen
            log = app.query_one("#events", RichLog)
            lines = [strip.text for strip in log.lines]
            oxidation = next(x for x in lines if "oxidation" in x)
            assert oxidation.rstrip().endswith("days_to_clean=0 (compressed time)")
            assert not next(x for x in lines if "misalignment" in x).rstrip().endswith(")")
            dock.unplug()  # what the virtual dock does when its scenario ends
            status = app.query_one("#status", Static)
            for _ in range(100):
                await pilot.pause(0.05)
                if DEMO_OVER in str(status.render()):
                    break
            await pilot.pause(0.3)  # the port's retries keep failing meanwhile
            text = str(status.render())
            assert DEMO_OVER in text and "plugged in" not in text
            events = "\n".join(strip.text for strip in app.query_one("#events", RichLog).lines)
            assert "link disconnected" in events and "no serial port" not in events
            await pilot.press("q")
    finally:
        reader.stop()
        dock.unplug()


def test_headless_demo_lines_mark_per_day_figures():
    from support.dashrecords import dev

    out = io.StringIO()
    printer = HeadlessPrinter(out, demo=True)
    printer.handle(dev(protocol.EVENT, 1, OXIDATION))
    printer.handle(dev(protocol.EVENT, 2, [("kind", "docked"), ("pins", [])]))
    plain = io.StringIO()
    HeadlessPrinter(plain).handle(dev(protocol.EVENT, 1, OXIDATION))
    first, second = out.getvalue().splitlines()
    assert first.endswith("drift_mohm_per_day=11236 days_to_clean=0 (compressed time)")
    assert second.endswith("docked dock")
    assert plain.getvalue().rstrip().endswith("days_to_clean=0")
