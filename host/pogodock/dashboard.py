"""``pogodock monitor``: the live contact-health dashboard (Textual).

The dashboard never touches the port: it drains records from a ``Source``
(the reader core's queue, or a recording) a few times a second, folds them
into a ``DockModel`` and shows it. Commands go through the source, i.e. the
reader core, which writes them on its own thread and matches the replies.

Layout: a status line (dock, charging, link health), one table row per pin,
a peak-resistance sparkline per pin (max per bucket, so spikes stay visible),
the event log and the console text. Fields the dock does not send (yet) show
as "—".
"""

from __future__ import annotations

import os
import re
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from dockfw import protocol
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Header, Label, RichLog, Sparkline, Static

from pogodock.model import DASH, DockModel, bucket_max, clean_in, fmt, yes_no
from pogodock.reader import Pending, Reader, RecordQueue
from pogodock.records import ConsoleText, Record

STATE_STYLES = {
    "ok": "bold green",
    "warn": "bold yellow",
    "fault": "bold red",
    "open": "bold magenta",
    "unknown": "dim",
}
COLUMNS = [
    ("pin", "pin"),
    ("i", "I (mA)"),
    ("r", "R (mΩ)"),
    ("base", "R base (mΩ)"),
    ("drift", "drift (mΩ/day)"),
    ("clean", "clean in (d)"),
    ("intermittent", "intermittent"),
    ("cycles", "cycles"),
    ("state", "state"),
    ("score", "score"),
]
DRAIN_PER_TICK = 20000
LOG_PER_TICK = 200


class Source:
    """Where the dashboard's records come from, and where its commands go."""

    title = "pogodock"
    live = False

    def drain(self) -> list[Record]:
        return []

    def send(self, cmd: str, **args: Any) -> Pending | str:
        return "commands need a live dock"

    def exports(self) -> list[str]:
        """One short state per exporter the monitor feeds (MQTT, Prometheus)."""
        return []


class LiveSource(Source):
    live = True

    def __init__(
        self,
        reader: Reader,
        queue: RecordQueue | None = None,
        exporters: Sequence[Callable[[], str]] = (),
    ) -> None:
        """``exporters``: each says how its export stands, in a few words."""
        self.reader = reader
        self.queue = queue if queue is not None else reader.subscribe_queue()
        self.title = "pogodock monitor"
        self._exporters = list(exporters)

    def exports(self) -> list[str]:
        return [state() for state in self._exporters]

    def drain(self) -> list[Record]:
        return self.queue.drain(DRAIN_PER_TICK)

    def send(self, cmd: str, **args: Any) -> Pending | str:
        return self.reader.send(cmd, **args)


class RecordsSource(Source):
    """A recording, shown all at once."""

    def __init__(self, records: list[Record], title: str) -> None:
        self._records: list[Record] | None = records
        self.title = title

    def drain(self) -> list[Record]:
        recs = self._records or []
        self._records = None
        return recs


def _wid(name: str) -> str:
    return "spark-" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


