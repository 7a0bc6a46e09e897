"""A real Prometheus server and its promtool for the exporter's tests, run by the tests.

``make test-deps`` installs Debian's ``prometheus`` package (tools/ensure_prometheus.sh).
Each server listens on loopback on a port of its own, scrapes the given targets every
second and keeps its data in the test's temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mqtt_broker import free_port
from support.cli import start_cli, start_sim_pty
from support.procs import interrupt, terminate

SCRAPE_INTERVAL_S = 1


def binary(name: str) -> str:
    found = shutil.which(name)
    assert found, "%s is not installed: run `make test-deps` (tools/ensure_prometheus.sh)" % name
    return found


def promtool_check_metrics(text: str) -> tuple[int, str]:
    """promtool's verdict on an exposition: (exit code, what it printed)."""
    done = subprocess.run(
        [binary("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout + done.stderr


class PrometheusServer:
    def __init__(self, workdir: Path, targets: list[str]) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.conf = workdir / "prometheus.yml"
        self.log = workdir / "prometheus.log"
        self.conf.write_text(
            "global:\n"
            "  scrape_interval: %ds\n"
            "  evaluation_interval: %ds\n"
            "scrape_configs:\n"
            "  - job_name: pogodock\n"
            "    static_configs:\n"
            "      - targets: %s\n" % (SCRAPE_INTERVAL_S, SCRAPE_INTERVAL_S, json.dumps(targets))
        )
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    binary("prometheus"),
                    "--config.file=%s" % self.conf,
                    "--storage.tsdb.path=%s" % (self.workdir / "data"),
                    "--web.listen-address=127.0.0.1:%d" % self.port,
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited: %s" % self.log.read_text()[-2000:])
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise AssertionError("prometheus was not ready on %d within %g s" % (self.port, timeout))

    def stop(self) -> None:
        terminate(self.proc, 10)
        self.proc = None

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The result of an instant PromQL query (the HTTP API's data.result)."""
        return self._get("/api/v1/query", {"query": promql})["result"]

    def wait_for(self, promql: str, timeout: float, want: int = 1) -> list[dict[str, Any]]:
        """Polls ``promql`` until it gives at least ``want`` series (0: none); returns them."""
        end = time.monotonic() + timeout
        result = self.query(promql)
        while time.monotonic() < end:
            if (len(result) >= want) if want else not result:
                return result
            time.sleep(0.25)
            result = self.query(promql)
        raise AssertionError(
            "%r gave %r after %g s; prometheus said: %s"
            % (promql, result, timeout, self.log.read_text()[-1500:])
        )

    def query_range(self, promql: str, seconds: float, step: float = 1.0) -> list[dict[str, Any]]:
        """A range query over the last ``seconds``, as Grafana's panels ask."""
        end = time.time()
        args = {"query": promql, "start": end - seconds, "end": end, "step": step}
        return self._get("/api/v1/query_range", args)["result"]

    def series_labels(self, match: str) -> list[dict[str, str]]:
        """The label sets of the series ``match`` selects (Grafana's label_values)."""
        return self._get("/api/v1/series", {"match[]": match})

    def metric_names(self) -> list[str]:
        return self._get("/api/v1/label/__name__/values", {})

    def _get(self, path: str, args: dict[str, Any]) -> Any:
        url = self.url + path + "?" + urllib.parse.urlencode(args)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.load(e)  # a query that does not parse: 400 with Prometheus's reason
        assert body["status"] == "success", body
        return body["data"]


@contextlib.contextmanager
def scraping_the_monitor(
    workdir: Path, scenario: str, speed: str
) -> Iterator[tuple[PrometheusServer, str, subprocess.Popen[str]]]:
    """A real Prometheus server scraping ``pogodock monitor --prometheus`` that follows
    ``pogodock sim --pty`` on ``scenario`` at ``speed``: yields (the server, the monitor's
    HOST:PORT, the sim). The monitor's output goes to ``workdir/monitor.out``; all three
    are stopped on the way out, and then the monitor must not have printed a traceback."""
    target = "127.0.0.1:%d" % free_port()
    prom = PrometheusServer(workdir, [target]).start()
    sim = mon = None
    try:
        sim, path = start_sim_pty(scenario, workdir / "ttySIM", "--speed", speed)
        with (workdir / "monitor.out").open("w") as out:
            monitor = ("monitor", "--port", path, "--headless", "--prometheus", target)
            mon = start_cli(*monitor, stdout=out)
        assert mon.stderr is not None
        assert mon.stderr.readline().strip() == "prometheus: serving http://%s/metrics" % target
        yield prom, target, sim
    finally:
        for proc in (mon, sim):
            if proc is not None:
                interrupt(proc)
        prom.stop()
    assert mon is not None and mon.stderr is not None
    err = mon.stderr.read()
    assert "Traceback" not in err, err
