"""restart the dock and wait for it to come back

Restart the dock and wait (up to --timeout) for its hello with a new boot id.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import TYPE_CHECKING

from dockfw import protocol

from pogodock.commands.dock_options import REBOOT_TIMEOUT_S, add_dock_options
from pogodock.link.dockcmd import DockError, ask, connected

if TYPE_CHECKING:
    from pogodock.records import Hello, Record


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dock_options(parser, REBOOT_TIMEOUT_S, "the dock's answer, and then for it to be back")


def run(args: argparse.Namespace) -> int:
    from pogodock.records import Hello

    hellos: list[Hello] = []
    came = threading.Event()

    def seen(rec: Record) -> None:
        if isinstance(rec, Hello):
            hellos.append(rec)
            came.set()

    with connected(args.port, args.timeout) as reader:
        reader.subscribe(seen)
        old = ask(reader, protocol.CMD_REBOOT, args.timeout).boot
        # A board's USB port goes away as it restarts; the reader opens it again and
        # the dock's first line is its hello, with a new boot id.
        end = time.monotonic() + args.timeout
        new = None
        while new is None and came.wait(max(0.0, end - time.monotonic())):
            came.clear()
            new = next((h for h in hellos if h.boot != old), None)
    if new is None:
        raise DockError(
            "the dock took the reboot (boot %s) but did not say hello again within %g s"
            % (old, args.timeout)
        )
    print("rebooted: boot %s -> %s (reset cause: %s)" % (old, new.boot, new.reset_cause))
    return 0
