"""dockfw.ina219 against the simulated bus and chip model (CPython tier)."""

import pytest
from dockfw import ina219
from dockfw.ina219 import INA219, INA219Error
from docksim.clock import SimClock
from docksim.i2cbus import SimI2C
from docksim.ina219_model import POR_CONFIG, INA219Model
from support.dcsource import Source


class Rig:
    def __init__(self, addr=0x40, ideal=True, **drv):
        self.clock = SimClock()
        self.bus = SimI2C(400000, self.clock)
        self.src = Source(bus_mv=5000.0)
        kw = {}
        if ideal:
            kw = {
                "offset_uv": 0.0,
                "gain_error_ppm": 0.0,
                "noise_uv": 0.0,
                "bus_noise_mv": 0.0,
                "bus_gain_error_ppm": 0.0,
            }
        self.chip = INA219Model(self.clock, self.src, seed=7, **kw)
        self.bus.attach(addr, self.chip)
        args = {"shunt_uohm": 10000, "max_ua": 32000000, "expected_uv": 30000}
        args.update(drv)
        self.drv = INA219(self.bus, addr, **args)

    def settle(self, cycles=2):
        """Let ``cycles`` full conversion cycles pass, then read the bus (CNVR)."""
        self.clock.sleep_us(self.drv.cycle_us * cycles + 10)

    def regs(self):
        return self.chip.registers()


def _config(gain, sadc, brng=False):
    return (0x2000 if brng else 0) | gain << 11 | 0x3 << 7 | sadc << 3 | 0x7


# -- calibration, PGA and averaging choices ---------------------------------------------


@pytest.mark.parametrize(
    "max_ua, lsb",
    [
        (1, 1),
        (32768, 1),
        (32769, 2),
        (100000, 5),
        (3200000, 100),
        (16000000, 500),
        (32000000, 1000),
        (40000000, 2000),
    ],
)
def test_current_lsb_is_round_and_covers_max(max_ua, lsb):
    assert ina219.current_lsb_ua(max_ua) == lsb
    assert lsb * 32768 >= max_ua


@pytest.mark.parametrize(
    "lsb, shunt, cal",
    [
        (100, 100000, 4096),  # the datasheet's example: 0.1 ohm, 100 µA
        (1000, 10000, 4096),  # reference dock: 10 mohm, 1 mA
        (500, 20000, 4096),
        (100, 33000, 12412),
        (200, 7000, 29256),  # trunc gives 29257: bit 0 is void in the chip, cleared
    ],
)
def test_calibration_per_datasheet(lsb, shunt, cal):
    assert ina219.calibration(lsb, shunt) == cal
    assert cal & 1 == 0 and cal <= 0xFFFE


def test_calibration_out_of_range_raises():
    with pytest.raises(ValueError):
        ina219.calibration(1, 10000)  # 4 096 000
    with pytest.raises(ValueError):
        ina219.calibration(20000, 10000000)  # rounds to 0
    with pytest.raises(ValueError):
        INA219(None, 0x40, 10000, 3000, 30000)  # LSB 1 µA on 10 mohm
    with pytest.raises(ValueError):
        INA219(None, 0x40, 0, 32000000, 30000)
    with pytest.raises(ValueError):
        INA219(None, 0x40, 10, 1 << 40, 30000)  # LSB too large for small ints


def test_constructor_does_no_io():
    bus = SimI2C(400000, SimClock())
    INA219(bus, 0x40, 10000, 32000000, 30000)  # nothing attached: any I/O would raise
    assert bus.transactions == 0


@pytest.mark.parametrize(
    "expected_uv, gain",
    [
        (0, 0),
        (30000, 0),
        (35556, 0),
        (35557, 1),
        (70000, 1),
        (71200, 2),
        (140000, 2),
        (150000, 3),
        (320000, 3),
        (1000000, 3),
    ],
)
def test_pga_is_smallest_range_with_margin(expected_uv, gain):
    assert ina219.choose_gain(expected_uv) == gain
    assert ina219.choose_gain(-expected_uv) == gain


