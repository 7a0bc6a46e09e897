"""``INA219Model``: a register-level TI INA219 (SBOS448) for ``SimI2C``.

Registers (big-endian 16-bit; the chip keeps its register pointer between transactions):

* 0x00 configuration, power-on 0x399F: RST 15 (self-clearing), BRNG 13, PG 12-11,
  BADC 10-7, SADC 6-3, MODE 2-0.
* 0x01 shunt voltage: signed, 10 µV per count at every gain, clipped to the PGA range
  (±4000 / 8000 / 16000 / 32000 counts).
* 0x02 bus voltage: counts << 3 (4 mV per count, clipped to 16 V / 32 V by BRNG),
  bit 1 CNVR, bit 0 OVF.
* 0x03 power: |current| * bus / 5000, unsigned; reading it clears CNVR.
* 0x04 current: shunt * calibration / 4096, truncated toward zero, signed 16-bit.
* 0x05 calibration: bit 0 reads 0; power-on 0, so current and power read 0.

Writes to read-only or unknown registers are ignored; unknown registers read 0.

Conversions. Each enabled input is converted over a window whose length follows its
ADC setting (84 / 148 / 276 / 532 µs at 9-12 bits; 1.06 ... 68.10 ms when averaging
2 ... 128 samples). Continuous mode 0b111 alternates shunt then bus conversions,
0b101 / 0b110 convert one input continuously, 0b001 ... 0b011 convert once per
configuration write, 0b000 / 0b100 convert nothing (registers hold). A conversion's value
is ``source(t0_us, t1_us)`` -- the (shunt µV, bus mV) input averaged over its window --
with this chip's offset, gain error and noise, quantised and clipped. A register read
returns the last conversion completed at ``clock.now_us``. At the end of each cycle
(after the last conversion the mode makes) current and power are computed with the
calibration value in force at that moment, OVF is set if either overflows (the register
then holds the low 16 bits: meaningless, as the datasheet warns), and CNVR is set.
A calibration write therefore shows in the current register at the next cycle end.
Writing the configuration restarts conversions at the time of the write and clears
CNVR (unless the new mode is power-down / ADC off). After power-on the schedule starts
at a random phase drawn from the seed.

Errors: offset (µV) and gain error (ppm) per chip from ``seed`` unless given; noise per
conversion is deterministic (a hash of seed, input and window start): ``noise_uv`` /
``bus_noise_mv`` rms for one 12-bit conversion, times sqrt(532 µs / conversion time)
(an averaged result of n samples takes n * 532 µs, so this is white noise's 1/sqrt(n);
the 9-11 bit modes get more), and the shunt's times 1 / 2 / 3 / 4 at PGA /1 / /2 / /4 / /8.

Noise figures. SBOS448 specifies no noise for the INA219 (its Electrical Characteristics
give a 12-bit basic resolution, 10 µV / 4 mV steps, DNL ±0.1 LSB, and offset ±10 / 20 /
30 / 40 µV typical at PGA /1 / /2 / /4 / /8). The defaults are therefore estimates, set
to the noisy side of what the part shows in use, because no detector may rely on a
quiet chip:

* shunt, ``noise_uv`` = 20 µV rms per 12-bit conversion at PGA /1 (2 LSB). The PGA
  attenuates (gain 1 to 1/8 V/V in TI's parametrics) in front of one ADC, so the
  input-referred noise grows with the range: scaled like the typical offset (x1 ... x4),
  between a front end that would not scale and an ADC that would scale x8. That is
  80 µV (8 counts) per conversion at the power-on setting (/8, 12 bit, one sample),
  where reports from INA219 boards show readings spread over several counts
  (RobTillaart/INA219 issue #25: 0.01 to 0.12 mV a second apart, though under a load
  that was not steady either; no clean measurement was found). TI's SBOA511A adds
  that the lowest register bits of the shorter conversions carry no information.
  At the firmware's setting (8 samples, 4.26 ms) it leaves 0.71 counts
  rms on a pin monitor (/1) and 2.8 on a sense monitor (/8): consecutive readings of a
  steady contact differ by a count or two.
* bus, ``bus_noise_mv`` = 4 mV rms per 12-bit conversion (1 LSB; the firmware reads it
  at 12 bits, one sample): a steady rail's bus register flickers by a count or two.

Holding the bus (``hold``, read by ``SimI2C``): a chip cut off in the middle of
sending a byte keeps SDA low, waiting for the SCL clocks of the bits it has left
(``hold`` > 0: that many); a short to ground never lets go (``hold`` < 0).

Not modelled: the coarser steps of 9-11 bit conversions (they only add noise here),
the 4 µs register update delay, the internal oscillator's tolerance.
"""

import errno
import math

from docksim.rand import mix

