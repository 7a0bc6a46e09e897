# dockfw.ina219 under the real MicroPython interpreter (test tier B): plain test_*
# functions, bare asserts. Run from the repo root:
#   MICROPYPATH=firmware:sim:tests/mp .venv/bin/micropython -X heapsize=192k tools/mptest.py
import gc

from dockfw.ina219 import FOR_DRIVER, INA219, INA219Error, ShuntBank
from docksim.clock import SimClock
from docksim.i2cbus import SimI2C
from docksim.ina219_model import INA219Model

_N = 100


class FakeBus:
    """Register file behind a machine.I2C look-alike that allocates nothing per call."""

    def __init__(self):
        self.regs = [bytearray(2) for _ in range(6)]
        self.ptr = 0
        self.calls = 0

    def set(self, reg, value):
        r = self.regs[reg]
        r[0] = (value >> 8) & 0xFF
        r[1] = value & 0xFF

    def readfrom_mem_into(self, addr, memaddr, buf):
        self.calls += 1
        self.ptr = memaddr
        r = self.regs[memaddr]
        buf[0] = r[0]
        buf[1] = r[1]

    def readfrom_into(self, addr, buf):
        self.calls += 1
        r = self.regs[self.ptr]
        buf[0] = r[0]
        buf[1] = r[1]

    def writeto_mem(self, addr, memaddr, buf):
        self.calls += 1
        self.ptr = memaddr
        r = self.regs[memaddr]
        r[0] = buf[0]
        r[1] = buf[1]


class Source:
    def __init__(self, shunt_uv=0.0, bus_mv=5000.0):
        self.shunt_uv = shunt_uv
        self.bus_mv = bus_mv

    def __call__(self, t0, t1):
        return self.shunt_uv, self.bus_mv


def _sim(addr=0x40, expected_uv=30000):
    clock = SimClock()
    bus = SimI2C(400000, clock)
    src = Source()
    chip = INA219Model(
        clock,
        src,
        seed=5,
        offset_uv=0.0,
        gain_error_ppm=0.0,
        noise_uv=0.0,
        bus_noise_mv=0.0,
        bus_gain_error_ppm=0.0,
    )
    bus.attach(addr, chip)
    drv = INA219(bus, addr, 10000, 32000000, expected_uv, 5000)
    return clock, bus, src, chip, drv


