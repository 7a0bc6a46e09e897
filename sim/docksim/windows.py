"""A monitor's inputs averaged over a conversion window, exactly and mostly from a cache.

The window is split at every change point (load steps, events, dropout edges). Between
change points the state is cached, so the common call is a couple of comparisons.
Oxidation is the one thing that moves between change points (linearly in R, slightly
non-linearly in the readings): there the cache holds each reading as a secant through
+-dt around a point, dt being the time the fastest oxidising contact takes to move
``ox_step_mohm`` (0.05 mOhm: the secant is off by ~(0.05 / 35)^2 relative, far below
an LSB), and a piece's average is the secant's value at its midpoint. Runs under
CPython and MicroPython.
"""


class Windows:
    """``state_at(t)``: the timeline's (segment, opens, lo, hi); ``readings_at(seg,
    opens, t)``: every slot's (shunt µV, bus mV) at ``t``."""

    def __init__(self, state_at, readings_at, n_pins, ox_step_mohm):
        self._state_at = state_at
        self._readings_at = readings_at
        self._n = n_pins
        self.ox_step_mohm = ox_step_mohm
        self.forget()

    def forget(self):
        """Drop the cache: the timeline changed."""
        self._qa = 0
        self._qb = -1  # empty: the first call computes
        self._qox = False
        self._qte = 0
        self._qdt = 0
        self._qr = []  # readings of the quiet range, per slot (set by _quiet)
        self._qs = []  # their slopes per µs, per slot (set by _linearise)

    def _quiet(self, t):
        """Cache the state of the quiet range around t (no change point inside)."""
        seg, opens, lo, hi = self._state_at(t)
        self._qa = lo
        self._qb = hi
        self._qseg = seg
        self._qopens = opens
        self._qox = False
        if seg.ox:
            top = 0.0
            for k in range(self._n):
                if seg.slope[k] > top and seg.r0[k] is not None and k not in opens:
                    top = seg.slope[k]
            if top > 0:
                self._qox = True
                self._qdt = self.ox_step_mohm / (top * seg.tf)
                self._linearise(t)
                return
        self._qr = self._readings_at(seg, opens, t)

    def _linearise(self, t):
        """Readings as a secant through t - dt and t + dt: valid while |t' - t| <= dt."""
        dt = self._qdt
        seg = self._qseg
        lo = self._readings_at(seg, self._qopens, t - dt)
        hi = self._readings_at(seg, self._qopens, t + dt)
        k = 0.5 / dt
        self._qte = t
        r = []
        sl = []
        for j in range(len(lo)):
            a = lo[j]
            b = hi[j]
            r.append(((a[0] + b[0]) * 0.5, (a[1] + b[1]) * 0.5))
            sl.append(((b[0] - a[0]) * k, (b[1] - a[1]) * k))
        self._qr = r
        self._qs = sl

    def _value(self, slot, t):
        """The cached reading of a slot at t (t inside the quiet range)."""
        if not self._qox:
            return self._qr[slot]
        d = t - self._qte
        if d > self._qdt or -d > self._qdt:
            self._linearise(t)
            d = 0
        r = self._qr[slot]
        s = self._qs[slot]
        return (r[0] + s[0] * d, r[1] + s[1] * d)

    def _average(self, slot, t0, t1):
        if t1 <= t0:
            if not (self._qa <= t0 < self._qb):
                self._quiet(t0)
            return self._value(slot, t0)
        acc_s = 0.0
        acc_b = 0.0
        t = t0
        while t < t1:
            if not (self._qa <= t < self._qb):
                self._quiet(t)
            e = self._qb if self._qb < t1 else t1
            # Linear within a piece: its average is its value at the midpoint.
            r = self._value(slot, (t + e) / 2)
            w = e - t
            acc_s += r[0] * w
            acc_b += r[1] * w
            t = e
        span = t1 - t0
        return (acc_s / span, acc_b / span)

    def source(self, slot):
        """``f(t0_us, t1_us) -> (shunt_uv, bus_mv)``: the slot's inputs averaged over the
        window."""

        def f(t0, t1):
            if self._qa <= t0 and t1 <= self._qb and t0 < t1:
                if not self._qox:
                    return self._qr[slot]
                d = (t0 + t1) / 2 - self._qte
                if -self._qdt <= d <= self._qdt:
                    r = self._qr[slot]
                    s = self._qs[slot]
                    return (r[0] + s[0] * d, r[1] + s[1] * d)
            return self._average(slot, t0, t1)

        return f
