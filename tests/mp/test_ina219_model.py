# Tier B: the simulated I2C bus and INA219 model under the real MicroPython interpreter.
import errno

from docksim.clock import SimClock
from docksim.i2cbus import SimI2C
from docksim.ina219_model import INA219Model

ADDR = 0x40


class _Source:
    def __init__(self, shunt_uv, bus_mv):
        self.shunt_uv = shunt_uv
        self.bus_mv = bus_mv
        self.opens = []

    def __call__(self, t0, t1):
        open_us = 0
        for a, b in self.opens:
            open_us += max(0, min(t1, b) - max(t0, a))
        return self.shunt_uv * (1 - open_us / (t1 - t0)), self.bus_mv


def _rig(shunt_uv=10000.0, bus_mv=5000.0, **kw):
    clock = SimClock(start_us=1000)
    src = _Source(shunt_uv, bus_mv)
    args = {
        "offset_uv": 0.0,
        "gain_error_ppm": 0.0,
        "bus_gain_error_ppm": 0.0,
        "noise_uv": 0.0,
        "bus_noise_mv": 0.0,
    }
    for k in kw:
        args[k] = kw[k]
    chip = INA219Model(clock, src, **args)
    bus = SimI2C(400000, clock)
    bus.attach(ADDR, chip)
    return clock, src, chip, bus


def _rd(bus, reg):
    b = bus.readfrom_mem(ADDR, reg, 2)
    v = b[0] << 8 | b[1]
    return v - 0x10000 if reg in (1, 4) and v & 0x8000 else v


def _wr(bus, reg, value):
    bus.writeto_mem(ADDR, reg, bytes((value >> 8, value & 0xFF)))


def test_power_on_values_and_calibration():
    clock, _, _, bus = _rig(50000.0, 5000.0)  # 0.5 A through 0.1 ohm
    assert _rd(bus, 0) == 0x399F
    assert _rd(bus, 5) == 0
    clock.advance_us(3 * 1064)
    assert _rd(bus, 1) == 5000 and _rd(bus, 4) == 0
    _wr(bus, 5, 4096)  # 100 uA per count
    clock.advance_us(3 * 1064)
    assert _rd(bus, 4) == 5000, _rd(bus, 4)
    assert _rd(bus, 3) == 1250
    assert _rd(bus, 2) >> 3 == 1250


def test_wire_clocks():
    clock, _, _, bus = _rig()
    bus.reset_counters()
    t = clock.now_us
    buf = bytearray(2)
    bus.readfrom_mem_into(ADDR, 1, buf)
    assert bus.clocks == 48 and clock.now_us - t == 120
    bus.reset_counters()
    bus.readfrom_into(ADDR, buf)
    bus.readfrom_into(ADDR, buf)
    assert bus.clocks == 58 and clock.now_us - t == 265


def test_dropout_reads_as_a_dip():
    clock, src, _, bus = _rig(30000.0)
    _wr(bus, 0, 0x399D)  # shunt only, continuous, 12 bit
    t = clock.now_us
    src.opens.append((t + 150, t + 250))
    clock.advance_us(532)
    v = _rd(bus, 1)
    assert v == 2436, v  # 100 us of 532 open: about 19 % low


def test_pga_clip_ovf_and_cnvr():
    clock, _, _, bus = _rig(50000.0, 12000.0)
    _wr(bus, 0, 0x219F)  # PG /1: +-40 mV
    clock.advance_us(1064)
    assert _rd(bus, 1) == 4000
    assert _rd(bus, 2) & 2
    _rd(bus, 3)
    assert not _rd(bus, 2) & 2
    _wr(bus, 5, 0xFFFE)
    clock.advance_us(1064)
    assert _rd(bus, 2) & 1  # 4000 * 65534 / 4096 overflows


def test_faults_and_brown_out():
    clock, src, chip, bus = _rig()
    _wr(bus, 5, 4096)
    clock.advance_us(3 * 1064)
    chip.set_fault("nak")
    try:
        _rd(bus, 1)
    except OSError as e:
        assert e.args[0] == errno.EIO
    else:
        raise AssertionError("no NAK")
    chip.set_fault("stuck")
    src.shunt_uv = 20000.0
    clock.advance_us(3 * 1064)
    assert _rd(bus, 1) == 1000
    chip.set_fault(None)
    clock.advance_us(3 * 1064)
    assert _rd(bus, 1) == 2000
    chip.power_on_reset()
    assert _rd(bus, 0) == 0x399F and _rd(bus, 5) == 0


def test_deterministic_noise():
    a = []
    b = []
    for out in (a, b):
        clock, _, chip, _ = _rig(seed=3, noise_uv=4.0, offset_uv=None, gain_error_ppm=None)
        for _ in range(20):
            clock.advance_us(1064)
            out.append(chip.registers()["shunt"])
    assert a == b
    assert len(set(a)) > 1
