"""Firmware figures for ``make bench``: heap, allocation per cycle, I2C wire time, accuracy.

- ``fw_import_heap_bytes``: heap taken by importing the firmware (.mpy, as flashed)
  under MicroPython.
- ``fw_alloc_bytes_per_cycle``: heap bytes one sampling cycle of all pins allocates
  (read, summarise, detect), under MicroPython with tier B's heap (``MPY_HEAP``, 320k: the
  64-bit port's objects are about twice the RP2040's).
- ``fw_i2c_bus_us_per_cycle``: wire time per cycle from the bytes the driver moved on
  the simulated bus, the housekeeping round every 250 ms included, on the misalign scenario.
- ``fw_i2c_min_bus_us_per_cycle``: the least the same readings could cost: one
  2-byte register read without a pointer write (29 SCL clocks) per monitor, and one
  more per supply pin's monitor (read again halfway between cycles while charging).
- ``fw_r_error_mohm_p95`` / ``fw_r_error_pct_p95``: contact-resistance error against
  the scenario's truth (seated contacts in mOhm; raised ones in percent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))


def _micropython_figures() -> dict[str, float]:
    import tier_b

    tier_b.build_mpy()
    env = dict(os.environ, MICROPYPATH="%s:%s" % (tier_b.OUT, ROOT / "tests" / "mp"))
    out = subprocess.run(
        [str(tier_b.BIN / "micropython"), "-X", "heapsize=" + tier_b.HEAP, "tools/bench_fw_mp.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))]


def _sim_figures() -> dict[str, float]:
    from simrig import run
    from test_sim_dock import resistance_errors

    r = run("misalign")
    bus = r.dock.i2c
    cycles = r.app.sampler.cycles
    freq = r.dock.board.i2c_freq
    reads = len(r.app.sampler.chips) + len(r.app.sampler.read_twice)
    errors = resistance_errors(r)
    seated = [abs(e[0]) for e in errors if e[1] < 100]
    raised = [abs(e[0]) / e[1] * 100 for e in errors if e[1] >= 100]
    return {
        "fw_i2c_bus_us_per_cycle": round(bus.clocks * 1e6 / freq / cycles, 1),
        "fw_i2c_min_bus_us_per_cycle": round(reads * 29 * 1e6 / freq, 1),
        "fw_r_error_mohm_p95": round(_p95(seated), 3),
        "fw_r_error_pct_p95": round(_p95(raised), 2),
    }


def figures() -> dict[str, float]:
    out = _micropython_figures()
    out.update(_sim_figures())
    return out


if __name__ == "__main__":
    print(json.dumps(figures(), indent=2))
