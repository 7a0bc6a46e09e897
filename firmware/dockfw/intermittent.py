"""Intermittent contacts: per-pin dropouts, told apart from load changes.

A conversion averages its input (~4.26 ms at 200 Hz): a dropout of a few ms reads
as a dip of one pin's current (3 ms: ~70 %, 1 ms: ~20 %) gone a cycle or two later.
A dip below the pin's level by over 1/32 starts an episode; back at the level
within ``MAX_EPISODE`` cycles, it is a dropout if nothing moved the way a load
change moves everything: over the episode and the cycle before (monitors convert
on their own phases) the device's current, the other role's total, held and the
same-role siblings did not fall (they took the current, or missed it). What
outlasts an episode is a new level once it holds still. A pin alone in its role
(Kelvin board) needs its own contact drop to jump while its current dips: its own
open puts the rail across the contact, while the other role's open (the current
flows through both in series) takes its current and its drop with it. The drop's
level is the drop of two cycles in a row in band that agree: its sense monitor
converts on its own phase, so it can catch an open (its own or the other pin's)
in a cycle when the pin monitor does not, and the drop's way back from that dip
is no jump.
Counts per pin (``count``, until the host's ``clear``) and per monitored second over
``WINDOW_S`` s: ``RAISE_COUNT`` in the window sends ``intermittent``, ``QUIET_S``
quiet seconds ``cleared``. Only docked, settled and charging; per cycle integers only.
"""

from array import array

from micropython import const

from dockfw import protocol
from dockfw.board import SUPPLY
from dockfw.detect import OK, WARN, Detector
from dockfw.protocol import Fixed
from dockfw.sampler import ST_CLIPPED, ST_SENSOR
from dockfw.viper import ptr8, ptr32, viper

DIP_SHIFT = const(5)  # dip > 1/32 of the level: half of a 1 ms open split over 2 conversions
DIP_MIN_UA = const(5000)  # at low load: a few current LSBs, well above the noise
MAX_EPISODE = const(4)  # cycles: a 10 ms open spans at most 4 conversions; longer is a level
LONG = const(MAX_EPISODE + 1)  # an episode that outlasted MAX_EPISODE: never a dropout
HELD_DIV = const(4)  # "held": moved by under 1/4 of the deficit (a load change moves it all)
DROP_RISE_UV = const(10000)  # lone pin: its drop more than doubles +10 mV (contact opening)
DROP_HELD_UV = const(1000)  # ... and its level: two drops in band within 1/8 + 1 mV
NOT_HELD = const(-(1 << 29))  # the last cycle was out of band: no drop to agree with
WINDOW_S = const(4)  # rate window: short enough to raise within 5 s at 2 dropouts/s
RAISE_COUNT = const(3)  # dropouts in the window (0.75/s): a sound contact shows none
QUIET_S = const(10)  # monitored seconds without a dropout before 'cleared'
PENALTY_BASE = const(10)  # raised at all: worse than any warn-free pin
PENALTY_MAX = const(50)  # +1 per 0.1 dropouts/s, up to this


def _ints(n):
    return array("i", [0] * n)


