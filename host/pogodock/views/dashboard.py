"""``pogodock monitor``: the live contact-health dashboard (Textual).

The dashboard never touches the port: it drains records from a ``Source``
(the reader core's queue, or a recording) a few times a second, folds them
into a ``DockModel`` and shows it. Commands go through the source, i.e. the
reader core, which writes them on its own thread and matches the replies.

In a replay the source is a ``Player`` (recordings/playback.py): its keys move it, and
going back folds again from the nearest of its marks; dock commands are neither
offered nor sent there. ``c`` and ``f`` act on a second press within a few
seconds: one stray key must not release a latched cut-off or stop a charge.

Layout: a status line (dock, charging, temperature, link health), in a replay
where it stands, one table row per pin (short headers: 80 columns hold them
all), a peak-resistance sparkline per pin (sparks.py), the event log and the
console text. Fields the dock does not send (yet) show as "—".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from dockfw import protocol
from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Header, RichLog, Static
from textual.widgets.data_table import ColumnKey

from pogodock import pinfields
from pogodock.link.reader import Pending, Reader, RecordQueue
from pogodock.model import DockModel, fmt, pin_cell, yes_no
from pogodock.pinfields import STATE
from pogodock.recordings.playback import Marks, Player
from pogodock.records import PORT_ERROR, ConsoleText, LinkEvent, Record, iso_utc
from pogodock.views.headless import DEMO_OVER, demo_line
from pogodock.views.sparks import PinSparks
from pogodock.views.terminal import exit_on_hangup

STATE_STYLES = {
    "ok": "bold green",
    "warn": "bold yellow",
    "fault": "bold red",
    "open": "bold magenta",
    "unknown": "dim",
}
# Short headers: every column fits an 80-column terminal (README, "The dashboard").
COLUMNS = [("pin", "pin")] + [(f.key, f.column) for f in pinfields.COLUMNS]
COMMANDS = frozenset({"info", "clear", "charge", "cleaned"})
PLAYBACK = frozenset(
    {"play", "step", "back", "faster", "slower", "next_event", "to_start", "to_end"}
)
CONFIRM_S = 3.0
PER_DAY = frozenset({"drift_mohm_per_day", "days_to_clean"})
# The demo plays weeks of wear in minutes: a day-based figure is not a calendar's.
COMPRESSED = "* per compressed day: the demo plays weeks of wear in minutes"

DRAIN_PER_TICK = 20000
LOG_PER_TICK = 200


class Source:
    """Where the dashboard's records come from, and where its commands go."""

    title = "pogodock"
    live = False
    player: Player | None = None  # a playback's position and keys
    demo = False  # the demo's virtual dock: compressed time, and its end is the demo's

    def drain(self) -> list[Record]:
        return []

    def send(self, cmd: str, **args: Any) -> Pending | str:
        return "commands need a live dock"

    def exports(self) -> list[str]:
        """One short state per exporter the monitor feeds (MQTT, Prometheus)."""
        return []

    def rewound(self) -> bool:
        """True when the records last drained start from the first again."""
        return False


class LiveSource(Source):
    live = True

    def __init__(
        self,
        reader: Reader,
        queue: RecordQueue | None = None,
        exporters: Sequence[Callable[[], str]] = (),
        demo: bool = False,
    ) -> None:
        """``exporters``: each says how its export stands, in a few words."""
        self.reader = reader
        self.queue = queue if queue is not None else reader.subscribe_queue()
        self.title = "pogodock demo" if demo else "pogodock monitor"
        self._exporters = list(exporters)
        self.demo = demo

    def exports(self) -> list[str]:
        return [state() for state in self._exporters]

    def drain(self) -> list[Record]:
        return self.queue.drain(DRAIN_PER_TICK)

    def send(self, cmd: str, **args: Any) -> Pending | str:
        return self.reader.send(cmd, **args)


class PlaybackSource(Source):
    """A recording played back: ``replay``'s keys move the player, the player says what is due."""

    def __init__(self, records: list[Record], title: str, player: Player | None = None) -> None:
        self.player = player if player is not None else Player(records)
        self.title = title
        self._rewound = False

    def drain(self) -> list[Record]:
        assert self.player is not None
        self._rewound, records = self.player.take()
        return records

    def rewound(self) -> bool:
        return self._rewound


class RecordsSource(Source):
    """A recording, shown all at once."""

    def __init__(self, records: list[Record], title: str) -> None:
        self._records: list[Record] | None = records
        self.title = title

    def drain(self) -> list[Record]:
        recs = self._records or []
        self._records = None
        return recs


def _widen(table: DataTable[Any], key: str, value: Any) -> None:
    """Widen ``key``'s column now for a value that grew past it.

    ``update_cell(update_width=True)`` widens only at the table's next idle, and a row
    drawn before that is cached cut (the cache is keyed by updates, not widths) until
    the next record: a column sized for "—" showed "123456" for 12345678.
    """
    column = table.columns[ColumnKey(key)]
    width = value.cell_len if isinstance(value, Text) else cell_len(str(value))
    if width > column.content_width:
        column.content_width = width


