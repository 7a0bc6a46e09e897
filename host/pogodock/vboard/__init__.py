"""``pogodock vboard``: the real MicroPython interpreter as a virtual dock on a pseudo-terminal.

The command line's side only; the supervisor (``server``) loads when the command runs.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "vboard",
        help="a virtual board: MicroPython with simulated hardware, on a pseudo-terminal",
        description="Run the real MicroPython interpreter as a dock on a pseudo-terminal "
        "(its path is the first line of stdout): REPL and raw REPL for mpremote, soft and "
        "hard reset, a watchdog that bites, and whatever was flashed onto it (make flash "
        "PORT=...) runs at boot against the scenario's simulated monitors, through the "
        "scenario's power cuts. Stop it with Ctrl-C.",
    )
    p.add_argument("--scenario", required=True, metavar="FILE", help="scenario JSON file")
    p.add_argument(
        "--flash",
        metavar="DIR",
        help="an existing folder that is the board's flash, kept after the board stops "
        "(default: an empty temporary folder)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from dockfw.board import BoardError
    from docksim.scenario import ScenarioError

    from pogodock import paths
    from pogodock.vboard.server import VboardError, serve

    try:
        return serve(paths.scenario(args.scenario), args.flash)
    except (VboardError, ScenarioError, BoardError) as e:
        print("pogodock vboard: %s" % e, file=sys.stderr)
        return 1