POR_CONFIG = 0x399F

_T_SINGLE = (84, 148, 276, 532)  # 9, 10, 11, 12 bits, µs
_T_AVG = (532, 1060, 2130, 4260, 8510, 17020, 34050, 68100)  # 12 bits, 1 ... 128 samples

_FAULTS = (None, "nak", "stuck")


def adc_timing(code):
    """(conversion time µs, samples averaged) of a 4-bit BADC / SADC code."""
    if code & 8:
        return _T_AVG[code & 7], 1 << (code & 7)
    return _T_SINGLE[code & 3], 1


def _noise_scale(code):
    """rms noise of a conversion with this BADC / SADC code, relative to one 12-bit sample.

    White noise: it falls with the square root of the time converted, which for an
    averaged result (n * 532 µs) is the 1/sqrt(n) of averaging n samples.
    """
    return math.sqrt(532 / adc_timing(code)[0])


def _gauss(a, b, c):
    """Roughly standard normal, deterministic: the sum of a hash's four bytes, scaled.

    Bounded at about ±3.45.
    """
    x = mix(a, b, c)
    s = (x & 255) + (x >> 8 & 255) + (x >> 16 & 255) + (x >> 24)
    return (s - 510) / 147.8


def _normal(a, b, c):
    """Roughly standard normal with fine steps, for per-chip constants (bounded at ±3.46)."""
    s = mix(a, b, c) + mix(a, b, c + 1) + mix(a, b, c + 2) + mix(a, b, c + 3)
    return (s / 4294967296.0 - 2.0) * 1.7320508


def _clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _round(x):
    return int(x + 0.5) if x >= 0 else -int(0.5 - x)


