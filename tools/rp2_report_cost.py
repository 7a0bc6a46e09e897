"""Device script: what the work between sampling cycles costs, step by step (``mpremote run``).

    mpremote connect PORT run tools/rp2_report_cost.py

Builds the App as ``dockfw.rp2040.main()`` does and lets its loop run 3 s (device docked
and settled). Then drives it by hand for 400 cycles: each ``App.tick`` and each step of
the work it makes due timed with ``time.ticks_us()``, summed per stage (the detectors'
``report()`` per detector). Prints one ``REPORT_COST`` line: per stage, [steps, total µs,
longest µs], and ``ticks`` (the cycles themselves) the same way.
"""

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

costs = {}


def count(name, us):
    c = costs.get(name)
    if c is None:
        costs[name] = [1, us, us]
    else:
        c[0] += 1
        c[1] += us
        if us > c[2]:
            c[2] = us


for _ in range(400):
    t = tick()
    app.tick()
    count("tick", diff(tick(), t))
    while True:
        # (Which detector a report step runs: the phase and part before it.)
        detector_step = app._check_phase == 0 and app._report_phase == 1
        part = app._part
        t = tick()
        more = app.work_step()
        us = diff(tick(), t)
        if not more:
            break
        name = app.stage
        if detector_step:
            name = "report " + type(app.detectors[part]).__name__
        count(name, us)
    t = tick()
    app.flush()
    count("flush", diff(tick(), t))
    time.sleep_ms(2)
print("REPORT_COST", costs)
