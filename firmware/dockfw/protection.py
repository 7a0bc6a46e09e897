"""Protection: overcurrent, a contact heating up, the dock too hot, monitors failing.

Every cycle, on integers and without allocation, protection bounds what it cannot
measure from what still answers (a monitor not answering, stuck, or restarting):

* One current flows out through the supply pins and back through the ground pins.
  Each side's sum is known when all its monitors answer; a silent pin's current is
  at most the other side's sum (or bound) less its answering siblings; on the pad
  board also at most its sense pad's reading over its own shunt (rail - V+ =
  I * (Rsh + Rcontact) >= I * Rsh; the same on the ground side). On the Kelvin board
  the one supply pin carries what the one ground pin carries.
* The dock total is the smaller side's sum when both are complete (while a contact
  drops out one side can briefly count the moving current twice), but the larger
  one when they disagree for ``SPLIT_CYCLES`` cycles in a row: a monitor frozen at
  an old reading (before its housekeeping round finds it stuck); the disagreement is
  then added to every pin of the lower side. With one side incomplete, the total is
  the other side's sum or the smaller bound.
* A contact's heat is its current times its own drop (the pad's reading less the
  pin's shunt drop; the Kelvin monitor's reading). With the current only bounded,
  its bound is the most I * (S - I * Rsh) reaches up to that bound. With the drop
  unknown (its sense monitor silent, or a pad reading clipped) the contact is taken
  to be as bad as ``BLIND_MOHM``: charging continues up to ``blind_ma`` per pin
  (500 mA at the 250 mW limit) and goes off above it (docs: README "Protection").

A pin above its ``max_ma`` or the dock above ``max_total_ma`` switches charging off
in that same cycle. A contact whose heat (smoothed over about 8 cycles) stays above
``contact_mw_limit`` for ``HEAT_MS`` switches it off too; below 3/5 of the limit
the count starts again. A pin whose current nothing bounds (its monitor and the
other side's silent together, the bus down) switches it off at once. After
``RETRY_MS``, once every pin can be bounded again, charging is tried again; after
``MAX_TRIPS`` trips within ``TRIP_WINDOW_MS`` it stays off until the host says
``clear``.

``check`` runs at least every 250 ms whatever the report rate (the App's check
step): the retry, the dock's own temperature (off above ``temp_limit_mc``, back on
10 °C below), and the monitors' health: ``sensor_fault`` for a monitor that stops
answering or converting, one for the whole bus when it goes down, ``cleared`` when
they are back. Time is counted per cycle or per check, never kept as a stamp that
could outgrow ``ticks_diff``'s range however long a device stays docked.
"""

from array import array

from micropython import const

from dockfw import protocol
from dockfw.board import KELVIN
from dockfw.detect import FAULT, OK, WARN, Detector
from dockfw.viper import native, ptr8, ptr32, viper

