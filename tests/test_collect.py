"""Sampling through a garbage collection (``App._collect``, the HAL's ``collect``).

A collection stands the RP2040 still for 12-23 ms, more than two sampling periods; the
board's HAL runs the sampling cycle from a hard timer interrupt meanwhile, where nothing
may be allocated, so a cut made there opens the switch at once and is told when the
collection ends. The simulator's ``collect`` plays that in simulated time (under
MicroPython with the heap locked, as in the interrupt: tests/mp's runs find a cycle that
allocates). Here the App collects at every check round, docked, so collections fall at
every phase of what the scenarios do; under CPython it would otherwise never collect.
"""

from __future__ import annotations

import itertools

import pytest
from dockfw import app as app_mod
from dockfw import protection as pr
from docksim.dock import SimDock
from simrig import load_scenario
from support.protectrig import PERIOD_MS, CmdRun, prot, scn

STALL_US = 23000  # the longest collection tier C has seen (a command flood's objects live)


@pytest.fixture
def collecting(monkeypatch):
    """Every check round ends in a collection of STALL_US, docked or not; the cycles
    the sampler runs are stamped with the simulated time (and whether collecting)."""
    monkeypatch.setattr(app_mod, "_MICROPYTHON_HEAP", True)
    monkeypatch.setattr(app_mod, "GC_AFTER_LINES", 0)
    monkeypatch.setattr(SimDock, "collect_cost_us", STALL_US, raising=False)
    orig_init = SimDock.__init__

    def init(self, *a, **kw):
        orig_init(self, *a, **kw)
        self.collect_cost_us = STALL_US

    monkeypatch.setattr(SimDock, "__init__", init)
    return monkeypatch


def _stamp_cycles(r_dock, app):
    stamps: list[tuple[int, bool]] = []
    cycle = app.sampler.cycle

    def stamped():
        stamps.append((r_dock.clock.now_us, app.interruptible))
        cycle()

    app.sampler.cycle = stamped
    return stamps


class StampedRun(CmdRun):
    """CmdRun whose sampler cycles are stamped (``cycles``: [(t_us, collecting)])."""

    def __init__(self, scenario, cmds=()):
        self.cycles: list[tuple[int, bool]] = []
        orig = SimDock.run_firmware

        def run_firmware(dock, sample_hz=None, idle_hz=None, on_boot=None):
            def boot(app):
                self.cycles = _stamp_cycles(dock, app)

            return orig(dock, sample_hz, idle_hz, on_boot=boot)

        SimDock.run_firmware = run_firmware
        try:
            super().__init__(scenario, cmds)
        finally:
            SimDock.run_firmware = orig