@pytest.mark.parametrize(
    "period_us, code, window_us",
    [
        (500, 0x0, 84),
        (616, 0x0, 84),
        (1000, 0x2, 276),
        (1064, 0x3, 532),
        (2000, 0x9, 1060),
        (2661, 0x9, 1060),
        (2662, 0xA, 2130),
        (4791, 0xA, 2130),
        (5000, 0xB, 4260),
        (10000, 0xC, 8510),
        (20000, 0xD, 17020),
        (200000, 0xF, 68100),
    ],
)
def test_averaging_fits_shunt_and_bus_in_period(period_us, code, window_us):
    assert ina219.choose_sadc(period_us) == (code, window_us)
    rig = Rig(period_us=period_us)
    assert rig.drv.config & 0x78 == code << 3
    rig.drv.configure()
    # The model agrees on the cycle: one shunt plus one 12-bit bus conversion.
    assert rig.chip.cycle_us() == rig.drv.cycle_us == window_us + 532
    if period_us >= 616:
        assert rig.drv.cycle_us <= period_us


@pytest.mark.parametrize("period_us", [1000, 2500, 5000, 10000, 25000, 200000])
def test_read_twice_a_period_the_window_fits_between_two_reads(period_us):
    code, window_us = ina219.choose_sadc(period_us, 2)
    # Each window is read (none falls between two reads unread) ...
    assert window_us <= period_us // 2 or code == 0
    # ... and it is the longest that does: the next one up would not fit.
    longer = [w for c, w in ina219._SADC if w > window_us]
    assert not longer or min(longer) > period_us // 2
    assert ina219.choose_sadc(period_us, 1)[1] >= window_us


def test_config_word_for_reference_dock():
    pin = Rig(period_us=5000).drv  # 10 mohm, 3 A max -> 30 mV -> ±40 mV
    assert (pin.gain, pin.lsb_ua, pin.cal) == (0, 1000, 4096)
    assert pin.config == 0x01DF == _config(0, 0xB)
    sense = Rig(max_ua=32000000, expected_uv=320000, brng_32v=True).drv
    assert sense.gain == 3 and sense.config == _config(3, 0xB, brng=True)


# -- configure, verify, settle ----------------------------------------------------------


def test_configure_writes_and_verifies():
    rig = Rig()
    rig.drv.configure()
    regs = rig.regs()
    assert regs["config"] == rig.drv.config and regs["calibration"] == rig.drv.cal
    assert rig.bus.clocks == 38 + 38 + 48 + 48  # two writes, two read-backs
    assert rig.drv.settled is False


def test_cnvr_settles_after_first_conversion():
    rig = Rig()
    rig.src.shunt_uv = 12000.0
    rig.drv.configure()
    rig.drv.read_bus()
    assert rig.drv.cnvr is False and rig.drv.settled is False
    rig.settle(1)
    rig.drv.read_power()
    assert rig.drv.settled is False  # only the bus register's CNVR settles it
    rig.drv.read_bus()
    assert rig.drv.cnvr is True and rig.drv.settled is True
    assert rig.drv.bus_mv == 5000


def test_a_chip_whose_adc_hung_never_settles():
    # It answers and takes its configuration, but no conversion ever sets CNVR.
    rig = Rig(addr=0x44)
    rig.chip.set_fault("stuck")
    rig.drv.configure()
    for _ in range(5):
        rig.settle()
        rig.drv.read_bus()
        rig.drv.clear_cnvr()
        assert not rig.drv.cnvr and not rig.drv.settled
    rig.chip.set_fault(None)
    rig.settle()
    rig.drv.read_bus()
    assert rig.drv.cnvr and rig.drv.settled


# -- readings ---------------------------------------------------------------------------


PARAMS = [
    # shunt µohm, max µA, expected µV, brng
    (10000, 32000000, 30000, False),  # reference dock pin: gain 0, cal 4096
    (10000, 3200000, 70000, True),  # gain 1, LSB 100 µA, cal 40960
    (20000, 16000000, 150000, False),  # gain 3
    (33000, 2000000, 60000, True),  # cal 12412
    (7000, 5000000, 120000, False),  # gain 2, odd trunc -> 29256
    (100000, 400000, 300000, True),  # gain 3, LSB 20 µA, cal 20480
]


