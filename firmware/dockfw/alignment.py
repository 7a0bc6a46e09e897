"""Alignment: a device sitting crooked, which pins are affected and on which side.

A crooked device under-compresses the pins on one side: their contact resistance
jumps by hundreds of mOhm, or they lose contact. Each cycle (docked, settled,
charging) a pin is OPEN (under the board's minimum current and under 1/16 of a
same-role sibling that carries current), RAISED (R above ``lim``: ref + max(50
mOhm, 60 %) against both its own baseline and its best sibling), GOOD (R known,
within ``lim``) or unknown (no current, failed monitor: counters untouched).
A leaky count of bad cycles must reach ~250 ms (glitches, load steps with their
unsynchronised conversions and dropouts of a few ms never get there); ~500 ms
of good cycles in a row clear a pin. Per report: baselines (median of a pin's
first good reports, then following it slowly while good; kept across sessions)
and limits are refreshed, and ``misalignment`` goes out once a changed set of
pins (or open subset) has held for two reports, ``cleared`` as soon as no pin is
left. An undock resets everything silently.

At every current, and where a pin's resistance is unknown (too little current, or its
sense monitor down) or known in some cycles only, the sharing between same-role
siblings shows a tilt too (a +50 mOhm tilt sits on the resistance rule's line):
parallel paths carry currents inversely to their resistance (shunt + contact), so the
node voltage is I_k * P_k on every sibling. A pin judged so teaches its baseline
nothing meanwhile. With each path's expected resistance P (the shunt, plus
the contact's baseline, a sibling's, or ``NOMINAL_UOHM``), a pin whose current says
its path is over ``SHARE_RAISE_UOHM`` above P (I_j * (P_j + raise) < max_k I_k * P_k)
for ``SHARE_HOLD`` reports in a row is RAISED by sharing; ``SHARE_CLEAR`` reports
without clear it. Judged per report on the report's mean currents less each
monitor's zero (learnt while the dock is empty: no current can flow then), only
above ``SHARE_MIN_MA`` in the role. A pin alone in its role has nothing to share
with. The event says ``by``: ``sharing`` when a pin in it was judged so.
"""

from array import array

from micropython import const

from dockfw import protocol
from dockfw.board import SUPPLY
from dockfw.detect import OK, WARN, Detector
from dockfw.protocol import Fixed
from dockfw.sampler import ST_SENSOR, UNKNOWN
from dockfw.viper import ptr8, ptr32, viper

