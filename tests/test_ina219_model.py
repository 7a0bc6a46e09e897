import errno
import itertools
import math

import adafruit_ina219
import pytest
from adafruit_ina219 import INA219, Mode
from docksim.clock import SimClock
from docksim.i2cbus import SimI2C
from docksim.ina219_model import POR_CONFIG, INA219Model, adc_timing
from support.busio_adapter import BusioAdapter
from support.dcsource import Source

ADDR = 0x40
EXACT = dict(
    offset_uv=0.0, gain_error_ppm=0.0, bus_gain_error_ppm=0.0, noise_uv=0.0, bus_noise_mv=0.0
)


def rig(shunt_uv=0.0, bus_mv=0.0, seed=0, **kw):
    clock = SimClock(start_us=1000)
    src = Source(shunt_uv, bus_mv)
    args = dict(EXACT)
    args.update(kw)
    chip = INA219Model(clock, src, seed=seed, **args)
    bus = SimI2C(400000, clock)
    bus.attach(ADDR, chip)
    return clock, src, chip, bus


def rd(bus, reg):
    return int.from_bytes(bus.readfrom_mem(ADDR, reg, 2), "big")


def rd_signed(bus, reg):
    v = rd(bus, reg)
    return v - 0x10000 if v & 0x8000 else v


def wr(bus, reg, value):
    bus.writeto_mem(ADDR, reg, value.to_bytes(2, "big"))


def config(brng=1, pg=3, badc=3, sadc=3, mode=7):
    return brng << 13 | pg << 11 | badc << 7 | sadc << 3 | mode


def settle(clock, chip, cycles=3):
    clock.advance_us(cycles * max(chip.cycle_us(), 1))


def cal_for(current_lsb_ua, r_shunt_mohm):
    # Cal = trunc(0.04096 / (Current_LSB * R_shunt)), in integers
    return 40960000 // (current_lsb_ua * r_shunt_mohm)


# -- register map and power-on state -----------------------------------------------------


def test_power_on_values():
    clock, _, chip, bus = rig(12345.0, 5000.0)
    assert rd(bus, 0) == POR_CONFIG == 0x399F
    assert rd(bus, 5) == 0
    assert rd(bus, 1) == 0 and rd(bus, 2) == 0  # nothing converted yet
    settle(clock, chip)
    assert rd_signed(bus, 1) == 1235 and rd(bus, 2) >> 3 == 1250
    assert rd(bus, 2) & 2  # CNVR
    assert rd(bus, 4) == 0 and rd(bus, 3) == 0  # no calibration: no current, no power
    regs = chip.registers()
    assert regs["config"] == 0x399F and regs["calibration"] == 0 and regs["pointer"] == 3


def test_big_endian_and_read_only_registers():
    clock, _, chip, bus = rig(12345.0, 5000.0)
    settle(clock, chip)
    shunt = rd(bus, 1)
    for reg in (1, 2, 3, 4):
        wr(bus, reg, 0xABCD)
    assert rd(bus, 1) == shunt and rd(bus, 4) == 0
    wr(bus, 5, 0x1235)
    assert bus.readfrom_mem(ADDR, 5, 2) == b"\x12\x34"  # bit 0 of calibration reads 0
    wr(bus, 0, 0x019F)
    assert bus.readfrom_mem(ADDR, 0, 2) == b"\x01\x9f"
    assert rd(bus, 7) == 0  # no such register
    wr(bus, 7, 0x1234)
    assert rd(bus, 0) == 0x019F


def test_pointer_is_kept_between_transactions():
    clock, _, chip, bus = rig(12345.0, 5000.0)
    settle(clock, chip)
    wr(bus, 5, 4096)
    bus.writeto(ADDR, b"\x02")  # pointer only
    bus_reg = int.from_bytes(bus.readfrom(ADDR, 2), "big")
    assert bus_reg >> 3 == 1250
    assert int.from_bytes(bus.readfrom(ADDR, 2), "big") >> 3 == 1250  # still the bus register
    rd(bus, 5)
    assert int.from_bytes(bus.readfrom(ADDR, 2), "big") == 4096
    assert bus.readfrom(ADDR, 1) == b"\x10"  # MSB first
    assert chip.registers()["pointer"] == 5


