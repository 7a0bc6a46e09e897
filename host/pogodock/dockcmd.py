"""One command to a dock, its answer printed: ``pogodock config get|set``, ``cleaned``,
``clear``, ``reboot``, ``info``, and the firmware half of ``pogodock --version``.

Each goes through the reader core (``Reader`` owns the port, finds the dock when no
``--port`` is given, numbers the command and matches the ``ack`` or ``error`` to it by
``id``), so these commands open, reconnect and explain ports as ``monitor`` does. The
names of commands and settings come from ``dockfw.protocol``; the dock checks the values,
so its bounds are defined there once and its refusal is printed as it gave it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dockfw import protocol

from pogodock import __version__

if TYPE_CHECKING:  # loaded when a command runs: the parsers are built for every command
    from pogodock.link.reader import Reader
    from pogodock.records import Ack, Record

TIMEOUT_S = 5.0
# A board's restart: its USB port leaves and comes back, MicroPython boots, the firmware
# loads its state; seconds, and more on a slow host's USB.
REBOOT_TIMEOUT_S = 20.0
VERSION_TIMEOUT_S = 2.0


class DockError(Exception):
    """The dock refused a command, or did not answer it; the message says which."""


@contextmanager
def _dock(port: str | None, timeout: float) -> Iterator[Reader]:
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


def _ask(reader: Reader, cmd: str, timeout: float, **args: Any) -> Ack:
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


def _number(text: str) -> int | float | str:
    """A value from the command line as JSON would have it; text that is no finite number
    goes as text, for the dock to refuse with its bounds."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _unit(key: str) -> str:
    spec = protocol.SETTINGS.get(key)
    return " " + spec[2] if spec else ""


def _config(ack: Ack) -> dict[str, Any]:
    config = ack.get("config")
    if not isinstance(config, dict):
        raise DockError("the dock's answer to %s carried no settings" % ack.cmd)
    return config


# -- the commands -------------------------------------------------------------------


def config_get(args: argparse.Namespace) -> int:
    with _dock(args.port, args.timeout) as reader:
        extra = {"key": args.key} if args.key is not None else {}
        config = _config(_ask(reader, protocol.CMD_GET, args.timeout, **extra))
    if args.json:
        print(json.dumps(config))
    elif args.key is not None:  # the value alone, for scripts (as git config prints it)
        print(json.dumps(config.get(args.key)))
    else:
        width = max((len(k) for k in config), default=0)
        for key, value in config.items():
            print("%-*s  %s%s" % (width, key, json.dumps(value), _unit(key)))
    return 0


def config_set(args: argparse.Namespace) -> int:
    with _dock(args.port, args.timeout) as reader:
        ack = _ask(reader, protocol.CMD_SET, args.timeout, key=args.key, value=_number(args.value))
        config = _config(ack)
    for key, value in config.items():
        print("%s = %s%s" % (key, json.dumps(value), _unit(key)))
    return 0


def cleaned(args: argparse.Namespace) -> int:
    extra = {"pins": list(args.pins)} if args.pins else {}
    with _dock(args.port, args.timeout) as reader:
        _ask(reader, protocol.CMD_CLEANED, args.timeout, **extra)
    which = ", ".join(args.pins) if args.pins else "all pins"
    print("cleaned: %s; the dock checks the next docking against the baseline" % which)
    return 0


def clear(args: argparse.Namespace) -> int:
    with _dock(args.port, args.timeout) as reader:
        _ask(reader, protocol.CMD_CLEAR, args.timeout)
    print("cleared: counters, latched events and any latched charge cut-off")
    return 0


def reboot(args: argparse.Namespace) -> int:
    from pogodock.records import Hello

    hellos: list[Hello] = []
    came = threading.Event()

    def seen(rec: Record) -> None:
        if isinstance(rec, Hello):
            hellos.append(rec)
            came.set()

    with _dock(args.port, args.timeout) as reader:
        reader.subscribe(seen)
        old = _ask(reader, protocol.CMD_REBOOT, args.timeout).boot
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


