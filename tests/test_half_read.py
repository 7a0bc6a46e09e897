"""The supply pins' half read falls on the half (``App._between_cycles``).

A supply monitor converts over 2.66 ms (a 2.13 ms shunt window and its bus
conversion) and is read twice a 5 ms period, by the cycle and halfway between two
cycles: only while those reads stay about half a period apart is each conversion read
before the next replaces it, and a conversion left unread hides a dropout in it. The
loop's wait before the half read used to run a millisecond past the half (reads 1.5
and 3.5 ms apart, one conversion in five never read); in simulated time, where a wait
ends on the microsecond, the read must come on the half wherever the loop waits for it."""

from __future__ import annotations

import itertools

from dockfw import app as app_mod
from docksim.dock import SimDock
from simrig import load_scenario
from support.protectrig import PERIOD_MS, scn


def _supply_reads(scenario):
    """(the App, [simulated µs of each read of the supply monitors: cycles and halves])."""
    stamps: list[int] = []
    dock = SimDock(scenario, lambda line: None)

    def boot(app):
        sampler = app.sampler
        cycle, half = sampler.cycle, sampler.half

        def stamped_cycle():
            stamps.append(dock.clock.now_us)
            cycle()

        def stamped_half():
            stamps.append(dock.clock.now_us)
            half()

        sampler.cycle, sampler.half = stamped_cycle, stamped_half

    app = dock.run_firmware(scenario.sample_hz, scenario.idle_hz, on_boot=boot)
    return app, stamps


def test_every_conversion_of_a_supply_monitor_is_read():
    app, stamps = _supply_reads(load_scenario(scn([], duration=6)))
    assert app.charging and not app.crashes
    settled = [t for t in stamps if 3_000_000 <= t < 5_900_000]  # (the run ends at 6 s)
    gaps = [b - a for a, b in itertools.pairwise(settled)]
    assert len(gaps) > 2 * 2.5 * 1000 // PERIOD_MS, len(gaps)
    half = PERIOD_MS * 1000 // 2
    # Reports, health lines and check rounds run between the reads all the while. A
    # check round's step (its I2C reads take wire time) can end within EARLY_US
    # of the half, and then the read comes at once: the RP2040 has no time to wait
    # there (a cycle takes 1.7 ms of its 5, the steps need what is left after the read).
    on_half = [g for g in gaps if abs(g - half) <= 100]
    assert len(on_half) >= 0.95 * len(gaps), sorted(set(gaps))
    conversion_us = max(c.cycle_us for c in app.sampler.chips)
    assert sum(1 for g in gaps if g > conversion_us) <= 0.03 * len(gaps), sorted(set(gaps))
    assert max(gaps) <= half + app_mod.EARLY_US, sorted(set(gaps))