class INA219Model:
    def __init__(
        self,
        clock,
        source,
        seed=0,
        offset_uv=None,
        gain_error_ppm=None,
        noise_uv=20.0,
        bus_noise_mv=4.0,
        bus_gain_error_ppm=None,
    ):
        self._clock = clock
        self._source = source
        self.seed = seed
        # A-grade limits are ±100 µV and ±0.5 %; most chips sit well inside them.
        if offset_uv is None:
            offset_uv = 25.0 * _normal(seed, 1, 0x51)
        if gain_error_ppm is None:
            gain_error_ppm = _clip(1500.0 * _normal(seed, 2, 0x51), -5000.0, 5000.0)
        if bus_gain_error_ppm is None:
            bus_gain_error_ppm = _clip(1500.0 * _normal(seed, 3, 0x51), -5000.0, 5000.0)
        self.offset_uv = offset_uv
        self.gain_error_ppm = gain_error_ppm
        self.bus_gain_error_ppm = bus_gain_error_ppm
        self.noise_uv = noise_uv
        self.bus_noise_mv = bus_noise_mv
        self.fault = None
        self.hold = 0  # SDA held low: SCL clocks a stuck slave still waits for; < 0 a short
        self.resets = 0  # power-on resets so far (the first is construction)
        self.power_on_reset()

    # -- state -----------------------------------------------------------------------

    def power_on_reset(self):
        """The state after power-up or a brown-out: 0x399F, calibration 0, pointer 0."""
        now = self._clock.now_us
        self._reset(now + mix(self.seed, self.resets, 0x52) % (2 * 532))
        self.resets += 1

    def _reset(self, start_us):
        self._cfg = POR_CONFIG
        self._cal = 0
        self._ptr = 0
        self._shunt = 0  # signed counts
        self._bus = 0  # counts (register >> 3)
        self._current = 0  # register value, 16 bits
        self._power = 0
        self._cnvr = 0
        self._ovf = 0
        self._t_start = start_us
        self._t_upd = self._clock.now_us
        self._cache = {}

    def set_fault(self, mode):
        """``"nak"``: every transaction NAKs; ``"stuck"``: the ADC stops converting (result
        registers keep their last values and CNVR, once cleared, stays clear; the I2C
        interface and the configuration still work); ``None``: clear."""
        if mode not in _FAULTS:
            raise ValueError("unknown fault: %r" % (mode,))
        if mode == "stuck":
            self._update()
        self.fault = mode

    def cycle_us(self):
        """Length of one conversion cycle in the present mode (0 when nothing converts)."""
        mode = self._cfg & 7
        t = 0
        if mode & 1:
            t += adc_timing(self._cfg >> 3 & 15)[0]
        if mode & 2:
            t += adc_timing(self._cfg >> 7 & 15)[0]
        return t

    def registers(self):
        """Debug view: every register as a read would return it now (no side effects)."""
        self._update()
        return {
            "config": self._cfg,
            "shunt": self._shunt & 0xFFFF,
            "bus": self._bus_reg(),
            "power": self._power,
            "current": self._current,
            "calibration": self._cal,
            "pointer": self._ptr,
        }

    # -- conversions -----------------------------------------------------------------

    def _window(self, t0, t1):
        # The current conversion's shunt and bus windows: the reads within one
        # conversion reuse them (as many hits as eight entries gave, a quarter of the
        # heap: six chips' caches weigh on tier B's 192k).
        key = (t0, t1)
        v = self._cache.get(key)
        if v is None:
            if len(self._cache) >= 2:
                self._cache = {}
            v = self._source(t0, t1)
            self._cache[key] = v
        return v

    def _conv_shunt(self, t0, dur):
        cfg = self._cfg
        uv = self._window(t0, t0 + dur)[0] * (1 + self.gain_error_ppm * 1e-6) + self.offset_uv
        if self.noise_uv:
            pg = cfg >> 11 & 3
            uv += self.noise_uv * (pg + 1) * _noise_scale(cfg >> 3 & 15) * _gauss(self.seed, t0, 1)
        fs = 4000 << (cfg >> 11 & 3)
        return _clip(_round(uv / 10), -fs, fs)

    def _conv_bus(self, t0, dur):
        cfg = self._cfg
        mv = self._window(t0, t0 + dur)[1] * (1 + self.bus_gain_error_ppm * 1e-6)
        if self.bus_noise_mv:
            mv += self.bus_noise_mv * _noise_scale(cfg >> 7 & 15) * _gauss(self.seed, t0, 2)
        return _clip(_round(mv / 4), 0, 8000 if cfg & 0x2000 else 4000)

    def _update(self):
        """Bring the result registers up to ``clock.now_us``.

        Only the last conversion of each kind completed since the previous update
        matters: earlier ones would have been overwritten.
        """
        now = self._clock.now_us
        lo = self._t_upd
        if now <= lo or self.fault == "stuck":
            return
        self._t_upd = now
        cfg = self._cfg
        mode = cfg & 7
        ts = adc_timing(cfg >> 3 & 15)[0] if mode & 1 else 0
        tb = adc_timing(cfg >> 7 & 15)[0] if mode & 2 else 0
        per = ts + tb
        if not per:
            return
        t0 = self._t_start
        n = now - t0
        once = not mode & 4  # triggered modes convert once per configuration write

        if ts:
            k = (n - ts) // per
            if once and k > 0:
                k = 0
            if k >= 0 and t0 + k * per + ts > lo:
                self._shunt = self._conv_shunt(t0 + k * per, ts)
        k = (n - per) // per  # the last complete cycle
        if once and k > 0:
            k = 0
        if k < 0 or t0 + (k + 1) * per <= lo:
            return
        c = t0 + k * per
        if tb:
            self._bus = self._conv_bus(c + ts, tb)
        s = self._conv_shunt(c, ts) if ts else self._shunt
        cur = s * self._cal
        cur = cur >> 12 if cur >= 0 else -(-cur >> 12)
        pw = (cur if cur >= 0 else -cur) * self._bus // 5000
        self._ovf = 1 if (cur > 32767 or cur < -32768 or pw > 0xFFFF) else 0
        self._current = cur & 0xFFFF
        self._power = pw & 0xFFFF
        self._cnvr = 1

    def _bus_reg(self):
        return self._bus << 3 | self._cnvr << 1 | self._ovf

    # -- registers -------------------------------------------------------------------

    def _read_reg(self, reg):
        if reg == 0:
            return self._cfg
        if reg == 1:
            return self._shunt & 0xFFFF
        if reg == 2:
            return self._bus_reg()
        if reg == 3:
            v = self._power
            self._cnvr = 0
            return v
        if reg == 4:
            return self._current
        if reg == 5:
            return self._cal
        return 0

    def _write_reg(self, reg, value):
        self._update()
        now = self._clock.now_us
        if reg == 0:
            if value & 0x8000:
                self._reset(now)
                return
            self._cfg = value & 0x3FFF
            if value & 3:
                self._cnvr = 0
            self._t_start = now
        elif reg == 5:
            self._cal = value & 0xFFFE

    # -- I2C device protocol (SimI2C) --------------------------------------------------

    def i2c_write(self, data):
        if self.fault == "nak":
            raise OSError(errno.EIO)
        if not data:
            return
        self._ptr = data[0]
        if len(data) >= 3:
            self._write_reg(data[0], data[1] << 8 | data[2])

    def i2c_read(self, n):
        if self.fault == "nak":
            raise OSError(errno.EIO)
        self._update()
        v = self._read_reg(self._ptr)
        hi = v >> 8
        lo = v & 0xFF
        out = bytearray(n)
        for i in range(n):
            out[i] = lo if i & 1 else hi
        return bytes(out)
