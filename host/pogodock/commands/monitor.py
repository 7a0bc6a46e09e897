"""live contact-health dashboard

Watch a dock live: a dashboard in a terminal, one line per event otherwise. Finds the dock
by USB id when --port is absent; reconnects after unplug or reboot.

Several docks (``--all``, a repeated ``--port``) are ``monitor_fleet``'s.
"""

from __future__ import annotations

import argparse
import sys

from pogodock.commands import monitor_fleet
from pogodock.commands.subscribers import (
    close_recorder,
    open_recorder,
    start_mqtt,
    start_prometheus,
)
from pogodock.commands.usage import UsageError
from pogodock.interrupts import sigterm_as_interrupt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        metavar="P",
        action="append",
        help="serial port of the dock (default: auto-detect); repeated: follow each",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="follow every attached dock, and any plugged in later",
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="append every received line to this JSONL file; following several docks: a "
        "folder, one FILE/<uid>.jsonl per dock",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="print events and a periodic health summary instead of the dashboard",
    )
    parser.add_argument(
        "--every",
        type=float,
        default=10.0,
        metavar="S",
        help="headless: seconds between health summaries",
    )
    parser.add_argument(
        "--duration", type=float, metavar="S", help="headless: stop after S seconds"
    )
    parser.add_argument(
        "--wait", action="store_true", help="wait for the dock to appear instead of failing"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the port is make demo's virtual dock: per-day figures are marked compressed, "
        "and the port's end is the demo's end (said, and headless stops)",
    )
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish to an MQTT broker: mqtt[s]://[user[:password]@]host[:port][/base/topic] "
        "(default base: pogodock/<dock uid>)",
    )
    parser.add_argument(
        "--ha-discovery",
        nargs="?",
        const="homeassistant",
        metavar="PREFIX",
        help="with --mqtt: announce each dock and its pins' sensors to Home Assistant's "
        "MQTT discovery under PREFIX (default: homeassistant)",
    )
    parser.add_argument(
        "--prometheus",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free port)",
    )


def run(args: argparse.Namespace) -> int:
    from pogodock.link.reader import Reader

    for option, value in (
        ("--record", args.record),
        ("--mqtt", args.mqtt),
        ("--prometheus", args.prometheus),
    ):
        if value == "":  # (a shell variable left unset) would turn the option off unsaid
            raise UsageError("%s was given an empty value" % option)
    if args.ha_discovery is not None and not args.mqtt:
        raise UsageError("--ha-discovery needs --mqtt URL: it publishes to that broker")
    headless = args.headless or not sys.stdout.isatty()
    paths = args.port or []
    if args.all or len(paths) > 1:
        return monitor_fleet.run(args, paths, headless)
    reader = Reader(paths[0] if paths else None)
    recorder = exporter = publisher = None
    try:
        # Subscribers that can refuse to start come first and are closed however
        # the monitor ends: an MQTT session must never be left behind running.
        if args.record:
            recorder = open_recorder(args.record)
            reader.subscribe(recorder)
        if args.prometheus:
            exporter = start_prometheus(args.prometheus)
            reader.subscribe(exporter)
        if args.mqtt:
            publisher = start_mqtt(args.mqtt, headless, args.ha_discovery)
            reader.subscribe(publisher)
        queue = reader.subscribe_queue()
        reader.start(wait=args.wait)
        if headless:
            from pogodock.views import headless as hl

            sigterm_as_interrupt()
            printer = hl.HeadlessPrinter(sys.stdout, every=args.every, demo=args.demo)
            return hl.run_live(reader, queue, printer, duration=args.duration, demo=args.demo)
        from pogodock.views import dashboard

        exporters = [x.state for x in (recorder, publisher, exporter) if x is not None]
        return dashboard.run(dashboard.LiveSource(reader, queue, exporters, demo=args.demo))
    finally:
        reader.stop()
        if recorder is not None:
            close_recorder(recorder)
        if exporter is not None:
            exporter.close()
        if publisher is not None:
            publisher.close()