@pytest.mark.parametrize("shunt, max_ua, expected, brng", PARAMS)
def test_readings_match_model_within_one_lsb(shunt, max_ua, expected, brng):
    rig = Rig(shunt_uohm=shunt, max_ua=max_ua, expected_uv=expected, brng_32v=brng)
    drv = rig.drv
    drv.configure()
    fs = drv.range_uv()
    for frac in (-0.95, -0.5, -0.013, 0.0, 0.0004, 0.2, 0.77, 0.95):
        uv = frac * fs
        # Stay inside the current register too (cal can make it overflow first).
        if abs(uv) * drv.cal / 4096 > 32767 * 10:
            continue
        rig.src.shunt_uv = uv
        rig.src.bus_mv = 4321.0
        rig.settle()
        drv.read_power()
        drv.read_bus()
        assert drv.settled and not drv.clipped and not drv.ovf
        assert abs(drv.shunt_uv - uv) <= 5  # rounding to a 10 µV count
        # The chip derives current from its shunt register: within one LSB of that
        # (plus Cal's truncation, below 1/Cal relative).
        true_ua = drv.shunt_uv * 1e6 / shunt
        assert abs(drv.current_ua - true_ua) <= drv.lsb_ua + abs(true_ua) * 2 / drv.cal
        assert abs(drv.bus_mv - 4321) <= 2
        regs = rig.regs()
        raw = regs["current"] - (0x10000 if regs["current"] & 0x8000 else 0)
        assert drv.current_ua == raw * drv.lsb_ua
        for v in (drv.shunt_uv, drv.current_ua, drv.bus_mv):
            assert type(v) is int and abs(v) < 1 << 30
        for f in (drv.clipped, drv.cnvr, drv.ovf, drv.settled):
            assert type(f) is bool


def test_read_shunt_matches_and_skips_pointer():
    rig = Rig(expected_uv=320000)
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = -123456.0
    rig.settle()
    rig.bus.reset_counters()
    drv.read_shunt()
    assert rig.bus.clocks == 48  # the pointer sat at calibration after configure()
    assert drv.shunt_uv == -123460
    for _ in range(5):
        rig.bus.reset_counters()
        drv.read_shunt()
        assert rig.bus.clocks == 29 and drv.shunt_uv == -123460
    rig.bus.reset_counters()
    drv.read_bus()
    assert rig.bus.clocks == 48
    rig.bus.reset_counters()
    drv.read_shunt()  # pointer moved to the bus register: written again
    assert rig.bus.clocks == 48 and drv.shunt_uv == -123460


def test_read_power_wire_cost():
    rig = Rig()
    rig.drv.configure()
    rig.src.shunt_uv = 20000.0
    rig.settle()
    rig.bus.reset_counters()
    rig.drv.read_power()
    assert rig.bus.clocks == 96 and rig.bus.transactions == 2
    assert rig.drv.current_ua == 2000000
    assert rig.drv.current_ua_now() == 2000000


def test_noisy_chip_readings_track_registers():
    rig = Rig(ideal=False)
    drv = rig.drv
    drv.configure()
    for k in range(50):
        rig.src.shunt_uv = 500.0 * k - 12000.0
        rig.clock.sleep_us(5000)
        drv.read_power()
        regs = rig.regs()
        s = regs["shunt"] - (0x10000 if regs["shunt"] & 0x8000 else 0)
        assert drv.shunt_uv == s * 10
        # Offset, gain error and noise of the chip: well inside ±200 µV here.
        assert abs(drv.shunt_uv - rig.src.shunt_uv) <= 200


# -- PGA step-up on clipping ------------------------------------------------------------


def test_clipping_steps_pga_up_once_per_range():
    rig = Rig()
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = 55000.0  # beyond ±40 mV
    rig.settle()
    drv.read_power()
    assert drv.clipped and drv.shunt_uv == 40000
    assert drv.gain == 1 and drv.gain_steps == 1
    assert rig.regs()["config"] == drv.config == _config(1, 0xB)
    # Read again at once: the chip still holds the old conversion. Flagged, no second step.
    drv.read_power()
    assert drv.clipped and drv.gain == 1
    rig.clock.sleep_us(5000)
    drv.read_power()
    assert not drv.clipped and drv.shunt_uv == 55000 and drv.gain == 1
    assert drv.current_ua == 5500000


def test_step_up_never_beyond_320_mv():
    rig = Rig()
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = 400000.0
    seen = []
    for _ in range(12):
        rig.clock.sleep_us(5000)
        drv.read_power()
        seen.append((drv.gain, drv.clipped))
    assert drv.gain == 3 and drv.gain_steps == 3
    assert all(c for _, c in seen)
    assert drv.shunt_uv == 320000
    assert rig.regs()["config"] >> 11 & 3 == 3


def test_configure_returns_to_initial_gain():
    rig = Rig()
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = 90000.0
    for _ in range(4):
        rig.clock.sleep_us(5000)
        drv.read_power()
    assert drv.gain == 2
    drv.configure()
    assert drv.gain == 0 and rig.regs()["config"] == _config(0, 0xB)


