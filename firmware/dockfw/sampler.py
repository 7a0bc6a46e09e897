"""One sampling cycle: every monitor read once, per-pin current, drop and resistance.

Contact resistance by the sense-pad method (docs/hardware.md): a supply pin's
contact drop is (rail - V+) - I*Rsh, a ground pin's (V- - GND) - I*Rsh. Both terms
are shunt registers (10 µV LSB): the sense monitor's reading minus the pin
monitor's own reading. With a Kelvin monitor across the contact the drop is its
reading alone. R = drop / I, unknown below the board's minimum current.

Results live in preallocated arrays indexed by pin (``board.pins`` order) so the
cycle allocates nothing; detectors and the reporter read them. ``live[k]`` says
which monitors answered and are converting in this cycle.

The supply pins' monitors are read twice a period (``half()`` between the cycles) on
windows of half the period's length, so that protection sees the dock's current
every half period, a window's length after it changed (an overcurrent cut within two
periods: README "Protection"). ``i_ua`` averages the two halves, so the detectors see
one window of a whole period, as from any other monitor; ``now_ua`` is the latest
reading alone, for protection.

A pin whose sense monitor fails keeps its current (``ST_NO_DROP``): only its drop
and resistance are unknown, so the detectors that judge currents (open pins, the
sharing between siblings, overcurrent) go on.

The bus itself can fail: a monitor cut off mid-transfer (a brown-out, the MCU reset
under it) can hold SDA low, and then every transaction times out. A timeout, or
every monitor failing at once, takes the bus down: no monitor is read until
``housekeeping`` has run the HAL's bus recovery (SCL clocked until SDA is released,
a STOP, the controller re-initialised) and the monitors answer again. A recovery
that does not free the bus is tried again after 1, 2, 4, then every 8 rounds.
"""

from array import array

from micropython import const

from dockfw.board import KELVIN, SUPPLY
from dockfw.ina219 import ETIMEDOUT, FOR_DRIVER, INA219, INA219Error, ShuntBank
from dockfw.viper import native, ptr8, ptr32, viper

# Per-pin status bits.
ST_SENSOR = const(1)  # the pin's own monitor is not answering or not settled: no current
ST_LOW_CURRENT = const(2)  # too little current for a resistance
ST_CLIPPED = const(4)  # a reading sat at the end of its range
# Its sense monitor is not answering or not settled: the current stands, the drop and
# the resistance are unknown (a failed sense monitor costs only resistance).
ST_NO_DROP = const(8)

_SENSE_FULL_SCALE_UV = const(320000)
# Housekeeping rounds without a conversion before a monitor counts as stuck. The App
# runs a round every 250 ms or more, and the longest conversion cycle the driver sets
# (128 samples and a bus conversion) is 69 ms: one round without one is conclusive.
STUCK_ROUNDS = const(1)
UNKNOWN = const(-1)
HALVES = const(2)  # reads a period of the supply pins' monitors (protection's)
_HALF_READ = const(1)
_HALF_CLIPPED = const(2)
BACKOFF_MAX_ROUNDS = const(8)  # a recovery costs ~1 ms; 2 s apart while the bus stays held


