"""The ``machine`` module of the virtual board: the rp2 port's API over simulated hardware.

Installed as ``sys.modules["machine"]`` before any firmware runs. What the dock's
firmware and mpremote use behaves as on a Pico: ``I2C`` (the monitors answer on the
bus and pins the scenario's board file names; any other bus is empty, so every
address NAKs with ``OSError(EIO)``), ``SoftI2C``, ``Pin`` (the charge-enable pin
switches the simulated rail), ``ADC(4)`` (the die temperature, from the scenario's
``heat`` events), ``reset`` (a hard reset: the interpreter restarts, ``reset_cause()``
then says ``WDT_RESET`` as the rp2 port's watchdog reboot does), ``soft_reset``,
``reset_cause``, ``unique_id``, ``freq``, ``RTC``, and ``WDT``, the rp2 port's watchdog
(``ports/rp2/machine_wdt.c``): the supervisor enforces it, so it bites a program stuck
in a loop or a blocking call too; ``mem32`` has the watchdog's CTRL register only
(clearing its ENABLE bit stops the watchdog, as on the RP2040). ``Timer`` keeps
the rp2 port's signature, but the unix interpreter has no interrupt to run a
callback from: the calls that came due are made when the timer is stopped (the
firmware runs one only around a garbage collection), the heap locked as in a hard
interrupt. Not there: ``PWM``, ``UART``, ``SPI``, the other registers.
"""

import time

import micropython
from docksim.i2cbus import SimI2C

PWRON_RESET = 1
WDT_RESET = 3

_hw = None  # vb_hardware.Hardware, set by attach()
_reset_cause = PWRON_RESET
_hard_reset = None  # a callable that never returns
_console = None  # vb_console.Console: the watchdog is reported on its control line
_N_GPIO = 30
_LED_GPIO = 25  # Pin("LED") on a Pico
_rtc_offset_s = 0
_freq = 125000000


def attach(hardware, reset_cause, hard_reset, console):
    """Wire this module to the board's hardware (called once, at interpreter start)."""
    global _hw, _reset_cause, _hard_reset, _console
    _hw = hardware
    _reset_cause = reset_cause
    _hard_reset = hard_reset
    _console = console


def _hardware():
    if _hw is None:
        raise RuntimeError("machine is not wired to the virtual board's hardware")
    return _hw


def _gpio(pin):
    if isinstance(pin, Pin):
        return pin.id
    if pin == "LED":
        return _LED_GPIO
    if isinstance(pin, int) and 0 <= pin < _N_GPIO:
        return pin
    raise ValueError("invalid pin")


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, *, value=None, **kw):
        self.id = _gpio(id)
        self._mode = self.IN
        self._pull = None
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, **kw):
        if mode != -1:
            self._mode = mode
        if pull != -1:
            self._pull = pull
        if value is not None:
            self.value(value)
        elif mode == self.OUT:
            self.value(_hardware().level(self.id))
        return None

    def value(self, v=None):
        if v is None:
            hw = _hardware()
            if self._mode == self.IN and not hw.driven(self.id):
                # Nothing on the dock drives this pin: it reads what its pull makes it.
                return 1 if self._pull == self.PULL_UP else 0
            return hw.level(self.id)
        _hardware().drive(self.id, 1 if v else 0)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    high = on
    low = off

    def toggle(self):
        self.value(0 if self.value() else 1)

    def mode(self, mode=None):
        if mode is None:
            return self._mode
        self._mode = mode
        return None

    def pull(self, pull=None):
        if pull is None:
            return self._pull
        self._pull = pull
        return None

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        return None  # no pin changes by themselves on this board

    def __repr__(self):
        return "Pin(GPIO%d, mode=%s)" % (
            self.id,
            ("IN", "OUT", "OPEN_DRAIN", "ALT")[self._mode & 3],
        )


class I2C(SimI2C):
    """rp2's hardware I2C: ``I2C(id, scl=Pin, sda=Pin, freq=400000)``."""

    _DEFAULT_PINS = ((9, 8), (7, 6))  # (scl, sda) of I2C0 and I2C1 on the rp2 port

    def __init__(self, id, *, scl=None, sda=None, freq=400000, timeout=50000):
        if id not in (0, 1):
            raise ValueError("I2C(%s) doesn't exist" % (id,))
        scl = _gpio(scl) if scl is not None else self._DEFAULT_PINS[id][0]
        sda = _gpio(sda) if sda is not None else self._DEFAULT_PINS[id][1]
        # The RP2040's pin mux: I2C0 SDA/SCL on GPIO 4k/4k+1, I2C1 on 4k+2/4k+3.
        if scl % 4 != 2 * id + 1:
            raise ValueError("bad SCL pin")
        if sda % 4 != 2 * id:
            raise ValueError("bad SDA pin")
        SimI2C.__init__(self, freq, _hardware().clock, timeout)
        _hardware().attach_bus(self, id, scl, sda)

    def init(self, *a, **kw):
        return None

    def deinit(self):
        return None


class SoftI2C(SimI2C):
    """Bit-banged I2C on any two pins: the monitors answer on the board's pins."""

    def __init__(self, scl, sda, *, freq=400000, timeout=50000):
        SimI2C.__init__(self, freq, _hardware().clock, timeout)
        _hardware().attach_bus(self, None, _gpio(scl), _gpio(sda))