def test_reset_bit_restores_power_on_state():
    clock, _, chip, bus = rig(12345.0, 5000.0)
    wr(bus, 5, 4096)
    wr(bus, 0, config(pg=0, mode=5))
    settle(clock, chip)
    wr(bus, 0, 0x8000)
    assert rd(bus, 0) == 0x399F and rd(bus, 5) == 0
    settle(clock, chip)
    assert rd(bus, 4) == 0


# -- calibration arithmetic --------------------------------------------------------------


def test_calibration_point1_ohm_100ua():
    cal = cal_for(100, 100)
    assert cal == 4096
    clock, src, chip, bus = rig(50000.0, 5000.0)  # 0.5 A through 0.1 ohm, 5 V
    wr(bus, 5, cal)
    settle(clock, chip)
    assert rd_signed(bus, 1) == 5000
    assert rd_signed(bus, 4) == 5000  # x 100 uA = 0.5 A
    assert rd(bus, 3) == 1250  # x 2 mW (20 x Current_LSB) = 2.5 W
    src.shunt_uv = -50000.0
    settle(clock, chip)
    assert rd_signed(bus, 4) == -5000
    assert rd(bus, 3) == 1250  # power is a magnitude


def test_calibration_10_milliohm():
    cal = cal_for(100, 10)  # 100 uA LSB on 10 mOhm
    assert cal == 40960
    clock, _, chip, bus = rig(20000.0, 5000.0)  # 2 A through 10 mOhm
    wr(bus, 5, cal)
    settle(clock, chip)
    assert rd_signed(bus, 4) == 20000  # 2 A
    assert rd(bus, 3) == 5000  # x 2 mW = 10 W
    assert not rd(bus, 2) & 1
    cal = cal_for(1000, 10)  # 1 mA LSB
    assert cal == 4096
    wr(bus, 5, cal)
    settle(clock, chip)
    assert rd_signed(bus, 4) == 2000 and rd(bus, 3) == 500


@pytest.mark.parametrize(
    "shunt_counts, cal, current",
    [
        (3, 5000, 3),
        (-3, 5000, -3),
        (1, 4095, 0),
        (-1, 4095, 0),
        (4000, 4097, 4000),
        (-4000, 4097, -4000),
        (32000, 4096, 32000),
        (7, 0, 0),
    ],
)
def test_current_is_truncated_toward_zero(shunt_counts, cal, current):
    clock, _, chip, bus = rig(shunt_counts * 10.0, 12000.0)
    wr(bus, 5, cal)
    settle(clock, chip)
    assert rd_signed(bus, 1) == shunt_counts
    assert rd_signed(bus, 4) == current
    expected = math.trunc(shunt_counts * (cal & 0xFFFE) / 4096)
    assert current == expected


def test_calibration_change_shows_at_next_cycle_end():
    clock, _, chip, bus = rig(10000.0, 5000.0)
    wr(bus, 5, 4096)
    settle(clock, chip)
    assert rd_signed(bus, 4) == 1000
    wr(bus, 5, 8192)
    assert rd_signed(bus, 4) == 1000  # the math runs when a conversion completes
    clock.advance_us(chip.cycle_us())
    assert rd_signed(bus, 4) == 2000


# -- ranges, clipping, overflow, quantisation ---------------------------------------------


@pytest.mark.parametrize("pg, fs", [(0, 4000), (1, 8000), (2, 16000), (3, 32000)])
def test_pga_clips_shunt(pg, fs):
    clock, src, chip, bus = rig(400000.0, 5000.0)
    wr(bus, 0, config(pg=pg))
    settle(clock, chip)
    assert rd_signed(bus, 1) == fs
    src.shunt_uv = -400000.0
    settle(clock, chip)
    assert rd_signed(bus, 1) == -fs
    src.shunt_uv = (fs - 1) * 10.0
    settle(clock, chip)
    assert rd_signed(bus, 1) == fs - 1


@pytest.mark.parametrize(
    "brng, mv, counts",
    [
        (0, 20000.0, 4000),
        (1, 20000.0, 5000),
        (1, 40000.0, 8000),
        (0, -300.0, 0),
        (1, 15998.0, 4000),
    ],
)
def test_bus_range_clips(brng, mv, counts):
    clock, _, chip, bus = rig(0.0, mv)
    wr(bus, 0, config(brng=brng))
    settle(clock, chip)
    assert rd(bus, 2) >> 3 == counts


