"""A ``busio.I2C``-shaped adapter over ``SimI2C``, so CircuitPython drivers run on simulated chips.

``adafruit_bus_device.I2CDevice`` (and through it ``adafruit_ina219``) needs ``try_lock``,
``unlock``, ``writeto``, ``readfrom_into``, ``writeto_then_readfrom`` and ``scan`` with
busio's keyword slicing. ``writeto_then_readfrom`` becomes a write without STOP and a read
after a repeated START: the same wire clocks as ``readfrom_mem_into``.
"""


class BusioAdapter:
    def __init__(self, bus):
        self.bus = bus
        self._locked = False

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def _check_lock(self):
        if not self._locked:
            raise RuntimeError("I2C bus used without try_lock()")

    def scan(self):
        self._check_lock()
        return self.bus.scan()

    def writeto(self, address, buffer, *, start=0, end=None):
        self._check_lock()
        self.bus.writeto(address, bytes(buffer[start:end]))

    def readfrom_into(self, address, buffer, *, start=0, end=None):
        self._check_lock()
        self.bus.readfrom_into(address, memoryview(buffer)[start:end])

    def writeto_then_readfrom(
        self, address, out_buffer, in_buffer, *, out_start=0, out_end=None, in_start=0, in_end=None
    ):
        self._check_lock()
        # Copy out first: drivers pass one buffer as both (adafruit_register does).
        self.bus.writeto(address, bytes(out_buffer[out_start:out_end]), stop=False)
        self.bus.readfrom_into(address, memoryview(in_buffer)[in_start:in_end])