def test_overflow_flags_current_without_stepping_inside_range():
    # 0.1 ohm, LSB 20 µA, cal 20480: the current register overflows above 65.5 mV.
    rig = Rig(shunt_uohm=100000, max_ua=400000, expected_uv=40000)
    drv = rig.drv
    assert (drv.gain, drv.cal) == (1, 20480)
    drv.configure()
    rig.src.shunt_uv = 70000.0
    rig.settle()
    drv.read_power()
    drv.read_bus()
    assert drv.ovf and not drv.clipped and drv.gain == 1
    rig.src.shunt_uv = 30000.0
    rig.settle()
    drv.read_power()
    drv.read_bus()
    assert not drv.ovf and drv.current_ua == 300000


def test_overflow_after_step_does_not_step_twice():
    rig = Rig(shunt_uohm=100000, max_ua=400000, expected_uv=40000)
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = 95000.0  # clips ±80 mV and overflows the current register
    rig.settle()
    drv.read_bus()
    drv.read_power()
    assert drv.clipped and drv.gain == 2
    drv.read_bus()  # OVF from the old conversion: the step already answered it
    assert drv.ovf and drv.gain == 2 and drv.gain_steps == 1


# -- reset detection and restore --------------------------------------------------------


def test_check_is_quiet_when_nothing_changed():
    rig = Rig()
    rig.drv.configure()
    rig.bus.reset_counters()
    assert rig.drv.check() is False
    assert rig.drv.restores == 0 and rig.bus.clocks == 96


def test_read_power_notices_lost_calibration():
    rig = Rig()
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = 15000.0
    rig.settle()
    drv.read_power()
    drv.read_bus()
    assert drv.settled and drv.current_ua == 1500000
    rig.chip.power_on_reset()
    rig.clock.sleep_us(3000)  # the reset chip converts again, with calibration 0
    drv.read_power()
    assert drv.restores == 1 and drv.settled is False
    regs = rig.regs()
    assert regs["config"] == drv.config and regs["calibration"] == drv.cal
    rig.settle()
    drv.read_power()
    drv.read_bus()
    assert drv.settled and drv.current_ua == 1500000


def test_read_shunt_notices_power_on_pointer():
    rig = Rig(expected_uv=320000)
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = 2500.0
    rig.settle()
    drv.read_shunt()
    drv.read_shunt()  # pointer-less from here on
    drv.read_bus()
    drv.read_shunt()
    assert drv.settled and drv.shunt_uv == 2500
    rig.chip.power_on_reset()
    assert rig.regs()["config"] == POR_CONFIG
    rig.clock.sleep_us(3000)
    drv.read_shunt()  # the reset chip answers with its configuration register
    assert drv.restores == 1 and not drv.settled
    assert rig.regs()["config"] == drv.config
    rig.settle()
    drv.read_shunt()
    drv.read_bus()
    assert drv.settled and drv.shunt_uv == 2500


def test_check_restores_after_reset():
    rig = Rig()
    drv = rig.drv
    drv.configure()
    rig.chip.power_on_reset()
    assert drv.check() is True and drv.restores == 1
    assert rig.regs()["calibration"] == drv.cal
    assert drv.check() is False and drv.restores == 1


# -- bus errors -------------------------------------------------------------------------


def test_nak_raises_error_naming_the_chip_only():
    clock = SimClock()
    bus = SimI2C(400000, clock)
    src = Source(10000.0, 5000.0)
    a = INA219Model(clock, src, seed=1)
    b = INA219Model(clock, src, seed=2)
    bus.attach(0x40, a)
    bus.attach(0x41, b)
    da = INA219(bus, 0x40, 10000, 32000000, 30000)
    db = INA219(bus, 0x41, 10000, 32000000, 30000)
    da.configure()
    db.configure()
    clock.sleep_us(10000)
    b.set_fault("nak")
    with pytest.raises(INA219Error) as ei:
        db.read_power()
    e = ei.value
    assert isinstance(e, OSError)
    assert e.addr == 0x41 and e.errno == 5
    assert str(e) == "INA219 at 0x41: no answer (EIO) while reading shunt"
    da.read_power()  # the other chip on the bus is unaffected
    assert abs(da.shunt_uv - 10000) <= 200
    for call, what in (
        (db.read_shunt, "reading shunt"),
        (db.read_bus, "reading bus voltage"),
        (db.check, "reading configuration"),
        (db.configure, "writing configuration"),
    ):
        with pytest.raises(INA219Error, match="0x41: no answer .EIO. while " + what):
            call()
    b.set_fault(None)
    db.configure()  # comes back
    db.read_shunt()
    assert bus.clocks  # and reads again