def test_quantisation_10uv_and_4mv():
    cases = [
        (12344.0, 1234),
        (12354.9, 1235),
        (12355.1, 1236),
        (-12354.9, -1235),
        (-12355.1, -1236),
        (4.9, 0),
        (5.1, 1),
    ]
    for uv, counts in cases:
        clock, _, chip, bus = rig(uv, 5000.0)
        settle(clock, chip)
        assert rd_signed(bus, 1) == counts, uv
    for mv, counts in [(5001.0, 1250), (5002.1, 1251), (5003.0, 1251), (1.9, 0), (2.1, 1)]:
        clock, _, chip, bus = rig(0.0, mv)
        settle(clock, chip)
        assert rd(bus, 2) >> 3 == counts, mv


def test_offset_and_gain_error_apply():
    clock, _, chip, bus = rig(
        10000.0, 5000.0, offset_uv=50.0, gain_error_ppm=5000.0, bus_gain_error_ppm=-4000.0
    )
    settle(clock, chip)
    assert rd_signed(bus, 1) == 1010  # 10000 * 1.005 + 50 = 10100 uV
    assert rd(bus, 2) >> 3 == 1245  # 5000 * 0.996 = 4980 mV


def test_overflow_flag_follows_each_calculation():
    clock, src, chip, bus = rig(150000.0, 12000.0)
    wr(bus, 0, config(pg=2))
    wr(bus, 5, 10240)  # 15000 * 10240 / 4096 = 37500 > 32767
    settle(clock, chip)
    assert rd(bus, 2) & 1
    assert rd(bus, 4) == 37500 & 0xFFFF  # the low 16 bits: meaningless, as documented
    src.shunt_uv = 100000.0  # 25000: back in range
    settle(clock, chip)
    assert not rd(bus, 2) & 1
    assert rd_signed(bus, 4) == 25000
    assert rd(bus, 3) == 25000 * 3000 // 5000


# -- conversion windows and timing ------------------------------------------------------


def test_adc_timing_table():
    assert [adc_timing(c) for c in range(4)] == [(84, 1), (148, 1), (276, 1), (532, 1)]
    assert [adc_timing(c)[0] for c in range(4, 8)] == [84, 148, 276, 532]  # 0b01xx = 0b00xx
    assert [adc_timing(c) for c in range(8, 16)] == [
        (532, 1),
        (1060, 2),
        (2130, 4),
        (4260, 8),
        (8510, 16),
        (17020, 32),
        (34050, 64),
        (68100, 128),
    ]
    _, _, chip, bus = rig()
    assert chip.cycle_us() == 1064  # power-on: 12-bit shunt + 12-bit bus
    for mode, cyc in [(5, 84), (6, 68100), (7, 68184), (3, 68184), (1, 84), (0, 0), (4, 0)]:
        wr(bus, 0, config(badc=15, sadc=0, mode=mode))
        assert chip.cycle_us() == cyc


def test_short_open_inside_a_conversion_reads_as_a_dip():
    clock, src, _, bus = rig(30000.0, 5000.0)
    wr(bus, 0, config(mode=5))  # shunt only, 12 bit, 532 us windows
    t = clock.now_us
    src.opens.append((t + 150, t + 250))  # 100 us open inside the first window
    clock.advance_us(532)
    dip = rd_signed(bus, 1)
    assert dip == round(3000 * (1 - 100 / 532))  # 2436
    assert 0.18 < 1 - dip / 3000 < 0.20  # about 19 % low
    clock.advance_us(532)
    assert rd_signed(bus, 1) == 3000  # the next window saw no open


def test_averaging_window_dilutes_a_dropout():
    clock, src, _, bus = rig(30000.0, 5000.0)
    wr(bus, 0, config(sadc=0b1101, mode=5))  # 32 samples: 17.02 ms
    t = clock.now_us
    src.opens.append((t + 5000, t + 6000))
    clock.advance_us(17020)
    assert rd_signed(bus, 1) == round(3000 * (1 - 1000 / 17020))  # ~5.9 % low
    assert src.calls[-1][1] - src.calls[-1][0] == 17020


