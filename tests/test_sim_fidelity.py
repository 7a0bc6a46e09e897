"""The simulator behaves as the board: boot ids, command cost, power cuts."""

from __future__ import annotations

import json
import subprocess
import sys

from dockfw.commands import _SHARE
from docksim.dock import COMMAND_COST_US, SimDock
from simrig import ROOT, Run, load_scenario


class Burst:
    """Host command lines that all arrive at one simulated instant."""

    def __init__(self, at_s: float, lines: list[bytes], clock) -> None:
        self.at_us = int(at_s * 1_000_000)
        self.lines = list(lines)
        self.clock = clock

    def pending(self) -> bool:
        return bool(self.lines) and self.clock.now_us >= self.at_us

    def read_line(self) -> bytes | None:
        return self.lines.pop(0) if self.pending() else None


def docked(duration_s: float = 8, **extra) -> dict:
    return {
        "board": "pico-dock-4",
        "seed": 4,
        "duration_s": duration_s,
        "load": [[0, 0], [0.5, 1200]],
        "events": [{"t": 0.5, "type": "dock"}],
        **extra,
    }


def hello_boots(run: Run) -> list[str]:
    return [x["boot"] for x in run.lines if x["type"] == "hello"]


def test_every_start_has_a_fresh_boot_id_unless_a_seed_is_given():
    scn = load_scenario(docked(1))
    ids = {hello_boots(Run(scn))[0] for _ in range(3)}
    assert len(ids) == 3  # random as os.urandom: a restarted sim is a new boot to hosts

    def seeded(seed: int) -> str:
        raw: list[bytes] = []
        SimDock(scn, raw.append, boot_seed=seed).run_firmware()
        return json.loads(raw[0].split(b"\n")[0])["boot"]

    assert seeded(7) == seeded(7) != seeded(8)


def test_the_cli_repeats_boot_ids_with_boot_seed(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(docked(1)))

    def first_boot(*extra: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "pogodock.cli", "sim", "--scenario", str(path), "--fast",
             *extra],
            cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.splitlines()[0])["boot"]

    assert first_boot("--boot-seed", "3") == first_boot("--boot-seed", "3")
    assert first_boot() != first_boot()


def test_a_command_flood_costs_simulated_time_as_on_the_rp2040():
    """200 ``get`` lines at once: the RP2040 spends about 9 ms on each (see
    ``COMMAND_COST_US``). The firmware gives commands that do not fit between cycles a
    share of the time (``_SHARE``), so on the simulator, as on the board, working
    through them takes about 16 times their cost while sampling keeps its rate. Before,
    simulated time stood still while commands were handled: they went by in an instant."""
    n = 200
    lines = [b'{"cmd":"get","key":"sample_hz","id":%d}' % k for k in range(n)]
    scn = load_scenario(docked(45))

    def flood(cost_us: int) -> tuple[float, float]:
        """(seconds from the burst to the last answer, sampling rate meanwhile)"""

        def inbox_for(dock):
            dock.command_cost_us = cost_us
            return Burst(3.0, lines, dock.clock)

        run = Run(scn, inbox_for=inbox_for)
        acks = [x for x in run.lines if x["type"] == "ack"]
        assert [x["id"] for x in acks] == list(range(n))
        end = acks[-1]["t_ms"]
        during = [x for x in run.lines if x["type"] == "sample" and 3000 < x["t_ms"] <= end]
        rate = sum(x["cycles"] for x in during) / max(0.2, (end - 3000) / 1000)
        return (end - 3000) / 1000, rate

    spread_s, rate = flood(COMMAND_COST_US)
    expected_s = n * COMMAND_COST_US * _SHARE / 1e6
    assert 0.8 * expected_s <= spread_s <= 1.2 * expected_s, (spread_s, expected_s)
    assert rate >= 0.9 * 200, rate
    free_s, _ = flood(0)
    # A clock that does not see the cost: only the steps' turns between cycles (a line
    # is taken once the queue has handed the answer before it to the link).
    assert free_s < expected_s / 10, (free_s, expected_s)
