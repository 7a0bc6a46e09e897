"""The ``pogodock`` command line. Errors are one sentence on stderr, never a traceback."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys

from dockfw.board import BoardError

from pogodock.interrupts import sigterm_as_interrupt


class UsageError(Exception):
    """A command line that cannot be carried out; the message says why."""


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text) from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _say(text: str) -> None:
    """A message on stderr, now (looked up at each call: the dashboard captures stderr)."""
    print(text, file=sys.stderr, flush=True)


def _open_recorder(path: str):
    from pogodock.recorder import Recorder

    try:
        return Recorder(path, say=_say)
    except OSError as e:
        raise UsageError("cannot write the recording %s: %s" % (path, e.strerror or e)) from None


def _close_recorder(recorder) -> None:
    recorder.close()
    if recorder.errors:
        _say(
            "recording %s: %d record%s could not be written"
            % (recorder.path, recorder.errors, "" if recorder.errors == 1 else "s")
        )


def _scenario(arg: str) -> str:
    from pogodock import paths

    path = paths.scenario(arg)
    if not os.path.exists(path):
        raise UsageError(
            "no scenario file %s; the examples that come with pogodock are: %s"
            % (arg, ", ".join(paths.scenario_names()) or "none")
        )
    return path


def _cmd_sim(args: argparse.Namespace) -> int:
    args.scenario = _scenario(args.scenario)
    if args.pty:
        if args.record:
            raise UsageError(
                "--record works without --pty; to record a dock served on a pty, run "
                "pogodock monitor --port PATH --record FILE"
            )
        from pogodock import pty_serve

        return pty_serve.serve(
            args.scenario, fast=args.fast, speed=args.speed, boot_seed=args.boot_seed
        )
    from pogodock import simrun

    recorder = _open_recorder(args.record) if args.record else None
    try:
        return simrun.run_stdio(
            args.scenario,
            fast=args.fast,
            speed=args.speed,
            boot_seed=args.boot_seed,
            recorder=recorder,
        )
    finally:
        if recorder is not None:
            _close_recorder(recorder)


def _cmd_ports(args: argparse.Namespace) -> int:
    from pogodock import ports

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


def _cmd_monitor(args: argparse.Namespace) -> int:
    from pogodock.reader import Reader

    if args.ha_discovery is not None and not args.mqtt:
        raise UsageError("--ha-discovery needs --mqtt URL: it publishes to that broker")
    headless = args.headless or not sys.stdout.isatty()
    paths = args.port or []
    if args.all or len(paths) > 1:
        return _monitor_fleet(args, paths, headless)
    reader = Reader(paths[0] if paths else None)
    recorder = exporter = publisher = None
    try:
        # Subscribers that can refuse to start come first and are closed however
        # the monitor ends: an MQTT session must never be left behind running.
        if args.record:
            recorder = _open_recorder(args.record)
            reader.subscribe(recorder)
        if args.prometheus:
            exporter = _start_prometheus(args.prometheus)
            reader.subscribe(exporter)
        if args.mqtt:
            publisher = _start_mqtt(args.mqtt, headless, args.ha_discovery)
            reader.subscribe(publisher)
        queue = reader.subscribe_queue()
        reader.start(wait=args.wait)
        if headless:
            from pogodock import headless as hl

            sigterm_as_interrupt()
            printer = hl.HeadlessPrinter(sys.stdout, every=args.every, demo=args.demo)
            return hl.run_live(reader, queue, printer, duration=args.duration, demo=args.demo)
        from pogodock import dashboard

        exporters = [x.state for x in (recorder, publisher, exporter) if x is not None]
        return dashboard.run(dashboard.LiveSource(reader, queue, exporters, demo=args.demo))
    finally:
        reader.stop()
        if recorder is not None:
            _close_recorder(recorder)
        if exporter is not None:
            exporter.close()
        if publisher is not None:
            publisher.close()


def _monitor_fleet(args: argparse.Namespace, paths: list[str], headless: bool) -> int:
    """Several docks: a reader per port (``fleet.Fleet``), each dock keyed by its uid; in
    a terminal the overview of ``fleetview``, else a headless line per event."""
    from pogodock import fleetprint
    from pogodock.fleet import DockRouter, Fleet, TaggedQueue
    from pogodock.mqtt import MqttTarget

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
            recordings = _open_recordings(args.record)
        if args.prometheus:
            exporter = _start_prometheus(args.prometheus)
        sinks = [s for s in (recordings, queue) if s is not None]

        def to_sinks(key: str, rec) -> None:
            for sink in sinks:
                sink(key, rec)

        def attach(reader) -> None:
            if exporter is not None:
                reader.subscribe(exporter.follower())
            if args.mqtt:
                publisher = _start_mqtt(args.mqtt, True, args.ha_discovery, quiet=bool(publishers))
                publishers.append(publisher)
                reader.subscribe(publisher)
            reader.subscribe(DockRouter(reader, to_sinks))

        fleet = Fleet(paths, attach, scan=args.all, wait=args.wait)
        fleet.start()
        if args.all and not fleet.readers:
            _say("no dock attached yet; looking again every %g s" % fleet.rescan_s)
        if not headless:
            from pogodock import fleetview

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
            _close_recorder(recordings)
        if exporter is not None:
            exporter.close()
        for publisher in publishers:
            publisher.close()


def _open_recordings(folder: str):
    from pogodock.recorder import DockRecordings

    try:
        return DockRecordings(folder, say=_say)
    except OSError as e:
        raise UsageError(
            "cannot keep recordings in %s (several docks: --record names a folder): %s"
            % (folder, e.strerror or e)
        ) from None


def _start_mqtt(url: str, headless: bool, ha_prefix: str | None, quiet: bool = False):
    from pogodock import homeassistant
    from pogodock.mqtt import MqttPublisher, MqttTarget

    discovery = None
    try:
        target = MqttTarget(url)
        if ha_prefix is not None:
            prefix = homeassistant.check_prefix(ha_prefix)
            discovery = functools.partial(homeassistant.configs, prefix=prefix)
    except ValueError as e:
        raise UsageError(str(e)) from None

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    publisher = MqttPublisher(target, log=say if headless else None, discovery=discovery)
    problem = None if quiet else publisher.probe()
    if problem is not None:
        say(
            "mqtt: cannot reach %s now (%s); retrying in the background"
            % (target.display(), problem)
        )
    publisher.start()
    return publisher


def _start_prometheus(address: str):
    from pogodock.prometheus import PrometheusExporter, parse_address

    try:
        host, port = parse_address(address)
    except ValueError as e:
        raise UsageError(str(e)) from None
    exporter = PrometheusExporter()
    try:
        host, port = exporter.serve(host, port)
    except OSError as e:
        raise UsageError(
            "cannot serve --prometheus on %s: %s" % (address, e.strerror or e)
        ) from None
    shown = "[%s]" % host if ":" in host else host
    print("prometheus: serving http://%s:%d/metrics" % (shown, port), file=sys.stderr, flush=True)
    return exporter


def _note(recording, console_fate: str = "") -> None:
    """Says on stderr what of the file was skipped (a command that fails says only why)."""
    note = recording.note(console_fate)
    if note:
        _say(note)


def _cmd_replay(args: argparse.Namespace) -> int:
    from pogodock import replay

    recording = replay.load(args.file)
    _note(recording)
    if args.summary:
        print(replay.summary(recording))
        return 0
    if args.headless or not sys.stdout.isatty():
        from pogodock import headless as hl

        return hl.run_records(recording.records, hl.HeadlessPrinter(sys.stdout, every=args.every))
    from pogodock import dashboard

    return dashboard.run(
        dashboard.PlaybackSource(recording.records, "pogodock replay %s" % args.file)
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from pogodock import export, replay

    recording = replay.load(args.file)
    if not export.exportable(recording.records):
        raise UsageError(
            "%s holds no samples, health lines, events or link gaps to export" % args.file
        )
    try:
        n = export.export(recording.records, args.csv)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise UsageError("cannot write %s: %s" % (args.csv, e.strerror or e)) from None
    _note(recording, " (not exported)")
    if args.csv != "-":
        print("wrote %d rows to %s" % (n, args.csv), file=sys.stderr)
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from pogodock import plot, replay

    out = plot.output_path(args.out)
    recording = replay.load(args.file)
    title = args.title or "Contact resistance per pin: %s" % os.path.basename(args.file)
    axis = args.x
    if axis == "auto" and recording.captured and not recording.recorded:
        axis = "device"  # a raw capture's host times are the dock's clock anyway
    try:
        axis = plot.plot(recording.records, out, title=title, axis=axis)
    except OSError as e:
        raise UsageError("cannot write %s: %s" % (out, e.strerror or e)) from None
    _note(recording, " (not plotted)")
    print("wrote %s (time axis: %s clock)" % (out, axis), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from pogodock import dockcmd, paths

    parser = argparse.ArgumentParser(
        prog="pogodock", description="Watch the contacts of a pogo-pin charging dock."
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the host's version, and the firmware's when a dock answers",
    )
    parser.add_argument(
        "--port",
        dest="version_port",
        metavar="P",
        help="with --version: the dock's serial port (default: auto-detect)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ports = sub.add_parser(
        "ports",
        help="list attached docks and candidate serial ports",
        description="List serial ports; those with MicroPython's RP2040 USB id (2e8a:0005) "
        "are likely docks.",
    )
    ports.add_argument("--json", action="store_true", help="print the list as JSON")
    ports.set_defaults(func=_cmd_ports)

    mon = sub.add_parser(
        "monitor",
        help="live contact-health dashboard",
        description="Watch a dock live: a dashboard in a terminal, one line per event otherwise. "
        "Finds the dock by USB id when --port is absent; reconnects after unplug or reboot.",
    )
    mon.add_argument(
        "--port",
        metavar="P",
        action="append",
        help="serial port of the dock (default: auto-detect); repeated: follow each",
    )
    mon.add_argument(
        "--all",
        action="store_true",
        help="follow every attached dock, and any plugged in later",
    )
    mon.add_argument(
        "--record",
        metavar="FILE",
        help="append every received line to this JSONL file; following several docks: a "
        "folder, one FILE/<uid>.jsonl per dock",
    )
    mon.add_argument(
        "--headless",
        action="store_true",
        help="print events and a periodic health summary instead of the dashboard",
    )
    mon.add_argument(
        "--every",
        type=float,
        default=10.0,
        metavar="S",
        help="headless: seconds between health summaries",
    )
    mon.add_argument("--duration", type=float, metavar="S", help="headless: stop after S seconds")
    mon.add_argument(
        "--wait", action="store_true", help="wait for the dock to appear instead of failing"
    )
    mon.add_argument(
        "--demo",
        action="store_true",
        help="the port is make demo's virtual dock: per-day figures are marked compressed, "
        "and the port's end is the demo's end (said, and headless stops)",
    )
    mon.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish to an MQTT broker: mqtt[s]://[user[:password]@]host[:port][/base/topic] "
        "(default base: pogodock/<dock uid>)",
    )
    mon.add_argument(
        "--ha-discovery",
        nargs="?",
        const="homeassistant",
        metavar="PREFIX",
        help="with --mqtt: announce each dock and its pins' sensors to Home Assistant's "
        "MQTT discovery under PREFIX (default: homeassistant)",
    )
    mon.add_argument(
        "--prometheus",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free port)",
    )
    mon.set_defaults(func=_cmd_monitor)

    sim = sub.add_parser(
        "sim",
        help="run the real firmware against a simulated dock",
        description="Run the firmware's own modules against a simulated dock described by a "
        "scenario file; the device's serial stream goes to stdout, host commands are read from "
        "stdin. With --pty the dock is served on a pseudo-terminal whose path is the first line "
        "of stdout.",
    )
    sim.add_argument(
        "--scenario",
        required=True,
        metavar="FILE",
        help="scenario JSON file, or the name of an example that comes with pogodock (%s)"
        % ", ".join(paths.scenario_names()),
    )
    sim.add_argument(
        "--fast", action="store_true", help="run simulated time as fast as the CPU allows"
    )
    sim.add_argument(
        "--pty", action="store_true", help="serve the virtual dock on a pseudo-terminal"
    )
    sim.add_argument(
        "--speed",
        type=_positive_float,
        default=1.0,
        metavar="X",
        help="without --fast: run simulated time X times faster than real time (default 1)",
    )
    sim.add_argument(
        "--record",
        metavar="FILE",
        help="also append every line the dock writes to this JSONL recording, as monitor "
        "--record does (without --pty)",
    )
    sim.add_argument(
        "--boot-seed",
        type=int,
        metavar="N",
        help="derive the boot ids from N, so that a run repeats exactly (default: a random "
        "boot id at every boot, as a board's)",
    )
    sim.set_defaults(func=_cmd_sim)

    from pogodock import vboard  # its parser sets its own func; the supervisor loads on use

    vboard.add_parser(sub)
    dockcmd.add_parsers(sub)

    rep = sub.add_parser(
        "replay",
        help="show a recording as the monitor would",
        description="Show a recording (monitor --record, sim --record) or a raw capture of the "
        "dock's output (cat /dev/ttyACM0 > FILE): the dashboard in a terminal, event lines "
        "otherwise, or a summary.",
    )
    rep.add_argument("file", metavar="FILE", help="recording or raw capture")
    rep.add_argument("--summary", action="store_true", help="print a summary of the recording")
    rep.add_argument("--headless", action="store_true", help="print event lines even in a terminal")
    rep.add_argument(
        "--every",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds of recorded time between summaries",
    )
    rep.set_defaults(func=_cmd_replay)

    exp = sub.add_parser(
        "export",
        help="write samples and events as CSV",
        description="Write the samples and events of a recording or raw capture as CSV, units "
        "in the column names, host receive times in UTC (ISO 8601; a raw capture's are the "
        "dock's clock, ending at the file's last change).",
    )
    exp.add_argument("file", metavar="FILE", help="recording or raw capture")
    exp.add_argument(
        "--csv", required=True, metavar="OUT", help="CSV file to write ('-' for stdout)"
    )
    exp.set_defaults(func=_cmd_export)

    plt = sub.add_parser(
        "plot",
        help="write a PNG of contact resistance per pin over time",
        description="Plot contact resistance per pin over time from a recording or raw capture, "
        "with events marked.",
    )
    plt.add_argument("file", metavar="FILE", help="recording or raw capture")
    plt.add_argument(
        "--out",
        required=True,
        metavar="OUT.png",
        help="picture to write: .png, .svg or .pdf (no suffix: .png is added)",
    )
    plt.add_argument(
        "--x",
        choices=("auto", "host", "device"),
        default="auto",
        help="time axis: the host's clock, the dock's, or auto (the dock's when the recording "
        "ran faster than real time)",
    )
    plt.add_argument("--title", help="plot title")
    plt.set_defaults(func=_cmd_plot)
    return parser


def _known_errors() -> tuple[type[BaseException], ...]:
    from docksim.scenario import ScenarioError

    from pogodock.dockcmd import DockError
    from pogodock.plot import PlotError
    from pogodock.ports import PortError
    from pogodock.replay import RecordingError

    return (UsageError, BoardError, ScenarioError, PortError, RecordingError, PlotError, DockError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from pogodock import dockcmd

        return dockcmd.version(args.version_port)
    if args.version_port:
        parser.error("--port before the command goes with --version; put it after the command")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    known = _known_errors()
    try:
        return args.func(args)
    except known as e:
        print("pogodock %s: %s" % (args.command, e), file=sys.stderr)
        return 2 if isinstance(e, UsageError) else 1
    except BrokenPipeError:
        try:  # stdout went away (| head): quietly stop
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        where = " (%s)" % e.filename if getattr(e, "filename", None) else ""
        print("pogodock %s: %s%s" % (args.command, e.strerror or e, where), file=sys.stderr)
        return 1
    except Exception as e:
        print(
            "pogodock %s: unexpected error: %s: %s" % (args.command, type(e).__name__, e),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
