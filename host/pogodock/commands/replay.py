"""show a recording as the monitor would

Show a recording (monitor --record, sim --record) or a raw capture of the dock's output
(cat /dev/ttyACM0 > FILE): the dashboard in a terminal, event lines otherwise, or a
summary.
"""

from __future__ import annotations

import argparse
import sys

from pogodock.commands.usage import note


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="recording or raw capture")
    parser.add_argument("--summary", action="store_true", help="print a summary of the recording")
    parser.add_argument(
        "--headless", action="store_true", help="print event lines even in a terminal"
    )
    parser.add_argument(
        "--every",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds of recorded time between summaries",
    )


def run(args: argparse.Namespace) -> int:
    from pogodock.recordings import replay

    recording = replay.load(args.file)
    note(recording)
    if args.summary:
        print(replay.summary(recording))
        return 0
    if args.headless or not sys.stdout.isatty():
        from pogodock.views import headless as hl

        return hl.run_records(recording.records, hl.HeadlessPrinter(sys.stdout, every=args.every))
    from pogodock.views import dashboard

    return dashboard.run(
        dashboard.PlaybackSource(recording.records, "pogodock replay %s" % args.file)
    )
