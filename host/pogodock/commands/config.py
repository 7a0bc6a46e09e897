"""read or change the dock's settings

Read or change the dock's settings (%s). A value set is kept on the dock's flash.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING, Any

from dockfw import protocol

from pogodock.commands.dock_options import TIMEOUT_S, add_dock_options
from pogodock.link.dockcmd import DockError, ask, connected

if TYPE_CHECKING:
    from pogodock.records import Ack


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The settings' names come from the protocol, not from this docstring.
    parser.description = (parser.description or "") % ", ".join(sorted(protocol.SETTINGS))
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    get = actions.add_parser(
        "get",
        help="print one setting's value, or every setting",
        description="Print one setting's value alone, or every setting with its unit.",
    )
    add_dock_options(get, TIMEOUT_S)
    get.add_argument("key", nargs="?", metavar="KEY", help="the setting (default: all)")
    get.add_argument("--json", action="store_true", help="print the settings as a JSON object")
    put = actions.add_parser(
        "set",
        help="change a setting",
        description="Change a setting at once; the dock checks it against its bounds.",
    )
    add_dock_options(put, TIMEOUT_S)
    put.add_argument("key", metavar="KEY", help="the setting")
    put.add_argument("value", metavar="VALUE", help="its new value (a number)")


def run(args: argparse.Namespace) -> int:
    return config_get(args) if args.action == "get" else config_set(args)


def config_get(args: argparse.Namespace) -> int:
    with connected(args.port, args.timeout) as reader:
        extra = {"key": args.key} if args.key is not None else {}
        config = _config(ask(reader, protocol.CMD_GET, args.timeout, **extra))
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
    with connected(args.port, args.timeout) as reader:
        ack = ask(reader, protocol.CMD_SET, args.timeout, key=args.key, value=_number(args.value))
        config = _config(ack)
    for key, value in config.items():
        print("%s = %s%s" % (key, json.dumps(value), _unit(key)))
    return 0


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
