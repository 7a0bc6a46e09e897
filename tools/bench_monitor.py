"""The monitor's CPU use while it follows a dock streaming at its fastest report rate.

A virtual dock (``pogodock sim --pty``, real time) is set to ``report_hz`` 20, the
protocol's maximum, and ``pogodock monitor`` follows it: the Textual dashboard on a
pseudo-terminal, then ``--headless``. CPU time comes from ``/proc/PID/stat`` over a
measuring window after a warm-up.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POGODOCK = str(Path(sys.executable).with_name("pogodock"))
WARMUP_S = 4.0
WINDOW_S = 15.0


def _cpu_s(pid: int) -> float:
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _start_dock() -> tuple[subprocess.Popen, str]:
    sim = subprocess.Popen(
        [POGODOCK, "sim", "--scenario", str(ROOT / "scenarios" / "misalign.json"), "--pty"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    path = sim.stdout.readline().strip()
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    os.write(
        fd, (json.dumps({"cmd": "set", "id": 1, "key": "report_hz", "value": 20}) + "\n").encode()
    )
    os.close(fd)
    return sim, path


def _measure(cmd: list[str], terminal: bool) -> float:
    sim, path = _start_dock()
    master = slave = None
    try:
        if terminal:
            master, slave = pty.openpty()
            env = dict(os.environ, TERM="xterm-256color", COLUMNS="130", LINES="40")
            mon = subprocess.Popen(
                [*cmd, "--port", path], stdin=slave, stdout=slave, stderr=slave, env=env
            )
        else:
            mon = subprocess.Popen([*cmd, "--port", path], stdout=subprocess.DEVNULL)
        end = time.monotonic() + WARMUP_S
        while time.monotonic() < end:  # keep the terminal drained
            if master is not None:
                _drain(master)
            time.sleep(0.05)
        c0, t0 = _cpu_s(mon.pid), time.monotonic()
        end = t0 + WINDOW_S
        while time.monotonic() < end:
            if master is not None:
                _drain(master)
            time.sleep(0.05)
        used = _cpu_s(mon.pid) - c0
        wall = time.monotonic() - t0
        mon.send_signal(signal.SIGTERM)
        try:
            mon.wait(5)
        except subprocess.TimeoutExpired:
            mon.kill()
        return 100.0 * used / wall
    finally:
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(5)
        except subprocess.TimeoutExpired:
            sim.kill()


def _drain(fd: int) -> None:
    import select

    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def figures() -> dict[str, float]:
    return {
        "host_monitor_cpu_pct": round(_measure([POGODOCK, "monitor"], terminal=True), 1),
        "host_monitor_headless_cpu_pct": round(
            _measure([POGODOCK, "monitor", "--headless"], terminal=False), 1
        ),
    }


if __name__ == "__main__":
    print(json.dumps(figures(), indent=2))