def test_continuous_mode_alternates_shunt_then_bus():
    clock, src, chip, bus = rig(10000.0, 5000.0)
    wr(bus, 0, config(badc=0b1001, sadc=3, mode=7))  # shunt 532 us, bus 1060 us
    t = clock.now_us
    wr(bus, 5, 4096)  # pointer -> 5
    src.calls.clear()
    clock.advance_us(t + 540 - clock.now_us)
    assert chip.registers()["shunt"] == 1000
    assert chip.registers()["bus"] == 0  # bus conversion still running
    clock.advance_us(t + 1600 - clock.now_us)
    regs = chip.registers()
    assert regs["bus"] == 1250 << 3 | 2 and regs["current"] == 1000
    windows = sorted(set(src.calls))
    assert windows[0][1] - windows[0][0] == 532 and windows[1][1] - windows[1][0] == 1060
    assert windows[1][0] == windows[0][1]  # the bus window follows the shunt window
    # conversions restarted when the write's last byte was clocked, before its STOP
    assert windows[0][0] == t - 3


def test_read_returns_last_completed_conversion():
    clock, src, chip, bus = rig(10000.0, 5000.0)
    wr(bus, 0, config(mode=5))
    clock.advance_us(600)
    assert chip.registers()["shunt"] == 1000
    start, end = src.calls[-1]
    assert end - start == 532
    src.shunt_uv = 20000.0
    clock.advance_us(end + 532 - clock.now_us - 1)
    assert chip.registers()["shunt"] == 1000  # next conversion not done yet
    clock.advance_us(1)
    assert chip.registers()["shunt"] == 2000


def test_triggered_mode_converts_once_per_config_write():
    clock, src, chip, bus = rig(10000.0, 5000.0)
    wr(bus, 5, 4096)
    wr(bus, 0, config(mode=3))
    clock.advance_us(1064)
    assert rd_signed(bus, 1) == 1000 and rd(bus, 2) & 2
    src.shunt_uv = 20000.0
    settle(clock, chip, 10)
    assert rd_signed(bus, 1) == 1000  # no new conversion without a trigger
    wr(bus, 0, config(mode=3))
    assert not rd(bus, 2) & 2  # the trigger clears CNVR
    clock.advance_us(1064)
    assert rd_signed(bus, 1) == 2000 and rd(bus, 2) & 2 and rd_signed(bus, 4) == 2000
    src.shunt_uv = 30000.0
    wr(bus, 0, config(mode=2))  # bus only: the shunt register keeps its value
    clock.advance_us(1064)
    assert rd_signed(bus, 1) == 2000


def test_power_down_holds_registers():
    clock, src, chip, bus = rig(10000.0, 5000.0)
    settle(clock, chip)
    wr(bus, 0, config(mode=0))
    src.shunt_uv, src.bus_mv = 20000.0, 7000.0
    settle(clock, chip, 20)
    assert rd_signed(bus, 1) == 1000 and rd(bus, 2) >> 3 == 1250
    assert rd(bus, 2) & 2  # power-down does not clear CNVR
    wr(bus, 0, config(mode=4))
    settle(clock, chip, 20)
    assert rd_signed(bus, 1) == 1000


def test_cnvr_set_by_cycle_cleared_by_power_read_and_config_write():
    clock, _, _, bus = rig(10000.0, 5000.0)
    wr(bus, 0, config(mode=7))
    assert not rd(bus, 2) & 2
    clock.advance_us(1064)
    assert rd(bus, 2) & 2
    assert rd(bus, 2) & 2  # reading the bus register leaves it set
    rd(bus, 3)
    assert not rd(bus, 2) & 2  # reading power clears it
    clock.advance_us(1064)
    assert rd(bus, 2) & 2
    wr(bus, 0, config(mode=7))
    assert not rd(bus, 2) & 2