class ADC:
    CORE_TEMP = 4

    def __init__(self, pin):
        gpio = pin.id if isinstance(pin, Pin) else pin
        if gpio in (26, 27, 28, 29):
            gpio -= 26
        if gpio not in (0, 1, 2, 3, 4):
            raise ValueError("invalid ADC channel")
        self.channel = gpio

    def read_u16(self):
        if self.channel == 4:
            return _hardware().temp_adc_u16()
        return 0  # nothing is wired to the ADC pins of the dock


def _int_arg(v):
    # What mp_obj_get_int accepts: ints and bools.
    if isinstance(v, bool):
        return int(v)
    if not isinstance(v, int):
        raise TypeError("can't convert %s to int" % type(v).__name__)
    return v


_WDT_TIMEOUT_MAX = 8388  # ms: the RP2040's 24-bit counter, decremented twice per µs
_WATCHDOG_CTRL = 0x40058000  # RP2040 datasheet 4.7.6: WATCHDOG_BASE + CTRL
_WATCHDOG_ENABLE = 1 << 30
_wdt_timeout = None  # ms, while this interpreter's WDT runs


class WDT:
    """The rp2 watchdog: ``WDT(id=0, timeout=5000)``, ``feed()``.

    As ``machine_wdt.c``: only id 0; a timeout above 8388 ms (or below 0: the port
    takes it unsigned) is a ValueError; 0 resets at once (the SDK triggers the
    watchdog). Every call (re)starts the one watchdog with the new timeout. Once
    started nothing stops it: it runs on through a soft reset (the REPL never feeds
    it); only a hard reset, its own bite or a power cut ends it.
    """

    def __init__(self, id=0, timeout=5000):
        id = _int_arg(id)
        if id != 0:
            raise ValueError("WDT(%d) doesn't exist" % id)
        timeout = _int_arg(timeout)
        if not 0 <= timeout <= _WDT_TIMEOUT_MAX:
            raise ValueError("timeout exceeds %d" % _WDT_TIMEOUT_MAX)
        if timeout == 0:
            reset()
        global _wdt_timeout
        _wdt_timeout = timeout
        if _console is not None:
            _console.watchdog_started(timeout)

    def feed(self):
        if _console is not None:
            _console.watchdog_fed()


class _Mem32:
    """``machine.mem32``: the RP2040's watchdog CTRL register, nothing else. Clearing
    its ENABLE bit stops the watchdog (what ``dockfw.rp2040`` does after a Ctrl-C);
    setting it again starts it with its last timeout."""

    def _check(self, addr):
        if addr != _WATCHDOG_CTRL:
            raise ValueError(
                "the virtual board's mem32 has only the watchdog's CTRL (0x%08x), not 0x%08x"
                % (_WATCHDOG_CTRL, addr)
            )

    def __getitem__(self, addr):
        self._check(addr)
        return _WATCHDOG_ENABLE if _wdt_timeout is not None else 0

    def __setitem__(self, addr, value):
        global _wdt_timeout
        self._check(addr)
        if _console is None:
            return
        if value & _WATCHDOG_ENABLE:
            if _wdt_timeout is not None:
                _console.watchdog_started(_wdt_timeout)
        else:
            _wdt_timeout = None
            _console.watchdog_stopped()


mem32 = _Mem32()


class RTC:
    def datetime(self, dt=None):
        global _rtc_offset_s
        if dt is None:
            t = time.localtime(time.time() + _rtc_offset_s)
            # (year, month, day, weekday, hours, minutes, seconds, subseconds)
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        target = time.mktime((dt[0], dt[1], dt[2], dt[4], dt[5], dt[6], 0, 0))
        _rtc_offset_s = target - int(time.time())
        return None


def reset():
    if _hard_reset is not None:
        _hard_reset()


def soft_reset():
    raise SystemExit  # what the rp2 port raises: the REPL turns it into a soft reboot


def reset_cause():
    return _reset_cause


def unique_id():
    return _hardware().unique_id


def freq(hz=None):
    global _freq
    if hz is None:
        return _freq
    _freq = hz
    return None


def idle():
    time.sleep_ms(1)


def lightsleep(ms=None):
    time.sleep_ms(ms if ms is not None else 0)


def deepsleep(ms=None):
    lightsleep(ms)
    reset()


def bootloader(*a):
    raise NotImplementedError("the virtual board has no USB bootloader")


def disable_irq():
    return 0


def enable_irq(state=0):
    return None


class Timer:
    PERIODIC = 1
    ONE_SHOT = 0

    def __init__(self, id=-1, **kw):
        self._callback = None
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, period=-1, tick_hz=1000, freq=None, callback=None, hard=True):
        if freq is not None:
            period, tick_hz = 1, freq
        self._period_us = period * 1000000 // tick_hz if tick_hz > 0 else 0
        if self._period_us <= 0:
            raise ValueError("period too small")
        self._periodic = mode == Timer.PERIODIC
        self._hard = hard
        self._callback = callback
        self._start_us = time.ticks_us()

    def deinit(self):
        callback, self._callback = self._callback, None
        if callback is None:
            return
        due = time.ticks_diff(time.ticks_us(), self._start_us) // self._period_us
        if not self._periodic:
            due = min(due, 1)
        for _ in range(due):
            if self._hard:
                micropython.heap_lock()
            try:
                callback(self)
            finally:
                if self._hard:
                    micropython.heap_unlock()
