"""Protection: overcurrent, a contact heating up, the dock too hot, monitors failing.

Overcurrent is judged every cycle, on integers, and switches charging off in
that same cycle: per pin against the board's ``max_ma`` and for the whole dock
against ``max_total_ma``. Contact heat (I^2 R in one contact, the heat that
destroys pogo pins) is judged per report and must persist for ``HEAT_REPORTS``.
Either trip switches charging off; after ``RETRY_MS`` charging is tried again,
and after ``MAX_TRIPS`` trips within ``TRIP_WINDOW_MS`` it stays off until the
host says ``clear``. The dock's own temperature switches charging off above
``temp_limit_mc`` and back on 10 °C below it (hysteresis). A monitor that
stops answering, or answers but stops converting, is a ``sensor_fault`` for the
pins it serves; the other pins keep being sampled, and charging stays on: the
failure costs knowledge, not safety, while the sibling and pad monitors still
see the current.
"""

from array import array

from micropython import const

from dockfw.detect import FAULT, OK, WARN, Detector

RETRY_MS = const(5000)
MAX_TRIPS = const(3)
TRIP_WINDOW_MS = const(60000)
CONTACT_MW_LIMIT = const(250)  # I^2 R in one contact: 2 A through 62 mOhm
HEAT_REPORTS = const(5)  # reports in a row over the contact limit
TEMP_LIMIT_MC = const(70000)
TEMP_HYSTERESIS_MC = const(10000)
STUCK_REPORTS = const(3)


