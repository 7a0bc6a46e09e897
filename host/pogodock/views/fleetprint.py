"""Headless output for several docks (``monitor --all``): a ``HeadlessPrinter`` per dock.

Lines are those of one dock's headless output, each with the dock's uid after the
time, cut short while that still tells the docks apart (``fleetmodel.short_names``).
The uid goes in on the way out (``_Tagged``), so the printer is the single dock's.
"""

from __future__ import annotations

import sys
from typing import TextIO, cast

from pogodock.link.fleet import TaggedQueue
from pogodock.records import Record
from pogodock.views.fleetmodel import short_names
from pogodock.views.headless import HeadlessPrinter, print_live


class _Tagged:
    """A dock's printer's stream: the dock's name after each line's time (the line's
    first word; the printer writes each line with one call)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.prefix = ""

    def write(self, text: str) -> int:
        time_, _, rest = text.partition(" ")
        return self.out.write("%s %s %s" % (time_, self.prefix, rest))

    def flush(self) -> None:
        self.out.flush()


class FleetPrinter:
    def __init__(self, out: TextIO | None = None, every: float = 10.0) -> None:
        self.out = out if out is not None else sys.stdout
        self.every = every
        self.printers: dict[str, HeadlessPrinter] = {}
        self._streams: dict[str, _Tagged] = {}

    def handle(self, key: str, rec: Record) -> None:
        p = self.printers.get(key)
        if p is None:
            stream = self._streams[key] = _Tagged(self.out)
            p = self.printers[key] = HeadlessPrinter(cast(TextIO, stream), self.every)
            self._name_all()
        p.handle(rec)

    def _name_all(self) -> None:
        for key, name in short_names(list(self.printers)).items():
            self._streams[key].prefix = name

    def summary(self, now: float) -> None:
        for p in self.printers.values():
            p.summary(now)

    def tick(self, now: float) -> None:
        # A dock unplugged (or swapped for another) gets no periodic summary: its last
        # values would read as current. The summary at the end still shows them.
        for p in self.printers.values():
            if p.model.link.connected is not False:
                p.tick(now)


def run(queue: TaggedQueue, printer: FleetPrinter, duration: float | None = None) -> int:
    """Print what ``queue`` receives until ``duration`` s have passed or Ctrl-C (the
    loop of ``headless.run_live``, over (dock, record) pairs)."""
    interrupted = print_live(queue.drain, lambda item: printer.handle(*item), printer, duration)
    return 130 if interrupted else 0
