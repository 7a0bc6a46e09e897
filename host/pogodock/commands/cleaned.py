"""tell the dock its pins were cleaned

Tell the dock that pins were cleaned: its oxidation detector re-arms and checks the next
docking against the baseline.
"""

from __future__ import annotations

import argparse

from dockfw import protocol

from pogodock.commands.dock_options import TIMEOUT_S, add_dock_options
from pogodock.link.dockcmd import ask, connected


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dock_options(parser, TIMEOUT_S)
    parser.add_argument("pins", nargs="*", metavar="PIN", help="pin names (default: all)")


def run(args: argparse.Namespace) -> int:
    extra = {"pins": list(args.pins)} if args.pins else {}
    with connected(args.port, args.timeout) as reader:
        ask(reader, protocol.CMD_CLEANED, args.timeout, **extra)
    which = ", ".join(args.pins) if args.pins else "all pins"
    print("cleaned: %s; the dock checks the next docking against the baseline" % which)
    return 0
