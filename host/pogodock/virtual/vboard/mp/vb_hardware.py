"""The virtual board's hardware: the scenario's dock circuit and INA219s, in real time.

Runs inside the vboard's MicroPython interpreter. The simulator's parts (``Circuit``,
``INA219Model``, ``SimI2C``) are wired as ``docksim.dock.SimDock`` wires them, with
two differences that come from running on a real clock instead of a simulated one:

* ``RealTimeClock`` stands in for ``SimClock``: ``now_us`` is the time since the board's
  power-on, read from the interpreter's own ``ticks_us``. The supervisor passes the
  power-on instant in the same clock (``CLOCK_MONOTONIC``: the unix port's ``ticks_us``
  and CPython's ``time.monotonic`` both read it), so scenario time keeps running across
  soft and hard resets: the dock's hardware does not restart when its CPU does.
* Sensor faults from the scenario are applied when the firmware next talks to the chip
  (the only way it can notice them), not from a simulation loop.
* The board's SDA and SCL GPIOs reach the bus lines: SDA reads low while a monitor
  holds it (a scenario ``bus_fault``), a rising SCL is a clock the monitors see, and
  SDA rising while SCL is high a STOP, so the firmware's bus recovery works here.
"""

import time

from docksim.circuit import Circuit
from docksim.i2cbus import SimI2C
from docksim.ina219_model import INA219Model
from docksim.wiring import apply_fault, fault_actions, monitors, unique_id

# The RP2040's temperature sensor (datasheet 4.9.5): V = 0.706 - (T - 27) * 0.001721,
# read by a 12-bit ADC against 3.3 V; read_u16 scales the 12 bits up as the rp2 port does.
_ADC_VREF_UV = 3300000
_TSENSE_27C_UV = 706000
_TSENSE_UV_PER_C = 1721


class RealTimeClock:
    """``now_us`` since power-on, from the interpreter's clock; what the sim's parts read."""

    def __init__(self, power_on_us):
        self._power_on = power_on_us

    @property
    def now_us(self):
        return time.ticks_diff(time.ticks_us(), self._power_on)

    def advance_us(self, us):
        # SimI2C counts each transaction's wire time here; on a real clock that time
        # has passed (or not) by itself, so there is nothing to add.
        pass


class _FaultSchedule:
    """The scenario's ``sensor_fault`` events (``wiring.fault_actions``, as ``SimDock``'s),
    applied in time order when due."""

    def __init__(self, scenario, chips):
        self._actions = fault_actions(scenario)
        self._chips = chips

    def apply_due(self, now_us):
        actions = self._actions
        while actions and actions[0].t_us <= now_us:
            action = actions.pop(0)
            apply_fault(self._chips[action.addr], action.mode)


class _WiredChip:
    """An INA219 on the board's bus: due faults are applied before each transaction."""

    def __init__(self, chip, clock, faults):
        self._chip = chip
        self._clock = clock
        self._faults = faults

    def i2c_write(self, data):
        self._faults.apply_due(self._clock.now_us)
        return self._chip.i2c_write(data)

    def i2c_read(self, n):
        self._faults.apply_due(self._clock.now_us)
        return self._chip.i2c_read(n)

    @property
    def hold(self):
        self._faults.apply_due(self._clock.now_us)
        return self._chip.hold

    @hold.setter
    def hold(self, pulses):
        self._chip.hold = pulses


class Hardware:
    """Everything on the dock's PCB that the ``machine`` module reaches."""

    def __init__(self, scenario, power_on_us):
        board = scenario.board
        self.board = board
        self.clock = RealTimeClock(power_on_us)
        self.circuit = Circuit(scenario)
        chips = {}
        # wiring's seeds, id and faults, as SimDock's: the same scenario, the same chips.
        for addr, seed in monitors(scenario):
            chips[addr] = INA219Model(self.clock, self.circuit.source(addr), seed=seed)
        self.chips = chips
        faults = _FaultSchedule(scenario, chips)
        self._wired = {}
        for addr in chips:
            self._wired[addr] = _WiredChip(chips[addr], self.clock, faults)
        self.unique_id = unique_id(scenario)
        self._gpio = {}
        self._lines = SimI2C(board.i2c_freq, self.clock)  # the wires the GPIOs touch
        for addr in self._wired:
            self._lines.attach(addr, self._wired[addr])

    def attach_bus(self, bus, i2c_id, scl, sda):
        """Connect the monitors to ``bus`` if these are the pins the board wires them to."""
        b = self.board
        if (i2c_id is None or i2c_id == b.i2c_id) and scl == b.scl and sda == b.sda:
            for addr in self._wired:
                bus.attach(addr, self._wired[addr])

    def drive(self, gpio, level):
        """A GPIO driven to ``level``; the charge-enable switch acts on the circuit,
        the I2C pins on the bus lines."""
        b = self.board
        was = self.level(gpio)
        if self._gpio.get(gpio) == level:
            return
        self._gpio[gpio] = level
        if gpio == b.scl and level and not was:
            self._lines.pulse_scl()
        elif gpio == b.sda and level and not was and self.level(b.scl):
            self._lines.stop()
        if gpio == self.board.charge_gpio:
            on = (level == 1) == bool(self.board.charge_active_high)
            self.circuit.set_rail(on, self.clock.now_us)

    def level(self, gpio):
        b = self.board
        if gpio == b.sda or gpio == b.scl:
            # Pulled up; wired-AND with whatever a monitor does to SDA.
            if gpio == b.sda and not self._lines.sda():
                return 0
            return self._gpio.get(gpio, 1)
        return self._gpio.get(gpio, 0)

    def driven(self, gpio):
        return gpio in self._gpio

    def temp_adc_u16(self):
        """ADC channel 4, the die temperature sensor, as ``read_u16`` returns it."""
        t_mc = int(self.circuit.temp_c(self.clock.now_us) * 1000)
        uv = _TSENSE_27C_UV - (t_mc - 27000) * _TSENSE_UV_PER_C // 1000
        code = (uv * 4095 + _ADC_VREF_UV // 2) // _ADC_VREF_UV
        code = 0 if code < 0 else 4095 if code > 4095 else code
        return code << 4 | code >> 8
