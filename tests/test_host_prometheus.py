"""``monitor --prometheus``: a scrape endpoint fed by the reader, against the simulated dock."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

import pytest
from test_host_sim_pty import pogodock, sim_pty  # noqa: F401  (fixture)

PINS = ("VBUS1", "GND1", "GND2", "VBUS2")


def scrape(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=3) as r:
        return r.headers["Content-Type"], r.read().decode()


def gauge(text: str, name: str, pin: str) -> float | None:
    m = re.search(r'^%s\{pin="%s"\} (\S+)$' % (name, pin), text, re.M)
    return float(m.group(1)) if m else None


def test_monitor_serves_metrics_while_headless(sim_pty):  # noqa: F811
    _sim, path = sim_pty
    started = time.monotonic()  # the scenario clock starts with the sim
    mon = pogodock(
        "monitor", "--port", path, "--headless", "--prometheus", "127.0.0.1:0", "--duration", "12"
    )
    try:
        assert mon.stderr is not None
        line = mon.stderr.readline()
        m = re.match(r"prometheus: serving (http://127\.0\.0\.1:(\d+)/metrics)$", line.strip())
        assert m and int(m.group(2)) > 0, line
        url = m.group(1)
        text = ""
        while time.monotonic() - started < 11:  # docked at 5 s with 1500 mA over VBUS1+VBUS2
            time.sleep(0.5)
            ctype, text = scrape(url)
            assert ctype.startswith("text/plain; version=0.0.4")
            if time.monotonic() - started > 8 and "pogodock_pin_state{" in text:
                break
        for pin in PINS:
            r = gauge(text, "pogodock_pin_resistance_mohm", pin)
            assert r is not None and 0 < r < 1000, (pin, text)
            i = gauge(text, "pogodock_pin_current_ma", pin)  # 1500 mA over two pairs
            assert i is not None and 600 < i < 900, (pin, text)
            assert re.search(r'^pogodock_pin_state\{pin="%s",state="\w+"\} 1$' % pin, text, re.M)
        for name, kind in (
            ("pogodock_pin_current_ma", "gauge"),
            ("pogodock_pin_resistance_mohm", "gauge"),
            ("pogodock_pin_state", "gauge"),
            ("pogodock_docked", "gauge"),
            ("pogodock_lines_total", "counter"),
            ("pogodock_lost_lines_total", "counter"),
            ("pogodock_reboots_total", "counter"),
        ):
            assert "\n# TYPE %s %s\n" % (name, kind) in text, name
        assert re.search(r"^pogodock_docked 1$", text, re.M), text
        lines = re.search(r"^pogodock_lines_total (\d+)$", text, re.M)
        assert lines and int(lines.group(1)) > 10
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape(url.replace("/metrics", "/other"))
        assert e.value.code == 404
        _, err = mon.communicate(timeout=20)
        assert mon.returncode == 0, err
        assert "Traceback" not in err
    finally:
        if mon.poll() is None:
            mon.kill()
            mon.communicate()


@pytest.mark.parametrize("address", ["nonsense", "127.0.0.1:99999", "127.0.0.1:"])
def test_a_bad_prometheus_address_is_one_sentence(address):
    proc = pogodock("monitor", "--port", "/dev/null", "--headless", "--prometheus", address)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "HOST:PORT" in err and "Traceback" not in err, err


def test_a_port_in_use_is_one_sentence():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = pogodock("monitor", "--port", "/dev/null", "--prometheus", "127.0.0.1:%d" % port)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.startswith("pogodock monitor: cannot serve --prometheus on 127.0.0.1:%d" % port)
    assert err.count("\n") == 1, err


def test_the_exporter_says_where_it_serves():
    from pogodock.prometheus import PrometheusExporter

    exporter = PrometheusExporter()
    assert exporter.state() == "prometheus not serving"
    _host, port = exporter.serve("127.0.0.1", 0)
    try:
        assert exporter.state() == "prometheus 127.0.0.1:%d" % port and port > 0
    finally:
        exporter.close()
    assert exporter.state() == "prometheus not serving"
