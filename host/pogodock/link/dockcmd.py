"""One command to a dock and its answer, for the commands that send one (``pogodock config``,
``cleaned``, ``clear``, ``reboot``, ``info``, ``--version``).

Each goes through the reader core (``Reader`` owns the port, finds the dock when no port
is given, numbers the command and matches the ``ack`` or ``error`` to it by ``id``), so
these commands open, reconnect and explain ports as ``monitor`` does. The dock checks the
values, so its bounds are defined there once and its refusal is passed on as it gave it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded when a command runs: the parsers are built for every command
    from pogodock.link.reader import Reader
    from pogodock.records import Ack


class DockError(Exception):
    """The dock refused a command, or did not answer it; the message says which."""


@contextmanager
def connected(port: str | None, timeout: float) -> Iterator[Reader]:
    """A started reader on ``port`` (or the one dock found), stopped after."""
    from pogodock.link import ports
    from pogodock.link.reader import Reader

    if port is None:
        # The reader would take the first that answers; a setting must not go to a dock
        # picked by chance.
        found = ports.find_docks()
        if len(found) > 1:
            raise DockError(
                "%d ports look like docks (%s); choose one with --port"
                % (len(found), ", ".join(found))
            )
    reader = Reader(port, confirm_timeout=timeout, command_timeout=timeout)
    try:
        reader.start()  # PortError, one sentence, when the port cannot be used
        yield reader
    finally:
        reader.stop()


def ask(reader: Reader, cmd: str, timeout: float, **args: Any) -> Ack:
    """The dock's ``ack`` to ``cmd``; ``DockError`` when it refuses or does not answer."""
    from pogodock.records import Ack, Error

    pending = reader.send(cmd, **args)
    # The reader fails the command itself after its command_timeout; the margin only
    # covers the reader's thread being late.
    reply = pending.wait(timeout + 2.0)
    if isinstance(reply, Error):
        raise DockError(
            "the dock refused %s: %s (%s)" % (cmd, reply.message.rstrip("."), reply.code)
        )
    if isinstance(reply, Ack):
        return reply
    where = reader.current_port or "the dock"
    if pending.failure in ("link lost", "not connected"):
        raise DockError("lost %s before the dock answered %s" % (where, cmd))
    raise DockError(
        "no answer to %s from %s within %g s (is it a pogodock, running its firmware?)"
        % (cmd, where, timeout)
    )
