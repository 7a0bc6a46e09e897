"""Device script: what the drift detector's decision costs at an undock (``mpremote run``).

    mpremote connect PORT run tools/rp2_drift_cost.py
    python tools/tier_c.py --run tools/rp2_drift_cost.py

Builds the App as ``dockfw.rp2040.main()`` does and times, with ``time.ticks_us()``
over N calls, ``Drift.sigma`` and one pin's ``Drift.session`` (the statistic judged,
learned, pushed and fitted; an in-control session, so no event), the work an undock
does per pin before the state is saved. Neither runs in a sampling cycle. Prints one
``DRIFT_COST`` line, µs per call: ``sigma_us``, ``session_us``.
"""

import time

from dockfw import rp2040
from dockfw.app import App
from dockfw.board import load

tick = time.ticks_us
diff = time.ticks_diff
N = 200

app = App(rp2040.RP2040(load("board.json")))
drift = app.drift
drift.pool_sq = 37.5  # a young dock's few terms: the prior still counts
drift.pool_terms = 6

t = tick()
for _ in range(N):
    drift.sigma()
sigma_us = diff(tick(), t) / N

t = tick()
for k in range(N):
    drift.session(app, 1, 35000 + (k & 7) * 100, 3600 * k)
session_us = diff(tick(), t) / N
print("DRIFT_COST sigma_us=%.0f session_us=%.0f" % (sigma_us, session_us))
