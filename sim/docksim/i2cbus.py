"""``SimI2C``: the subset of ``machine.I2C`` the firmware uses, routed to simulated chips.

Devices are attached by 7-bit address and implement two calls:

* ``i2c_write(data)``: the bytes written after the address byte (register pointer first);
  an empty ``data`` is an address-only probe (``scan()``, zero-length ``writeto``).
* ``i2c_read(n)``: the ``n`` bytes a read transaction returns.

A device NAKs by raising ``OSError(errno.EIO)``; a missing address NAKs too, and every
NAK reaches the caller as ``OSError(errno.EIO)``, as on the rp2 port.

Wire time counts SCL clocks: START 1, every byte 9 (8 bits + ACK, the address byte
included), repeated START 1, STOP 1. A register read with pointer write is 48 clocks,
a read without pointer write 29. The attached ``SimClock`` advances by each phase of a
transaction as it is clocked, so a device sees the time at which it acts: a write
takes effect after its last byte, a read latches its data right after the address
byte. Fractions of a microsecond are carried over, so the clock's total stays exact.
A NAK from a device is counted where the device raised (after the bytes it was handed),
then STOP. ``transactions`` counts STARTs: one per method call, so ``writeto(...,
stop=False)`` followed by ``readfrom`` is two. Software overhead and clock stretching
are not modelled.

The lines. SDA is wired-AND: a device with a ``hold`` attribute may hold it low
(``hold`` > 0: a slave cut off mid-byte, waiting for that many more SCL clocks; < 0:
a short to ground, never let go; 0: released). While it is held the controller
cannot make a START: every transaction waits out ``timeout_us`` (rp2's
``machine.I2C(timeout=)``, 50 ms unless given; ``SimDock`` gives the one the dock's
firmware sets) on the clock and raises ``OSError(errno.ETIMEDOUT)``, as rp2 does.
``sda()`` reads the line, ``pulse_scl()`` is one SCL clock with SDA released by the
controller, ``stop()`` a STOP condition, and ``clock_out()`` the whole recovery of
UM10204 3.1.16 on them; the virtual board's GPIOs reach the same calls.
"""

import errno

try:
    import micropython
except ImportError:
    micropython = None
# MicroPython's (CPython's stand-in has none): see ``hardware_begin``.
_heap_lock = getattr(micropython, "heap_lock", None)
_heap_unlock = getattr(micropython, "heap_unlock", None)

_SCAN_FIRST = 0x08
_SCAN_LAST = 0x77


def heap_lock():
    """Lock the heap as a hard interrupt finds it during a collection (MicroPython; a
    no-op under CPython): the firmware's code run then may not allocate."""
    if _heap_lock is not None:
        _heap_lock()


def heap_unlock():
    if _heap_unlock is not None:
        _heap_unlock()


def hardware_begin(interrupt):
    """Entering simulated hardware from firmware that runs as an interrupt: the
    hardware is C on the board and allocates nothing, but the simulator's is Python,
    so its work is done with the heap unlocked (``hardware_end`` locks it again)."""
    if interrupt and _heap_unlock is not None:
        _heap_unlock()


def hardware_end(interrupt):
    if interrupt and _heap_lock is not None:
        _heap_lock()


RECOVERY_PULSES = 9  # UM10204 3.1.16: a slave lets go of SDA within nine clocks
DEFAULT_TIMEOUT_US = 50000  # rp2's machine.I2C


