"""``pogodock --version``: the host's version, and the firmware's when a dock answers.

Not a command of its own: the option goes before any command. When no dock can be opened
or none says hello in time only the firmware's half is missing; the exit status stays 0.
"""

from __future__ import annotations

import sys
import time

from pogodock import __version__
from pogodock.link.dockcmd import connected

VERSION_TIMEOUT_S = 2.0


def run(port: str | None, timeout: float = VERSION_TIMEOUT_S) -> int:
    """The host's version; the firmware's too when a dock says hello within ``timeout``."""
    from pogodock.link.ports import PortError

    print("pogodock %s (host)" % __version__, flush=True)
    try:
        with connected(port, timeout) as reader:
            end = time.monotonic() + timeout
            while not reader.confirmed and time.monotonic() < end:
                time.sleep(0.02)
            hello = reader.hello
            where = reader.current_port
    except PortError as e:
        print("no firmware version: %s" % e, file=sys.stderr)
        return 0
    if hello is None:
        print(
            "no firmware version: %s did not say hello within %g s" % (where, timeout),
            file=sys.stderr,
        )
        return 0
    print("firmware %s on %s (uid %s) at %s" % (hello.fw, hello.board, hello.uid or "-", where))
    return 0
