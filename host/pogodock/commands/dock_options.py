"""The options of every command that talks to one dock: which port, how long to wait."""

from __future__ import annotations

import argparse

from pogodock.commands.usage import positive_float

TIMEOUT_S = 5.0
# A board's restart: its USB port leaves and comes back, MicroPython boots, the firmware
# loads its state; seconds, and more on a slow host's USB.
REBOOT_TIMEOUT_S = 20.0


def add_dock_options(
    parser: argparse.ArgumentParser, timeout: float, what: str = "the dock's answer"
) -> None:
    """``--port`` and ``--timeout`` on ``parser``, before the command's own options."""
    parser.add_argument(
        "--port", metavar="P", help="serial port of the dock (default: auto-detect)"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=timeout,
        metavar="S",
        help="seconds to wait for %s (default %g)" % (what, timeout),
    )