class Dashboard(App[int]):
    TITLE = "pogodock"
    CSS = """
    #status { height: auto; padding: 0 1; background: $boost; }
    #position { height: 1; padding: 0 1; background: $panel; }
    #pins { height: auto; max-height: 14; }
    #logs { height: 1fr; }
    #events { width: 2fr; border: round $primary; }
    #console { width: 1fr; border: round $secondary; }
    """
    # Quit first: a narrow footer cuts from the right. Commands show only on a live
    # dock, playback keys only in a replay (check_action).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        # Textual binds ctrl+c to copy; a monitor in a terminal is left with it.
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("i", "info", "info"),
        Binding("c", "clear", "clear"),
        Binding("o", "charge(True)", "charge on"),
        Binding("f", "charge(False)", "charge off"),
        Binding("k", "cleaned", "cleaned"),
        # Before the table's own (it moves its cursor with the arrows, home and end).
        Binding("space", "play", "play/pause", priority=True),
        Binding("right,full_stop", "step", "step", key_display="→", priority=True),
        Binding("left,comma", "back", "back", key_display="←", priority=True),
        Binding("plus,equals_sign", "faster", "faster", key_display="+", priority=True),
        Binding("minus", "slower", "slower", priority=True),
        Binding("n", "next_event", "next event", priority=True),
        Binding("home", "to_start", "start", show=False, priority=True),
        Binding("end", "to_end", "end", show=False, priority=True),
    ]
    ENABLE_COMMAND_PALETTE = False  # its ^p would take footer room from quit

    def __init__(self, source: Source, refresh_s: float = 0.25) -> None:
        super().__init__()
        self.source = source
        self.model = DockModel()
        self.refresh_s = refresh_s
        self.confirm_s = CONFIRM_S
        self.sent: list[Pending] = []
        self._pin_rows: list[str] = []
        self._sparks_stale = False
        self._armed: tuple[str, float] | None = None  # a key pressed once, until when
        player = source.player
        self._marks = None if player is None else Marks(len(player.records), LOG_PER_TICK)
        self._folded = 0  # playback: how many of its records the model holds
        self.title = source.title

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in COMMANDS:
            return self.source.live
        if action in PLAYBACK:
            return self.source.player is not None
        return True

    # -- layout -----------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for the dock…", id="status")
        if self.source.player is not None:
            yield Static("", id="position")
        table: DataTable[Any] = DataTable(id="pins", cursor_type="row", zebra_stripes=True)
        yield table
        yield PinSparks(id="sparks")
        with Horizontal(id="logs"):
            yield RichLog(id="events", max_lines=2000, markup=False, wrap=False)
            yield RichLog(id="console", max_lines=500, markup=False, wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#pins", DataTable)
        for key, label in COLUMNS:
            compressed = self.source.demo and key in PER_DAY
            table.add_column(label + "*" if compressed else label, key=key)
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
        marks = self._marks
        if marks is not None and self.source.rewound():  # records from the first again
            self._folded, self.model = marks.restore(len(records))
            records = records[self._folded :]
            self._restart(events, console, marks)
        lines: list[str] = []
        for rec in records:
            text = self.model.apply(rec)
            if text is None:
                pass
            elif isinstance(rec, ConsoleText):
                console.write(rec.text)
                if marks is not None:
                    marks.console.append(rec.text)
            elif self.source.demo and isinstance(rec, LinkEvent) and rec.kind == PORT_ERROR:
                pass  # the virtual dock left with its scenario: said as the demo's end
            else:
                line = self.model.events[-1]
                lines.append(demo_line(line) if self.source.demo else line)
                if marks is not None:
                    marks.events.append(lines[-1])
            if marks is not None:
                self._folded += 1
                marks.folded(self._folded, self.model)
        for line in lines[-LOG_PER_TICK:]:
            events.write(_styled(line))
        self._replies()
        if records or not self._pin_rows or self._sparks_stale:
            self.show()
        self._position()

    def _restart(self, events: RichLog, console: RichLog, marks: Marks) -> None:
        """A playback went back: the screen as it stood at the mark the model came from."""
        events.clear()
        console.clear()
        for line in marks.events:
            events.write(_styled(line))
        for text in marks.console:
            console.write(text)
        self.query_one("#pins", DataTable).clear()
        self._pin_rows = []

    def _position(self) -> None:
        player = self.source.player
        if player is None:
            return
        m = self.model
        text = player.position()
        if m.t_ms is not None:
            text += " · dock %s s (boot %s)" % (fmt(m.t_ms / 1000.0, 1), m.boot)
        if m.last_time is not None:
            text += " · %s" % iso_utc(m.last_time)[:19].replace("T", " ")
        self.query_one("#position", Static).update(text)

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
                cells = self._cells(name)
                for (key, _), value in zip(COLUMNS, cells, strict=True):
                    _widen(table, key, value)
                table.add_row(*cells, key=name)
            self.query_one("#sparks", PinSparks).add_pins(names)
            self._pin_rows = names
        else:
            for name in names:
                for (key, _), value in zip(COLUMNS, self._cells(name), strict=True):
                    _widen(table, key, value)
                    table.update_cell(name, key, value, update_width=True)
        self._sparks_stale = not self.query_one("#sparks", PinSparks).draw(m)

    def on_resize(self) -> None:
        self._sparks_stale = True

    def _cells(self, name: str) -> list[Any]:
        p = self.model.pins[name]
        cells: list[Any] = [name]
        for f in pinfields.COLUMNS:
            cell = pin_cell(p, f)
            cells.append(Text(cell, style=STATE_STYLES.get(cell, "")) if f.kind == STATE else cell)
        return cells

    def _status(self) -> None:
        m = self.model
        link = m.link
        hello = m.hello
        dock = (
            "%s fw %s boot %s" % (hello.board, hello.fw, hello.boot)
            if hello
            else "dock not identified yet"
        )
        over = self.source.demo and link.connected is False
        if link.connected is None:
            conn = "recording" if not self.source.live else "connecting"
        elif over:
            conn = "the virtual dock has stopped"
        else:
            conn = "connected %s" % link.port if link.connected else "DISCONNECTED (retrying)"
        parts = [
            dock,
            "charging %s" % yes_no(m.charging),
            "docked %s" % yes_no(m.docked),
            "temp %s °C" % fmt(m.temp_c, 1),
        ]
        health = "link: %s · lines %d · lost %d · reboots %d · console %d" % (
            conn,
            link.lines,
            link.lost,
            link.reboots,
            link.console,
        )
        status = Text(" · ".join(parts) + "\n")
        down = link.connected is False and not over
        style = "bold red" if down or link.lost or link.reboots else ""
        status.append(health, style=style)
        for export in self.source.exports():
            status.append(" · " + export, style="yellow" if "not " in export else "")
        if self.source.demo:
            status.append("\n" + COMPRESSED, style="dim")
        if over:  # not "no serial port (is the dock plugged in?)": the scenario ended
            status.append("\n%s · q quits" % DEMO_OVER, style="bold")
        elif link.connected is False and link.last_problem:
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

    def _confirmed(self, key: str, what: str) -> bool:
        """True on the second press of ``key`` within ``confirm_s``; the first one asks."""
        now = time.monotonic()
        if self._armed is not None and self._armed[0] == key and now <= self._armed[1]:
            self._armed = None
            return True
        self._armed = (key, now + self.confirm_s)
        ask = "press %s again within %g s to %s" % (key, self.confirm_s, what)
        self.query_one("#events", RichLog).write(Text("? " + ask, style="bold yellow"))
        self.notify(ask, timeout=self.confirm_s)
        return False

    def action_clear(self) -> None:
        if self._confirmed("c", "clear alarms (also releases a latched charge cut-off)"):
            self._command(protocol.CMD_CLEAR)

    def action_charge(self, on: bool) -> None:
        if on or self._confirmed("f", "turn charging off"):
            self._command(protocol.CMD_CHARGE, on=bool(on))

    def action_cleaned(self) -> None:
        self._command(protocol.CMD_CLEANED)

    async def action_quit(self) -> None:
        self.exit(0)

    # -- playback ---------------------------------------------------------------
    def _play(self, move: Callable[[Player], object]) -> None:
        if self.source.player is not None:
            move(self.source.player)
            self.pull()  # a step shows at once, not at the next tick

    def action_play(self) -> None:
        self._play(Player.toggle)

    def action_step(self) -> None:
        self._play(Player.step)

    def action_back(self) -> None:
        self._play(Player.back)

    def action_faster(self) -> None:
        self._play(Player.faster)

    def action_slower(self) -> None:
        self._play(Player.slower)

    def action_next_event(self) -> None:
        player = self.source.player
        if player is not None and not player.next_event():
            self.notify("no event after this point", timeout=2)
        self.pull()

    def action_to_start(self) -> None:
        self._play(lambda p: p.seek(0))

    def action_to_end(self) -> None:
        self._play(lambda p: p.seek(len(p.records)))


def _styled(line: str) -> Text:
    style = ""
    if " fault " in line or "DISCONNECTED" in line or "link disconnected" in line:
        style = "bold red"
    elif " warn " in line or "link lost" in line or "link reboot" in line or " error " in line:
        style = "yellow"
    elif "console:" in line:
        style = "dim"
    return Text(line, style=style)


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
