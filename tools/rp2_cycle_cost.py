"""Device script: what one sampling cycle costs the firmware, part by part (``mpremote run``).

    mpremote connect PORT run tools/rp2_cycle_cost.py

Run it on a dock (or an emulated RP2040) with the firmware flashed and main.py stopped
(mpremote stops it). It builds the App as ``dockfw.rp2040.main()`` does, lets the
firmware's own loop run 3 s (monitors configured, the device docked and settled), then
times each part of ``App.cycle`` with ``time.ticks_us()``, N calls each, less the cost
of the timing loop itself. Prints one ``CYCLE_COST`` line, µs per call: ``app_cycle``
(the whole per-cycle path), ``sampler``, ``read_shunt`` (one monitor), ``half_read``
(the supply pins' read halfway between cycles, with protection's guard), one entry per
detector's ``cycle``, ``report_add``, ``uptime``; ``alloc_bytes_per_cycle`` (heap
taken per ``App.cycle``, GC off: must be 0) and ``alloc_bytes_per_s_docked_loop``
(the whole loop's, 3 s of ``App.run`` docked, GC off: must be 0).
"""

import gc
import time

from dockfw import rp2040
from dockfw.app import App
from dockfw.board import load

tick = time.ticks_us
diff = time.ticks_diff
hal = rp2040.RP2040(load("board.json"))
app = App(hal)
stop_at = time.ticks_add(time.ticks_ms(), 3000)
hal.running = lambda: diff(stop_at, time.ticks_ms()) > 0  # pyright: ignore[reportAttributeAccessIssue]
app.run()

N = 200


def per_call(fn):
    gc.collect()
    t = tick()
    for _ in range(N):
        fn()
    return diff(tick(), t) / N


def nothing():
    pass


overhead = per_call(nothing)


def cost(fn):
    return round(per_call(fn) - overhead)


sampler = app.sampler
now = time.ticks_ms()
result = {
    "docked": app.docking.present,
    "settled": app.docking.settled(),
    "charging": app.charging,
    "app_cycle": cost(app.cycle),
    "sampler": cost(sampler.cycle),
    "half_read": cost(app._half_read),
    "half": cost(sampler.half),
    "report_add": cost(lambda: app.report.add(sampler, True)),
    "uptime": cost(app.uptime.update),
    # The driver's own read, which the cycle leaves its unusual cases (its common case
    # goes through the sampler's ShuntBank); the bank then told of the chip's state.
    "read_shunt": cost(sampler.chips[0].read_shunt),
}
sampler._bank.sync(0)
for d in app.detectors:
    result[type(d).__name__] = cost(lambda: d.cycle(sampler, now))  # noqa: B023 (called at once)
app.report.clear()
gc.collect()
gc.disable()
before = gc.mem_alloc()
for _ in range(N):
    app.cycle()
result["alloc_bytes_per_cycle"] = (gc.mem_alloc() - before) / N
gc.enable()
# The whole loop, docked, for 3 s more: reports, health, check rounds, the link. On the
# board an int over 2**30 is a heap object, which the 64-bit unix port of tier B
# cannot show; anything allocated here brings a collection into sampling one day.
# (Counted from 1 s after run() starts again: its start-up allocates.)
loop = {"t0": time.ticks_ms(), "before": None, "after": 0}


def measuring():
    t = diff(time.ticks_ms(), loop["t0"])
    if loop["before"] is None and t >= 1000:
        gc.collect()
        gc.disable()
        loop["before"] = gc.mem_alloc()
    if t < 4000:
        return True
    loop["after"] = gc.mem_alloc()
    return False


hal.running = measuring  # pyright: ignore[reportAttributeAccessIssue]
app.run()
gc.enable()
result["alloc_bytes_per_s_docked_loop"] = (loop["after"] - loop["before"]) / 3
print("CYCLE_COST", result)