RETRY_MS = const(5000)
MAX_TRIPS = const(3)
TRIP_WINDOW_MS = const(60000)
CONTACT_MW_LIMIT = const(250)  # I^2 R in one contact: 2 A through 62 mOhm
HEAT_MS = const(1000)  # the smoothed heat over the limit for this long, continuously
_HEAT_SHIFT = const(3)  # heat smoothed by 1/8 per cycle: a 10 ms dropout cannot reset it
# A contact whose drop cannot be measured is taken to be this bad: 30 times a good
# contact, beyond every misalignment and oxidation step the detectors report (the
# bench's worst is +0.4 Ohm), the order of a plunger conducting through its spring.
BLIND_MOHM = const(1000)
TEMP_LIMIT_MC = const(70000)
TEMP_HYSTERESIS_MC = const(10000)
SPLIT_CYCLES = const(6)  # sides disagreeing this long: not a dropout, a frozen monitor
_SPLIT_SHIFT = const(4)  # ... by more than 1/16 of the larger side
_SPLIT_MIN_MA = const(50)  # ... and more than the monitors' offsets together
# A monitor just (re)configured converts within one sampling period (its averaging is
# chosen to fit the period): a current unknown for fewer cycles is a start, not a loss.
UNBOUNDED_CYCLES = const(3)
_BIG = const(0x3FFFFFFF)  # no bound
_MA_CAP = const(30000)  # heat arithmetic stays in small ints; far above any pin's limit
_EST = const(1)  # per pin: its current is a bound, not a measurement
_BLIND = const(2)  # per pin: its contact's drop is unknown
# Why charging went off.
_CUT_CURRENT = const(1)
_CUT_HEAT = const(2)
_CUT_BLIND = const(3)  # heat that cannot be measured, current over the blind limit
_CUT_UNBOUNDED = const(4)  # a current that nothing bounds
# The bus as last reported; ordered: a higher state is worse.
_BUS_UP = const(0)
_BUS_DOWN = const(1)
_BUS_HELD_LOW = const(2)  # SDA still low after a recovery's nine clocks
FAULT_PENALTY = const(70)  # score points a protection fault takes off (30 left at most)
WARN_PENALTY = const(15)
HEAT_WARN_PCT = const(60)  # a contact's heat warns from this share of its limit
_JUMP_MIN_MA = const(50)  # a half read's jump beyond any moved share: above the noise


# Why charging stays off (``holds_off``): also the host's answer to a refused charge on.
_HELD_BY_TRIP = "protection holds charging off (clear it first, or let it cool)"
_HELD_BY_ERROR = "a firmware error holds charging off until a few s pass without one"
_HELD_UNBOUNDED = "the monitors that answer cannot bound every pin's current"


