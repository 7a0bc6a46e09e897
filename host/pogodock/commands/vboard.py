"""a virtual board: MicroPython with simulated hardware, on a pseudo-terminal

Run the real MicroPython interpreter as a dock on a pseudo-terminal (its path is the first
line of stdout): REPL and raw REPL for mpremote, soft and hard reset, a watchdog that
bites, and whatever was flashed onto it (make flash PORT=...) runs at boot against the
scenario's simulated monitors, through the scenario's power cuts. Stop it with Ctrl-C.
--link PATH also names the pseudo-terminal by a symlink that lasts as long as the board.

No host on the port means no host, as on a Pico: the supervisor (``virtual.vboard``)
does not hold the terminal's other side open, so it sees when nobody has the port and
drops the board's output then, as a Pico does without DTR, and what a host leaves unread
is thrown away when it closes the port. ``pogodock sim --pty`` does the opposite: it
keeps the terminal open itself, and the dock's lines wait for the next host.
"""

from __future__ import annotations

import argparse
import sys

from pogodock.commands.usage import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", required=True, metavar="FILE", help="scenario JSON file")
    parser.add_argument(
        "--flash",
        metavar="DIR",
        help="an existing folder that is the board's flash, kept after the board stops "
        "(default: an empty temporary folder)",
    )
    parser.add_argument(
        "--link",
        metavar="PATH",
        help="also name the pseudo-terminal by a symlink at PATH (printed instead of the "
        "pty's own path), removed when the board stops, so that a host following PATH "
        "finds nothing there after the board has gone",
    )


def run(args: argparse.Namespace) -> int:
    from dockfw.board import BoardError
    from docksim.scenario import ScenarioError

    from pogodock import paths
    from pogodock.virtual import ptylink
    from pogodock.virtual.vboard.server import VboardError, serve

    why = ptylink.refusal(args.link) if args.link else ""
    if why:
        raise UsageError(why)
    try:
        return serve(paths.scenario(args.scenario), args.flash, link=args.link)
    except (VboardError, ScenarioError, BoardError) as e:
        print("pogodock vboard: %s" % e, file=sys.stderr)
        return 1
