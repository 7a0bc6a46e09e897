"""print the dock's board, firmware, uid and pins

Ask the dock for its hello: board, firmware version, unique id, boot, rates and pins.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from dockfw import protocol

from pogodock.commands.dock_options import TIMEOUT_S, add_dock_options
from pogodock.link.dockcmd import DockError, ask, connected


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dock_options(parser, TIMEOUT_S)
    parser.add_argument("--json", action="store_true", help="print the hello as JSON")


def run(args: argparse.Namespace) -> int:
    with connected(args.port, args.timeout) as reader:
        ack = ask(reader, protocol.CMD_INFO, args.timeout)
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
