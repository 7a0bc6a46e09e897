"""``monitor --all`` in a terminal: an overview of the docks and the pins of the one selected.

One row per dock, the worst first (``fleetmodel``): its uid, whether the monitor
hears it, its worst state and where, docked, charging, temperature and its last log
line. Below, the pin table and the event log of the dock under the cursor (up and
down choose). Like the single-dock dashboard it never touches a port: it drains
(dock, record) pairs that ``fleet.DockRouter`` put in a ``TaggedQueue``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, RichLog, Static

from pogodock import pinfields
from pogodock.link.fleet import TaggedQueue
from pogodock.model import DASH, fmt, pin_cell, yes_no
from pogodock.pinfields import STATE
from pogodock.views.fleetmodel import RANK, FleetModel, short_names

STYLES = {
    "ok": "green",
    "warn": "bold yellow",
    "fault": "bold red",
    "open": "magenta",
    "silent": "bold red",
}
# Narrow enough for 80 columns with a useful part of the last log line.
DOCK_COLUMNS = ("dock", "link", "state", "where", "docked", "charge", "°C", "last")
# The dashboard's pin columns but the drift, which the forecast says enough of here.
PIN_FIELDS = tuple(f for f in pinfields.COLUMNS if f.key != "drift_mohm_per_day")
PIN_COLUMNS = ("pin", *(f.column for f in PIN_FIELDS))


class FleetOverview(DataTable[Any]):
    """One row per dock, keyed by the dock's key, in ``FleetModel.ranked`` order."""

    def show(self, fleet: FleetModel, selected: str | None) -> None:
        keys = fleet.ranked()
        names = short_names(sorted(fleet.docks))
        rows = [self._cells(fleet, k, names[k]) for k in keys]
        if [str(r.value) for r in self.rows] != keys:
            self.clear()
            for key, cells in zip(keys, rows, strict=True):
                self.add_row(*cells, key=key)
            if selected in keys:
                self.move_cursor(row=keys.index(selected))
            return
        for key, cells in zip(keys, rows, strict=True):
            for col, value in zip(DOCK_COLUMNS, cells, strict=True):
                self.update_cell(key, col, value, update_width=True)

    @staticmethod
    def _cells(fleet: FleetModel, key: str, name: str) -> list[Any]:
        m = fleet.docks[key]
        state, where = fleet.worst(key)
        heard = {True: "up", False: "DOWN", None: DASH}[m.link.connected]
        last = m.events[-1][13:] if m.events else DASH  # without the time of day
        return [
            name,
            Text(heard, style="bold red" if heard == "DOWN" else ""),
            Text(state, style=STYLES.get(state, "")),
            where if RANK.get(state, 0) else DASH,
            yes_no(m.docked),
            yes_no(m.charging),
            fmt(m.temp_c, 1),
            last[:26],
        ]


class FleetApp(App[int]):
    TITLE = "pogodock monitor (several docks)"
    CSS = """
    #status { height: auto; padding: 0 1; background: $boost; }
    #docks { height: auto; max-height: 10; }
    #pins { height: auto; max-height: 8; }
    #events { height: 1fr; border: round $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),  # not Textual's copy
    ]

    def __init__(
        self,
        queue: TaggedQueue,
        exporters: Sequence[Callable[[], str]] = (),
        refresh_s: float = 0.25,
    ) -> None:
        super().__init__()
        self.queue = queue
        self.exporters = list(exporters)
        self.refresh_s = refresh_s
        self.fleet = FleetModel()
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("waiting for docks…", id="status")
        yield FleetOverview(id="docks", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="pins", cursor_type="none", zebra_stripes=True)
        yield RichLog(id="events", max_lines=2000, markup=False, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        docks = self.query_one(FleetOverview)
        for col in DOCK_COLUMNS:
            docks.add_column(col, key=col)
        pins = self.query_one("#pins", DataTable)
        for col in PIN_COLUMNS:
            pins.add_column(col, key=col)
        docks.focus()
        self.pull()
        self.set_interval(self.refresh_s, self.pull)

    def pull(self) -> None:
        log = self.query_one("#events", RichLog)
        for key, rec in self.queue.drain():
            text = self.fleet.apply(key, rec)
            if text is not None and key == self.selected:
                log.write(self.fleet.docks[key].events[-1])
        if self.selected is None and self.fleet.docks:
            self.select(self.fleet.ranked()[0])
        self.query_one(FleetOverview).show(self.fleet, self.selected)
        self._pins()
        self._status()

    def select(self, key: str) -> None:
        if key == self.selected or key not in self.fleet.docks:
            return
        self.selected = key
        log = self.query_one("#events", RichLog)
        log.clear()
        log.border_title = "events of %s" % key
        for line in self.fleet.docks[key].events:
            log.write(line)
        self.query_one("#pins", DataTable).clear()
        self._pins()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if isinstance(event.data_table, FleetOverview) and event.row_key.value is not None:
            self.select(event.row_key.value)

    def _pins(self) -> None:
        table = self.query_one("#pins", DataTable)
        m = self.fleet.docks.get(self.selected or "")
        if m is None:
            return
        names = list(m.pins)
        if [str(r.value) for r in table.rows] != names:
            table.clear()
            for name in names:
                table.add_row(*[""] * len(PIN_COLUMNS), key=name)
        for name in names:
            p = m.pins[name]
            cells: list[Any] = [name]
            for f in PIN_FIELDS:
                cell = pin_cell(p, f)
                cells.append(Text(cell, style=STYLES.get(cell, "")) if f.kind == STATE else cell)
            for col, value in zip(PIN_COLUMNS, cells, strict=True):
                table.update_cell(name, col, value, update_width=True)

    def _status(self) -> None:
        docks = self.fleet.docks
        heard = sum(1 for m in docks.values() if m.link.connected)
        parts = ["%d dock%s, %d heard" % (len(docks), "" if len(docks) == 1 else "s", heard)]
        if self.selected is not None:
            m = docks[self.selected]
            hello = m.hello
            ident = "%s fw %s" % (hello.board, hello.fw) if hello else DASH
            parts.append("%s: %s" % (self.selected, ident))
        parts += [state() for state in self.exporters]
        self.query_one("#status", Static).update(" · ".join(parts))

    async def action_quit(self) -> None:
        self.exit(0)


def run(queue: TaggedQueue, exporters: Sequence[Callable[[], str]] = ()) -> int:
    import sys

    from pogodock.views.dashboard import exit_on_hangup

    if sys.stdin.isatty():
        exit_on_hangup(sys.stdin.fileno())
    return FleetApp(queue, exporters).run() or 0
