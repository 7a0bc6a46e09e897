"""``monitor --headless`` (and replay to a pipe): one line per event, a periodic health summary.

Every line starts with the host's receive time in UTC. Events, hellos, acks,
errors, console text and link changes (connected, lost lines, reboot, ...)
get a line each; ``sample`` and ``health`` lines feed the summary printed every
``every`` seconds and once at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

from pogodock.link.reader import Reader, RecordQueue
from pogodock.model import DockModel
from pogodock.records import Record, iso_utc

T = TypeVar("T")

DEMO_OVER = "the demo is over: its scenario has ended"
_PER_DAY = ("_per_day=", "days_to_clean=")


def demo_line(text: str) -> str:
    """An event line of the demo's, marked when it holds a per-day figure: the demo plays
    weeks of wear in minutes, so its days are not a calendar's."""
    return text + " (compressed time)" if any(k in text for k in _PER_DAY) else text


class HeadlessPrinter:
    def __init__(self, out: TextIO | None = None, every: float = 10.0, demo: bool = False) -> None:
        self.out = out if out is not None else sys.stdout
        self.every = every
        self.demo = demo
        self.model = DockModel()
        self._next_summary: float | None = None

    def handle(self, rec: Record) -> None:
        text = self.model.apply(rec)
        if text is not None:
            if self.demo:
                text = demo_line(text)
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
    reader: Reader,
    queue: RecordQueue,
    printer: HeadlessPrinter,
    duration: float | None = None,
    demo: bool = False,
) -> int:
    """Print what ``queue`` receives until ``duration`` s have passed or Ctrl-C; with
    ``demo``, also once the port is gone: the demo's virtual dock ends with its scenario."""
    link = printer.model.link

    def over() -> bool:  # nothing after the port's end matters: no "is it plugged in?"
        return demo and link.connected is False

    interrupted = print_live(queue.drain, printer.handle, printer, duration, over)
    if over():
        printer.out.write("%s %s\n" % (iso_utc(time.time()), DEMO_OVER))
        printer.out.flush()
    return 130 if interrupted else 0


def print_live(
    drain: Callable[[], Sequence[T]],
    handle: Callable[[T], None],
    printer: Any,
    duration: float | None,
    over: Callable[[], bool] = lambda: False,
) -> bool:
    """The live loop of the headless printers (one dock's, the fleet's): ``handle``
    what ``drain()`` returns, ``printer.tick`` the periodic summaries, until
    ``duration`` s have passed, Ctrl-C (or SIGTERM) or ``over()``; then what is still
    queued (unless over) and ``printer.summary``. True when Ctrl-C ended it: the command
    still ends as it would have, then says it was interrupted (status 130)."""
    end = None if duration is None else time.monotonic() + duration
    out = printer.out
    interrupted = False
    try:
        while (end is None or time.monotonic() < end) and not over():
            batch = drain()
            for item in batch:
                handle(item)
                if over():
                    break
            printer.tick(time.time())
            out.flush()
            if not batch:
                time.sleep(0.05)
    except KeyboardInterrupt:
        interrupted = True
    if not over():
        for item in drain():
            handle(item)
    printer.summary(time.time())
    out.flush()
    return interrupted


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