def test_source_is_called_once_per_window():
    clock, src, chip, bus = rig(10000.0, 5000.0)
    settle(clock, chip)
    chip.registers()
    src.calls.clear()
    for _ in range(20):
        chip.registers()  # same instant: nothing to convert
    assert src.calls == []
    for _ in range(100):
        rd(bus, 1)  # 120 us apart: several reads per conversion
    assert 0 < len(src.calls) == len(set(src.calls))
    assert len(src.calls) <= 2 * (100 * 120 // 1064 + 2)


def test_random_phase_per_chip():
    firsts = set()
    for seed in range(8):
        clock, _, chip, _ = rig(10000.0, 5000.0, seed=seed)
        while not chip.registers()["shunt"]:
            clock.advance_us(10)
        firsts.add(clock.now_us - 1000)  # power-on to first shunt result, 10 us steps
    assert len(firsts) >= 6
    assert all(532 <= t < 1064 + 532 + 10 for t in firsts)


# -- noise and per-chip errors ------------------------------------------------------------


def shunt_samples(chip, clock, n):
    out = []
    for _ in range(n):
        clock.advance_us(chip.cycle_us())
        v = chip.registers()["shunt"]
        out.append(v - 0x10000 if v & 0x8000 else v)
    return out


def std(xs):
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def test_noise_is_deterministic_and_follows_conversion_time_and_range():
    clock, _, chip, bus = rig(10000.0, 5000.0, seed=7, noise_uv=20.0)
    wr(bus, 0, config(pg=0))  # 12 bit, one sample, PGA /1: noise_uv rms
    a = shunt_samples(chip, clock, 400)
    clock2, _, chip2, bus2 = rig(10000.0, 5000.0, seed=7, noise_uv=20.0)
    wr(bus2, 0, config(pg=0))
    assert shunt_samples(chip2, clock2, 400) == a
    sigma_uv = std(a) * 10
    assert 17.0 < sigma_uv < 24.0  # 20 uV rms plus 10 uV quantisation
    wr(bus, 0, config(pg=0, sadc=0b1011))  # 8 samples: 1/sqrt(8) of it, 7.1 uV
    avg8 = std(shunt_samples(chip, clock, 400)) * 10
    assert 6.0 < avg8 < 9.5
    wr(bus, 0, config(pg=3, sadc=0b1011))  # PGA /8: four times the /1 noise, 28 uV
    assert 24.0 < std(shunt_samples(chip, clock, 400)) * 10 < 33.0
    wr(bus, 0, config(pg=0, sadc=0b1111))  # 128 samples
    assert std(shunt_samples(chip, clock, 50)) * 10 < 4.0
    wr(bus, 0, config(pg=0, sadc=0))  # 9 bit: shorter conversion, more noise
    assert std(shunt_samples(chip, clock, 400)) * 10 > sigma_uv


def test_default_noise_leaves_a_count_or_two_of_scatter_at_the_firmware_setting():
    # The firmware's setting at 200 Hz: shunt 12 bit x 8 samples (4.26 ms), bus 12 bit.
    clock, _, chip, bus = rig(10000.0, 5000.0, seed=3, noise_uv=20.0, bus_noise_mv=4.0)
    wr(bus, 0, config(brng=0, pg=0, sadc=0b1011))
    s = shunt_samples(chip, clock, 400)
    steps = [abs(x - y) for x, y in itertools.pairwise(s)]
    assert 0.55 < std(s) < 0.9  # counts rms on a pin monitor
    assert sum(d == 0 for d in steps) < 0.5 * len(steps)  # steady, yet not frozen
    assert max(steps) <= 5
    assert INA219Model(clock, Source()).noise_uv == 20.0
    assert INA219Model(clock, Source()).bus_noise_mv == 4.0


def test_per_chip_errors_from_seed_within_a_grade_limits():
    clock = SimClock()
    chips = [INA219Model(clock, Source(), seed=s) for s in range(300)]
    offsets = [c.offset_uv for c in chips]
    gains = [c.gain_error_ppm for c in chips] + [c.bus_gain_error_ppm for c in chips]
    assert all(abs(o) <= 100 for o in offsets)
    assert all(abs(g) <= 5000 for g in gains)
    assert sum(abs(o) < 50 for o in offsets) > 0.9 * len(offsets)  # mostly well inside
    assert len(set(offsets)) == len(offsets)
    assert INA219Model(clock, Source(), seed=3).offset_uv == chips[3].offset_uv
    assert INA219Model(clock, Source(), seed=3, offset_uv=-12.5).offset_uv == -12.5


# -- faults -------------------------------------------------------------------------------


def test_nak_fault():
    clock, _, chip, bus = rig(10000.0, 5000.0)
    settle(clock, chip)
    chip.set_fault("nak")
    for call in (lambda: rd(bus, 1), lambda: wr(bus, 5, 1), lambda: bus.readfrom(ADDR, 2)):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.args[0] == errno.EIO
    assert bus.scan() == []
    chip.set_fault(None)
    assert rd_signed(bus, 1) == 1000 and rd(bus, 5) == 0
    with pytest.raises(ValueError):
        chip.set_fault("smoke")


def test_stuck_fault_stops_conversions_but_not_the_interface():
    clock, src, chip, bus = rig(10000.0, 5000.0)
    wr(bus, 5, 4096)
    settle(clock, chip)
    before = {r: rd(bus, r) for r in (1, 4)}
    assert rd(bus, 2) & 2  # CNVR: a conversion completed
    rd(bus, 3)  # reading power clears CNVR
    chip.set_fault("stuck")
    src.shunt_uv = 20000.0
    settle(clock, chip, 10)
    assert {r: rd(bus, r) for r in (1, 4)} == before  # results frozen
    assert not rd(bus, 2) & 2  # and no conversion sets CNVR again
    wr(bus, 5, 8192)
    assert rd(bus, 5) == 8192  # the register interface still answers
    chip.set_fault(None)
    settle(clock, chip)
    assert rd_signed(bus, 1) == 2000 and rd_signed(bus, 4) == 4000
    assert rd(bus, 2) & 2


def test_power_on_reset_is_a_brown_out():
    clock, _, chip, bus = rig(10000.0, 5000.0)
    wr(bus, 0, config(pg=0, mode=5))
    wr(bus, 5, 4096)
    settle(clock, chip)
    rd(bus, 4)
    chip.power_on_reset()
    assert chip.registers()["pointer"] == 0
    assert int.from_bytes(bus.readfrom(ADDR, 2), "big") == 0x399F  # pointer back at 0
    assert rd(bus, 5) == 0 and rd(bus, 4) == 0
    settle(clock, chip)
    assert rd(bus, 4) == 0 and rd(bus, 3) == 0
    assert rd_signed(bus, 1) == 1000 and rd(bus, 2) >> 3 == 1250  # conversions restarted


# -- the Adafruit CircuitPython driver against the model ------------------------------------


def adafruit_rig(shunt_uv, bus_mv, **kw):
    clock, _, chip, bus = rig(shunt_uv, bus_mv, **kw)
    ina = INA219(BusioAdapter(bus), ADDR)
    return clock, chip, ina


def freeze(ina, clock):
    """Trigger one conversion and wait for it, so the registers stop moving."""
    ina.mode = Mode.SANDBVOLT_TRIGGERED
    clock.advance_us(2 * 68100 + 1000)


def check_consistent(ina, chip):
    regs = chip.registers()
    shunt = regs["shunt"] - 0x10000 if regs["shunt"] & 0x8000 else regs["shunt"]
    current = regs["current"] - 0x10000 if regs["current"] & 0x8000 else regs["current"]
    assert ina.raw_shunt_voltage == shunt
    assert ina.raw_bus_voltage == regs["bus"] >> 3
    assert ina.raw_current == current
    assert ina.raw_power == regs["power"]
    assert abs(ina.shunt_voltage - shunt * 10e-6) < 10e-6
    assert abs(ina.bus_voltage - (regs["bus"] >> 3) * 0.004) < 0.004
    assert abs(ina.current - current * ina._current_lsb) < ina._current_lsb
    assert abs(ina.power - regs["power"] * ina._power_lsb) < ina._power_lsb
    assert ina.overflow == regs["bus"] & 1


# method, shunt resistor (ohm), current (A) to put through it, bus (V)
CALIBRATIONS = [
    ("set_calibration_32V_2A", 0.1, 1.9, 24.0),
    ("set_calibration_32V_2A", 0.1, -0.7, 12.0),
    ("set_calibration_32V_1A", 0.1, 0.93, 20.0),
    ("set_calibration_16V_400mA", 0.1, 0.377, 5.0),
    ("set_calibration_16V_400mA", 0.1, 0.001, 3.3),
    ("set_calibration_16V_5A", 0.02, 4.2, 12.0),
    ("set_calibration_16V_80mA", 1.0, 0.0612, 9.0),
    ("set_calibration_16V_4mA", 10.0, 0.0031, 1.8),
]


@pytest.mark.parametrize("method, r_ohm, amps, volts", CALIBRATIONS)
def test_adafruit_driver_reads_the_model(method, r_ohm, amps, volts):
    clock, chip, ina = adafruit_rig(
        amps * r_ohm * 1e6, volts * 1000.0, seed=11, noise_uv=4.0, bus_noise_mv=1.0
    )
    getattr(ina, method)()
    freeze(ina, clock)
    check_consistent(ina, chip)
    assert chip.registers()["calibration"] == ina.calibration
    assert chip.registers()["config"] & 0x7 == Mode.SANDBVOLT_TRIGGERED
    # and the physics, through one noisy chip: within offset + gain error + noise + 1 LSB
    ma = amps * 1000
    tol_ma = (100 + 5 * 3.45 * 4) / r_ohm / 1000 + 0.005 * abs(ma) + 2 * ina._current_lsb
    assert abs(ina.current - ma) < tol_ma
    assert abs(ina.bus_voltage - volts) < 0.005 * volts + 0.004 + 0.004


def test_adafruit_driver_continuous_without_noise():
    clock, chip, ina = adafruit_rig(123456.0, 11000.0)  # 1.23456 A on 0.1 ohm
    clock.advance_us(5000)
    assert ina.raw_shunt_voltage == 12346
    assert ina.raw_bus_voltage == 2750
    assert ina.raw_current == 12346
    assert abs(ina.current - 1234.6) < 0.1
    assert ina.conversion_ready
    assert abs(ina.power - 12346 * 2750 // 5000 * 0.002) < 1e-9
    assert not ina.conversion_ready  # reading power cleared it
    check_consistent(ina, chip)


@pytest.mark.parametrize("gain", range(4))
@pytest.mark.parametrize("brng", range(2))
@pytest.mark.parametrize("shunt_uv", [-350000.0, -31234.5, 0.0, 7777.7, 79990.0, 250000.0])
def test_adafruit_fields_across_gains_and_ranges(gain, brng, shunt_uv):
    clock, chip, ina = adafruit_rig(shunt_uv, 19876.0, seed=5, noise_uv=4.0)
    ina.gain = gain
    ina.bus_voltage_range = brng
    freeze(ina, clock)
    assert ina.gain == gain and ina.bus_voltage_range == brng
    cfg = chip.registers()["config"]
    assert cfg >> 11 & 3 == gain and cfg >> 13 & 1 == brng
    fs = 4000 << gain
    assert -fs <= ina.raw_shunt_voltage <= fs
    if abs(shunt_uv) > fs * 10 + 200:
        assert abs(ina.raw_shunt_voltage) == fs
    assert ina.raw_bus_voltage == (4000 if brng == 0 else 4969)
    check_consistent(ina, chip)


@pytest.mark.parametrize("cal", [4096, 8192, 10240, 20480, 40960, 65534])
@pytest.mark.parametrize("shunt_uv", [-123456.7, -1234.5, 9.0, 45678.9, 150000.0])
def test_adafruit_across_calibrations(cal, shunt_uv):
    clock, chip, ina = adafruit_rig(shunt_uv, 12000.0, seed=2, noise_uv=4.0)
    ina.calibration = cal
    freeze(ina, clock)
    check_consistent(ina, chip)
    shunt = ina.raw_shunt_voltage
    exact = abs(shunt) * cal // 4096 * (1 if shunt >= 0 else -1)
    assert ina.overflow == (not -32768 <= exact <= 32767)
    if not ina.overflow:
        assert ina.raw_current == exact


def test_adafruit_overflow_flag():
    clock, chip, ina = adafruit_rig(150000.0, 12000.0)
    ina.set_calibration_32V_1A()  # /4 gain, 160 mV range
    ina.calibration = 10240  # 15000 counts * 10240 / 4096 = 37500: overflows
    clock.advance_us(5000)
    assert ina.overflow
    check_consistent(ina, chip)
    ina.calibration = 8192
    clock.advance_us(5000)
    assert not ina.overflow
    assert ina.raw_current == 30000


def test_adafruit_module_version():
    assert adafruit_ina219.__version__.startswith("3.")