class Dashboard(App[int]):
    TITLE = "pogodock"
    CSS = """
    #status { height: auto; padding: 0 1; background: $boost; }
    #pins { height: auto; max-height: 14; }
    #sparks { height: auto; padding: 0 1; }
    .sparkrow { height: 1; }
    .sparkname { width: 10; }
    .sparkval { width: 28; text-align: right; }
    Sparkline { width: 1fr; height: 1; }
    #logs { height: 1fr; }
    #events { width: 2fr; border: round $primary; }
    #console { width: 1fr; border: round $secondary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("i", "info", "info"),
        Binding("c", "clear", "clear alarms"),
        Binding("o", "charge(True)", "charge on"),
        Binding("f", "charge(False)", "charge off"),
        Binding("k", "cleaned", "pins cleaned"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, source: Source, refresh_s: float = 0.25) -> None:
        super().__init__()
        self.source = source
        self.model = DockModel()
        self.refresh_s = refresh_s
        self.sent: list[Pending] = []
        self._pin_rows: list[str] = []
        self._sparks_stale = False
        self.title = source.title

    # -- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the dock…", id="status")
        table: DataTable[Any] = DataTable(id="pins", cursor_type="row", zebra_stripes=True)
        yield table
        yield Vertical(id="sparks")
        with Horizontal(id="logs"):
            yield RichLog(id="events", max_lines=2000, markup=False, wrap=False)
            yield RichLog(id="console", max_lines=500, markup=False, wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#pins", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.query_one("#events", RichLog).border_title = "events"
        self.query_one("#console", RichLog).border_title = "console text"
        self.pull()
        self.set_interval(self.refresh_s, self.pull)

    # -- data -------------------------------------------------------------------
    def pull(self) -> None:
        try:
            self._pull()
        except NoMatches:
            pass  # the app is closing and its widgets are gone; the timer ticked once more

    def _pull(self) -> None:
        records = self.source.drain()
        events = self.query_one("#events", RichLog)
        console = self.query_one("#console", RichLog)
        lines: list[str] = []
        for rec in records:
            text = self.model.apply(rec)
            if text is None:
                continue
            if isinstance(rec, ConsoleText):
                console.write(rec.text)
            else:
                lines.append(self.model.events[-1])
        for line in lines[-LOG_PER_TICK:]:
            events.write(_styled(line))
        self._replies()
        if records or not self._pin_rows or self._sparks_stale:
            self.show()

    def _replies(self) -> None:
        if not self.sent:
            return
        events = self.query_one("#events", RichLog)
        keep = []
        for p in self.sent:
            if p.done:
                events.write(Text("→ " + p.describe(), style="cyan" if p.ok else "red"))
            else:
                keep.append(p)
        self.sent = keep

    def show(self) -> None:
        m = self.model
        self._status()
        table = self.query_one("#pins", DataTable)
        names = list(m.pins)
        if names != self._pin_rows:
            table.clear()
            for name in names:
                table.add_row(*self._cells(name), key=name)
            sparks = self.query_one("#sparks", Vertical)
            for name in names:
                if not sparks.query("#" + _wid(name)):
                    sparks.mount(
                        Horizontal(
                            Label(name, classes="sparkname"),
                            Sparkline([], id=_wid(name), summary_function=max),
                            Label("", id=_wid(name) + "-v", classes="sparkval"),
                            classes="sparkrow",
                        )
                    )
            self._pin_rows = names
        else:
            for name in names:
                for (key, _), value in zip(COLUMNS, self._cells(name), strict=True):
                    table.update_cell(name, key, value)
        stale = False
        for name in names:
            if not self._spark(name):
                stale = True  # just mounted: drawn on the next tick
        self._sparks_stale = stale

    def on_resize(self) -> None:
        self._sparks_stale = True

    def _cells(self, name: str) -> list[Any]:
        p = self.model.pins[name]
        state = p.state or DASH
        return [
            name,
            fmt(p.i_ma, 0),
            fmt(p.r_mohm, 2),
            fmt(p.r_baseline_mohm, 2),
            fmt(p.drift_mohm_per_day, 3),
            clean_in(p.days_to_clean),
            DASH if p.intermittent_count is None else str(p.intermittent_count),
            DASH if p.cycles is None else str(p.cycles),
            Text(state, style=STATE_STYLES.get(state, "")),
            fmt(p.score, 0),
        ]

    def _spark(self, name: str) -> bool:
        wid = _wid(name)
        found = self.query("#" + wid)
        if not found:
            return False
        spark = found.first(Sparkline)
        if not spark.size.width:
            return False
        hist = self.model.pins[name].history
        width = spark.size.width
        data = bucket_max(list(hist), width)
        spark.data = data
        label = self.query("#" + wid + "-v")
        if label:
            if hist:
                text = "peak %s, now %s mΩ" % (fmt(max(data), 1), fmt(hist[-1], 1))
            else:
                text = DASH
            label.first(Label).update(text)
        return True

    def _status(self) -> None:
        m = self.model
        link = m.link
        hello = m.hello
        dock = (
            "board %s, fw %s, boot %s" % (hello.board, hello.fw, hello.boot)
            if hello
            else "dock not identified yet"
        )
        if link.connected is None:
            conn = "recording" if not self.source.live else "connecting"
        else:
            conn = "connected %s" % link.port if link.connected else "DISCONNECTED (retrying)"
        parts = [
            dock,
            "charging %s" % yes_no(m.charging),
            "docked %s" % yes_no(m.docked),
        ]
        health = "link: %s · lines %d · lost %d · reboots %d · console %d" % (
            conn,
            link.lines,
            link.lost,
            link.reboots,
            link.console,
        )
        status = Text(" · ".join(parts) + "\n")
        style = "bold red" if link.connected is False or link.lost or link.reboots else ""
        status.append(health, style=style)
        for export in self.source.exports():
            status.append(" · " + export, style="yellow" if "not " in export else "")
        if link.connected is False and link.last_problem:
            status.append("\n" + link.last_problem, style="red")
        self.query_one("#status", Static).update(status)

    # -- commands ---------------------------------------------------------------
    def _command(self, cmd: str, **args: Any) -> None:
        result = self.source.send(cmd, **args)
        events = self.query_one("#events", RichLog)
        if isinstance(result, str):
            events.write(Text("✗ %s: %s" % (cmd, result), style="red"))
            return
        events.write(Text("← %s #%d sent" % (cmd, result.id), style="cyan"))
        self.sent.append(result)

    def action_info(self) -> None:
        self._command(protocol.CMD_INFO)

    def action_clear(self) -> None:
        self._command(protocol.CMD_CLEAR)

    def action_charge(self, on: bool) -> None:
        self._command(protocol.CMD_CHARGE, on=bool(on))

    def action_cleaned(self) -> None:
        self._command(protocol.CMD_CLEANED)

    async def action_quit(self) -> None:
        self.exit(0)


def _styled(line: str) -> Text:
    style = ""
    if " fault " in line or "DISCONNECTED" in line or "link disconnected" in line:
        style = "bold red"
    elif " warn " in line or "link lost" in line or "link reboot" in line or " error " in line:
        style = "yellow"
    elif "console:" in line:
        style = "dim"
    return Text(line, style=style)


def terminal_alive(fd: int) -> bool:
    """False once the terminal on ``fd`` has hung up (tcgetattr fails with EIO)."""
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return False
    return True


def exit_on_hangup(fd: int, period_s: float = 1.0) -> threading.Thread:
    """Ends the process (code 129, as SIGHUP would) once the terminal on ``fd`` is gone.

    A closed terminal does not always send SIGHUP (a killed tmux pane, for one);
    Textual's input thread then spins on end-of-file and its event loop blocks
    writing to the dead terminal, so no cleanup in it could run. Nothing is lost
    by leaving at once: the recorder writes whole lines, the OS closes the port,
    and an MQTT broker publishes the last will.
    """

    def watch() -> None:
        while terminal_alive(fd):
            time.sleep(period_s)
        os._exit(129)

    thread = threading.Thread(target=watch, name="hangup-watch", daemon=True)
    thread.start()
    return thread


def run(source: Source, on_exit: Callable[[], None] | None = None) -> int:
    if sys.stdin.isatty():
        exit_on_hangup(sys.stdin.fileno())
    app = Dashboard(source)
    try:
        code = app.run()
    finally:
        if on_exit is not None:
            on_exit()
    return code or 0