class Sampler:
    def __init__(self, board, i2c, period_us, recover_bus=None):
        """``recover_bus() -> bool``: the HAL's I2C-bus recovery (True: SDA released)."""
        self.board = board
        pins = board.pins
        n = len(pins)
        self.n = n
        chips = []
        self._split = array("b", [p.role == SUPPLY for p in pins] + [0] * len(board.sense))
        self.read_twice = bytes(p.index for p in pins if p.role == SUPPLY)  # monitors, each period
        self._every = bytes(range(len(self._split)))  # every monitor, pins then sense
        for p in pins:
            # Full scale at the widest range: keeps Cal near 4096, so current
            # math stays in small ints and never overflows the current register.
            full_ua = 320000 * 1000000 // p.shunt_uohm
            chips.append(
                INA219(
                    i2c,
                    p.addr,
                    p.shunt_uohm,
                    full_ua,
                    p.max_ma * p.shunt_uohm // 1000,
                    period_us,
                    reads=HALVES if p.role == SUPPLY else 1,
                )
            )
        for s in board.sense:
            chips.append(INA219(i2c, s.addr, 10000, 32000000, _SENSE_FULL_SCALE_UV, period_us))
        self.chips = chips
        bank = ShuntBank(i2c, chips)  # the reads' common case; sync(k) after any other
        self._bank = bank
        self.ok = array("b", [0] * len(chips))
        self.live = array("b", [0] * len(chips))  # answering and converting, this cycle
        self.stuck = array("b", [0] * len(chips))  # answers, but its converter has stopped
        self._no_cnvr = array("b", [0] * len(chips))  # housekeeping rounds without a conversion
        self._loads = array("i", [0] * len(chips))  # configuration writes seen at the last round
        self._sense_of = array("b", [n + p.sense for p in pins])
        self._pad = array("b", [board.sense[p.sense].method != KELVIN for p in pins])
        self._supply_sense = array("b", [n + s.index for s in board.sense if s.node == SUPPLY])
        self.min_ma = board.min_current_ma
        self.i_ua = array("i", [0] * n)
        self.now_ua = array("i", [0] * n)  # the latest reading alone (supply pins: a half)
        self._half_ua = array("i", [0] * n)  # the half read between the cycles
        self._half_uv = array("i", [0] * n)
        self._half = array("b", [0] * n)  # 1: a half read since the cycle, 3: it clipped
        self.drop_uv = array("i", [0] * n)
        self.r_uohm = array("i", [UNKNOWN] * n)
        self.status = array("b", [ST_SENSOR] * n)
        self.docked = False
        self.presence_known = False
        self.cycles = 0
        self.failures = 0
        self._recover = recover_bus
        self.bus_ok = True
        self.bus_timeout = False  # the bus went down on a timeout (held), not on NAKs
        self.bus_tries = 0  # recovery attempts since it went down
        self.bus_recoveries = 0  # recoveries that brought the monitors back
        self.sda_held = False  # the last recovery could not get SDA released
        self._wait = 0  # rounds until the next recovery attempt
        self._backoff = 1
        self._timed_out = False
        self.restored = 0  # set by housekeep()
        # What the reading loops use, in one attribute: each load costs ~2 µs on the RP2040.
        self._refs = (
            self.ok,
            self.live,
            self.stuck,
            bank,
            bank.ready,
            bank.got,
            bank.addr,
            bank.views,
            bank.readfrom_into,
        )
        self._halves = (
            self.live,
            bank.ua,
            bank.uv,
            bank.clip,
            self.now_ua,
            self._half_ua,
            self._half_uv,
            self._half,
            self.read_twice,
        )

    def start(self):
        """Configure every monitor; a chip that does not answer stays marked failed."""
        for k in range(len(self.chips)):
            self.revive(k)
            if not self.bus_ok:
                break
        self._check_bus()

    def set_period(self, period_us):
        """A new sampling rate: every monitor's averaging chosen again and written
        (a failed one gets it when it is revived)."""
        for k in range(len(self.chips)):
            self.chips[k].set_period(period_us, HALVES if self._split[k] else 1)
            if self.ok[k]:
                self.revive(k)
            self._bank.sync(k)

    def revive(self, k):
        try:
            self.chips[k].configure()
            self.ok[k] = 1
            self.stuck[k] = 0
        except INA219Error as e:
            self.ok[k] = 0
            self._failed(e)
        self._bank.sync(k)
        return self.ok[k]

    def _failed(self, e):
        self.failures += 1
        if e.errno == ETIMEDOUT:
            # An INA219 never stretches the clock: a timeout is the bus, not one chip.
            self._bus_down(True)

    def _bus_down(self, timeout):
        self._timed_out = self._timed_out or timeout
        if self.bus_ok:
            self.bus_ok = False
            self.bus_timeout = timeout
            self.bus_tries = 0
            self._wait = 0
            self._backoff = 1
        for k in range(len(self.chips)):
            self.ok[k] = 0
            self.live[k] = 0

    def _check_bus(self):
        for k in range(len(self.chips)):
            if self.ok[k]:
                return
        self._bus_down(False)  # every monitor silent at once: treat it as the bus

    @native
    def cycle(self):
        """Read every working monitor once and derive the per-pin values. Every sampling
        cycle: machine code, the common case's reads bare into the ShuntBank and decoded
        there in one pass, the rest through the driver."""
        self._read(self._every, True)
        self._derive()
        self.cycles += 1

    @native
    def half(self):
        """Read the supply pins' monitors again, halfway between two cycles: ``now_ua``
        for protection's guard, the reading kept for the next cycle's average."""
        if not self.bus_ok:
            return
        self._read(self.read_twice, False)
        self._keep_halves()

    @native
    def _read(self, monitors, whole):
        """Read ``monitors`` (indexes), a cycle's (``whole``: every working one, each
        settled one marked live) or a half read's (the live ones)."""
        ok, live, stuck, bank, ready, got, addr, views, read = self._refs
        for k in monitors:
            if whole:
                if not ok[k]:
                    live[k] = 0
                    continue
            elif not live[k]:
                continue
            if ready[k]:
                err = None
                try:
                    read(addr[k], views[k])
                except OSError as e:
                    err = bank.failed(k, e)
                if err is None:
                    got[k] = 1
                    if whole:
                        live[k] = 1  # ready: settled
                        stuck[k] = 0
                    continue
            else:
                err = self._by_driver(k, -1, whole)
                if err is None:
                    continue
            self._lost(k, err)
            if not self.bus_ok:
                break  # the others would time out too: one timeout per cycle at most
        if bank.decode():
            self._by_driver_left(whole)

    @viper
    def _keep_halves(self):
        """The half read's readings: ``now_ua`` and the half kept for the next cycle."""
        live_, ua_, uv_, clip_, now_ua_, half_ua_, half_uv_, half_, twice_ = self._halves
        live = ptr8(live_)
        ua = ptr32(ua_)
        uv = ptr32(uv_)
        clip = ptr8(clip_)
        now_ua = ptr32(now_ua_)
        half_ua = ptr32(half_ua_)
        half_uv = ptr32(half_uv_)
        half = ptr8(half_)
        twice = ptr8(twice_)
        for x in range(int(len(twice_))):  # noqa: RUF046 (viper: a machine int)
            k = twice[x]
            if not live[k]:
                half[k] = 0
                continue
            i = ua[k]  # a store keeps the low 32 bits: no sign needed
            now_ua[k] = i
            half_ua[k] = i
            half_uv[k] = uv[k]
            half[k] = _HALF_READ | _HALF_CLIPPED if clip[k] else _HALF_READ

    def _by_driver(self, k, word, settle):
        """Monitor k's shunt read by its driver (``word`` < 0), or the word of a bare read
        taken by it; with ``settle`` (a cycle's read), its bus register read too until it
        has settled, and ``live`` set. Returns the INA219Error, or None. The rare path
        (a monitor after a check round, a clipped or reset one): bytecode, which takes
        less of the heap than machine code."""
        c = self.chips[k]
        err = None
        try:
            if word < 0:
                c.read_shunt()
            else:
                c.take_shunt(word, True)
            if settle and not c.settled:
                c.read_bus()  # only until the first conversion after (re)configuration
        except INA219Error as e:
            err = e
        self._bank.sync(k)
        if err is None and settle:
            if c.settled:
                self.live[k] = 1
                self.stuck[k] = 0  # converting again
            else:
                self.live[k] = 0
        return err

    def _by_driver_left(self, settle):
        """The bare reads ``ShuntBank.decode`` left for the driver."""
        bank = self._bank
        got = bank.got
        for k in range(len(got)):
            if got[k] == FOR_DRIVER:
                got[k] = 0
                if self.ok[k]:  # not when the bus went down since
                    err = self._by_driver(k, bank.word(k), settle)
                    if err is not None:
                        self._lost(k, err)

    def _lost(self, k, err):
        self.ok[k] = 0
        self.live[k] = 0
        self._failed(err)

    @viper
    def _derive(self):
        """Per-pin current, drop, resistance and status, and the dock's presence, from
        this cycle's readings (the ShuntBank's arrays): viper on raw pointers into the
        arrays (dockfw.viper; every value here stays below 2**30, every "b" array holds
        0..127, a bytearray's bytes are read as such)."""
        bank = self._bank
        ua = ptr32(bank.ua)
        uv = ptr32(bank.uv)
        clip = ptr8(bank.clip)
        live = ptr8(self.live)
        min_ma = int(self.min_ma)
        sense_of = ptr8(self._sense_of)
        pad = ptr8(self._pad)
        i_ua = ptr32(self.i_ua)
        now_ua = ptr32(self.now_ua)
        half = ptr8(self._half)
        half_ua = ptr32(self._half_ua)
        half_uv = ptr32(self._half_uv)
        drop_uv = ptr32(self.drop_uv)
        r_uohm = ptr32(self.r_uohm)
        status = ptr8(self.status)
        carrying = False
        sign = 1
        sign <<= 31  # loads of values that can be negative: see dockfw.viper
        low32 = (sign << 1) - 1
        for j in range(int(self.n)):
            h = half[j]
            half[j] = 0
            if not live[j]:
                status[j] = ST_SENSOR
                i_ua[j] = 0
                now_ua[j] = 0
                r_uohm[j] = UNKNOWN
                continue
            st = ST_CLIPPED if clip[j] else 0
            i = ((ua[j] ^ sign) & low32) - sign
            now_ua[j] = i
            own = ((uv[j] ^ sign) & low32) - sign
            if h:
                # The two halves of the period: one window's worth, as the others see.
                i = (i + (((half_ua[j] ^ sign) & low32) - sign)) // 2
                own = (own + (((half_uv[j] ^ sign) & low32) - sign)) // 2
                if h & _HALF_CLIPPED:
                    st = ST_CLIPPED
            i_ua[j] = i
            ma = (i + 500) // 1000
            if ma >= min_ma:
                carrying = True
            k = sense_of[j]
            if not live[k]:
                status[j] = st | ST_NO_DROP
                drop_uv[j] = 0
                r_uohm[j] = UNKNOWN
                continue
            if clip[k]:
                st |= ST_CLIPPED
            d = ((uv[k] ^ sign) & low32) - sign
            if pad[j]:
                d -= own
            drop_uv[j] = d
            if ma < min_ma:
                status[j] = st | ST_LOW_CURRENT
                r_uohm[j] = UNKNOWN
            elif st or d <= 0:
                # A reading at the end of its range is a bound, not a value; and a
                # contact carrying current drops a positive voltage, so a drop of
                # zero or less pairs readings from different moments (the device
                # landing or leaving). Either way the resistance is unknown.
                status[j] = st
                r_uohm[j] = UNKNOWN
            else:
                status[j] = st
                r_uohm[j] = d * 1000 // ma
        # Without current, only a working supply pad monitor can tell an empty dock
        # from an idle device: when none can, presence is unknown, not absent. An
        # empty dock leaves the supply pad pulled to ground: its monitor sees the
        # whole rail and clips. A device on the pad brings it to V+.
        docked = carrying
        known = carrying
        if not carrying:
            supply = ptr8(self._supply_sense)
            for x in range(int(len(self._supply_sense))):  # noqa: RUF046 (viper: a machine int)
                k = supply[x]
                if live[k]:
                    known = True
                    if not clip[k]:
                        docked = True
                        break
        self.docked = docked
        self.presence_known = known

    def housekeeping(self):
        """Every check round (the App's, 250 ms): bus voltages, lost configurations,
        stopped converters, failed chips retried, a bus that went down recovered.
        Returns how many monitors had lost their configuration."""
        restored = 0
        if self.housekeeping_begin():
            for k in range(len(self.chips)):
                if not self.housekeep(k):
                    return restored
                restored += self.restored
            self.housekeeping_end()
        return restored

    # The same round a monitor at a time, so the App can spread it over the time between
    # sampling cycles: begin, housekeep(k) for each monitor while it returns True, end.
    def housekeeping_begin(self):
        """False when the bus is down (a recovery was tried instead: the round is over)."""
        if not self.bus_ok:
            self._try_recovery()
            return False
        return True

    def housekeep(self, k):
        """Monitor ``k``'s part of the round (``restored``: 1 if its configuration had
        been lost); False when the bus went down meanwhile and the round is over."""
        self.restored = 0
        if not self.ok[k]:
            self.revive(k)
            return self.bus_ok
        chip = self.chips[k]
        try:
            if chip.check():
                self.restored = 1
            chip.read_bus()
            # A conversion completes every few ms: none since the last round means
            # the ADC has stopped, although the chip still answers; unless a
            # configuration write since then restarted it.
            if chip.cnvr or chip.loads != self._loads[k]:
                self._no_cnvr[k] = 0
            elif self._no_cnvr[k] < STUCK_ROUNDS:
                self._no_cnvr[k] += 1
                if self._no_cnvr[k] == STUCK_ROUNDS:
                    # Its readings are stale: unknown until it converts again.
                    chip.settled = False
                    self.live[k] = 0
                    self.stuck[k] = 1
            chip.clear_cnvr()
        except INA219Error as e:
            self.ok[k] = 0
            self._failed(e)
        self._bank.sync(k)
        return self.bus_ok

    def housekeeping_end(self):
        self._check_bus()
        chips = self.chips
        for k in range(len(chips)):
            self._loads[k] = chips[k].loads

    def _try_recovery(self):
        if self._wait > 0:
            self._wait -= 1
            return
        self.bus_tries += 1
        self._timed_out = False
        released = self._recover() if self._recover is not None else True
        self.sda_held = not released
        if released:
            for k in range(len(self.chips)):
                self.revive(k)
                if self._timed_out:
                    break
            if not self._timed_out:
                for k in range(len(self.chips)):
                    if self.ok[k]:
                        self.bus_ok = True
                        self.bus_recoveries += 1
                        self._backoff = 1
                        return
        self._bus_down(self._timed_out or self.bus_timeout)
        self._wait = self._backoff - 1  # rounds skipped: the next try ``_backoff`` rounds on
        if self._backoff < BACKOFF_MAX_ROUNDS:
            self._backoff *= 2

    def pin_chip(self, j):
        return self.chips[j]