class SimI2C:
    def __init__(self, freq=400000, clock=None, timeout=DEFAULT_TIMEOUT_US):
        if freq <= 0:
            raise ValueError("freq must be positive")
        self.freq = freq
        self.timeout_us = timeout
        self._clock = clock
        self._devices = {}
        self._holders = []  # devices that can hold SDA low (a ``hold`` attribute)
        self._rem = 0  # µs * freq not yet handed to the clock
        self.clocks = 0
        self.bytes = 0  # bytes on the wire, address bytes included
        self.transactions = 0  # one per START, i.e. one per method call
        self.timeouts = 0  # transactions that timed out on a held bus
        self.interrupt = False  # called from firmware run as an interrupt: hardware_begin

    # -- devices ---------------------------------------------------------------------

    def attach(self, addr, device):
        if not 0 <= addr <= 0x7F:
            raise ValueError("I2C address out of range: %r" % (addr,))
        self._devices[addr] = device
        self._holders = [d for d in self._devices.values() if hasattr(d, "hold")]

    def detach(self, addr):
        self._devices.pop(addr, None)
        self._holders = [d for d in self._devices.values() if hasattr(d, "hold")]

    def device(self, addr):
        return self._devices.get(addr)

    # -- counters --------------------------------------------------------------------

    def wire_us(self):
        """Wire time of every clock counted since the last ``reset_counters()``, in µs."""
        return self.clocks * 1000000 // self.freq

    def reset_counters(self):
        self.clocks = 0
        self.bytes = 0
        self.transactions = 0

    # -- the lines -------------------------------------------------------------------

    def sda(self):
        """SDA's level with the controller's side released: 0 while a device holds it."""
        for d in self._holders:
            if d.hold:
                return 0
        return 1

    def pulse_scl(self):
        """One SCL clock, SDA released by the controller: a stuck slave shifts a bit out."""
        self._tick(1)
        for d in self._holders:
            if d.hold > 0:
                d.hold -= 1

    def stop(self):
        """A STOP condition on the lines (SDA rising while SCL is high)."""
        self._tick(1)

    def clock_out(self, pulses=RECOVERY_PULSES):
        """The controller's bus recovery: SCL clocked until SDA is released (at most
        ``pulses`` times), then a STOP. True when SDA is high after it."""
        n = 0
        while n < pulses and not self.sda():
            self.pulse_scl()
            n += 1
        self.stop()
        return self.sda() == 1

    # -- wire ------------------------------------------------------------------------

    def _tick(self, clocks, nbytes=0):
        self.clocks += clocks
        self.bytes += nbytes
        if self._clock is not None:
            r = self._rem + clocks * 1000000
            us = r // self.freq
            self._rem = r - us * self.freq
            if us:
                self._clock.advance_us(us)

    def _nak(self):
        self._tick(1)  # the controller sends STOP after a NAK
        return OSError(errno.EIO)

    def _address(self, addr):
        """(Repeated) START and the address byte; the device, or NAK."""
        if self._holders and not self.sda():
            # No START while SDA is low: the controller waits out its timeout.
            self.timeouts += 1
            if self._clock is not None:
                self._clock.advance_us(self.timeout_us)
            raise OSError(errno.ETIMEDOUT)
        self._tick(10, 1)
        dev = self._devices.get(addr)
        if dev is None:
            raise self._nak()
        return dev

    def _write(self, dev, data):
        try:
            dev.i2c_write(data)
        except OSError:
            raise self._nak() from None

    def _read(self, dev, n):
        try:
            return dev.i2c_read(n)
        except OSError:
            raise self._nak() from None

    @staticmethod
    def _fill(buf, data, n):
        m = len(data)
        for i in range(n):
            buf[i] = data[i] if i < m else 0xFF  # an idle bus reads high

    # -- machine.I2C -----------------------------------------------------------------

    def writeto(self, addr, buf, stop=True):
        interrupt = self.interrupt
        hardware_begin(interrupt)
        try:
            return self._writeto(addr, buf, stop)
        finally:
            hardware_end(interrupt)

    def _writeto(self, addr, buf, stop=True):
        data = bytes(buf)
        self.transactions += 1
        dev = self._address(addr)
        self._tick(9 * len(data), len(data))
        self._write(dev, data)
        if stop:
            self._tick(1)
        return len(data)  # number of ACKs received

    def writevto(self, addr, vector, stop=True):
        return self.writeto(addr, b"".join(bytes(b) for b in vector), stop)

    def readfrom_into(self, addr, buf, stop=True):
        interrupt = self.interrupt
        hardware_begin(interrupt)
        try:
            return self._readfrom_into(addr, buf, stop)
        finally:
            hardware_end(interrupt)

    def _readfrom_into(self, addr, buf, stop=True):
        n = len(buf)
        self.transactions += 1
        dev = self._address(addr)
        data = self._read(dev, n)
        self._tick(9 * n + (1 if stop else 0), n)
        self._fill(buf, data, n)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        interrupt = self.interrupt
        hardware_begin(interrupt)
        try:
            return self._readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        finally:
            hardware_end(interrupt)

    def _readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        n = len(buf)
        mem = memaddr.to_bytes(addrsize // 8, "big")
        self.transactions += 1
        dev = self._address(addr)
        self._tick(9 * len(mem), len(mem))
        self._write(dev, mem)
        self._tick(10, 1)  # repeated START, address + R
        data = self._read(dev, n)
        self._tick(9 * n + 1, n)
        self._fill(buf, data, n)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        interrupt = self.interrupt
        hardware_begin(interrupt)
        try:
            return self._writeto_mem(addr, memaddr, buf, addrsize=addrsize)
        finally:
            hardware_end(interrupt)

    def _writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        data = memaddr.to_bytes(addrsize // 8, "big") + bytes(buf)
        self.transactions += 1
        dev = self._address(addr)
        self._tick(9 * len(data), len(data))
        self._write(dev, data)
        self._tick(1)

    def scan(self):
        found = []
        for addr in range(_SCAN_FIRST, _SCAN_LAST + 1):
            self.transactions += 1
            if self._holders and not self.sda():
                self._address(addr)  # times out
            self._tick(10, 1)
            dev = self._devices.get(addr)
            if dev is not None:
                try:
                    dev.i2c_write(b"")
                    found.append(addr)
                except OSError:
                    pass
            self._tick(1)
        return found
