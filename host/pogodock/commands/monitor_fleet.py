"""``pogodock monitor`` following several docks (``--all``, a repeated ``--port``): a
reader per port (``link.fleet.Fleet``), each dock keyed by its uid; in a terminal the
overview of ``views.fleetview``, else a headless line per event."""

from __future__ import annotations

import argparse
import sys

from pogodock.commands.subscribers import (
    close_recorder,
    open_recordings,
    start_mqtt,
    start_prometheus,
)
from pogodock.commands.usage import UsageError, say
from pogodock.interrupts import sigterm_as_interrupt


def run(args: argparse.Namespace, paths: list[str], headless: bool) -> int:
    from pogodock.exporters.mqtt import MqttTarget
    from pogodock.link.fleet import DockRouter, Fleet, TaggedQueue
    from pogodock.views import fleetprint

    if args.mqtt:
        try:
            base = MqttTarget(args.mqtt).base
        except ValueError as e:
            raise UsageError(str(e)) from None
        if base is not None:
            raise UsageError(
                "with several docks the --mqtt URL must not name a base topic (%s): each "
                "dock publishes under pogodock/<uid>" % base
            )
    recordings = exporter = fleet = None
    publishers: list = []
    queue = TaggedQueue()
    try:
        if args.record:
            recordings = open_recordings(args.record)
        if args.prometheus:
            exporter = start_prometheus(args.prometheus)
        sinks = [s for s in (recordings, queue) if s is not None]

        def to_sinks(key: str, rec) -> None:
            for sink in sinks:
                sink(key, rec)

        def attach(reader) -> None:
            if exporter is not None:
                reader.subscribe(exporter.follower())
            if args.mqtt:
                publisher = start_mqtt(args.mqtt, True, args.ha_discovery, quiet=bool(publishers))
                publishers.append(publisher)
                reader.subscribe(publisher)
            reader.subscribe(DockRouter(reader, to_sinks))

        fleet = Fleet(paths, attach, scan=args.all, wait=args.wait)
        fleet.start()
        if args.all and not fleet.readers:
            say("no dock attached yet; looking again every %g s" % fleet.rescan_s)
        if not headless:
            from pogodock.views import fleetview

            exporters = [x.state for x in (recordings, exporter) if x is not None]
            if args.mqtt:
                exporters.append(
                    lambda: (
                        "mqtt %d of %d connected"
                        % (sum(p.connected.is_set() for p in publishers), len(publishers))
                    )
                )
            return fleetview.run(queue, exporters)
        sigterm_as_interrupt()
        printer = fleetprint.FleetPrinter(sys.stdout, every=args.every)
        return fleetprint.run(queue, printer, duration=args.duration)
    finally:
        if fleet is not None:
            fleet.stop()
        if recordings is not None:
            close_recorder(recordings)
        if exporter is not None:
            exporter.close()
        for publisher in publishers:
            publisher.close()
