"""INA219 current monitor driver (TI SBOS448): integer µV / µA / mV, no allocation per read.

The I2C bus is injected (``machine.I2C`` on the board, ``SimI2C`` in the
simulator). Per-cycle reads use two preallocated buffers, integer arithmetic
below 2**30 (small ints on the RP2040) and ``readfrom_mem_into``; the register
pointer is tracked so the per-cycle shunt read needs no pointer write.
``ShuntBank`` reads and decodes many chips' shunt registers in one pass for the
sampler's common case, and leaves every other case to the chip's own methods.

Wire cost (SCL clocks, see docs/architecture.md): ``read_power`` 96,
``read_shunt`` 29 (48 when the pointer must be written), ``read_bus`` 48,
a PGA step 38.
"""

from array import array

from micropython import const

from dockfw.viper import native, ptr8, ptr32, viper

_REG_CONFIG = const(0x00)
_REG_SHUNT = const(0x01)
_REG_BUS = const(0x02)
_REG_POWER = const(0x03)
_REG_CURRENT = const(0x04)
_REG_CAL = const(0x05)

_POR_CONFIG = const(0x399F)  # configuration after power-on or a brown-out
_BRNG = const(0x2000)
_PG_SHIFT = const(11)
_BADC_12BIT = const(0x0180)  # bus ADC 12 bit, one sample
_MODE_CONT = const(0x0007)  # shunt and bus, continuous
_BUS_US = const(532)  # bus conversion, 12 bit
_FS_COUNTS = const(4000)  # shunt full scale at PGA /1 (40 mV, 10 µV per count)
_NO_PTR = const(-1)
_NO_HOLD = const(0x10000)  # outside the signed 16-bit range
_SMALL = const(0x40000000)  # RP2040 small ints stay below 2**30

# SADC field (bits 6-3) and its typical conversion time in µs, shortest first.
_SADC = (
    (0x0, 84),
    (0x1, 148),
    (0x2, 276),
    (0x3, 532),
    (0x9, 1060),
    (0xA, 2130),
    (0xB, 4260),
    (0xC, 8510),
    (0xD, 17020),
    (0xE, 34050),
    (0xF, 68100),
)
_MARGIN_DIV = const(8)  # expected drop + 1/8 must fit the chosen shunt range

ETIMEDOUT = const(110)  # what rp2 raises when a transaction outlasts the bus timeout
_ERRNO = {5: "no answer (EIO)", 19: "no device (ENODEV)", ETIMEDOUT: "bus timeout (ETIMEDOUT)"}
_LONGEST_CLOCKS = const(38)  # the longest transaction here: a register write (S, 3 bytes, P)
_TIMEOUT_FLOOR_US = const(1000)


def bus_timeout_us(freq_hz):
    """The I2C transaction timeout for this driver's traffic, µs (``machine.I2C(timeout=)``).

    rp2's default is 50 ms per transaction: six monitors that stop answering with the
    bus held would cost 300 ms of sampling. An INA219 never stretches the clock, so a
    transaction lasts its SCL clocks: 95 µs for the longest one (a register write) at
    400 kHz. Four times that, and never under 1 ms (interrupt latency on a busy core
    must not turn a good transaction into a timeout): 1 ms at 400 kHz, 1.52 ms at
    100 kHz.
    """
    us = 4 * _LONGEST_CLOCKS * 1000000 // freq_hz
    return us if us > _TIMEOUT_FLOOR_US else _TIMEOUT_FLOOR_US


class INA219Error(OSError):
    """An INA219 that failed; ``addr`` names the chip, ``errno`` the bus error (or None)."""

    def __init__(self, addr, detail, errno=None):
        super().__init__("INA219 at 0x%02x: %s" % (addr, detail))
        self.addr = addr
        self.errno = errno


