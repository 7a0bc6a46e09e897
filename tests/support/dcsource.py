"""A settable DC input for the simulated INA219: the ``source`` an ``INA219Model`` reads.

The chip asks its source for the (shunt µV, bus mV) averaged over each conversion
window (t0_us, t1_us). ``Source`` answers with the levels it is set to; ``opens`` lists
open-circuit intervals (t0_us, t1_us) in which the shunt reads 0, so a window that
overlaps one reads the level scaled by the part of it outside; ``calls`` logs every
window asked for.
"""


class Source:
    def __init__(self, shunt_uv=0.0, bus_mv=0.0):
        self.shunt_uv = shunt_uv
        self.bus_mv = bus_mv
        self.opens = []  # (t0, t1): shunt reads 0 inside
        self.calls = []

    def __call__(self, t0, t1):
        self.calls.append((t0, t1))
        if not self.opens:
            return self.shunt_uv, self.bus_mv
        open_us = sum(max(0, min(t1, b) - max(t0, a)) for a, b in self.opens)
        return self.shunt_uv * (1 - open_us / (t1 - t0)), self.bus_mv
