"""Device script: the loop's long stretches on the board, and the sampling through them.

    mpremote connect PORT run tools/rp2_stretch_cost.py
    python tools/tier_c.py --run tools/rp2_stretch_cost.py

Builds the App as ``dockfw.rp2040.main()`` does and runs its loop 4 s docked, the App
collecting at every check round (``GC_AFTER_LINES`` 0), each sampling cycle stamped
with ``time.ticks_us()`` and whether it ran from the timer interrupt. Prints one
``STRETCH_COST`` line: ``collections``, ``collect_ms`` (the longest, the cycles from
the interrupt included), ``cycles_per_collection`` (the fewest), ``max_cycle_gap_us``
(between two cycle starts over the whole run, collections and events included);
``event_us`` (one small event built, the interrupt armed), ``event_bare_us`` (the same,
unarmed) and ``arm_disarm_us`` (the timer's own cost).
"""

import time
from array import array

from dockfw import app as app_mod
from dockfw import rp2040
from dockfw.app import App
from dockfw.board import load

tick = time.ticks_us
diff = time.ticks_diff
N = 1200

app_mod.GC_AFTER_LINES = 0
hal = rp2040.RP2040(load("board.json"))
app = App(hal)
stamps = array("i", [0] * N)
inside = bytearray(N)
count = array("i", [0])
spans = array("i", [0] * 64)  # collect_ms * 1000, then its cycles, per collection
n_spans = array("i", [0])


def stamped_cycle(cycle=app.sampler.cycle):
    i = count[0]
    if i < N:
        stamps[i] = tick()  # pyright: ignore[reportArgumentType, reportCallIssue]
        inside[i] = 1 if app.interruptible else 0
        count[0] = i + 1
    cycle()


def stamped_collect(collect=app._collect):
    t = tick()
    collect()
    k = n_spans[0]
    if k < 32:
        spans[2 * k] = diff(tick(), t)
        spans[2 * k + 1] = app._collected_cycles
        n_spans[0] = k + 1


app.sampler.cycle = stamped_cycle
app._collect = stamped_collect
stop_at = time.ticks_add(time.ticks_ms(), 4000)
hal.running = lambda: diff(stop_at, time.ticks_ms()) > 0  # pyright: ignore[reportAttributeAccessIssue]
app.run()

docked = 400  # the first 2 s: boot, docking, settling
gap = 0
for i in range(docked + 1, count[0]):
    gap = max(gap, diff(stamps[i], stamps[i - 1]))
collections = n_spans[0]
collect_us = max(spans[2 * k] for k in range(collections)) if collections else 0
fewest = min(spans[2 * k + 1] for k in range(collections)) if collections else 0


def event_us(looping):
    app._looping = looping
    app._period_us = 5000
    app._due_us = time.ticks_add(tick(), 10**8)  # no cycle due: the stretch's own cost
    app.flush()
    t = tick()
    app.event("heap_collected", [], "info", [("stall_ms", 17), ("cycles", 3)])
    return diff(tick(), t)


armed = min(event_us(True) for _ in range(3))
bare = min(event_us(False) for _ in range(3))
t = tick()
for _ in range(20):
    hal.interrupts(app._irq_poll)
    hal.interrupts(None)
arm = diff(tick(), t) // 20
print(
    "STRETCH_COST collections=%d collect_ms=%.1f cycles_per_collection=%d "
    "max_cycle_gap_us=%d event_us=%d event_bare_us=%d arm_disarm_us=%d"
    % (collections, collect_us / 1000, fewest, gap, armed, bare, arm)
)