RAISE_UOHM = const(50000)  # seating scatter, +20 mOhm oxidation stay under; a tilt adds 100s
RAISE_PCT = const(60)  # temperature (+0.39 %/C) and load heating stay well under +60 %
ONSET_MS = const(250)  # longer than any glitch, load-step cycle or dropout burst
CLEAR_MS = const(500)  # all good for this long: the device has really settled back
MIN_CYCLES = const(3)  # at slow sampling rates still more than one cycle
OPEN_RATIO = const(16)  # an open pin carries under 1/16 of its sibling; a raised one ~1/10
LEARN_REPORTS = const(5)  # ~1 s of reports: a median no single report can swing
FOLLOW_SHIFT = const(5)  # baseline follows a good pin by 1/32 per report: oxidation, not a tilt
PENALTY_RAISED = const(40)  # score points: a tilt is a warning, short of a fault's cap
PENALTY_OPEN = const(60)  # a pin without contact loads its siblings: worse
# Sharing (per report): a +50 mOhm tilt on ~45 mOhm paths (35 contact + 10 shunt)
# reads as +50; seating scatter and the contacts' spread between pins as at most ~20
# (README, "Alignment"), so the line sits between them.
SHARE_RAISE_UOHM = const(25000)
_SHARE_RAISE = const(SHARE_RAISE_UOHM // 10)
SHARE_MIN_MA = const(40)  # the role's current: monitor zeros (~2.5 mA sd) stay small
SHARE_HOLD = const(2)  # reports in a row (400 ms at 5 Hz); announced one report later
SHARE_CLEAR = const(3)  # reports without a tilt (600 ms): as CLEAR_MS
NOMINAL_UOHM = const(35000)  # a contact nobody has measured yet: every sibling alike
_PATH_CAP = const(32000)  # 10 µΩ units: m (0.1 mA, <= 30000) * path stays below 2**30
_M_CAP = const(30000)
_ZERO_MAX = const(100)  # 0.1 mA: 10 mA, four sd of an offset (25 µV) on a 10 mOhm shunt
GOOD = const(0)
RAISED = const(1)
OPEN = const(2)
_BIG = const(0x3FFFFFFF)


def limit(ref):
    """The resistance (µΩ) above which a pin with reference ``ref`` is raised."""
    extra = ref * RAISE_PCT // 100
    return ref + (extra if extra > RAISE_UOHM else RAISE_UOHM)


class Alignment(Detector):
    def __init__(self, ctx):
        self.ctx = ctx
        pins = ctx.board.pins
        n = len(pins)
        self.n = n
        self._role = array("b", [p.role != SUPPLY for p in pins])
        self._nsib = array("b", [sum(1 for q in pins if q.role == p.role) - 1 for p in pins])
        self._min_ua = ctx.board.min_current_ma * 1000
        millihz = ctx.sample_millihz
        self._onset = max(MIN_CYCLES, ONSET_MS * millihz // 1000000)
        self._clear = max(MIN_CYCLES, CLEAR_MS * millihz // 1000000)
        self.base = array("i", [UNKNOWN] * n)  # µΩ, learned per pin, kept across sessions
        self._lim = array("i", [_BIG] * n)  # per-cycle limit, refreshed per report
        self._r = array("i", [UNKNOWN] * n)  # the report's resistances, µΩ
        self._lim_was = array("i", [_BIG] * n)  # the limits before this report's learning
        self._state = array("b", [GOOD] * n)
        self._bad = array("i", [0] * n)  # leaky count of bad cycles
        self._opn = array("i", [0] * n)  # leaky count of open cycles
        self._good = array("i", [0] * n)  # good cycles in a row
        self._learn = [[] for _ in range(n)]
        self._shunt = array("i", [p.shunt_uohm for p in pins])
        self._zero = array("i", [0] * n)  # 0.1 mA, each monitor's reading with no current
        self._zn = 0  # empty-dock reports the zeros were learnt from (saturating)
        self._m = array("i", [0] * n)  # the report's mean current less the zero, 0.1 mA
        self._path = array("i", [0] * n)  # expected path resistance, 10 µΩ
        self._sh = array("b", [0] * n)  # reports in a row tilted by sharing
        self._shq = array("b", [0] * n)  # reports in a row not
        self.shared = array("b", [0] * n)  # 1: raised by sharing
        self._reset()

    def _reset(self):
        for j in range(self.n):
            self._state[j] = self._bad[j] = self._opn[j] = self._good[j] = 0
            self._sh[j] = self._shq[j] = self.shared[j] = 0
            self._learn[j] = []
        self.side = None
        self._seen = 0  # (affected mask, open mask << 16) in the last report
        self._sent = 0  # the same, as last announced

    # -- every cycle ------------------------------------------------------------
    @viper
    def cycle(self, s, now):
        """Viper on raw pointers into the arrays (dockfw.viper): currents below 2**25,
        every "b" array here holds 0..127."""
        ctx = self.ctx
        if not ctx.charging or not ctx.docking.settled():
            return
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        sensor = int(ST_SENSOR)
        unknown = int(UNKNOWN)
        i_ua = ptr32(s.i_ua)
        status = ptr8(s.status)
        role = ptr8(self._role)
        n = int(self.n)
        top0 = 0  # the largest current in each role: does the device draw?
        top1 = 0
        for j in range(n):
            if not status[j] & sensor:
                i = ((i_ua[j] ^ sign) & low32) - sign
                if role[j]:
                    if i > top1:
                        top1 = i
                elif i > top0:
                    top0 = i
        min_ua = int(self._min_ua)
        nsib = ptr8(self._nsib)
        r_uohm = ptr32(s.r_uohm)
        lim = ptr32(self._lim)
        state = ptr8(self._state)
        bad = ptr32(self._bad)
        opn = ptr32(self._opn)
        for j in range(n):
            if status[j] & sensor:
                continue
            i = ((i_ua[j] ^ sign) & low32) - sign
            r = ((r_uohm[j] ^ sign) & low32) - sign
            top = top1 if role[j] else top0
            if nsib[j] and i < min_ua and top >= min_ua and i * OPEN_RATIO < top:
                self._step(j, OPEN)
            elif r > lim[j]:
                self._step(j, RAISED)
            elif r != unknown and (state[j] or bad[j] or opn[j]):
                self._step(j, GOOD)  # (a good cycle of a quiet pin changes nothing)

    def _step(self, j, obs):
        bad = self._bad
        opn = self._opn
        good = self._good
        onset = self._onset
        if obs:
            good[j] = 0
            bad[j] = min(onset, bad[j] + 1)
        else:
            good[j] = min(self._clear, good[j] + 1)
            bad[j] = max(0, bad[j] - 1)
        opn[j] = min(onset, opn[j] + 1) if obs == OPEN else max(0, opn[j] - 1)
        st = self._state[j]
        if st == GOOD:
            if bad[j] >= onset:
                self._state[j] = OPEN if opn[j] * 2 >= bad[j] else RAISED
        elif good[j] >= self._clear:
            self._state[j] = GOOD
        elif st == RAISED and opn[j] >= onset:
            self._state[j] = OPEN
        elif st == OPEN and opn[j] == 0 and bad[j] >= onset:
            self._state[j] = RAISED  # contact back, but still high

    # -- every report -----------------------------------------------------------
    def report(self, ctx):
        if not ctx.docking.present:
            if ctx.sampler.presence_known:
                self._learn_zero(ctx.report)
            return
        settled = ctx.docking.settled()
        r = self._r  # preallocated: a report allocates nothing here
        lim = self._lim_was
        rep = ctx.report
        n = self.n
        for j in range(n):
            r[j] = rep.r_uohm(j)
        self._limits(lim, r)
        state = self._state
        bad = self._bad
        shared = self.shared
        for j in range(n):
            # A pin the sharing shows tilted is not learnt from: its baseline would
            # follow the tilt, and once it is gone its siblings would look tilted.
            rj = r[j]
            if settled and state[j] == GOOD and not bad[j] and 0 <= rj <= lim[j] and not shared[j]:
                self._learn_from(j, rj)
        self._limits(self._lim, r)
        self._share(ctx, r, settled and ctx.charging)
        self._announce(ctx, r)

    def _learn_zero(self, rep):
        # An empty dock: no current flows, every pin monitor reads its own offset.
        zn = self._zn
        for j in range(self.n):
            z = rep.i_dma(j)
            if -_ZERO_MAX < z < _ZERO_MAX:  # an offset, not a current (nor no reading)
                self._zero[j] = z if not zn else self._zero[j] + (z - self._zero[j]) // 4
        if zn < 100:
            self._zn = zn + 1

    def _share(self, ctx, r, on):
        """Per report: which pins the sharing between siblings shows tilted."""
        rep = ctx.report
        m = self._m
        path = self._path
        role = self._role
        zero = self._zero
        base = self.base
        shunt = self._shunt
        n = self.n
        tot0 = tot1 = v0 = v1 = k0 = k1 = 0
        for j in range(n):
            x = rep.i_dma(j) if on else -1
            if x < 0:
                m[j] = -1
                continue
            x -= zero[j]
            x = 0 if x < 0 else (_M_CAP if x > _M_CAP else x)
            m[j] = x
            ref = base[j]
            if ref < 0:  # the best sibling's, as its limit is; else nobody's yet
                for k in range(n):
                    b = base[k]
                    if k != j and role[k] == role[j] and 0 <= b and (ref < 0 or b < ref):
                        ref = b
                if ref < 0:
                    ref = NOMINAL_UOHM
            p = (shunt[j] + ref) // 10
            p = _PATH_CAP if p > _PATH_CAP else p
            path[j] = p
            # The node voltage from the path as measured where it is: a sibling's
            # baseline can be stale (cleaned, re-seated) and would make this pin look
            # tilted.
            if r[j] >= 0:
                p = (shunt[j] + r[j]) // 10
                p = _PATH_CAP if p > _PATH_CAP else p
            if role[j]:
                tot1 += x
                k1 += 1
                v1 = max(v1, x * p)
            else:
                tot0 += x
                k0 += 1
                v0 = max(v0, x * p)
        lim = SHARE_MIN_MA * 10
        sh = self._sh
        shq = self._shq
        shared = self.shared
        for j in range(n):
            # Judged at every current: the resistance rule's line (+50 mOhm and +60 %)
            # leaves a +50 mOhm tilt unraised where resistance is known, and a tilt
            # shows in the sharing whatever the current.
            tilt = 0 <= m[j]
            if role[j]:
                tilt = tilt and k1 >= 2 and tot1 >= lim and m[j] * (path[j] + _SHARE_RAISE) < v1
            else:
                tilt = tilt and k0 >= 2 and tot0 >= lim and m[j] * (path[j] + _SHARE_RAISE) < v0
            if tilt:
                shq[j] = 0
                if sh[j] < SHARE_HOLD:
                    sh[j] += 1
                if sh[j] >= SHARE_HOLD:
                    shared[j] = 1
            else:
                sh[j] = 0
                if shq[j] < SHARE_CLEAR:
                    shq[j] += 1
                if shq[j] >= SHARE_CLEAR:
                    shared[j] = 0

    def _learn_from(self, j, r):
        b = self.base[j]
        if b >= 0:
            self.base[j] = b + ((r - b) >> FOLLOW_SHIFT)
            return
        seen = self._learn[j]
        seen.append(r)
        if len(seen) >= LEARN_REPORTS:
            seen.sort()
            self.base[j] = seen[len(seen) // 2]
            self._learn[j] = []

    def _limits(self, out, r):
        """Each pin's limit into ``out``: against the best same-role sibling (its
        baseline, else its resistance now), and its own baseline's. (Locals, not
        attributes: each attribute load costs the RP2040 microseconds, 5 times a second.)"""
        base = self.base
        role = self._role
        n = self.n
        for j in range(n):
            sib = _BIG
            rj = role[j]
            for k in range(n):
                if k != j and role[k] == rj:
                    v = base[k]
                    if v < 0:
                        v = r[k]
                    if 0 <= v < sib:
                        sib = v
            lim = limit(sib) if sib < _BIG else _BIG
            b = base[j]
            if b >= 0:
                own = limit(b)
                lim = own if lim == _BIG else max(own, lim)
            out[j] = lim

    def _announce(self, ctx, r):
        aff = opn = by = 0
        for j in range(self.n):
            if self._state[j] != GOOD:
                aff |= 1 << j
                if self._state[j] == OPEN:
                    opn |= 1 << j
            elif self.shared[j]:
                aff |= 1 << j
                by = 1
        now = aff | opn << 16 | by << 24
        held = now == self._seen
        self._seen = now
        if now == self._sent:
            return
        # The events are built apart: their comprehensions capture locals, and
        # MicroPython allocates those as cells at every call of the function that has
        # them, here at every report.
        if not aff:
            self._event_cleared(ctx)
            return
        if not held:
            return  # pins change state a cycle or two apart: wait for the set to hold
        self._sent = now
        self._event_raised(ctx, r, aff, opn, by)

    def _event_cleared(self, ctx):
        was = [j for j in range(self.n) if self._sent >> j & 1]
        self._sent = 0
        self.side = None
        ctx.event(protocol.EV_CLEARED, was, protocol.SEV_INFO, [("was", protocol.EV_MISALIGNMENT)])

    def _event_raised(self, ctx, r, aff, opn, by):
        pins = [j for j in range(self.n) if aff >> j & 1]
        self.side = self._side(pins)
        opens = [ctx.board.pins[j].name for j in pins if opn >> j & 1]
        r_mohm = [None if opn >> j & 1 or r[j] < 0 else Fixed(r[j], 3) for j in pins]
        fields = [("side", self.side), ("open", opens), ("r_mohm", r_mohm)]
        fields.append(("by", "sharing" if by else "resistance"))
        ctx.event(protocol.EV_MISALIGNMENT, pins, protocol.SEV_WARN, fields)

    def _side(self, pins):
        """Where the affected pins sit against the centroid of all pins, as a person says it."""
        every = self.ctx.board.pins
        n = len(every)
        if len(pins) == n:
            return "all"
        cx = sum(p.x_um for p in every) // n
        cy = sum(p.y_um for p in every) // n
        dx = sum(every[j].x_um for j in pins) // len(pins) - cx
        dy = sum(every[j].y_um for j in pins) // len(pins) - cy
        spread = 1
        for p in every:
            spread = max(spread, abs(p.x_um - cx), abs(p.y_um - cy))
        h = v = ""
        if abs(dx) * 4 >= spread and abs(dx) * 2 >= abs(dy):
            h = "right" if dx > 0 else "left"
        if abs(dy) * 4 >= spread and abs(dy) * 2 >= abs(dx):
            v = "top" if dy > 0 else "bottom"
        if h and v:
            return h + "-" + v  # as docs/protocol.md spells it: "left-top"
        return h or v or "center"

    # -- sessions and health -----------------------------------------------------
    def docked(self, ctx):
        self._reset()

    def undocked(self, ctx):
        self._reset()  # leaving is not realigning: no 'cleared'

    def misaligned(self, j):
        return self._state[j] != GOOD or self.shared[j]

    def is_open(self, j):
        return self._state[j] == OPEN

    def level(self, j):
        return WARN if self.misaligned(j) else OK

    def penalty(self, j):
        st = self._state[j]
        if st == GOOD and self.shared[j]:
            st = RAISED
        return PENALTY_OPEN if st == OPEN else (PENALTY_RAISED if st == RAISED else 0)