class Protection(Detector):
    def __init__(self, ctx):
        self.ctx = ctx
        self._clock = ctx.clock
        board = ctx.board
        n = len(board.pins)
        self.n = n
        self.max_ma = array("i", [0] * n)
        self._level = array("i", [0] * n)  # mA, the supply pins' last cycle (_supply_over)
        self._role = array("b", [0] * n)  # 0 supply, 1 ground
        self._sense = array("b", [0] * n)  # the chip index of the pin's sense monitor
        self._pad = array("b", [0] * n)  # 1: a sense pad (else a Kelvin monitor)
        self._shunt = array("i", [0] * n)
        for p in board.pins:
            j = p.index
            self.max_ma[j] = p.max_ma
            self._role[j] = p.role != "supply"
            self._sense[j] = n + p.sense
            self._pad[j] = board.sense[p.sense].method != KELVIN
            self._shunt[j] = p.shunt_uohm
        self.max_total_ma = board.max_total_ma
        self.contact_mw_limit = CONTACT_MW_LIMIT
        self.blind_ma = 0
        self._blind_for = -1  # the limit blind_ma was computed for
        self.host_off = False  # the host said "charge off": protection never overrides it
        # A charge refused only because no monitor could bound some pin's current: the
        # next check at which they can starts it ("monitors answer").
        self.awaiting_bounds = False
        self.temp_limit_mc = TEMP_LIMIT_MC
        self._hi = array("i", [0] * n)  # mA: this cycle's current, or its upper bound
        self._st = array("b", [0] * n)  # _EST, _BLIND
        self._side = array("i", [0] * 4)  # mA: known sum and bound of each side
        self.p_mw = array("i", [0] * n)  # smoothed contact heat (or its bound)
        self._heat_ms = array("i", [0] * n)  # how long the heat has been over the limit
        self._split = 0  # cycles in a row the two sides disagreed
        self.deferred = 0  # a cut made from the interrupt, not told yet (tell_deferred)
        self._deferred_total = 0
        self._deferred_ms = 0
        self._unbounded = 0  # cycles in a row some pin's current had no bound
        self._last_ms = ctx.clock.ticks_ms()
        self._armed = False
        self.over = array("b", [0] * n)  # pins over their limit in the tripping cycle
        self.hot = array("b", [0] * n)  # pins whose heat tripped
        self.total_over = False
        self.tripped = False
        self.latched = False
        self._off_ms = 0  # since the trip, counted per check (saturating)
        self._check_ms = self._last_ms
        self._trips = array("i", [0] * MAX_TRIPS)  # ticks_ms of the trips within the window
        self._n_trips = 0
        self.overheat_dock = False
        chips = n + len(board.sense)
        self.sensor_bad = array("b", [0] * chips)  # 0 ok, 1 silent, 2 stuck, as reported
        self._restores = array("i", [0] * chips)
        self._bus = _BUS_UP  # the bus as last reported
        self._recoveries = 0  # the sampler's bus recoveries, as last reported

    # -- every cycle ------------------------------------------------------------
    # The per-cycle work below is viper on raw pointers into the arrays (dockfw.viper):
    # the bounds and products here all stay below 2**30 (currents capped at _MA_CAP
    # for heat), and every "b" array read through a ptr8 holds 0..127.
    @native
    def cycle(self, s, now):
        dt = self._clock.ticks_diff(now, self._last_ms)
        self._last_ms = now
        if dt < 0:
            dt = 0
        elif dt > HEAT_MS:
            dt = HEAT_MS
        if self.tripped or not self.ctx.charging:
            if self._armed:
                self._disarm()
            return
        self._armed = True
        total = self._currents(s)
        cut = self._limits(total)
        if not cut and self._heat(s, dt):
            cut = _CUT_HEAT
        fresh = self._supply_over(s, True)
        if fresh and not cut:
            cut = _CUT_CURRENT
            total = fresh
        if cut:
            if self.ctx.interruptible:
                # Maybe in the HAL's interrupt (App._interrupts_begin), where nothing may be
                # allocated: the switch opens now, the telling waits (tell_deferred).
                self.ctx.set_charging(False)
                self.deferred = cut
                self._deferred_total = total
                self._deferred_ms = now
                return
            self._cut(s, now, cut, total)

    def tell_deferred(self, s):
        """The cut a cycle run from the interrupt made: its trip counted and told."""
        cut = self.deferred
        if cut:
            self.deferred = 0
            self._cut(s, self._deferred_ms, cut, self._deferred_total)

    @native
    def guard(self, s, now):
        """Halfway between two cycles, on the supply pins' half reads (Sampler.half):
        the dock's current, or a supply pin's, over its limit cuts at once."""
        if self.tripped or not self.ctx.charging:
            return
        total = self._supply_over(s, False)
        if total:
            self._cut(s, now, _CUT_CURRENT, total)

    @viper
    def _supply_over(self, s, keep: bool) -> int:
        """The dock's current on the supply pins' latest readings (``now_ua``) when it,
        or one supply pin's, is over its limit, by a jump from the last cycle's levels
        that no current moving between them explains; else 0. One side alone, unlike
        the cycle's total (the lower side, until they disagree for long): its readings
        are at most half a period old, the ground pins' a whole period. While a pin
        drops out, its siblings take its current, and a sibling's window can count it
        while the pin's own window missed the dropout: a sum over by at most the
        largest pin's share. Smaller overloads wait for the cycle's check. ``keep``
        (the cycle's call): this cycle's currents become the levels."""
        live = ptr8(s.live)
        now_ua = ptr32(s.now_ua)
        i_ua = ptr32(s.i_ua)
        role = ptr8(self._role)
        hi = ptr32(self._hi)
        level = ptr32(self._level)
        max_ma = ptr32(self.max_ma)
        base = 0
        top = 0
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        total = 0
        over = False
        whole = True
        for j in range(int(self.n)):
            if role[j]:
                continue
            if not live[j]:
                whole = False  # a silent supply pin: the cycle's bounds judge the total
                if keep:
                    level[j] = 0
                continue
            m = ((((now_ua[j] ^ sign) & low32) - sign) + 500) // 1000
            if m < 0:
                m = 0
            total += m
            if m > max_ma[j]:
                over = True
            lv = level[j]
            base += lv
            if lv > top:
                top = lv
            if keep:
                lv = ((((i_ua[j] ^ sign) & low32) - sign) + 500) // 1000
                level[j] = lv if lv > 0 else 0
        if whole and total > int(self.max_total_ma):
            over = True
        if not over or total - base <= top + (top >> 2) + _JUMP_MIN_MA:
            return 0
        for j in range(int(self.n)):  # the cut's event names the pins over from _hi
            if live[j] and not role[j]:
                m = ((((now_ua[j] ^ sign) & low32) - sign) + 500) // 1000
                hi[j] = m if m > 0 else 0
        return total

    @viper
    def _currents(self, s) -> int:
        """Fill _hi (measured or bounded mA per pin, _BIG: no bound) and return the
        dock total (or its bound)."""
        live = ptr8(s.live)
        i_ua = ptr32(s.i_ua)
        chips = s.chips
        role = ptr8(self._role)
        sense = ptr8(self._sense)
        pad = ptr8(self._pad)
        shunt = ptr32(self._shunt)
        hi = ptr32(self._hi)
        st = ptr8(self._st)
        side = ptr32(self._side)  # [known supply, known ground, bound supply, bound ground]
        side[0] = 0
        side[1] = 0
        side[2] = 0
        side[3] = 0
        n = int(self.n)
        missing = 0
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        for j in range(n):
            r = role[j]
            if live[j]:
                m = ((((i_ua[j] ^ sign) & low32) - sign) + 500) // 1000
                side[r] += m
                hi[j] = m if m > 0 else 0
                st[j] = 0
                continue
            missing = 1
            st[j] = _EST
            b = _BIG
            k = sense[j]
            if pad[j] and live[k] and not chips[k].clipped:
                # Its own sense pad bounds it: S >= I * Rsh.
                b = int(chips[k].shunt_uv)
                b = b * 1000 // shunt[j] if b > 0 else 0
            hi[j] = b
            if b == _BIG or side[2 + r] == _BIG:
                side[2 + r] = _BIG
            else:
                side[2 + r] += b
        if not missing:
            return int(self._split_total())
        self._split = 0
        if side[2] != _BIG:
            side[2] += side[0]
        if side[3] != _BIG:
            side[3] += side[1]
        supply = ((side[2] ^ sign) & low32) - sign
        ground = ((side[3] ^ sign) & low32) - sign
        total = supply if supply < ground else ground
        if total != _BIG:
            # One current flows out through the supply pins and back through the
            # ground pins: what one side bounds, less the other's answering pins.
            for j in range(n):
                if st[j]:
                    b = total - (((side[role[j]] ^ sign) & low32) - sign)
                    if b < 0:
                        b = 0
                    if b < hi[j]:
                        hi[j] = b
        return total

    @viper
    def _split_total(self) -> int:
        side = ptr32(self._side)
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        big = ((side[0] ^ sign) & low32) - sign
        low = ((side[1] ^ sign) & low32) - sign
        low_role = 1
        if low > big:
            big, low = low, big
            low_role = 0
        gap = big - low
        split = int(self._split)
        if gap > _SPLIT_MIN_MA and gap > big >> _SPLIT_SHIFT:
            if split < SPLIT_CYCLES:
                split += 1
        else:
            split = 0
        self._split = split
        if split < SPLIT_CYCLES:
            return low
        # One side has stayed short too long for a dropout: a monitor on it may be
        # frozen, and any of its pins may carry the missing current.
        role = ptr8(self._role)
        hi = ptr32(self._hi)
        st = ptr8(self._st)
        for j in range(int(self.n)):
            if role[j] == low_role:
                hi[j] += gap
                st[j] = _EST
        return big

    @viper
    def _limits(self, total: int) -> int:
        """The cut a pin or the dock over its limit calls for (_CUT_CURRENT), or a
        current without a bound for too long (_CUT_UNBOUNDED); else 0."""
        hi = ptr32(self._hi)
        max_ma = ptr32(self.max_ma)
        trip = int(self.max_total_ma) < total < _BIG
        unbounded = False
        for j in range(int(self.n)):
            if max_ma[j] < hi[j] < _BIG:
                trip = True
            elif hi[j] == _BIG:
                unbounded = True
        count = int(self._unbounded)
        if not unbounded:
            count = 0
        elif count < UNBOUNDED_CYCLES:
            count += 1
        self._unbounded = count
        if trip:
            return _CUT_CURRENT
        if count >= UNBOUNDED_CYCLES:
            return _CUT_UNBOUNDED
        return 0

    @viper
    def _heat(self, s, dt: int) -> bool:
        """Smoothed heat (or its bound) per contact; True when one has been over the
        limit for HEAT_MS."""
        hi = ptr32(self._hi)
        st = ptr8(self._st)
        sense = ptr8(self._sense)
        pad = ptr8(self._pad)
        shunt = ptr32(self._shunt)
        live = ptr8(s.live)
        drop_uv = ptr32(s.drop_uv)
        chips = s.chips
        p_mw = ptr32(self.p_mw)
        heat_ms = ptr32(self._heat_ms)
        lim = int(self.contact_mw_limit)
        hot = False
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        for j in range(int(self.n)):
            i = hi[j]
            if i == _BIG:
                continue  # no bound at all: the unbounded rule's business, not heat's
            if i > _MA_CAP:
                i = _MA_CAP
            k = sense[j]
            p = 0
            if not live[k]:
                # The drop is unknown: the contact is taken to be as bad as BLIND_MOHM.
                st[j] = st[j] | _BLIND
                p = (i * i // 1000) * BLIND_MOHM // 1000
                d = 0
            elif chips[k].clipped:
                # The drop is only bounded from below: as bad as BLIND_MOHM, and at least
                # as hot as the bound says.
                st[j] = st[j] | _BLIND
                p = (i * i // 1000) * BLIND_MOHM // 1000
                d = int(chips[k].shunt_uv)
            elif not st[j]:
                d = ((drop_uv[j] ^ sign) & low32) - sign
            else:
                d = int(chips[k].shunt_uv)  # the contact's drop, with the shunt's on a pad
                if pad[j] and d > 0 and i > d * 500 // shunt[j]:
                    # I * (S - I * Rsh) is largest at I = S / (2 Rsh): the heat's bound for
                    # any current up to the current's bound.
                    i = d * 500 // shunt[j]
            if pad[j] and st[j]:
                d -= i * (shunt[j] // 10) // 100
            q = (d // 100) * i // 10000 if d > 0 else 0  # µV * mA -> mW
            if not st[j] & _BLIND:
                p = q
            elif q > lim or q > p:
                p = q  # measured, if only as a lower bound: at least this hot
                st[j] = st[j] & _EST
            p_mw[j] += (p - p_mw[j]) >> _HEAT_SHIFT
            if p_mw[j] > lim:
                if heat_ms[j] < HEAT_MS:
                    heat_ms[j] += dt
                if heat_ms[j] >= HEAT_MS:
                    hot = True
            elif p_mw[j] < lim * 3 // 5:
                heat_ms[j] = 0
        return hot

    def _disarm(self):
        self._armed = False
        self._split = 0
        self._unbounded = 0
        for j in range(self.n):
            self._level[j] = 0
            self.p_mw[j] = 0
            self._heat_ms[j] = 0
            self._st[j] = 0

    # -- the rare path: allocation is fine here ---------------------------------
    def _cut(self, s, now, cut, total):
        ctx = self.ctx
        ctx.set_charging(False)  # first: the telling below takes a while on the board
        hi = self._hi
        pins = []
        est = []
        p_mw = []
        i_ma = []
        blind = True
        for j in range(self.n):
            if self._st[j] & _EST:
                est.append(ctx.board.pins[j].name)
            if cut == _CUT_CURRENT:
                hit = self.max_ma[j] < hi[j] < _BIG
            elif cut == _CUT_UNBOUNDED:
                hit = hi[j] == _BIG
            else:
                hit = self._heat_ms[j] >= HEAT_MS
            if hit:
                pins.append(j)
                p_mw.append(self.p_mw[j])
                i_ma.append(hi[j])
                blind = blind and self._st[j] & _BLIND
                if cut == _CUT_HEAT:
                    self.hot[j] = 1
                else:
                    self.over[j] = 1
        silent = []
        for k in range(len(s.chips)):
            if not s.live[k]:
                silent.append(s.chips[k].addr)
        if cut == _CUT_CURRENT:
            self.total_over = self.max_total_ma < total < _BIG
            kind = protocol.EV_OVERCURRENT
            fields = [("total_ma", total), ("max_total_ma", self.max_total_ma)]
        elif cut == _CUT_UNBOUNDED:
            kind = "cannot bound current"
            fields = [("monitors", silent)]
        elif blind:
            cut = _CUT_BLIND
            kind = "cannot bound contact heat"
            fields = [("monitors", silent), ("i_ma", i_ma), ("limit_ma", self.blind_ma)]
        else:
            kind = protocol.EV_OVERHEAT
            fields = [("p_mw", p_mw), ("limit_mw", self.contact_mw_limit)]
        self.tripped = True
        # The retry counts from the trip; the next check adds the time since the last.
        self._off_ms = self._clock.ticks_diff(self._check_ms, now)
        self._expire(now)
        if self._n_trips == MAX_TRIPS:
            self._trips[0:-1] = self._trips[1:]
            self._n_trips -= 1
        self._trips[self._n_trips] = now
        self._n_trips += 1
        self.latched = self._n_trips >= MAX_TRIPS
        tail = [("latched", self.latched)]
        if cut >= _CUT_BLIND:
            # Nothing was measured over a limit: the cut itself says why.
            ctx.event(
                protocol.EV_CHARGE_OFF, pins, protocol.SEV_FAULT, [("reason", kind)] + fields + tail
            )
            return
        ctx.event(kind, pins, protocol.SEV_FAULT, fields + [("estimated", est)] + tail)
        ctx.event(protocol.EV_CHARGE_OFF, [], protocol.SEV_FAULT, [("reason", kind)])

    def _expire(self, now):
        # Run at every check: no stamp here ever ages past the window and a check,
        # far inside ticks_diff's range.
        recent = 0
        for k in range(self._n_trips):
            if self._clock.ticks_diff(now, self._trips[k]) < TRIP_WINDOW_MS:
                self._trips[recent] = self._trips[k]
                recent += 1
        self._n_trips = recent

    # -- every check (at least every 250 ms) -------------------------------------
    def check(self, ctx, now):
        elapsed = self._clock.ticks_diff(now, self._check_ms)
        self._check_ms = now
        lim = self.contact_mw_limit
        if lim != self._blind_for:
            # The current at which a BLIND_MOHM contact makes exactly the heat limit.
            self._blind_for = lim
            n = lim * 1000000 // BLIND_MOHM
            x = n
            y = (x + 1) // 2
            while y < x:
                x = y
                y = (x + n // x) // 2
            self.blind_ma = x
        self._expire(now)
        if self.tripped and not self.latched:
            if self._off_ms < RETRY_MS and elapsed > 0:
                # elapsed is one check interval (at most a sampling period): no overflow.
                self._off_ms = min(RETRY_MS, self._off_ms + elapsed)
            if self._off_ms >= RETRY_MS and self.boundable(ctx.sampler.live):
                self._reset_trip()
                self._charge_on_if_safe(ctx, "retry")
        if self.awaiting_bounds:
            self.awaiting_bounds = False  # set again while the monitors still cannot
            self._charge_on_if_safe(ctx, "monitors answer")
        self._dock_temperature(ctx)
        self._sensors(ctx)

    def boundable(self, live, stuck=None):
        """Could every pin's current be bounded by the monitors ``live`` marks (the
        sampler's ``live``: reading settled values; its ``ok``: answering) and ``stuck``
        does not (answering, but converting no more: their readings are stale)?"""
        lost = 0  # bit 1 << role: a pin of that side bounded by nothing of its own
        for j in range(self.n):
            k = self._sense[j]
            own = live[j] and not (stuck and stuck[j])
            pad = self._pad[j] and live[k] and not (stuck and stuck[k])
            if not own and not pad:
                lost |= 1 << self._role[j]
        return lost != 3  # one side bounds the other's silent pins

    def _reset_trip(self):
        self.tripped = False
        self.total_over = False
        for j in range(self.n):
            self.over[j] = 0
            self.hot[j] = 0
        self._disarm()

    def holds_off(self, ctx):
        """Why charging may not be switched on now (the host's own "off" aside), or "":
        a trip, the dock's heat, a firmware error's hold, or monitors that cannot bound
        every pin's current (switched on with a dead bus, charging would run unwatched
        until the unbounded rule cut it; answering, not settled: at boot none has a
        settled reading yet)."""
        if self.tripped or self.overheat_dock:
            return _HELD_BY_TRIP
        if ctx.crash_hold:
            return _HELD_BY_ERROR
        s = ctx.sampler
        if not (s.bus_ok and self.boundable(s.ok, s.stuck)):
            return _HELD_UNBOUNDED
        return ""

    def may_charge(self, ctx):
        """Nothing holds charging off, the host's "off" included. A charge refused only
        for want of bounds is remembered (``awaiting_bounds``) and started by ``check``."""
        if self.host_off:
            return False
        why = self.holds_off(ctx)
        if why is _HELD_UNBOUNDED:
            self.awaiting_bounds = True
        return not why

    def _charge_on_if_safe(self, ctx, reason):
        if ctx.charging or not self.may_charge(ctx):
            return
        ctx.set_charging(True)
        ctx.event(protocol.EV_CHARGE_ON, [], protocol.SEV_INFO, [("reason", reason)])

    def _dock_temperature(self, ctx):
        t = ctx.temp_mc()
        if t is None:
            return
        if not self.overheat_dock and t > self.temp_limit_mc:
            self.overheat_dock = True
            ctx.event(
                protocol.EV_OVERHEAT,
                [],
                protocol.SEV_FAULT,
                [("temp_c", t // 1000), ("limit_c", self.temp_limit_mc // 1000)],
            )
            if ctx.charging:
                ctx.set_charging(False)
                ctx.event(
                    protocol.EV_CHARGE_OFF, [], protocol.SEV_FAULT, [("reason", "dock temperature")]
                )
        elif self.overheat_dock and t < self.temp_limit_mc - TEMP_HYSTERESIS_MC:
            self.overheat_dock = False
            ctx.event(
                protocol.EV_CLEARED,
                [],
                protocol.SEV_INFO,
                [("was", protocol.EV_OVERHEAT), ("temp_c", t // 1000)],
            )
            self._charge_on_if_safe(ctx, "dock cooled down")

    def _sensors(self, ctx):
        s = ctx.sampler
        board = ctx.board
        bus = _BUS_UP if s.bus_ok else (_BUS_HELD_LOW if s.sda_held else _BUS_DOWN)
        if bus != self._bus or s.bus_recoveries != self._recoveries:
            # One event for the whole bus, not one per monitor.
            every = self._pins_of(board, -1)
            mode = "bus timeout" if s.bus_timeout else "all silent"
            if bus == _BUS_HELD_LOW:
                mode = "bus held low"  # the recovery's nine clocks did not free SDA
            fields = [("monitor", None), ("mode", mode), ("tries", s.bus_tries)]
            if bus > self._bus:  # down, or found held low by a recovery that failed (ordered)
                ctx.event(protocol.EV_SENSOR_FAULT, every, protocol.SEV_FAULT, fields)
            elif not bus and self._bus:
                ctx.event(
                    protocol.EV_CLEARED,
                    every,
                    protocol.SEV_INFO,
                    [("was", protocol.EV_SENSOR_FAULT)] + fields,
                )
            elif not bus:  # down and recovered between two checks
                ctx.event(
                    protocol.EV_SENSOR_FAULT,
                    every,
                    protocol.SEV_WARN,
                    fields + [("restored", True)],
                )
            self._bus = bus
            self._recoveries = s.bus_recoveries
        if not s.bus_ok:
            return
        for k in range(len(s.chips)):
            chip = s.chips[k]
            state = 1 if not s.ok[k] else (2 if s.stuck[k] else 0)
            if state != self.sensor_bad[k]:
                self.sensor_bad[k] = state
                if state:
                    mode = "stuck" if state > 1 else "no answer"
                    fields = [("monitor", chip.addr), ("mode", mode)]
                    ctx.event(
                        protocol.EV_SENSOR_FAULT,
                        self._pins_of(board, k),
                        protocol.SEV_FAULT,
                        fields,
                    )
                else:
                    fields = [("was", protocol.EV_SENSOR_FAULT), ("monitor", chip.addr)]
                    ctx.event(
                        protocol.EV_CLEARED, self._pins_of(board, k), protocol.SEV_INFO, fields
                    )
            if chip.restores != self._restores[k]:
                self._restores[k] = chip.restores
                fields = [("monitor", chip.addr), ("mode", "reset"), ("restored", True)]
                ctx.event(
                    protocol.EV_SENSOR_FAULT, self._pins_of(board, k), protocol.SEV_WARN, fields
                )

    def _pins_of(self, board, k):
        """The pins a monitor serves (k: its chip index; -1: the whole bus)."""
        n = self.n
        if 0 <= k < n:
            return [k]
        out = []
        for j in range(n):
            if k < 0 or self._sense[j] == k:
                out.append(j)
        return out

    def pin_monitor_bad(self, j):
        """Pin ``j``'s own monitor (or the bus) silent or stuck: nothing of it is known."""
        return not self.ctx.sampler.bus_ok or self.sensor_bad[j]

    def sense_monitor_bad(self, j):
        """Pin ``j``'s sense monitor silent or stuck: its drop and resistance unknown."""
        return self.sensor_bad[self._sense[j]]

    def heat_known(self, j):
        """False while pin ``j``'s contact drop cannot be measured (its sense monitor
        silent or stuck): p_mw is then only what a BLIND_MOHM contact would make."""
        return self.ctx.sampler.live[self._sense[j]]

    # -- health -----------------------------------------------------------------
    def dock_level(self):
        """The dock as a whole: a fault while charging is cut or the bus is down, a
        warning while any monitor is silent or stuck."""
        s = self.ctx.sampler
        if self.tripped or self.overheat_dock or not s.bus_ok:
            return FAULT
        for k in range(len(s.chips)):
            if not s.ok[k] or s.stuck[k] or self.sensor_bad[k]:
                return WARN
        return OK

    def level(self, j):
        if self.over[j] or self.hot[j] or (self.tripped and self.total_over) or self.overheat_dock:
            return FAULT
        if self.p_mw[j] > self.contact_mw_limit * HEAT_WARN_PCT // 100 and self.heat_known(j):
            return WARN
        return OK

    def penalty(self, j):
        lvl = self.level(j)
        return FAULT_PENALTY if lvl == FAULT else (WARN_PENALTY if lvl == WARN else 0)

    def clear(self, ctx):
        self.latched = False
        self._n_trips = 0
        self._reset_trip()
        self._charge_on_if_safe(ctx, "cleared by host")
