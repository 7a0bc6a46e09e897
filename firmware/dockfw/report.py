"""Summaries of the sampling cycles between two ``sample`` lines.

``add(sampler)`` runs every cycle and only adds integers into preallocated
arrays; ``write_pin`` writes a report's figures into the output queue, allocating
nothing either. The resistance
of a report is sum(drop) / sum(current) over the cycles that had a resistance:
a current-weighted mean that a single noisy low-current cycle cannot swing.
Sums stay below 2**30 (small ints on the RP2040) because a report closes at
``MAX_CYCLES`` cycles whatever the report rate.
"""

from array import array

from micropython import const

from dockfw.sampler import ST_CLIPPED, ST_LOW_CURRENT, ST_NO_DROP, ST_SENSOR, UNKNOWN
from dockfw.viper import ptr8, ptr32, viper

MAX_CYCLES = const(1000)
_BIG = const(0x3FFFFFFF)


class Report:
    def __init__(self, n):
        self.n = n
        self.cycles = 0
        self.docked_cycles = 0
        self.n_i = array("i", [0] * n)  # cycles with a current reading
        self.sum_ma = array("i", [0] * n)
        self.min_ma = array("i", [0] * n)
        self.max_ma = array("i", [0] * n)
        self.n_r = array("i", [0] * n)  # cycles with a resistance
        self.sum_drop_uv = array("i", [0] * n)
        self.sum_r_ma = array("i", [0] * n)
        self.min_r = array("i", [0] * n)
        self.max_r = array("i", [0] * n)
        self.flags = array("b", [0] * n)  # status bits seen in any cycle
        self.n_d = array("i", [0] * n)  # cycles with current and a drop (clipped included)
        self.sum_d_uv = array("i", [0] * n)
        self.clear()

    def clear(self):
        self.cycles = 0
        self.docked_cycles = 0
        for j in range(self.n):
            self.n_i[j] = 0
            self.sum_ma[j] = 0
            self.min_ma[j] = _BIG
            self.max_ma[j] = -_BIG
            self.n_r[j] = 0
            self.sum_drop_uv[j] = 0
            self.sum_r_ma[j] = 0
            self.min_r[j] = _BIG
            self.max_r[j] = -1
            self.flags[j] = 0
            self.n_d[j] = 0
            self.sum_d_uv[j] = 0

    @viper
    def add(self, sampler, settled):
        """Fold one cycle in (allocation-free); resistances only when ``settled``.
        Every sampling cycle: viper, on raw pointers into the arrays (dockfw.viper)."""
        self.cycles = int(self.cycles) + 1
        if sampler.docked:
            self.docked_cycles = int(self.docked_cycles) + 1
        sensor = int(ST_SENSOR)
        low = int(ST_LOW_CURRENT)
        unknown = int(UNKNOWN)
        keep_r = 1 if settled else 0
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        status = ptr8(sampler.status)
        i_ua = ptr32(sampler.i_ua)
        r_uohm = ptr32(sampler.r_uohm)
        drop = ptr32(sampler.drop_uv)
        flags = ptr8(self.flags)
        n_i = ptr32(self.n_i)
        sum_ma = ptr32(self.sum_ma)
        min_ma = ptr32(self.min_ma)
        max_ma = ptr32(self.max_ma)
        n_d = ptr32(self.n_d)
        sum_d_uv = ptr32(self.sum_d_uv)
        n_r = ptr32(self.n_r)
        sum_drop_uv = ptr32(self.sum_drop_uv)
        sum_r_ma = ptr32(self.sum_r_ma)
        min_r = ptr32(self.min_r)
        max_r = ptr32(self.max_r)
        for j in range(int(self.n)):
            st = status[j]
            flags[j] = flags[j] | st
            if st & sensor:
                continue
            ma = ((((i_ua[j] ^ sign) & low32) - sign) + 500) // 1000
            n_i[j] += 1
            sum_ma[j] += ma
            if ma < ((min_ma[j] ^ sign) & low32) - sign:
                min_ma[j] = ma
            if ma > ((max_ma[j] ^ sign) & low32) - sign:
                max_ma[j] = ma
            d = ((drop[j] ^ sign) & low32) - sign
            if not st & low and d > 0:
                n_d[j] += 1
                sum_d_uv[j] += d
            r = ((r_uohm[j] ^ sign) & low32) - sign
            if r == unknown or not keep_r:
                continue
            n_r[j] += 1
            sum_drop_uv[j] += d
            sum_r_ma[j] += ma
            if r < min_r[j]:
                min_r[j] = r
            if r > ((max_r[j] ^ sign) & low32) - sign:
                max_r[j] = r

    def full(self):
        return self.cycles >= MAX_CYCLES

    def i_ma(self, j):
        """Mean current of pin ``j`` over this report, mA (0 without readings)."""
        return self.sum_ma[j] // self.n_i[j] if self.n_i[j] else 0

    def i_dma(self, j):
        """Mean current of pin ``j`` over this report in 0.1 mA; -1 without readings."""
        return self.sum_ma[j] * 10 // self.n_i[j] if self.n_i[j] else -1

    def drop_uv(self, j):
        """Mean contact drop of pin ``j`` while it carried current, µV (0 without).
        A clipped reading counts at the range's end: a lower bound, which is what
        protection needs when a contact is too bad to measure."""
        return self.sum_d_uv[j] // self.n_d[j] if self.n_d[j] else 0

    def r_uohm(self, j):
        """Current-weighted contact resistance of pin ``j`` over this report, µΩ; -1 unknown."""
        ma = self.sum_r_ma[j]
        if not self.n_r[j] or ma <= 0:
            return UNKNOWN
        # 1000 * drop / ma in two parts: the sum of 40 drops of 27 mV is already above
        # 2**30 times 1000, an int the board would allocate at every call.
        drop = max(0, self.sum_drop_uv[j])
        return drop // ma * 1000 + drop % ma * 1000 // ma

    def write_pin(self, out, j, v_mv):
        """Write the ``sample`` line's object for pin ``j`` into ``out`` (an open
        ``OutQueue`` line), allocating nothing."""
        n_i = self.n_i[j]
        n_r = self.n_r[j]
        out.raw(b'{"i_ma":')
        if n_i:
            out.fixed(self.sum_ma[j] * 10 // n_i, 1)
        else:
            out.raw(b"null")
        out.raw(b',"v_mv":')
        if v_mv is None:
            out.raw(b"null")
        else:
            out.int(v_mv)
        out.raw(b',"r_mohm":')
        r_uohm = self.r_uohm(j)
        if r_uohm != UNKNOWN:
            out.fixed(r_uohm, 3)
        else:
            out.raw(b"null")
        if n_i:
            out.raw(b',"i_min_ma":')
            out.int(self.min_ma[j])
            out.raw(b',"i_max_ma":')
            out.int(self.max_ma[j])
        else:
            out.raw(b',"i_min_ma":null,"i_max_ma":null')
        if n_r:
            out.raw(b',"r_min_mohm":')
            out.fixed(self.min_r[j], 3)
            out.raw(b',"r_max_mohm":')
            out.fixed(self.max_r[j], 3)
        else:
            out.raw(b',"r_min_mohm":null,"r_max_mohm":null')
        flags = self.flags[j]
        out.raw(b',"flags":[')
        sep = False
        if flags & (ST_SENSOR | ST_NO_DROP):  # either monitor of the pin
            out.raw(b'"sensor"')
            sep = True
        if flags & ST_CLIPPED:
            out.raw(b',"clipped"' if sep else b'"clipped"')
            sep = True
        if flags & ST_LOW_CURRENT:
            out.raw(b',"low_current"' if sep else b'"low_current"')
        out.raw(b"]}")
