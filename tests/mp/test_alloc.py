# Tier B: the per-cycle path allocates nothing, measured under MicroPython.
import gc

from dockfw.app import App
from frozenbus import FrozenHal


def alloc_per_cycle(cycles=500):
    hal = FrozenHal()
    app = App(hal)
    app.start()
    for _ in range(400):  # dock, settle, learn: 2 s at 200 Hz
        hal.clock.advance_us(5000)
        app.step()
    assert app.docking.present
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(cycles):
            hal.clock.advance_us(5000)
            app.cycle()
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    return used / cycles


def test_a_sampling_cycle_of_all_pins_allocates_nothing():
    per = alloc_per_cycle()
    assert per == 0, per
