"""SIGTERM handled as Ctrl-C, so that ``finally`` blocks run when a service manager or
a test stops a long-running command (``monitor --headless``, ``vboard``)."""

from __future__ import annotations

import signal
from types import FrameType


def sigterm_as_interrupt() -> None:
    """From now on SIGTERM raises KeyboardInterrupt in the main thread (elsewhere: no-op)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: signals cannot be handled there
        pass
