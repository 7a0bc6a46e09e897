"""A hostile host on a real link: ``sim --pty``, and the virtual board with the firmware
flashed (rp2040.py's own read_line, in the real MicroPython interpreter).

On each: a command flood at the highest rate the link takes, with an overload injected
meanwhile (sampling goes on, the overload is cut), then the seeded hostile corpus (every
line refused as expected, answered once, the configuration, the charging and the boot
as they were). tools/reliability_commands.py runs longer versions and prints figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from mp.hostile import corpus
from support.cmdlink import Link, flood, run_corpus
from support.procs import interrupt
from test_vboard import vboard

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_HZ = 200  # pico-dock-4's rate with a device docked


def link_scenario(tmp_path: Path, overload_at: float) -> str:
    obj = {
        "board": "pico-dock-4",
        "seed": 3,
        "duration_s": 600,
        "load": [[0, 0], [0.3, 1500]],
        "events": [
            {"t": 0.3, "type": "dock"},
            {"t": overload_at, "type": "overload", "ma": 4000, "until": overload_at + 1.5},
        ],
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(obj))
    return str(path)


def check_flood(link: Link, start: float, overload_at: float, seconds: float) -> dict:
    """Flood from 2 s before the overload; checks and returns the figures."""
    wait = start + overload_at - 2 - time.monotonic()
    assert wait > 0, "the dock took too long to come up: the overload came before the flood"
    time.sleep(wait)
    fl = flood(link, seconds)
    assert fl["in_order"] and fl["all_acks"] and fl["answered"] == fl["sent"], fl
    # Sampling went on: sample lines kept coming while the flood ran (the old loop sent
    # none), each summarising the dock's rate. (sim --pty's clock falls behind the wall
    # clock meanwhile: it does not count the CPU the commands take, so its lines come
    # at about two thirds of their 5 a second.)
    s = fl["sampling"]
    assert s["lines"] >= 0.3 * 5 * seconds, s
    assert s["rate_hz"] >= 0.9 * SAMPLE_HZ, s
    cut = [
        (t, r) for t, r in link.snapshot() if r["type"] == "event" and r["kind"] == "overcurrent"
    ]
    assert cut, "the overload during the flood was not cut"
    # Seen by the host while the overload lasted (1.5 s), from the scenario's clock (the
    # dock's t_ms counts from its last boot, which flashing moved).
    assert start + overload_at - 0.3 < cut[0][0] < start + overload_at + 1.5, cut[0]
    fl["cut_after_s"] = cut[0][0] - start - overload_at
    return fl


def check_corpus(link: Link, n: int, seed: int) -> dict:
    res = run_corpus(link, list(corpus(seed, n, long_max=21000)))
    assert res["all_answered"] and res["answered"] == n, res["answered"]
    assert not res["wrong"], res["wrong"][:5]
    assert res["config_kept"] and len(res["boots"]) == 1 and not res["charging_off"], res
    assert res["sampling"]["rate_hz"] >= 0.9 * SAMPLE_HZ, res["sampling"]
    assert not link.console and not link.not_strict, (link.console[:3], link.not_strict[:3])
    return res


def test_sim_pty_through_a_flood_with_an_overload_and_a_hostile_corpus(tmp_path):
    overload_at = 5.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "pogodock.cli", "sim", "--scenario",
         link_scenario(tmp_path, overload_at), "--pty"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        start = time.monotonic()  # the scenario's time 0, give or take the start-up
        link = Link(path)
        try:
            fl = check_flood(link, start, overload_at, 4.0)
            res = check_corpus(link, 280, seed=21)
        finally:
            link.close()
        print(
            "sim --pty: flood %d lines/s sent, %d answered/s, sampling %.0f Hz; corpus %d lines"
            " in %.1f s" % (fl["send_rate"], fl["answer_rate"], fl["sampling"]["rate_hz"],
                            res["lines"], res["wall_s"])
        )  # fmt: skip
        assert proc.poll() is None
    finally:
        interrupt(proc)


def test_vboard_firmware_through_a_flood_with_an_overload_and_a_hostile_corpus(tmp_path):
    overload_at = 12.0
    flash = tmp_path / "flash"
    flash.mkdir()
    with vboard(link_scenario(tmp_path, overload_at), flash) as port:
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "tools/flash.py", "--port", port, "--board", "pico-dock-4",
             "--out", str(tmp_path / "image")],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        link = Link(port)
        try:
            assert link.wait(lambda: any(r["type"] == "sample" for _, r in link.snapshot()), 10)
            fl = check_flood(link, start, overload_at, 4.0)
            res = check_corpus(link, 280, seed=22)
        finally:
            link.close()
        print(
            "vboard: flood %d lines/s sent, %d answered/s, sampling %.0f Hz; corpus %d lines"
            " in %.1f s" % (fl["send_rate"], fl["answer_rate"], fl["sampling"]["rate_hz"],
                            res["lines"], res["wall_s"])
        )  # fmt: skip
