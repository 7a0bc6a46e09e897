"""The reader subscribers a command line starts (recordings, MQTT, Prometheus): each
refuses in one sentence when it cannot start, so that nothing is left running."""

from __future__ import annotations

import functools
import sys

from pogodock.commands.usage import UsageError, say


def open_recorder(path: str, goes_on: str = "the monitor"):
    from pogodock.recordings.recorder import Recorder

    try:
        return Recorder(path, say=say, goes_on=goes_on)
    except OSError as e:
        raise UsageError("cannot write the recording %s: %s" % (path, e.strerror or e)) from None


def close_recorder(recorder) -> None:
    recorder.close()
    if recorder.errors:
        say(
            "recording %s: %d record%s could not be written"
            % (recorder.path, recorder.errors, "" if recorder.errors == 1 else "s")
        )


def open_recordings(folder: str):
    from pogodock.recordings.recorder import DockRecordings

    try:
        return DockRecordings(folder, say=say)
    except OSError as e:
        raise UsageError(
            "cannot keep recordings in %s (several docks: --record names a folder): %s"
            % (folder, e.strerror or e)
        ) from None


def start_mqtt(url: str, headless: bool, ha_prefix: str | None, quiet: bool = False):
    from pogodock.exporters import homeassistant
    from pogodock.exporters.mqtt import MqttPublisher, MqttTarget

    discovery = None
    try:
        target = MqttTarget(url)
        if ha_prefix is not None:
            prefix = homeassistant.check_prefix(ha_prefix)
            discovery = functools.partial(homeassistant.configs, prefix=prefix)
    except ValueError as e:
        raise UsageError(str(e)) from None

    publisher = MqttPublisher(target, log=say if headless else None, discovery=discovery)
    problem = None if quiet else publisher.probe()
    if problem is not None:
        say(
            "mqtt: cannot reach %s now (%s); retrying in the background"
            % (target.display(), problem)
        )
    publisher.start()
    return publisher


def start_prometheus(address: str):
    from pogodock.exporters.prometheus import PrometheusExporter, parse_address

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
