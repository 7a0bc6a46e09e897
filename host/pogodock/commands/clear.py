"""reset counters and latched events, and a latched charge cut-off

Reset the dock's counters and latched events, and release a latched charge cut-off.
"""

from __future__ import annotations

import argparse

from dockfw import protocol

from pogodock.commands.dock_options import TIMEOUT_S, add_dock_options
from pogodock.link.dockcmd import ask, connected


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dock_options(parser, TIMEOUT_S)


def run(args: argparse.Namespace) -> int:
    with connected(args.port, args.timeout) as reader:
        ask(reader, protocol.CMD_CLEAR, args.timeout)
    print("cleared: counters, latched events and any latched charge cut-off")
    return 0