def _fake(expected_uv=30000, shunt=1234):
    bus = FakeBus()
    drv = INA219(bus, 0x40, 10000, 32000000, expected_uv, 5000)
    drv.configure()
    bus.set(1, shunt & 0xFFFF)
    bus.set(2, (5000 // 4) << 3 | 2)
    bus.set(4, shunt & 0xFFFF)
    return bus, drv


def _alloc(fn):
    """Bytes allocated by _N calls of fn (after one warm-up call); None off MicroPython."""
    if not hasattr(gc, "mem_alloc"):
        return None
    fn()
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        n = 0
        while n < _N:
            fn()
            n += 1
        return gc.mem_alloc() - a
    finally:
        gc.enable()


# -- allocation per read ------------------------------------------------------------------


def test_read_power_allocates_nothing():
    bus, drv = _fake(shunt=-2345)
    d = _alloc(drv.read_power)
    assert d in (None, 0), d
    assert drv.shunt_uv == -23450 and drv.current_ua == -2345000
    assert bus.calls == 4 + 2 * (_N + 1) or d is None


def test_read_shunt_allocates_nothing():
    bus, drv = _fake(expected_uv=320000, shunt=31000)
    drv.read_shunt()  # writes the pointer once
    calls = bus.calls
    d = _alloc(drv.read_shunt)
    assert d in (None, 0), d
    assert drv.shunt_uv == 310000 and not drv.clipped
    assert d is None or bus.calls - calls == _N + 1  # one transaction per read


def test_read_bus_allocates_nothing():
    drv = _fake()[1]
    d = _alloc(drv.read_bus)
    assert d in (None, 0), d
    assert drv.bus_mv == 5000 and drv.cnvr and drv.settled and not drv.ovf


def test_step_up_and_lost_calibration_paths_allocate_nothing():
    bus, drv = _fake(shunt=32000)  # at every range's limit: steps 0 -> 3, then stays

    def cycle():
        drv.read_power()
        drv.read_bus()  # CNVR: a conversion at the new range completed

    d = _alloc(cycle)
    assert d in (None, 0), d
    assert drv.gain == 3 and drv.gain_steps == 3 and drv.clipped
    bus.set(1, 1500)
    bus.set(4, 0)  # current 0 with 15 mV across the shunt: check() every read, finds nothing
    d = _alloc(drv.read_power)
    assert d in (None, 0), d
    assert drv.restores == 0 and drv.shunt_uv == 15000


# -- behaviour on the simulated chip --------------------------------------------------------


def test_calibration_and_config():
    drv = INA219(None, 0x40, 10000, 32000000, 30000, 5000)
    assert drv.lsb_ua == 1000 and drv.cal == 4096 and drv.gain == 0
    assert drv.config == 0x01DF
    assert INA219(None, 0x40, 100000, 3200000, 320000, 1000, True).config == 0x3997
    try:
        INA219(None, 0x40, 10000, 3000, 30000)
        raise AssertionError("calibration above 0xFFFE accepted")
    except ValueError:
        pass


def test_readings_and_wire_clocks():
    clock, bus, src, _, drv = _sim()
    drv.configure()
    src.shunt_uv = -17320.0
    clock.sleep_us(10000)
    bus.reset_counters()
    drv.read_power()
    assert bus.clocks == 96
    assert drv.shunt_uv == -17320 and drv.current_ua == -1732000
    bus.reset_counters()
    drv.read_bus()
    assert bus.clocks == 48 and drv.settled and drv.bus_mv == 5000
    drv.read_shunt()
    bus.reset_counters()
    drv.read_shunt()
    assert bus.clocks == 29 and drv.shunt_uv == -17320


def test_clip_steps_up_one_range():
    clock, _, src, chip, drv = _sim()
    drv.configure()
    src.shunt_uv = 60000.0
    clock.sleep_us(10000)
    drv.read_power()
    assert drv.clipped and drv.gain == 1 and chip.registers()["config"] == drv.config
    clock.sleep_us(5000)
    drv.read_power()
    assert not drv.clipped and drv.shunt_uv == 60000 and drv.gain == 1


def test_reset_detected_by_read_shunt():
    clock, _, src, chip, drv = _sim(expected_uv=320000)
    drv.configure()
    src.shunt_uv = 2000.0
    clock.sleep_us(10000)
    drv.read_shunt()
    drv.read_shunt()
    chip.power_on_reset()
    clock.sleep_us(3000)
    drv.read_shunt()
    assert drv.restores == 1 and not drv.settled
    assert chip.registers()["calibration"] == drv.cal
    clock.sleep_us(5000)
    drv.read_shunt()
    drv.read_bus()
    assert drv.settled and drv.shunt_uv == 2000


def test_nak_names_the_chip():
    chip, drv = _sim(addr=0x43)[3:]
    drv.configure()
    chip.set_fault("nak")
    try:
        drv.read_power()
        raise AssertionError("no error")
    except INA219Error as e:
        assert e.addr == 0x43
        assert str(e) == "INA219 at 0x43: no answer (EIO) while reading shunt", str(e)
        assert isinstance(e, OSError)


# -- ShuntBank: viper here (the sign of a 16-bit word on a 64-bit machine int) ------------


def _ready_bank(expected_uv):
    bus, drv = _fake(expected_uv=expected_uv)
    drv.read_bus()  # CNVR: settled
    drv.read_shunt()  # the pointer on the shunt register
    bank = ShuntBank(bus, [drv])
    assert bank.ready[0] == 1
    return bus, drv, bank


def test_shunt_bank_decodes_as_the_driver():
    for expected_uv, lim in ((30000, 4000), (320000, 32000)):
        _, drv, bank = _ready_bank(expected_uv)
        raw = bank.raw
        got = bank.got
        decoded = 0
        for word in range(0x10000):
            raw[0] = word >> 8
            raw[1] = word & 0xFF
            got[0] = 1
            s = word - 0x10000 if word & 0x8000 else word
            left = bank.decode()
            if word == 0x399F or word == drv.config or s >= lim or s <= -lim:
                assert left == 1 and got[0] == FOR_DRIVER and bank.word(0) == word, word
                continue
            assert left == 0 and got[0] == 0, word
            fast = (drv.current_ua, drv.shunt_uv, drv.clipped)
            assert bank.ua[0] == fast[0] and bank.uv[0] == fast[1] and not bank.clip[0], word
            drv.take_shunt(word, False)
            assert fast == (drv.current_ua, drv.shunt_uv, drv.clipped), (word, fast)
            assert fast[1] == s * 10 and not fast[2]
            decoded += 1
        assert decoded >= 2 * lim - 3, decoded
        assert drv.gain_steps == 0


def test_shunt_bank_read_and_decode_allocate_nothing():
    bus, drv, bank = _ready_bank(30000)
    bus.set(1, -2345 & 0xFFFF)
    read = bank.readfrom_into
    addr = bank.addr
    views = bank.views
    got = bank.got

    def one():
        read(addr[0], views[0])
        got[0] = 1
        bank.decode()

    d = _alloc(one)
    assert d in (None, 0), d
    assert drv.shunt_uv == -23450 and drv.current_ua == -2345000 and not drv.clipped
