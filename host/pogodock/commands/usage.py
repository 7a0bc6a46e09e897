"""What the commands share with the command line: its errors and its argument types."""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A command line that cannot be carried out; the message says why."""


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text) from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def say(text: str) -> None:
    """A message on stderr, now (looked up at each call: the dashboard captures stderr)."""
    print(text, file=sys.stderr, flush=True)


def note(recording, console_fate: str = "") -> None:
    """Says on stderr what of the file was skipped (a command that fails says only why)."""
    text = recording.note(console_fate)
    if text:
        say(text)
