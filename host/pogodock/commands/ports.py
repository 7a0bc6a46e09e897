"""list attached docks and candidate serial ports

List serial ports; those with MicroPython's RP2040 USB id (2e8a:0005) are likely docks.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace) -> int:
    from pogodock.link import ports

    found = ports.list_all()
    if args.json:
        print(json.dumps([p.as_json() for p in found], indent=2))
        return 0
    if not found:
        print("no serial ports found")
        return 0
    print("%-24s %-10s %-6s %s" % ("port", "usb id", "dock?", "description"))
    for p in found:
        print(
            "%-24s %-10s %-6s %s"
            % (
                p.device,
                p.usb_id() or "-",
                "likely" if p.likely_dock else "no",
                p.description or p.manufacturer or "",
            )
        )
    docks = [p for p in found if p.likely_dock]
    if docks:
        print(
            "%d likely dock%s (MicroPython on an RP2040, USB id 2e8a:0005); "
            % (len(docks), "" if len(docks) == 1 else "s")
            + "the monitor confirms each with its hello"
        )
    return 0
