"""Waiting for a Textual app under the pilot to show something, instead of a fixed pause.

A fixed ``pilot.pause(0.1)`` is a couple of the dashboard's refresh ticks on an idle
machine, and none on a loaded CI runner: a column not yet widened read as a wrong
one. ``shown`` pauses in small steps until ``want(read())`` is true, for at most
``timeout`` seconds, and returns the last value ``read()`` gave (what the test then
asserts on, so a screen that never gets there still fails with what it showed). A
``read()`` that raises (the row is not there yet) is tried again until the timeout,
and then raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def shown(
    pilot: Any, read: Callable[[], T], want: Callable[[T], bool], timeout: float = 5.0
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause(0.05)
        late = time.monotonic() > deadline
        try:
            value = read()
        except Exception:
            if late:
                raise
            continue
        if want(value) or late:
            return value


async def cell_shown(pilot: Any, app: Any, pin: str, column: str, want: str) -> str:
    """The pin table's cell once it shows ``want`` (or what it shows after ``shown``'s
    timeout)."""
    from textual.widgets import DataTable

    from support.dashrecords import cell

    return await shown(
        pilot, lambda: cell(app.query_one("#pins", DataTable), pin, column), lambda t: t == want
    )
