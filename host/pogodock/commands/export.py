"""write samples and events as CSV

Write the samples and events of a recording or raw capture as CSV, units in the column
names, host receive times in UTC (ISO 8601; a raw capture's are the dock's clock, ending at
the file's last change).
"""

from __future__ import annotations

import argparse
import sys

from pogodock.commands.usage import UsageError, note


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="recording or raw capture")
    parser.add_argument(
        "--csv", required=True, metavar="OUT", help="CSV file to write ('-' for stdout)"
    )


def run(args: argparse.Namespace) -> int:
    from pogodock.recordings import export, outfile, replay

    if args.csv != "-" and outfile.same_file(args.file, args.csv):
        raise UsageError("%s is the file being exported: give --csv another name" % args.csv)
    recording = replay.load(args.file)
    if not export.exportable(recording.records):
        raise UsageError(
            "%s holds no samples, health lines, events or link gaps to export" % args.file
        )
    try:
        n = export.export(recording.records, args.csv)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise UsageError("cannot write %s: %s" % (args.csv, e.strerror or e)) from None
    note(recording, " (not exported)")
    if args.csv != "-":
        print("wrote %d rows to %s" % (n, args.csv), file=sys.stderr)
    return 0
