"""``monitor --headless`` (and replay to a pipe): one line per event, a periodic health summary.

Every line starts with the host's receive time in UTC, then (following several
docks, ``FleetPrinter``) the dock's short uid. Events, hellos, acks,
errors, console text and link changes (connected, lost lines, reboot, ...)
get a line each; ``sample`` and ``health`` lines feed the summary printed every
``every`` seconds and once at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from pogodock.model import DockModel
from pogodock.records import Record, iso_utc

SHORT_UID = 8


class HeadlessPrinter:
    def __init__(self, out: TextIO | None = None, every: float = 10.0, prefix: str = "") -> None:
        """``prefix``: written after the time on every line (the dock's short uid)."""
        self.out = out if out is not None else sys.stdout
        self.every = every
        self.prefix = prefix
        self.model = DockModel()
        self._next_summary: float | None = None

    def handle(self, rec: Record) -> None:
        text = self.model.apply(rec)
        if text is not None:
            self.out.write("%s %s%s\n" % (iso_utc(rec.host_time), self.prefix, text))

    def summary(self, now: float) -> None:
        self.out.write("%s %s%s\n" % (iso_utc(now), self.prefix, self.model.health_summary()))

    def tick(self, now: float) -> None:
        """Prints the summary when one is due by ``now`` (a UNIX time)."""
        if self.every <= 0:
            return
        if self._next_summary is None:
            self._next_summary = now + self.every
        elif now >= self._next_summary:
            self.summary(now)
            self._next_summary = now + self.every


class FleetPrinter:
    """Several docks: a printer (and so a model) per dock key, each line prefixed with
    the dock's uid, cut to ``SHORT_UID`` hex digits while that tells the docks apart."""

    def __init__(self, out: TextIO | None = None, every: float = 10.0) -> None:
        self.out = out if out is not None else sys.stdout
        self.every = every
        self.printers: dict[str, HeadlessPrinter] = {}

    def handle(self, item: tuple[str, Record]) -> None:
        key, rec = item
        p = self.printers.get(key)
        if p is None:
            p = self.printers[key] = HeadlessPrinter(self.out, self.every)
            self._name_all()
        p.handle(rec)

    def _name_all(self) -> None:
        keys = list(self.printers)
        short = [k[:SHORT_UID] for k in keys]
        for key, s in zip(keys, short, strict=True):
            self.printers[key].prefix = (s if short.count(s) == 1 else key) + " "

    def summary(self, now: float) -> None:
        for p in self.printers.values():
            p.summary(now)

    def tick(self, now: float) -> None:
        # A dock unplugged (or swapped for another) gets no periodic summary: its last
        # values would read as current. The summary at the end still shows them.
        for p in self.printers.values():
            if p.model.link.connected is not False:
                p.tick(now)


def run_live(
    drain: Callable[[], Sequence[Any]],
    printer: HeadlessPrinter | FleetPrinter,
    duration: float | None = None,
) -> int:
    """Print what ``drain`` gives (records, or (dock, record) pairs for a
    ``FleetPrinter``) until ``duration`` s have passed or Ctrl-C."""
    end = None if duration is None else time.monotonic() + duration
    out = printer.out
    try:
        while end is None or time.monotonic() < end:
            batch = drain()
            for rec in batch:
                printer.handle(rec)
            printer.tick(time.time())
            out.flush()
            if not batch:
                time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    for rec in drain():
        printer.handle(rec)
    printer.summary(time.time())
    out.flush()
    return 0


def run_records(records: Iterable[Record], printer: HeadlessPrinter) -> int:
    """A recording through the printer; summaries by the recorded host time."""
    last = None
    for rec in records:
        printer.handle(rec)
        printer.tick(rec.host_time)
        last = rec.host_time
    printer.summary(last if last is not None else time.time())
    printer.out.flush()
    return 0