def current_lsb_ua(max_ua):
    """Smallest 1-2-5 step in whole µA with LSB * 2**15 >= max_ua."""
    if max_ua <= 0:
        raise ValueError("max_ua must be positive")
    need = -(-max_ua // 32768)
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= need:
                return m * step
        step *= 10


def calibration(lsb_ua, shunt_uohm):
    """Cal = trunc(0.04096 / (Current_LSB * R_shunt)), bit 0 cleared as the chip stores it."""
    cal = 40960000000 // (lsb_ua * shunt_uohm)
    if cal > 0xFFFE:
        raise ValueError("calibration %d exceeds 0xFFFE: raise max_ua or the shunt" % cal)
    cal &= 0xFFFE
    if cal == 0:
        raise ValueError("calibration rounds to 0: lower max_ua or the shunt")
    return cal


def choose_gain(expected_uv):
    """PG code 0..3 (±40/80/160/320 mV): the smallest range holding expected_uv with margin."""
    need = abs(expected_uv)
    need += need // _MARGIN_DIV
    for g in range(3):
        if need <= (_FS_COUNTS * 10) << g:
            return g
    return 3


def choose_sadc(period_us, reads=1):
    """(SADC code, shunt conversion µs): longest with shunt + 12-bit bus within period_us.
    Read ``reads`` times a period, the shunt window fits the time between two reads
    (each window read; its bus conversion may run past the next read, which then finds
    that window again)."""
    if reads > 1:
        period_us = period_us // reads + _BUS_US
    best = _SADC[0]
    for code_us in _SADC:
        if code_us[1] + _BUS_US <= period_us:
            best = code_us
    return best


class INA219:
    """One INA219. Construct without I/O; ``configure()`` before reading."""

    def __init__(
        self, i2c, addr, shunt_uohm, max_ua, expected_uv, period_us=5000, brng_32v=False, reads=1
    ):
        shunt_uohm = int(shunt_uohm)
        if shunt_uohm <= 0:
            raise ValueError("shunt_uohm must be positive")
        lsb = current_lsb_ua(int(max_ua))
        if lsb * 32768 >= _SMALL:
            raise ValueError("current LSB %d uA too large for small-int math" % lsb)
        self.i2c = i2c
        self.addr = addr
        self.shunt_uohm = shunt_uohm
        self.lsb_ua = lsb
        self.cal = calibration(lsb, shunt_uohm)
        self._cal_hi = self.cal >> 12
        self._cal_lo = self.cal & 0xFFF
        self.gain0 = choose_gain(int(expected_uv))
        self.brng_32v = bool(brng_32v)
        self.set_period(period_us, reads)
        # Shunt counts above which a zero current register means calibration was lost.
        self._lost = max(8, 2 * 4096 // self.cal + 2)
        self._raw = 0  # signed shunt counts of the last reading
        self._buf = bytearray(2)
        self._wbuf = bytearray(2)
        self._ptr = _NO_PTR
        self.restores = 0
        self.loads = 0  # configuration writes so far: each restarts the conversions
        self.gain_steps = 0
        self.shunt_uv = 0
        self.current_ua = 0
        self.bus_mv = 0
        self.cnvr = False
        self.ovf = False
        self.clipped = False
        self.settled = False
        self._set_gain(self.gain0)

    def set_period(self, period_us, reads=1):
        """Averaging that fits a sampling period read ``reads`` times; ``configure()``
        writes it."""
        sadc, self.window_us = choose_sadc(period_us, reads)
        self.cycle_us = self.window_us + _BUS_US
        self._base = (_BRNG if self.brng_32v else 0) | _BADC_12BIT | (sadc << 3) | _MODE_CONT

    def _set_gain(self, g):
        self.gain = g
        self._lim = _FS_COUNTS << g
        # After a step: the clipped reading that caused it. The register keeps that
        # value until the first conversion at the new range completes.
        self._hold = _NO_HOLD
        self.config = self._base | (g << _PG_SHIFT)

    def range_uv(self):
        """Shunt input range at the present gain, ± µV."""
        return self._lim * 10

    # -- bus primitives (errors become INA219Error) -------------------------
    def _fail(self, e, what):
        self._ptr = _NO_PTR
        code = e.args[0] if e.args else None
        why = _ERRNO[code] if code in _ERRNO else "I2C error %r" % (code,)
        return INA219Error(self.addr, "%s while %s" % (why, what), code)

    def _read(self, reg, what):
        buf = self._buf
        try:
            self.i2c.readfrom_mem_into(self.addr, reg, buf)
        except OSError as e:
            raise self._fail(e, what)
        self._ptr = reg
        return (buf[0] << 8) | buf[1]

    def _write(self, reg, value, what):
        if reg == _REG_CONFIG:
            self.loads += 1
        w = self._wbuf
        w[0] = value >> 8
        w[1] = value & 0xFF
        try:
            self.i2c.writeto_mem(self.addr, reg, w)
        except OSError as e:
            raise self._fail(e, what)
        self._ptr = reg

    # -- setup and health ---------------------------------------------------
    def configure(self):
        """Write configuration and calibration at the initial gain, read both back."""
        self._set_gain(self.gain0)
        self._load()

    def _load(self):
        self._write(_REG_CONFIG, self.config, "writing configuration")
        self._write(_REG_CAL, self.cal, "writing calibration")
        cfg = self._read(_REG_CONFIG, "reading configuration")
        cal = self._read(_REG_CAL, "reading calibration")
        self.settled = False
        self.cnvr = False
        self.ovf = False
        self.clipped = False
        self._hold = _NO_HOLD
        if cfg != self.config:
            raise INA219Error(
                self.addr, "configuration reads back 0x%04x, wrote 0x%04x" % (cfg, self.config)
            )
        if cal != self.cal:
            raise INA219Error(
                self.addr, "calibration reads back 0x%04x, wrote 0x%04x" % (cal, self.cal)
            )

    def check(self):
        """Read configuration and calibration; rewrite them if lost. True if restored."""
        cfg = self._read(_REG_CONFIG, "reading configuration")
        cal = self._read(_REG_CAL, "reading calibration")
        if cfg == self.config and cal == self.cal:
            return False
        self._load()
        self.restores += 1
        return True

    # -- per-cycle reads ------------------------------------------------------
    def _shunt(self, s):
        # s: signed shunt counts (10 µV). Sets shunt_uv and clipped; steps the PGA up.
        self.shunt_uv = s * 10
        self._raw = s
        if s == self._hold:
            # Unchanged since the step: the old range's clipped conversion, not a new one.
            self.clipped = True
            return
        self._hold = _NO_HOLD
        if s >= self._lim or s <= -self._lim:
            self.clipped = True
            if self.gain < 3:
                self._step_up()
        else:
            self.clipped = False

    def _step_up(self):
        hold = self._raw
        self._set_gain(self.gain + 1)
        self._hold = hold
        self.gain_steps += 1
        self._write(_REG_CONFIG, self.config, "writing configuration")

    def read_power(self):
        """Pin monitor: shunt and current registers -> shunt_uv, current_ua, clipped."""
        buf = self._buf
        i2c = self.i2c
        addr = self.addr
        what = "reading shunt"
        try:
            i2c.readfrom_mem_into(addr, _REG_SHUNT, buf)
            s = (buf[0] << 8) | buf[1]
            what = "reading current"
            i2c.readfrom_mem_into(addr, _REG_CURRENT, buf)
        except OSError as e:
            raise self._fail(e, what)
        self._ptr = _REG_CURRENT
        c = (buf[0] << 8) | buf[1]
        if s & 0x8000:
            s -= 0x10000
        if c & 0x8000:
            c -= 0x10000
        self.current_ua = c * self.lsb_ua
        lost = self._lost
        if c == 0 and (s > lost or s < -lost) and self.check():
            # Calibration (and configuration) had been lost: this reading predates the restore.
            self.shunt_uv = s * 10
            self._raw = 0
            self.clipped = False
            return
        self._shunt(s)

    @native
    def read_shunt(self):
        """Shunt register only, without a pointer write when it is current -> shunt_uv,
        clipped, and current_ua derived from it as the chip does (``take_shunt``).
        Machine code (``@native``: dockfw.viper); the sampler's common case goes through
        ``ShuntBank`` instead, and everything else through here."""
        buf = self._buf
        bare = self._ptr == _REG_SHUNT
        try:
            if bare:
                self.i2c.readfrom_into(self.addr, buf)
            else:
                self.i2c.readfrom_mem_into(self.addr, _REG_SHUNT, buf)
        except OSError as e:
            raise self._fail(e, "reading shunt")
        self._ptr = _REG_SHUNT
        self.take_shunt((buf[0] << 8) | buf[1], bare)

    @native
    def take_shunt(self, word, bare):
        """The shunt register's word just read (``bare``: without a pointer write, so it
        may be another register) -> shunt_uv, current_ua (Current = Shunt * Cal / 4096,
        as the chip computes it: one 29-clock read gives both, from the same conversion)
        and clipped; a reset chip is restored, a clipped reading steps the PGA up."""
        s = word
        if bare and (s == _POR_CONFIG or s == self.config):
            # A reset chip's pointer is 0: this may be the configuration register.
            self.check()
            self.read_shunt()  # check() moved the pointer: this one writes it
            return
        if s & 0x8000:
            s -= 0x10000
        # s * Cal can pass 2**30; split Cal so every product stays a small int.
        if s < 0:
            a = -s
            self.current_ua = -(a * self._cal_hi + ((a * self._cal_lo) >> 12)) * self.lsb_ua
        else:
            self.current_ua = (s * self._cal_hi + ((s * self._cal_lo) >> 12)) * self.lsb_ua
        self.shunt_uv = s * 10
        self._raw = s
        hold = self._hold
        if hold != _NO_HOLD:
            if s == hold:
                # Unchanged since a PGA step: the old range's clipped conversion, not a new one.
                self.clipped = True
                return
            self._hold = _NO_HOLD
        lim = self._lim
        if -lim < s < lim:
            self.clipped = False
            return
        self.clipped = True
        if self.gain < 3:
            self._step_up()

    def read_bus(self):
        """Bus register -> bus_mv, cnvr, ovf; a first CNVR after (re)configuration settles."""
        v = self._read(_REG_BUS, "reading bus voltage")
        self.bus_mv = (v >> 3) * 4
        self.cnvr = (v & 2) != 0
        self.ovf = (v & 1) != 0
        if self.cnvr:
            # A conversion completed since the last configuration write.
            self.settled = True
            self._hold = _NO_HOLD
        # OVF: the current register overflowed. A shunt reading at (or, on a chip
        # that saturates a little early, just below) the limit steps the PGA up,
        # unless a step is already waiting for its first fresh conversion.
        if self.ovf and self._hold == _NO_HOLD and self.gain < 3:
            a = self._raw if self._raw >= 0 else -self._raw
            lim = self._lim
            if a >= lim - (lim >> 4):
                self._step_up()
        return self.bus_mv

    def clear_cnvr(self):
        """Read the power register, which clears CNVR: the next ``read_bus`` then shows
        whether a conversion completed in between (a chip whose ADC hung never sets it)."""
        self._read(_REG_POWER, "reading power")

    def current_ua_now(self):
        """Current register alone, in µA (diagnostics)."""
        c = self._read(_REG_CURRENT, "reading current")
        if c & 0x8000:
            c -= 0x10000
        self.current_ua = c * self.lsb_ua
        return self.current_ua


FOR_DRIVER = const(2)  # ShuntBank.got: a bare read left for the driver
_FIELDS = const(5)  # ShuntBank._chip's ints per chip


class ShuntBank:
    """Several INA219s' shunt registers read bare and decoded in one machine-code pass:
    the sampler's per-cycle common case, for which ``read_shunt`` costs ~50 µs of
    interpreter work around each bus transfer on the RP2040.

    Only for a chip that is ``ready`` (pointer on the shunt register, settled, no PGA
    step waiting): the caller reads it with ``readfrom_into(addr[k], views[k])``
    (catching OSError: ``failed(k, e)``), sets ``got[k]``, then calls ``decode()``.
    A word that is neither a possible configuration word nor clipped is decoded here as
    ``INA219.take_shunt`` does it; every other (``got[k] == FOR_DRIVER`` after
    ``decode``) goes to that chip's ``take_shunt(word(k), True)``, so that its rules stay
    in the driver. ``sync(k)`` after any other call into chip k: it refreshes what this
    bank knows of it. ``ua``, ``uv`` and ``clip`` hold every chip's latest current_ua,
    shunt_uv and clipped (for viper loops: no attribute loads).
    """

    def __init__(self, i2c, chips):
        """``chips``: INA219s on ``i2c``."""
        n = len(chips)
        self.chips = chips
        self.raw = bytearray(2 * n)
        whole = memoryview(self.raw)
        self.views = [whole[2 * k : 2 * k + 2] for k in range(n)]
        self.addr = bytes([c.addr for c in chips])
        # A bound method made once (each attribute load would make a new one).
        self.readfrom_into = i2c.readfrom_into
        self.ready = bytearray(n)
        self.got = bytearray(n)  # 1: read into views[k]; FOR_DRIVER: left to the driver
        self.ua = array("i", [0] * n)
        self.uv = array("i", [0] * n)
        self.clip = bytearray(n)
        # Per chip: Cal's high and low 12 bits, current LSB, clip limit, configuration.
        self._chip = array("i", [0] * (_FIELDS * n))
        for k in range(n):
            self.sync(k)
        self._refs = (chips, self.raw, self.got, self._chip, self.ua, self.uv, self.clip)

    def sync(self, k):
        c = self.chips[k]
        f = self._chip
        at = _FIELDS * k
        f[at] = c._cal_hi
        f[at + 1] = c._cal_lo
        f[at + 2] = c.lsb_ua
        f[at + 3] = c._lim
        f[at + 4] = c.config
        self.ready[k] = 1 if c._ptr == _REG_SHUNT and c._hold == _NO_HOLD and c.settled else 0
        self.ua[k] = c.current_ua
        self.uv[k] = c.shunt_uv
        self.clip[k] = 1 if c.clipped else 0

    def failed(self, k, e):
        """The INA219Error for a bare read of chip k that raised ``e``."""
        self.ready[k] = 0
        return self.chips[k]._fail(e, "reading shunt")

    def word(self, k):
        raw = self.raw
        return (raw[2 * k] << 8) | raw[2 * k + 1]

    @viper
    def decode(self) -> int:
        """Every ``got`` chip's word -> its current_ua, shunt_uv, clipped (and ``ua``,
        ``uv``, ``clip``); returns how many were left for the driver. Viper
        (dockfw.viper): every value here stays below 2**30; the ones loaded are positive."""
        chips, raw_, got_, f_, ua_, uv_, clip_ = self._refs  # one attribute load, not seven
        raw = ptr8(raw_)
        got = ptr8(got_)
        f = ptr32(f_)
        ua = ptr32(ua_)
        uv = ptr32(uv_)
        clip = ptr8(clip_)
        left = 0
        for k in range(int(len(got_))):  # noqa: RUF046 (viper: a machine int)
            if got[k] != 1:
                continue
            at = _FIELDS * k
            s = (raw[2 * k] << 8) | raw[2 * k + 1]
            if s == _POR_CONFIG or s == f[at + 4]:
                got[k] = FOR_DRIVER
                left += 1
                continue
            if s & 0x8000:
                s -= 0x10000
            m = f[at + 3]
            if s >= m or s <= -m:
                got[k] = FOR_DRIVER
                left += 1
                continue
            got[k] = 0
            if s < 0:
                a = 0 - s
                i = 0 - (a * f[at] + ((a * f[at + 1]) >> 12)) * f[at + 2]
            else:
                i = (s * f[at] + ((s * f[at + 1]) >> 12)) * f[at + 2]
            ua[k] = i
            uv[k] = s * 10
            clip[k] = 0
            c = chips[k]
            c.current_ua = i
            c.shunt_uv = s * 10
            c._raw = s
            c.clipped = False
        return left
