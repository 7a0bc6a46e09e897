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

import pytest
from mp.hostile import corpus
from support.cli import start_sim_pty
from support.cmdlink import Link, dock_ms, flood, run_corpus
from support.procs import interrupt
from support.vboards import vboard

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_HZ = 200  # pico-dock-4's rate with a device docked


def link_scenario(tmp_path: Path, *overloads: float) -> str:
    """A device docked from 0.3 s drawing 1.5 A, and 4 A for 1.5 s from each overload
    time (two at most: three trips within a minute would latch charging off)."""
    obj = {
        "board": "pico-dock-4",
        "seed": 3,
        "duration_s": 600,
        "load": [[0, 0], [0.3, 1500]],
        "events": [{"t": 0.3, "type": "dock"}]
        + [{"t": t, "type": "overload", "ma": 4000, "until": t + 1.5} for t in overloads],
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(obj))
    return str(path)


def check_flood(link: Link, start: float, overload_at: float, seconds: float, sim: bool) -> dict:
    """Flood from 2 s before the overload until it is over; checks and returns the
    figures. ``sim``: the dock's clock is the scenario's, and it is the one to go by
    (sim --pty's clock falls behind the wall clock on a busy machine); the vboard's
    restarted when it was flashed, but runs with the wall clock."""
    if sim:
        ready = link.wait(lambda: dock_ms(link) >= (overload_at - 2) * 1000, 30)
        assert ready and dock_ms(link) < overload_at * 1000, dock_ms(link)
        fl = flood(link, 10 * seconds, until=lambda: dock_ms(link) > overload_at * 1000 + 1500)
    else:
        wait = start + overload_at - 2 - time.monotonic()
        assert wait > 0, "the dock took too long to come up: the overload came before the flood"
        time.sleep(wait)
        fl = flood(link, seconds)
    seconds = fl["t1"] - fl["t0"]
    # Every line answered once, in order. On a machine too busy for the host to keep
    # reading, sim --pty drops whole lines the terminal cannot take (counted as seq
    # gaps, as a dock does): only those answers may be missing.
    assert fl["rising"] and fl["all_acks"], fl
    assert fl["answered"] + fl["lost_lines"] >= fl["sent"], fl
    # Sampling went on: sample lines kept coming while the flood ran (the old loop sent
    # none), each summarising the dock's rate. (sim --pty's clock falls behind the wall
    # clock meanwhile: it does not count the CPU the commands take, so its lines come
    # at about two thirds of their 5 a second.)
    s = fl["sampling"]
    assert s["lines"] >= 0.3 * 5 * seconds, s
    assert s["rate_hz"] >= floor(sim), s
    records = link.snapshot()
    during = [r["t_ms"] for t, r in records if r["type"] == "sample" and fl["t0"] <= t <= fl["t1"]]
    cut = [  # an earlier overload may have come while the board was being flashed
        (t, r)
        for t, r in records
        if t >= fl["t0"] and r["type"] == "event" and r["kind"] == "overcurrent"
    ]
    assert cut, "the overload during the flood was not cut"
    t_cut, ev = cut[0]
    story = [  # what else happened, for the message
        (r["boot"], r["t_ms"], r["type"], r.get("kind"), r.get("where"), r.get("reset_cause"))
        for _, r in records
        if r["type"] in ("hello", "event", "error")
    ]
    assert during[0] <= ev["t_ms"] <= during[-1] + 1000, (during[0], during[-1], ev, story)
    if sim:
        assert overload_at * 1000 <= ev["t_ms"] <= overload_at * 1000 + 50, ev
    else:  # the scenario's clock is the wall clock there
        assert start + overload_at - 0.3 < t_cut < start + overload_at + 1.5, (t_cut, ev)
    fl["cut_after_s"] = t_cut - start - overload_at
    return fl


def floor(sim: bool) -> float:
    """The sampling rate a flood or the corpus must leave: the simulator's is simulated
    time (exact), the vboard's the wall clock of a shared machine, where a busy neighbour
    can slow the interpreter down (the old loop stopped sampling outright)."""
    return (0.9 if sim else 0.5) * SAMPLE_HZ


def check_corpus(link: Link, n: int, seed: int, sim: bool) -> dict:
    res = run_corpus(link, list(corpus(seed, n, long_max=21000)))
    assert res["all_answered"] and res["answered"] == n, res["answered"]
    assert not res["wrong"], res["wrong"][:5]
    assert res["config_kept"] and len(res["boots"]) == 1 and not res["charging_off"], res
    assert res["sampling"]["rate_hz"] >= floor(sim), res["sampling"]
    assert not link.console and not link.not_strict, (link.console[:3], link.not_strict[:3])
    return res


def print_figures(where: str, fl: dict, res: dict) -> None:
    """One line of what check_flood and check_corpus measured, for the test's output."""
    print(
        "%s: flood %d lines/s sent, %d answered/s, sampling %.0f Hz; corpus %d lines in %.1f s"
        % (
            where,
            fl["send_rate"],
            fl["answer_rate"],
            fl["sampling"]["rate_hz"],
            res["lines"],
            res["wall_s"],
        )
    )


@pytest.mark.long
def test_sim_pty_through_a_flood_with_an_overload_and_a_hostile_corpus(tmp_path):
    overload_at = 5.0
    proc, path = start_sim_pty(link_scenario(tmp_path, overload_at), tmp_path / "ttySIM")
    try:
        start = time.monotonic()  # the scenario's time 0, give or take the start-up
        link = Link(path)
        try:
            fl = check_flood(link, start, overload_at, 4.0, sim=True)
            res = check_corpus(link, 280, seed=21, sim=True)
        finally:
            link.close()
        print_figures("sim --pty", fl, res)
        assert proc.poll() is None
    finally:
        interrupt(proc)


def test_vboard_firmware_through_a_flood_with_an_overload_and_a_hostile_corpus(tmp_path):
    overloads = (12.0, 24.0)  # the second for a machine so busy that flashing took long
    flash = tmp_path / "flash"
    flash.mkdir()
    with vboard(link_scenario(tmp_path, *overloads), flash) as port:
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
            ahead = [t for t in overloads if start + t - 2 > time.monotonic()]
            assert ahead, "the board took over 22 s to come up"
            fl = check_flood(link, start, ahead[0], 4.0, sim=False)
            res = check_corpus(link, 280, seed=22, sim=False)
        finally:
            link.close()
        print_figures("vboard", fl, res)