def test_sampling_goes_on_through_every_collection(collecting):
    r = StampedRun(load_scenario(scn([], duration=8)))
    collected = [e for e in r.of_type("event") if e["kind"] == "heap_collected"]
    assert len(collected) > 10, len(collected)
    # 23 ms at 5 ms a period: four cycles inside each collection, from the interrupt.
    assert all(e["cycles"] == STALL_US // (PERIOD_MS * 1000) for e in collected), collected
    assert all(e["stall_ms"] >= STALL_US // 1000 for e in collected), collected
    assert sum(1 for _, inside in r.cycles if inside) >= 4 * len(collected)
    # Docked and settled (from 3 s), no two cycles further apart than a period and the
    # step the main loop may start late by.
    docked = [t for t, _ in r.cycles if t >= 3_000_000]
    gaps = [b - a for a, b in itertools.pairwise(docked)]
    assert max(gaps) <= PERIOD_MS * 1000 + app_mod.EARLY_US, max(gaps)
    assert r.app.charging and not r.app.crashes


def test_an_overload_during_a_collection_is_cut_there_and_told_after(collecting):
    # Onsets over the first collection after 4 s (23 ms) and either side of it.
    quiet = StampedRun(load_scenario(scn([], duration=5)))
    first = next(t for t, inside in quiet.cycles if inside and t >= 4_000_000) / 1e6
    told = []
    orig = pr.Protection.tell_deferred

    def tell_deferred(self, s):
        if self.deferred:
            told.append((self._clock.ticks_ms(), self._deferred_ms))
        orig(self, s)

    collecting.setattr(pr.Protection, "tell_deferred", tell_deferred)
    deferred = 0
    for k in range(14):
        onset = first - 0.013 + k * 0.0023
        ev = {"t": onset, "type": "overload", "ma": 4500, "until": onset + 0.5}
        del told[:]
        r = StampedRun(load_scenario(scn([ev], duration=5)))
        off = [t for t, on in r.switch if not on]
        assert off and off[0] - onset * 1000 <= 2 * PERIOD_MS, (onset, r.switch)
        evs = prot(r)
        assert [e["kind"] for e in evs[:2]] == ["overcurrent", "charge_off"], evs
        assert evs[0]["total_ma"] > 3000 and evs[0]["latched"] is False, evs
        assert not r.app.crashes
        if told:
            # Cut by a cycle from the interrupt: the switch opened then, the events
            # went out when the collection ended, stamped with the cut's time.
            ((end_ms, cut_ms),) = told
            deferred += 1
            assert off[0] == cut_ms < end_ms <= cut_ms + STALL_US // 1000, (off, told)
            assert evs[0]["t_ms"] <= cut_ms + 1, (evs[0], told)
    assert deferred >= 3, deferred


def test_an_error_in_a_cycle_during_a_collection_turns_charging_off(collecting):
    calls = {"n": 0}
    orig = pr.Protection.cycle

    def failing(self, s, now):
        if self.ctx.interruptible and now >= 4000 and not calls["n"]:
            calls["n"] += 1
            raise RuntimeError("boom")
        orig(self, s, now)

    collecting.setattr(pr.Protection, "cycle", failing)
    r = StampedRun(load_scenario(scn([], duration=5)))
    assert calls["n"] == 1
    errors = [e for e in r.of_type("event") if e["kind"] == "firmware_error"]
    assert len(errors) == 1, errors
    assert errors[0]["where"].endswith("/Protection"), errors
    assert "boom" in errors[0]["error"]
    # The switch opened in the interrupt, before the collection ended and told it.
    off = [t for t, on in r.switch if not on]
    assert off and off[0] <= errors[0]["t_ms"], (r.switch, errors)
    assert not r.app.charging or r.app.crashes == 1


def test_a_docking_change_during_a_collection_waits_for_the_main_loop(collecting):
    # The device leaves so that the docking detector, about 0.31 s later, sees it
    # during the collection that falls after 4.25 s: the cycles from the interrupt
    # stop there and the main loop's handling (the undocked event, the state saved)
    # follows.
    quiet = StampedRun(load_scenario(scn([], duration=5)))
    first = next(t for t, inside in quiet.cycles if inside and t >= 4_250_000)
    per = STALL_US // (PERIOD_MS * 1000)
    halted = 0
    for k in range(14):
        undock = {"t": first / 1e6 - 0.335 + k * 0.003, "type": "undock"}
        r = StampedRun(load_scenario(scn([undock], duration=6)))
        evs = [e for e in r.of_type("event") if e["t_ms"] > 4000]
        kinds = [e["kind"] for e in evs]
        assert "undocked" in kinds and "state_saved" in kinds, kinds
        assert not r.app.crashes
        # That collection: four cycles from the interrupt, unless the change came in
        # one of them and stopped them there.
        inside = [t // 1000 for t, c in r.cycles if c and first - 6000 <= t <= first + 20000]
        if 0 < len(inside) < per:
            halted += 1
            undocked = evs[kinds.index("undocked")]
            assert undocked["t_ms"] >= inside[-1], (inside, undocked)
    assert halted >= 1, halted


def test_sampling_goes_on_while_lines_are_built_from_python_values(monkeypatch):
    # Building an event takes the RP2040 ~6 ms (tier C): each such stretch keeps the
    # cycles due from the interrupt. Here every stretch costs 8 ms of simulated time;
    # an intermittent pin makes events, and a drop of current a cut.
    orig_init = SimDock.__init__

    def init(self, *a, **kw):
        orig_init(self, *a, **kw)
        self.stretch_cost_us = 8000

    monkeypatch.setattr(SimDock, "__init__", init)
    flaky = {"t": 3, "type": "intermittent", "pin": "GND1", "rate_hz": 4, "dropout_ms": 3}
    overload = {"t": 7.5, "type": "overload", "ma": 4500, "until": 8}
    r = StampedRun(load_scenario(scn([flaky, overload], duration=9)))
    kinds = [e["kind"] for e in r.of_type("event")]
    assert "intermittent" in kinds and "overcurrent" in kinds, kinds
    assert not r.app.crashes
    inside = [t for t, c in r.cycles if c]
    assert len(inside) >= kinds.count("intermittent"), (len(inside), kinds)
    settled = [t for t, _ in r.cycles if 3_000_000 <= t < 7_500_000]
    gaps = [b - a for a, b in itertools.pairwise(settled)]
    assert max(gaps) <= PERIOD_MS * 1000 + app_mod.EARLY_US, max(gaps)
    # Never a cycle from the interrupt right on top of the loop's own: a stretch inside
    # tick (an event of its cycle) runs none, the schedule naming that cycle still.
    assert min(gaps) >= PERIOD_MS * 1000 - app_mod.EARLY_US, min(gaps)
    off = [t for t, on in r.switch if not on]
    assert off and off[0] - 7500 <= 2 * PERIOD_MS, r.switch


def test_a_stretch_inside_a_cycle_of_its_own_runs_no_second_cycle(monkeypatch):
    # The docked event is built inside tick, right after the cycle that saw the
    # device: the schedule still names that cycle, so no cycle may run from the
    # interrupt during it (one would land on top of the loop's own).
    orig_init = SimDock.__init__

    def init(self, *a, **kw):
        orig_init(self, *a, **kw)
        self.stretch_cost_us = 8000

    monkeypatch.setattr(SimDock, "__init__", init)
    r = StampedRun(load_scenario(scn([], duration=3)))
    assert "docked" in [e["kind"] for e in r.of_type("event")]
    around = [t for t, _ in r.cycles if 1_500_000 <= t < 3_000_000]
    gaps = [b - a for a, b in itertools.pairwise(around)]
    assert min(gaps) >= PERIOD_MS * 1000 - app_mod.EARLY_US, min(gaps)