def test_missing_chip():
    bus = SimI2C(400000, SimClock())
    drv = INA219(bus, 0x4F, 10000, 32000000, 30000)
    with pytest.raises(INA219Error, match="INA219 at 0x4f: no answer"):
        drv.configure()


class RegisterFile:
    """A bus with one bare register file: no conversions, just what the test puts there."""

    def __init__(self):
        self.regs = [0] * 6
        self.ptr = 0
        self.log = []

    def readfrom_mem_into(self, addr, reg, buf):
        self.ptr = reg
        self.readfrom_into(addr, buf, pointer=True)

    def readfrom_into(self, addr, buf, pointer=False):
        self.log.append(("r" if pointer else "bare", self.ptr))
        v = self.regs[self.ptr]
        buf[0] = v >> 8
        buf[1] = v & 0xFF

    def writeto_mem(self, addr, reg, buf):
        self.ptr = reg
        self.log.append(("w", reg))
        self.regs[reg] = buf[0] << 8 | buf[1]


def test_read_shunt_value_equal_to_config_is_checked_and_reread():
    bus = RegisterFile()
    drv = INA219(bus, 0x44, 10000, 32000000, 320000)
    drv.configure()
    bus.regs[1] = drv.config  # a genuine shunt reading that happens to equal the config word
    drv.read_shunt()
    drv.read_shunt()
    assert drv.restores == 0 and drv.shunt_uv == drv.config * 10
    # bare read, check() (config, calibration), pointer read of the shunt again
    assert bus.log[-4:] == [("bare", 1), ("r", 0), ("r", 5), ("r", 1)]


def test_zero_current_with_shunt_inside_noise_does_not_check():
    bus = RegisterFile()
    drv = INA219(bus, 0x40, 10000, 32000000, 30000)
    drv.configure()
    bus.regs[1] = 5  # 50 µV: a few counts, current may legitimately read 0
    bus.regs[4] = 0
    n = len(bus.log)
    drv.read_power()
    assert len(bus.log) == n + 2 and drv.current_ua == 0 and drv.shunt_uv == 50
    bus.regs[1] = 0x10000 - 900  # -9 mV with a zero current register: calibration lost?
    drv.read_power()
    assert len(bus.log) == n + 6  # check() read configuration and calibration: intact
    assert drv.restores == 0 and drv.shunt_uv == -9000


def test_cnvr_releases_a_held_step():
    bus = RegisterFile()
    drv = INA219(bus, 0x40, 10000, 32000000, 30000)
    drv.configure()
    bus.regs[1] = 4000
    bus.regs[4] = 4000
    drv.read_power()
    assert drv.gain == 1 and drv.clipped
    drv.read_power()  # same register contents: the old conversion, no second step
    assert drv.gain == 1 and drv.clipped
    bus.regs[2] = 1250 << 3 | 2  # CNVR: a conversion at ±80 mV completed; it read 40 mV
    drv.read_bus()
    drv.read_power()
    assert drv.gain == 1 and not drv.clipped and drv.shunt_uv == 40000


@pytest.mark.parametrize(
    "shunt_uohm, max_ua, expected_uv",
    [
        (10000, 32000000, 30000),
        (10000, 3200000, 30000),
        (100000, 3200000, 300000),
        (7000, 6400000, 40000),
    ],
)
@pytest.mark.parametrize("shunt_uv", [31990.0, 12345.0, 10.0, 0.0, -10.0, -23456.0, -31990.0])
def test_current_derived_from_the_shunt_equals_the_current_register(
    shunt_uohm, max_ua, expected_uv, shunt_uv
):
    # Cal from 4096 to 58514: the split multiplication must match the chip's
    # trunc(shunt * cal / 4096) exactly, for either sign, without a 30-bit overflow.
    rig = Rig(shunt_uohm=shunt_uohm, max_ua=max_ua, expected_uv=expected_uv)
    drv = rig.drv
    drv.configure()
    rig.src.shunt_uv = shunt_uv
    rig.settle(3)
    drv.read_shunt()
    derived = drv.current_ua
    assert abs(derived) < 1 << 30
    assert drv.current_ua_now() == derived


