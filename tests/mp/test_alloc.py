# Tier B: the per-cycle path allocates nothing, measured under MicroPython.
from frozenbus import FrozenHal, alloc_per_cycle_of, docked_app


def alloc_per_cycle(cycles=500):
    hal = FrozenHal()
    app = docked_app(hal)
    assert app.docking.present
    return alloc_per_cycle_of(app, hal, cycles)


def test_a_sampling_cycle_of_all_pins_allocates_nothing():
    per = alloc_per_cycle()
    assert per == 0, per