class Protection(Detector):
    def __init__(self, ctx):
        self.ctx = ctx
        self._clock = ctx.clock
        board = ctx.board
        n = len(board.pins)
        self.n = n
        self.max_ma = array("i", [p.max_ma for p in board.pins])
        self.max_total_ma = board.max_total_ma
        self.contact_mw_limit = CONTACT_MW_LIMIT
        self.host_off = False  # the host said "charge off": protection never overrides it
        self.temp_limit_mc = TEMP_LIMIT_MC
        self._supply = array("b", [p.role == "supply" for p in board.pins])
        self.over = array("b", [0] * n)  # pins over their limit in the tripping cycle
        self.total_over = False
        self.tripped = False
        self.latched = False
        self._trip_at = 0
        self._trips = array("i", [0] * MAX_TRIPS)  # ticks_ms of the recent trips
        self._n_trips = 0
        self.hot = array("b", [0] * n)  # contact heat latched per pin
        self._hot_reports = array("b", [0] * n)
        self.p_mw = array("i", [0] * n)
        self.overheat_dock = False
        chips = len(board.pins) + len(board.sense)
        self.sensor_bad = array("b", [0] * chips)  # 0 ok, 1 no answer, 2 stuck
        self._unsettled = array("b", [0] * chips)
        self._restores = array("i", [0] * chips)

    # -- every cycle ------------------------------------------------------------
    def cycle(self, s, now):
        if self.tripped or not self.ctx.charging:
            return
        i_ua = s.i_ua
        supply = 0
        ground = 0
        trip = False
        for j in range(self.n):
            ma = (i_ua[j] + 500) // 1000
            if self._supply[j]:
                supply += ma
            else:
                ground += ma
            if ma > self.max_ma[j]:
                trip = True
        # The same current flows out of the supply pins and back through the
        # ground pins. Each monitor converts on its own schedule, so while a
        # contact drops out one side's sum can briefly count the moving current
        # twice; a real overload shows on both sides at once.
        total = supply if supply < ground else ground
        if total > self.max_total_ma:
            trip = True
        if trip:
            self._trip(s, now, total)

    def _trip(self, s, now, total):
        # Rare path: allocation is fine here.
        over = []
        for j in range(self.n):
            self.over[j] = (s.i_ua[j] + 500) // 1000 > self.max_ma[j]
            if self.over[j]:
                over.append(j)
        self.total_over = total > self.max_total_ma
        self._cut(
            now, "overcurrent", over, [("total_ma", total), ("max_total_ma", self.max_total_ma)]
        )

    def _cut(self, now, kind, pins, fields):
        ctx = self.ctx
        ctx.set_charging(False)
        self.tripped = True
        self._trip_at = now
        self._note_trip(now)
        ctx.event(kind, pins, "fault", fields + [("latched", self.latched)])
        ctx.event("charge_off", [], "fault", [("reason", kind)])

    def _note_trip(self, now):
        clock = self._clock
        recent = 0
        for k in range(self._n_trips):
            if clock.ticks_diff(now, self._trips[k]) < TRIP_WINDOW_MS:
                self._trips[recent] = self._trips[k]
                recent += 1
        if recent == MAX_TRIPS:
            self._trips[0:-1] = self._trips[1:]
            recent -= 1
        self._trips[recent] = now
        self._n_trips = recent + 1
        self.latched = self._n_trips >= MAX_TRIPS

    # -- every report -----------------------------------------------------------
    def report(self, ctx):
        now = self._clock.ticks_ms()
        if (
            self.tripped
            and not self.latched
            and self._clock.ticks_diff(now, self._trip_at) >= RETRY_MS
        ):
            self._reset_trip()
            self._charge_on_if_safe(ctx, "retry")
        self._contact_heat(ctx, now)
        self._dock_temperature(ctx)
        self._sensors(ctx)

    def _reset_trip(self):
        self.tripped = False
        self.total_over = False
        for j in range(self.n):
            self.over[j] = 0
            self.hot[j] = 0
            self._hot_reports[j] = 0

    def may_charge(self, ctx):
        """Nothing protection knows of holds charging off (nor a firmware error)."""
        return not (self.tripped or self.overheat_dock or self.host_off or ctx.crash_hold)

    def _charge_on_if_safe(self, ctx, reason):
        if ctx.charging or not self.may_charge(ctx):
            return
        ctx.set_charging(True)
        ctx.event("charge_on", [], "info", [("reason", reason)])

    def _contact_heat(self, ctx, now):
        rep = ctx.report
        hot = []
        for j in range(self.n):
            # The heat is current times the contact's drop, measured directly: a
            # contact too bad for its resistance to be known (the drop beyond the
            # sense range) still shows at least the range's worth of heat.
            i_ma = rep.i_ma(j)
            p = i_ma * rep.drop_uv(j) // 1000000 if i_ma > 0 else 0  # mA * uV -> mW
            self.p_mw[j] = p
            if p > self.contact_mw_limit and ctx.charging:
                if self._hot_reports[j] < HEAT_REPORTS:
                    self._hot_reports[j] += 1
                if self._hot_reports[j] >= HEAT_REPORTS:
                    hot.append(j)
            elif p < self.contact_mw_limit * 3 // 5:
                self._hot_reports[j] = 0
        if hot and not self.tripped:
            for j in hot:
                self.hot[j] = 1
            self._cut(
                now,
                "overheat",
                hot,
                [("p_mw", [self.p_mw[j] for j in hot]), ("limit_mw", self.contact_mw_limit)],
            )

    def _dock_temperature(self, ctx):
        t = ctx.temp_mc()
        if t is None:
            return
        if not self.overheat_dock and t > self.temp_limit_mc:
            self.overheat_dock = True
            ctx.event(
                "overheat",
                [],
                "fault",
                [("temp_c", t // 1000), ("limit_c", self.temp_limit_mc // 1000)],
            )
            if ctx.charging:
                ctx.set_charging(False)
                ctx.event("charge_off", [], "fault", [("reason", "dock temperature")])
        elif self.overheat_dock and t < self.temp_limit_mc - TEMP_HYSTERESIS_MC:
            self.overheat_dock = False
            ctx.event("cleared", [], "info", [("was", "overheat"), ("temp_c", t // 1000)])
            self._charge_on_if_safe(ctx, "dock cooled down")

    def _sensors(self, ctx):
        s = ctx.sampler
        board = ctx.board
        for k in range(len(s.chips)):
            chip = s.chips[k]
            if s.ok[k] and not chip.settled:
                if self._unsettled[k] < STUCK_REPORTS:
                    self._unsettled[k] += 1
            else:
                self._unsettled[k] = 0
            state = 1 if not s.ok[k] else (2 if self._unsettled[k] >= STUCK_REPORTS else 0)
            pins = self._pins_of(board, k)
            if state != self.sensor_bad[k]:
                if state:
                    mode = "no answer" if state == 1 else "stuck"
                    ctx.event(
                        "sensor_fault", pins, "fault", [("monitor", chip.addr), ("mode", mode)]
                    )
                else:
                    ctx.event(
                        "cleared", pins, "info", [("was", "sensor_fault"), ("monitor", chip.addr)]
                    )
                self.sensor_bad[k] = state
            if chip.restores != self._restores[k]:
                self._restores[k] = chip.restores
                ctx.event(
                    "sensor_fault",
                    pins,
                    "warn",
                    [("monitor", chip.addr), ("mode", "reset"), ("restored", True)],
                )

    def _pins_of(self, board, k):
        n = len(board.pins)
        if k < n:
            return [k]
        sense = k - n
        return [p.index for p in board.pins if p.sense == sense]

    def pin_sensor_bad(self, j):
        s = self.ctx.sampler
        k = s._sense_of[j]
        return self.sensor_bad[j] or self.sensor_bad[k]

    # -- health -----------------------------------------------------------------
    def level(self, j):
        if self.over[j] or self.hot[j] or (self.tripped and self.total_over) or self.overheat_dock:
            return FAULT
        if self.p_mw[j] > self.contact_mw_limit * 3 // 5:
            return WARN
        return OK

    def penalty(self, j):
        lvl = self.level(j)
        return 70 if lvl == FAULT else (15 if lvl == WARN else 0)

    def clear(self, ctx):
        self.latched = False
        self._n_trips = 0
        self._reset_trip()
        self._charge_on_if_safe(ctx, "cleared by host")
