"""The options of every command that talks to one dock: which port, how long to wait."""

from __future__ import annotations

import argparse

from pogodock.commands.usage import seconds_up_to

TIMEOUT_S = 5.0
# A board's restart: its USB port leaves and comes back, MicroPython boots, the firmware
# loads its state; seconds, and more on a slow host's USB.
REBOOT_TIMEOUT_S = 20.0
# Longer than anyone waits for one answer, and far inside what the waits can take
# (threading.TIMEOUT_MAX, a time_t deadline).
MAX_TIMEOUT_S = 86400.0


def add_dock_options(
    parser: argparse.ArgumentParser, timeout: float, what: str = "the dock's answer"
) -> None:
    """``--port`` and ``--timeout`` on ``parser``, before the command's own options."""
    parser.add_argument(
        "--port", metavar="P", help="serial port of the dock (default: auto-detect)"
    )
    parser.add_argument(
        "--timeout",
        type=seconds_up_to(MAX_TIMEOUT_S, "a day (86400 s)"),
        default=timeout,
        metavar="S",
        help="seconds to wait for %s, at most a day: 86400 (default %g)" % (what, timeout),
    )