class Intermittent(Detector):
    def __init__(self, ctx):
        self.ctx = ctx
        self._clock = ctx.clock
        pins = ctx.board.pins
        n = len(pins)
        self.n = n
        self._role = array("b", [p.role != SUPPLY for p in pins])
        self._siblings = array("b", [sum(1 for q in pins if q.role == p.role) - 1 for p in pins])
        self._ref = _ints(n)  # µA, the pin's level
        self._episode = _ints(n)  # cycles into a dip episode (0: none)
        self._up = _ints(n)  # cycles in a row above the level
        # Over an episode, µA·cycles: the pin's deficit, what its siblings and the
        # other role's total moved.
        self._deficit, self._siblings_moved, self._other = _ints(n), _ints(n), _ints(n)
        self._dev, self._pdev = _ints(n), _ints(n)  # µA off the level, this cycle and the last
        self._last_dev_supply = self._last_dev_ground = 0  # ... the last per role
        self._fast = _ints(n)  # pass 1 handled the pin
        self._pdrop = _ints(n)  # µV, the contact drop's level (lone pins)
        self._ldrop = _ints(n)  # µV, its drop in the last cycle if in band, else NOT_HELD
        self._hi = _ints(n)  # cycles in a row the drop has been up
        self._rose = _ints(n)  # the drop jumped around the episode
        self._hit, self._active = _ints(n), _ints(n)  # a dropout in this window, the last
        self._count = _ints(n)
        self._per_second = _ints(n * WINDOW_S)  # dropouts per monitored second
        self._quiet = array("i", [QUIET_S] * n)  # monitored seconds since the last one
        self._raised = _ints(n)
        self._bucket = 0  # the bucket filling now
        self._bucket_ms = 0  # monitored ms into it
        self._last = 0
        self._armed = False

    # -- every cycle ------------------------------------------------------------
    @viper
    def cycle(self, s, now):
        """Viper on raw pointers into the arrays (dockfw.viper): currents and their
        departures below 2**27, every "b" array here holds 0..127."""
        ctx = self.ctx
        if not ctx.charging or not ctx.docking.settled():
            self._armed = False
            return
        n = int(self.n)
        i_ua = ptr32(s.i_ua)
        status = ptr8(s.status)
        ref = ptr32(self._ref)
        episode = ptr32(self._episode)
        up = ptr32(self._up)
        if not self._armed:  # (re)start: every pin's level is what it carries now
            self._armed = True
            self._last = now
            hi = ptr32(self._hi)
            pdev = ptr32(self._pdev)
            pdrop = ptr32(self._pdrop)
            ldrop = ptr32(self._ldrop)
            drop_uv = ptr32(s.drop_uv)
            for j in range(n):
                ref[j] = i_ua[j]
                episode[j] = 0
                up[j] = 0
                hi[j] = 0
                pdev[j] = 0
                pdrop[j] = drop_uv[j]
                ldrop[j] = drop_uv[j]
            self._last_dev_supply = 0
            self._last_dev_ground = 0
            return
        step = int(self._clock.ticks_diff(now, self._last))
        self._last = now
        ms = int(self._bucket_ms)
        if step > 0:
            # A stall counts one monitored second at most: the count cannot run ahead.
            ms += step if step < 1000 else 1000
        if ms >= 1000:
            self._bucket_ms = ms - 1000
            self._tick()
        else:
            self._bucket_ms = ms
        # Pass 1: each pin's departure from its level, per role; a pin in band with
        # nothing going on just follows its level (the common case, kept cheap).
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        sensor = int(ST_SENSOR)
        role = ptr8(self._role)
        dev = ptr32(self._dev)
        siblings = ptr8(self._siblings)
        fast = ptr32(self._fast)
        dev0 = 0
        dev1 = 0
        slow = False
        for j in range(n):
            fast[j] = 1
            if status[j] & sensor:
                episode[j] = 0
                up[j] = 0
                dev[j] = 0
                continue
            level = ((ref[j] ^ sign) & low32) - sign
            d = (((i_ua[j] ^ sign) & low32) - sign) - level
            dev[j] = d
            if role[j]:
                dev1 += d
            else:
                dev0 += d
            thr = level >> DIP_SHIFT
            if thr < DIP_MIN_UA:
                thr = DIP_MIN_UA
            if siblings[j] and not episode[j] and not up[j] and -thr <= d <= thr:
                ref[j] = level + (d >> 3)  # follow slow changes within the band
            else:
                fast[j] = 0
                slow = True
        # Pass 2, only when some pin dips, rises or is alone in its role.
        if slow:
            for j in range(n):
                if not fast[j]:
                    d = ((dev[j] ^ sign) & low32) - sign
                    sx = (dev1 if role[j] else dev0) - d
                    self._pin(j, s, d, sx, dev0 if role[j] else dev1)
        self._pdev, self._dev = self._dev, self._pdev  # for the next episode's cycle before
        self._last_dev_supply = dev0
        self._last_dev_ground = dev1

    def _pin(self, j, s, d, sx, ox):
        ref = self._ref
        episode = self._episode
        thr = max(DIP_MIN_UA, ref[j] >> DIP_SHIFT)
        i = s.i_ua[j]
        steady = abs(d - self._pdev[j]) <= 2 * thr  # a new level must hold still
        hi = was_hi = held = drop = 0
        lone = not self._siblings[j]
        if lone:  # has its drop jumped (this cycle or the last)?
            drop = s.drop_uv[j]
            last = self._ldrop[j]
            held = abs(drop - last) <= (last >> 3) + DROP_HELD_UV  # never after NOT_HELD
            self._ldrop[j] = NOT_HELD  # unless this cycle is in band (below)
            was_hi = 1 if self._hi[j] else 0
            hi = 1 if drop > 2 * self._pdrop[j] + DROP_RISE_UV or s.status[j] & ST_CLIPPED else 0
            self._hi[j] = self._hi[j] + 1 if hi else 0
            if self._hi[j] > MAX_EPISODE:
                self._hi[j] = 0
                self._pdrop[j] = drop  # it stays up: the drop's new level
        if d < -thr:
            self._up[j] = 0
            if not episode[j]:
                episode[j] = 1
                self._deficit[j] = -d
                # The cycle before counts too: the monitors convert on their own phases.
                p0, p1 = self._last_dev_supply, self._last_dev_ground
                self._siblings_moved[j] = (p1 if self._role[j] else p0) - self._pdev[j] + sx
                self._other[j] = (p0 if self._role[j] else p1) + ox
                self._rose[j] = was_hi | hi
            elif episode[j] >= MAX_EPISODE:
                episode[j] = LONG  # too long for a dropout: a new level once it holds still
                if steady:
                    episode[j] = 0
                    ref[j] = i
            else:
                episode[j] += 1
                self._deficit[j] -= d
                self._siblings_moved[j] += sx
                self._other[j] += ox
                self._rose[j] |= hi
            return
        if episode[j]:  # back up: to its level, and nothing else moved like a load change?
            if episode[j] < LONG and d <= thr:
                if self._siblings[j]:
                    loss = self._deficit[j]
                    other = self._other[j] + ox
                    if (self._siblings_moved[j] + sx) * HELD_DIV >= -loss and abs(
                        other
                    ) * HELD_DIV <= loss:
                        self._dropout(j)
                elif self._rose[j] | hi:
                    self._dropout(j)
            episode[j] = 0
        if d > thr:
            self._up[j] = min(LONG, self._up[j] + 1)
            if self._up[j] > MAX_EPISODE and steady:
                self._up[j] = 0
                ref[j] = i  # it stays up: a new level
            return
        self._up[j] = 0
        ref[j] += d >> 3  # follow slow changes within the band
        if lone and not hi:
            self._ldrop[j] = drop
            if held:  # not a sense window catching an open the pin's missed
                self._pdrop[j] = drop

    def _dropout(self, j):
        self._count[j] += 1
        self._per_second[j * WINDOW_S + self._bucket] += 1
        self._hit[j] = 1
        self._quiet[j] = 0

    def _tick(self):
        """One monitored second has passed: the window slides."""
        b = self._bucket = (self._bucket + 1) % WINDOW_S
        for j in range(self.n):
            self._per_second[j * WINDOW_S + b] = 0
            if self._quiet[j] < QUIET_S:
                self._quiet[j] += 1

    # -- every report -----------------------------------------------------------
    def report(self, ctx):
        for j in range(self.n):
            self._active[j] = 1 if self._hit[j] or self._episode[j] else 0
            self._hit[j] = 0
            if not self._raised[j] and self.window_count(j) >= RAISE_COUNT:
                self._raised[j] = 1
                rate = ("rate_per_s", Fixed(self.rate_millihz(j), 3))
                ctx.event(
                    protocol.EV_INTERMITTENT,
                    [j],
                    protocol.SEV_WARN,
                    [rate, ("count", self._count[j])],
                )
            elif self._raised[j] and self._quiet[j] >= QUIET_S:
                self._raised[j] = 0
                fields = [("was", protocol.EV_INTERMITTENT), ("count", self._count[j])]
                ctx.event(protocol.EV_CLEARED, [j], protocol.SEV_INFO, fields)

    # -- queries ----------------------------------------------------------------
    def window_count(self, j):
        per_second = self._per_second
        total = 0
        for k in range(j * WINDOW_S, (j + 1) * WINDOW_S):  # no slice: nothing allocated
            total += per_second[k]
        return total

    def rate_millihz(self, j):
        """Dropouts of pin ``j`` per 1000 s over the sliding window."""
        return self.window_count(j) * 1000 // WINDOW_S

    def count(self, j):
        """Dropouts of pin ``j`` since the host last said ``clear`` (``intermittent_count``)."""
        return self._count[j]

    def active(self, j):
        """True if pin ``j`` had a dropout (or was in one) in the window just reported."""
        return bool(self._active[j])

    def level(self, j):
        return WARN if self._raised[j] else OK

    def penalty(self, j):
        if not self._raised[j]:
            return 0
        return min(PENALTY_MAX, PENALTY_BASE + self.rate_millihz(j) // 100)

    def clear(self, ctx):
        for j in range(self.n):
            self._count[j] = 0
        for k in range(len(self._per_second)):
            self._per_second[k] = 0
