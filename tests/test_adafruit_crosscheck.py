"""dockfw.ina219 against Adafruit's CircuitPython driver, both reading one simulated chip.

The chip is configured through one driver, then both decode the same frozen registers
(the model's "stuck" fault holds every register while both read): shunt voltage, bus
voltage and current must agree within one LSB, across gains, bus ranges (16 / 32 V)
and calibrations, in both directions.
"""

import pytest
from adafruit_ina219 import INA219 as AdafruitINA219
from dockfw.ina219 import INA219
from docksim.clock import SimClock
from docksim.i2cbus import SimI2C
from docksim.ina219_model import INA219Model
from support.busio_adapter import BusioAdapter
from support.dcsource import Source

ADDR = 0x40


class Bench:
    """One chip (with the model's own offset, gain error and noise) and both drivers."""

    def __init__(self, seed=11):
        self.clock = SimClock()
        self.bus = SimI2C(400000, self.clock)
        self.src = Source()
        self.chip = INA219Model(self.clock, self.src, seed=seed)
        self.bus.attach(ADDR, self.chip)
        # Adafruit's constructor configures the chip (32 V, 2 A preset on 0.1 ohm).
        self.ada = AdafruitINA219(BusioAdapter(self.bus), ADDR)

    def convert(self, shunt_uv, bus_mv):
        """Let the chip convert the input, then freeze its registers."""
        self.chip.set_fault(None)
        self.src.shunt_uv = shunt_uv
        self.src.bus_mv = bus_mv
        self.clock.sleep_us(3 * self.chip.cycle_us() + 100)
        self.chip.set_fault("stuck")

    def compare(self, drv):
        ada = self.ada
        drv.read_power()
        drv.read_bus()
        shunt_uv = ada.shunt_voltage * 1e6
        bus_mv = ada.bus_voltage * 1e3
        current_ua = ada.current * 1e3
        assert abs(drv.shunt_uv - shunt_uv) <= 10, (drv.shunt_uv, shunt_uv)
        assert abs(drv.bus_mv - bus_mv) <= 4, (drv.bus_mv, bus_mv)
        assert abs(drv.current_ua - current_ua) <= drv.lsb_ua, (drv.current_ua, current_ua)
        # Same registers, same decoding: in fact equal to the float's rounding.
        assert drv.shunt_uv == round(shunt_uv) and drv.bus_mv == round(bus_mv)
        assert drv.current_ua == round(current_ua)
        assert drv.ovf == ada.overflow
        drv.read_shunt()
        assert drv.shunt_uv == round(shunt_uv)
        return drv.shunt_uv, drv.bus_mv, drv.current_ua


def _inputs(range_uv, brng_32v, cal):
    """Shunt inputs across the range (inside the current register), bus inputs across BRNG."""
    limit = min(range_uv * 0.97, 32000 * 4096 / cal * 10)
    shunts = [f * limit for f in (-1.0, -0.61, -0.05, 0.0, 0.0013, 0.33, 0.8, 1.0)]
    buses = [0.0, 3300.0, 5000.0, 12000.0, 15990.0]
    if brng_32v:
        buses += [20000.0, 25990.0]
    return [(s, buses[k % len(buses)]) for k, s in enumerate(shunts)]


OURS = [
    # shunt µohm, max µA, expected µV (-> gain), 32 V range
    (10000, 32000000, 30000, False),  # reference dock pin: gain 0, LSB 1 mA, cal 4096
    (10000, 32000000, 320000, True),  # reference dock sense monitor: gain 3
    (10000, 3200000, 70000, True),  # gain 1, LSB 100 µA, cal 40960
    (20000, 16000000, 150000, False),  # gain 3, LSB 500 µA, cal 4096
    (33000, 2000000, 60000, True),  # gain 1, cal 12412
    (7000, 5000000, 120000, False),  # gain 2, cal 29256 (bit 0 cleared)
    (100000, 400000, 300000, True),  # gain 3, LSB 20 µA, cal 20480
    (1000000, 100000, 20000, False),  # gain 0, 1 ohm, LSB 5 µA, cal 8192
]


@pytest.mark.parametrize("shunt, max_ua, expected, brng", OURS)
def test_configured_by_dockfw_read_by_both(shunt, max_ua, expected, brng):
    b = Bench()
    drv = INA219(b.bus, ADDR, shunt, max_ua, expected, 5000, brng)
    drv.configure()
    ada = b.ada
    # Adafruit decodes current with whatever calibration it last wrote: tell it ours.
    ada._cal_value = drv.cal
    ada._current_lsb = drv.lsb_ua / 1000  # mA per count
    # Adafruit sees the configuration dockfw wrote.
    assert ada.gain == drv.gain
    assert ada.bus_voltage_range == int(brng)
    assert ada.mode == 7 and ada.bus_adc_resolution == 3
    assert ada.shunt_adc_resolution == drv.config >> 3 & 15
    assert ada._raw_calibration == drv.cal
    seen = set()
    for shunt_uv, bus_mv in _inputs(drv.range_uv(), brng, drv.cal):
        b.convert(shunt_uv, bus_mv)
        seen.add(b.compare(drv))
        assert not drv.clipped and drv.gain == ada.gain  # no step-ups inside the range
    assert len(seen) >= 6  # the inputs really differed


PRESETS = [
    # Adafruit preset, shunt it assumes (µohm)
    ("set_calibration_32V_2A", 100000),
    ("set_calibration_32V_1A", 100000),
    ("set_calibration_16V_400mA", 100000),
    ("set_calibration_16V_5A", 20000),
    ("set_calibration_16V_80mA", 1000000),
    ("set_calibration_16V_4mA", 10000000),
]


@pytest.mark.parametrize("preset, shunt", PRESETS)
@pytest.mark.parametrize("gain", [None, 0, 1, 2, 3])
def test_configured_by_adafruit_read_by_both(preset, shunt, gain):
    b = Bench(seed=23)
    ada = b.ada
    getattr(ada, preset)()
    if gain is not None:
        ada.gain = gain
    g = ada.gain
    brng = ada.bus_voltage_range == 1
    lsb_ua = round(ada._current_lsb * 1000)
    # dockfw with the same shunt and LSB arrives at Adafruit's calibration by its own rule,
    # and at Adafruit's gain from the expected drop.
    drv = INA219(b.bus, ADDR, shunt, lsb_ua * 32768, 30000 << g, 5000, brng)
    assert drv.lsb_ua == lsb_ua and drv.cal == ada.calibration == 4096
    assert drv.gain == g
    for shunt_uv, bus_mv in _inputs(drv.range_uv(), brng, drv.cal):
        b.convert(shunt_uv, bus_mv)
        b.compare(drv)
        assert not drv.clipped and drv.gain == g
    # dockfw only read: the chip still holds Adafruit's configuration.
    b.chip.set_fault(None)
    assert b.chip.registers()["config"] >> 11 & 3 == g
    assert drv.restores == 0 and drv.gain_steps == 0


def test_bus_range_16v_clips_in_both():
    b = Bench()
    ada = b.ada
    ada.set_calibration_16V_5A()
    drv = INA219(b.bus, ADDR, 20000, 16384000, 120000, 5000, False)
    b.convert(1000.0, 24000.0)  # 24 V on a 16 V range: both read the clipped 16 V
    b.compare(drv)
    assert drv.bus_mv == 16000