# -- ShuntBank: the sampler's common case, decoded in one pass ---------------------------


def _reading(drv):
    return drv.current_ua, drv.shunt_uv, drv.clipped, drv._raw


@pytest.mark.parametrize(
    "shunt_uohm, max_ua, expected_uv, gain",
    [
        (10000, 32000000, 30000, 0),  # a pin monitor: Cal 4096
        (7000, 32000000, 60000, 1),  # Cal 5850: both 12-bit halves of the split at work
        (3000, 100000000, 30000, 0),  # Cal 2730, 5 mA a count
        (50000, 3000000, 120000, 2),  # Cal 8192
        (10000, 32000000, 320000, 3),  # a sense monitor at the widest range
    ],
)
def test_shunt_bank_decodes_as_the_driver_and_leaves_it_every_other_word(
    shunt_uohm, max_ua, expected_uv, gain
):
    rig = Rig(shunt_uohm=shunt_uohm, max_ua=max_ua, expected_uv=expected_uv)
    drv = rig.drv
    drv.configure()
    rig.settle()
    drv.read_bus()
    drv.read_shunt()
    assert drv.gain == gain
    bank = ina219.ShuntBank(rig.bus, [drv])
    assert bank.ready[0] == 1
    lim = 4000 << gain
    decoded = left = 0
    for word in range(0x10000):
        bank.raw[0] = word >> 8
        bank.raw[1] = word & 0xFF
        bank.got[0] = 1
        s = word - 0x10000 if word & 0x8000 else word
        if word in (POR_CONFIG, drv.config) or not -lim < s < lim:
            # The driver's cases: a reset chip's configuration, a clipped reading.
            assert bank.decode() == 1 and bank.got[0] == ina219.FOR_DRIVER, hex(word)
            assert bank.word(0) == word
            left += 1
            continue
        assert bank.decode() == 0 and bank.got[0] == 0, hex(word)
        fast = _reading(drv)
        assert (bank.ua[0], bank.uv[0], bank.clip[0]) == (fast[0], fast[1], 0)
        drv.take_shunt(word, False)
        assert fast == _reading(drv), hex(word)
        assert not fast[2]
        decoded += 1
    assert decoded == 2 * lim - 1 - (POR_CONFIG < lim) - 1 and left == 0x10000 - decoded
    assert drv.gain == gain and drv.gain_steps == 0  # nothing here reached the chip


def test_shunt_bank_takes_only_a_chip_whose_bare_read_is_its_shunt_register():
    rig = Rig()
    drv = rig.drv
    bank = ina219.ShuntBank(rig.bus, [drv])
    assert not bank.ready[0]  # never configured
    drv.configure()
    bank.sync(0)
    assert not bank.ready[0]  # pointer on the calibration register, not settled
    rig.settle()
    drv.read_bus()
    drv.read_shunt()
    bank.sync(0)
    assert bank.ready[0]
    rig.src.shunt_uv = 60000.0  # beyond ±40 mV: the PGA steps up
    rig.settle()
    drv.read_shunt()
    assert drv.gain == 1 and drv.clipped
    bank.sync(0)
    assert not bank.ready[0]  # the step's write moved the pointer; its hold waits
    drv.read_shunt()  # the held (clipped) reading
    bank.sync(0)
    assert not bank.ready[0]
    rig.settle()
    drv.read_shunt()  # a conversion at the new range
    bank.sync(0)
    assert bank.ready[0] and not drv.clipped and drv.shunt_uv == 60000
    drv.check()
    bank.sync(0)
    assert not bank.ready[0]  # check() left the pointer on the calibration register


def test_shunt_bank_error_names_the_chip():
    rig = Rig()
    drv = rig.drv
    drv.configure()
    rig.settle()
    drv.read_bus()
    drv.read_shunt()
    bank = ina219.ShuntBank(rig.bus, [drv])
    assert bank.ready[0]
    rig.bus.detach(0x40)
    with pytest.raises(OSError) as raised:
        bank.readfrom_into(bank.addr[0], bank.views[0])
    err = bank.failed(0, raised.value)
    assert isinstance(err, INA219Error) and err.addr == 0x40
    assert "0x40" in str(err) and "reading shunt" in str(err)
    assert not bank.ready[0]
    bank.sync(0)
    assert not bank.ready[0]  # the driver forgot where its pointer is
