"""write a PNG of contact resistance per pin over time

Plot contact resistance per pin over time from a recording or raw capture, with events
marked.
"""

from __future__ import annotations

import argparse
import os
import sys

from pogodock.commands.usage import UsageError, note


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="recording or raw capture")
    parser.add_argument(
        "--out",
        required=True,
        metavar="OUT.png",
        help="picture to write: .png, .svg or .pdf (no suffix: .png is added)",
    )
    parser.add_argument(
        "--x",
        choices=("auto", "host", "device"),
        default="auto",
        help="time axis: the host's clock, the dock's, or auto (the dock's when the recording "
        "ran faster than real time)",
    )
    parser.add_argument("--title", help="plot title")


def run(args: argparse.Namespace) -> int:
    from pogodock.recordings import outfile, plot, replay

    out = plot.output_path(args.out)
    if outfile.same_file(args.file, out):
        raise UsageError("%s is the file being plotted: give --out another name" % out)
    recording = replay.load(args.file)
    title = args.title or "Contact resistance per pin: %s" % os.path.basename(args.file)
    axis = args.x
    if axis == "auto" and recording.captured and not recording.recorded:
        axis = "device"  # a raw capture's host times are the dock's clock anyway
    try:
        axis = plot.plot(recording.records, out, title=title, axis=axis)
    except OSError as e:
        raise UsageError("cannot write %s: %s" % (out, e.strerror or e)) from None
    note(recording, " (not plotted)")
    print("wrote %s (time axis: %s clock)" % (out, axis), file=sys.stderr)
    return 0