def info(args: argparse.Namespace) -> int:
    with _dock(args.port, args.timeout) as reader:
        ack = _ask(reader, protocol.CMD_INFO, args.timeout)
        hello = reader.hello  # the reader keeps the latest: the one just before this ack
        port = reader.current_port
    if hello is None or hello.boot != ack.boot:
        raise DockError("the dock acknowledged info without a hello")
    if args.json:
        print(json.dumps(hello.data))
        return 0
    data = hello.data
    rows = [
        ("board", hello.board),
        ("firmware", hello.fw),
        ("uid", hello.uid or "-"),
        ("boot", "%s (reset cause: %s)" % (hello.boot, hello.reset_cause)),
        ("port", port or "-"),
        (
            "rates",
            "sample %s Hz, idle %s Hz, report %s Hz"
            % (data.get("sample_hz"), data.get("idle_hz"), data.get("report_hz")),
        ),
        ("watchdog", "%s ms" % data["watchdog_ms"] if data.get("watchdog_ms") else "none"),
        ("pins", ", ".join(_pin(p) for p in hello.pins) or "-"),
    ]
    if data.get("last_error"):
        rows.append(("last error", json.dumps(data["last_error"])))
    for name, value in rows:
        print("%-10s  %s" % (name, value))
    return 0


def _pin(p: Any) -> str:
    if not isinstance(p, dict):
        return "?"
    return "%s (%s, %s mA, %s cycles)" % (
        p.get("name"),
        p.get("role"),
        p.get("max_ma"),
        p.get("rated_cycles"),
    )


def version(port: str | None, timeout: float = VERSION_TIMEOUT_S) -> int:
    """The host's version; the firmware's too when a dock says hello within ``timeout``."""
    from pogodock.link.ports import PortError

    print("pogodock %s (host)" % __version__, flush=True)
    try:
        with _dock(port, timeout) as reader:
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


# -- the command line ---------------------------------------------------------------


def add_parsers(sub: Any) -> None:
    """The dock commands' parsers, on ``pogodock``'s subparsers."""
    from pogodock.cli import _positive_float

    def link(timeout: float, what: str = "the dock's answer") -> argparse.ArgumentParser:
        parent = argparse.ArgumentParser(add_help=False)
        parent.add_argument(
            "--port", metavar="P", help="serial port of the dock (default: auto-detect)"
        )
        parent.add_argument(
            "--timeout",
            type=_positive_float,
            default=timeout,
            metavar="S",
            help="seconds to wait for %s (default %g)" % (what, timeout),
        )
        return parent

    cfg = sub.add_parser(
        "config",
        help="read or change the dock's settings",
        description="Read or change the dock's settings (%s). A value set is kept on the "
        "dock's flash." % ", ".join(sorted(protocol.SETTINGS)),
    )
    cfg_sub = cfg.add_subparsers(dest="action", metavar="ACTION", required=True)
    get = cfg_sub.add_parser(
        "get",
        parents=[link(TIMEOUT_S)],
        help="print one setting's value, or every setting",
        description="Print one setting's value alone, or every setting with its unit.",
    )
    get.add_argument("key", nargs="?", metavar="KEY", help="the setting (default: all)")
    get.add_argument("--json", action="store_true", help="print the settings as a JSON object")
    get.set_defaults(func=config_get)
    put = cfg_sub.add_parser(
        "set",
        parents=[link(TIMEOUT_S)],
        help="change a setting",
        description="Change a setting at once; the dock checks it against its bounds.",
    )
    put.add_argument("key", metavar="KEY", help="the setting")
    put.add_argument("value", metavar="VALUE", help="its new value (a number)")
    put.set_defaults(func=config_set)

    cl = sub.add_parser(
        "cleaned",
        parents=[link(TIMEOUT_S)],
        help="tell the dock its pins were cleaned",
        description="Tell the dock that pins were cleaned: its oxidation detector re-arms "
        "and checks the next docking against the baseline.",
    )
    cl.add_argument("pins", nargs="*", metavar="PIN", help="pin names (default: all)")
    cl.set_defaults(func=cleaned)

    cr = sub.add_parser(
        "clear",
        parents=[link(TIMEOUT_S)],
        help="reset counters and latched events, and a latched charge cut-off",
        description="Reset the dock's counters and latched events, and release a latched "
        "charge cut-off.",
    )
    cr.set_defaults(func=clear)

    rb = sub.add_parser(
        "reboot",
        parents=[link(REBOOT_TIMEOUT_S, "the dock's answer, and then for it to be back")],
        help="restart the dock and wait for it to come back",
        description="Restart the dock and wait (up to --timeout) for its hello with a new boot id.",
    )
    rb.set_defaults(func=reboot)

    inf = sub.add_parser(
        "info",
        parents=[link(TIMEOUT_S)],
        help="print the dock's board, firmware, uid and pins",
        description="Ask the dock for its hello: board, firmware version, unique id, boot, "
        "rates and pins.",
    )
    inf.add_argument("--json", action="store_true", help="print the hello as JSON")
    inf.set_defaults(func=info)
