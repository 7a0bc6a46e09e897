"""One robust number per pin and docking session (the median of its reports), and a
straight line through a series of them.

``add(j, v, t)`` runs per report and only writes integers into arrays allocated
once. When a pin's buffer is full, every second value is dropped and from then on
only every second value is taken, so a session of any length (25 s at 5 reports/s
or 20 min of them) leaves an evenly spread sample of at most ``cap`` values.
``median(j)`` at the session's end selects in place (the buffer is spent);
``reset()`` starts the next session. ``fit_line`` is least squares over a stored
series, in floats (per session only).
"""

import math
from array import array


def median_in_place(a, lo, n):
    """Median of ``a[lo:lo+n]`` by selection (Hoare); reorders that part, allocates nothing."""
    k = lo + n // 2
    hi = lo + n - 1
    while lo < hi:
        p = a[(lo + hi) // 2]
        i = lo
        j = hi
        while i <= j:
            while a[i] < p:
                i += 1
            while a[j] > p:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]


def fit_line(t, v, o, n):
    """Least squares through ``(t[o+i], v[o+i])``, i < n (t in s): ``(slope per day,
    the line's value at the last t, the slope's standard error)``, or None with fewer
    than 3 distinct points."""
    x = sx = sy = sxx = sxy = syy = 0.0
    for i in range(n):  # relative to the first point: floats are single precision
        x = (t[o + i] - t[o]) / 86400
        y = v[o + i] - v[o]
        sx += x
        sy += y
        sxx += x * x
        sxy += x * y
        syy += y * y
    den = n * sxx - sx * sx
    if n < 3 or den <= 0:
        return None
    per_day = (n * sxy - sx * sy) / den
    at0 = (sy - per_day * sx) / n
    ssr = max(0.0, syy - at0 * sy - per_day * sxy)
    se = math.sqrt(ssr / (n - 2) * n / den)
    return per_day, v[o] + (sy + per_day * (n * x - sx)) / n, se


class SessionStats:
    def __init__(self, n, cap):
        self.n = n
        self.cap = cap
        # One array per pin, built from a range (no temporary list): several small
        # blocks are easier to find than one large one in a fragmented heap.
        self.bufs = [array("i", range(cap)) for _ in range(n)]
        self.cnt = array("i", [0] * n)  # values held
        self.seen = array("i", [0] * n)  # values offered this session
        self.stride = array("i", [1] * n)  # one offered value in stride is kept
        self.t0 = array("i", [0] * n)  # time of the first and last value held
        self.t1 = array("i", [0] * n)

    def reset(self):
        for j in range(self.n):
            self.cnt[j] = 0
            self.seen[j] = 0
            self.stride[j] = 1

    def add(self, j, v, t):
        self.seen[j] += 1
        if self.seen[j] % self.stride[j]:
            return
        k = self.cnt[j]
        if not k:
            self.t0[j] = t
        self.t1[j] = t
        buf = self.bufs[j]
        cap = self.cap
        buf[k] = v
        k += 1
        if k == cap:  # full: keep every second value, take half as many from now on
            for i in range(cap // 2):
                buf[i] = buf[2 * i]
            k = cap // 2
            self.stride[j] *= 2
        self.cnt[j] = k

    def count(self, j):
        return self.cnt[j]

    def mid_t(self, j):
        return (self.t0[j] + self.t1[j]) // 2

    def median(self, j):
        return median_in_place(self.bufs[j], 0, self.cnt[j])
