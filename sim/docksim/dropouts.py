"""An intermittent contact's dropouts, looked up at any instant without a list of them.

From the ``intermittent`` event's ``t`` until ``until`` (or forever), dropouts arrive as a
Poisson process of ``rate_hz``, each open for ``dropout_ms`` (overlaps merge). Arrivals
are generated per block of time from the seed, the event index and the block number,
so any instant can be looked up in O(1). Runs under CPython and MicroPython.
"""

import math

from docksim.rand import mix

_M32 = 0xFFFFFFFF


class Dropouts:
    """The open intervals of one ``intermittent`` event, generated block by block."""

    def __init__(self, seed, index, pin, t0, t1, rate_hz, dur_us):
        self.pin = pin
        self.t0 = t0
        self.t1 = t1
        self.rate = rate_hz / 1000000.0  # per µs
        self.dur = dur_us
        blk = int(4000000 / rate_hz)  # about four arrivals per block
        if blk < 4 * dur_us:
            blk = 4 * dur_us  # a dropout spills into the next block at most
        self.blk = blk
        self.key = mix(seed, index, 0x1D7)
        self._cb = None  # the block whose intervals _ci holds (None: none yet)
        self._ci = []

    def _arrivals(self, b):
        start = self.t0 + b * self.blk
        end = start + self.blk
        if end > self.t1:
            end = self.t1
        x = mix(self.key, b, 0x5EED) or 1
        out = []
        t = float(start)
        rate = self.rate
        log = math.log
        while True:
            # xorshift32
            x ^= (x << 13) & _M32
            x ^= x >> 17
            x ^= (x << 5) & _M32
            t -= log((x + 0.5) / 4294967296.0) / rate
            if t >= end:
                return out
            out.append(int(t))

    def intervals(self, b):
        """Merged open intervals [s, e) within block ``b``, clipped to it."""
        if b == self._cb:
            return self._ci
        bs = self.t0 + b * self.blk
        be = bs + self.blk
        if be > self.t1:
            be = self.t1
        starts = self._arrivals(b)
        if b > 0:
            starts = self._arrivals(b - 1) + starts
        out = []
        dur = self.dur
        for s in starts:
            e = s + dur
            if e > self.t1:
                e = self.t1
            if e <= bs:
                continue
            if s < bs:
                s = bs
            if e > be:
                e = be
            if out and s <= out[-1][1]:
                if e > out[-1][1]:
                    out[-1][1] = e
            else:
                out.append([s, e])
        self._cb = b
        self._ci = out
        return out

    def at(self, t):
        """(open, lo, hi): the state at ``t`` and a range around it where it holds."""
        b = (t - self.t0) // self.blk
        lo = self.t0 + b * self.blk
        hi = lo + self.blk
        if hi > self.t1:
            hi = self.t1
        for s, e in self.intervals(b):
            if t < s:
                return False, lo, s
            if t < e:
                return True, s, e
            lo = e
        return False, lo, hi

    def opens_between(self, a, b):
        """Every merged open interval overlapping [a, b) (for tests and scoring)."""
        if a < self.t0:
            a = self.t0
        if b > self.t1:
            b = self.t1
        out = []
        if a >= b:
            return out
        blk0 = (a - self.t0) // self.blk
        blk1 = (b - 1 - self.t0) // self.blk
        for k in range(blk0, blk1 + 1):
            for s, e in self.intervals(k):
                if e <= a or s >= b:
                    continue
                if out and out[-1][1] >= s:
                    out[-1][1] = e
                else:
                    out.append([s, e])
        return [(s, e) for s, e in out]
