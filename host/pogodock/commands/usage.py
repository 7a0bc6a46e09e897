"""What the commands share with the command line: its errors and its argument types."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable


class UsageError(Exception):
    """A command line that cannot be carried out; the message says why."""


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text) from None
    # inf and nan parse, and then overflow or never compare where they are used.
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("%r is not a finite number" % text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def seconds_up_to(limit: float, words: str) -> Callable[[str], float]:
    """An argument type: seconds above 0, up to ``limit`` (``words`` says it in the error)."""

    def seconds(text: str) -> float:
        value = positive_float(text)
        if value > limit:
            raise argparse.ArgumentTypeError("%s is more than %s" % (text, words))
        return value

    return seconds


def say(text: str) -> None:
    """A message on stderr, now (looked up at each call: the dashboard captures stderr)."""
    print(text, file=sys.stderr, flush=True)


def note(recording, console_fate: str = "") -> None:
    """Says on stderr what of the file was skipped (a command that fails says only why)."""
    text = recording.note(console_fate)
    if text:
        say(text)
