"""``monitor --headless`` (and replay to a pipe): one line per event, a periodic health summary.

Every line starts with the host's receive time in UTC. Events, hellos, acks,
errors, console text and link changes (connected, lost lines, reboot, ...)
get a line each; ``sample`` and ``health`` lines feed the summary printed every
``every`` seconds and once at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import TextIO

from pogodock.model import DockModel
from pogodock.reader import Reader, RecordQueue
from pogodock.records import Record, iso_utc


class HeadlessPrinter:
    def __init__(self, out: TextIO | None = None, every: float = 10.0) -> None:
        self.out = out if out is not None else sys.stdout
        self.every = every
        self.model = DockModel()
        self._next_summary: float | None = None

    def handle(self, rec: Record) -> None:
        text = self.model.apply(rec)
        if text is not None:
            self.out.write("%s %s\n" % (iso_utc(rec.host_time), text))

    def summary(self, now: float) -> None:
        self.out.write("%s %s\n" % (iso_utc(now), self.model.health_summary()))

    def tick(self, now: float) -> None:
        """Prints the summary when one is due by ``now`` (a UNIX time)."""
        if self.every <= 0:
            return
        if self._next_summary is None:
            self._next_summary = now + self.every
        elif now >= self._next_summary:
            self.summary(now)
            self._next_summary = now + self.every


def run_live(
    reader: Reader, queue: RecordQueue, printer: HeadlessPrinter, duration: float | None = None
) -> int:
    """Print what ``queue`` receives until ``duration`` s have passed or Ctrl-C."""
    end = None if duration is None else time.monotonic() + duration
    out = printer.out
    try:
        while end is None or time.monotonic() < end:
            batch = queue.drain()
            for rec in batch:
                printer.handle(rec)
            printer.tick(time.time())
            out.flush()
            if not batch:
                time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    for rec in queue.drain():
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
