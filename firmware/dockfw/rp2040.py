"""The RP2040 HAL: the only firmware module that imports ``machine``.

Builds the I2C bus, the charge-enable and LED pins, the clock (the ``time``
module itself), the watchdog and the USB serial link from the board file, and
hands them to ``App`` as one object (see ``dockfw.app`` for the interface).

``main()`` is what ``main.py`` runs at boot. Charging is off whenever the
firmware is not in charge of it: the pin is driven off as soon as it is known,
stays off until the first good sampling cycle, and is switched off again however
``main()`` ends (a Ctrl-C, an error, a reboot). Between a reset and that first
drive the RP2040's pads come up as inputs with their pull-downs on; the board
adds an external pull-down on the switch's enable (docs/hardware.md), so the
switch is off through resets, a bad board file and safe mode too.

Safe mode: with a file ``/SAFE`` on the flash, or the board file's ``safe_mode``
pin held at boot, the firmware does not start (nor its watchdog): charging off,
one ``log`` line, and the REPL is free for mpremote (``make safe``; ``make flash``
goes through it). A dock whose last ``CRASH_BOOTS_TO_SAFE`` boots each ended in
the supervisor's crash reboot parks itself there too.
"""

import gc
import os
import select
import sys
import time

import machine
from micropython import const

from dockfw import protocol
from dockfw.ina219 import bus_timeout_us
from dockfw.protocol import MAX_COMMAND_BYTES
from dockfw.store import FileStore
from dockfw.viper import native

_CAUSES = {machine.PWRON_RESET: "power_on", machine.WDT_RESET: "watchdog"}
_WATCHDOG_CTRL = const(0x40058000)  # RP2040 datasheet 4.7.6: WATCHDOG_BASE + CTRL
_WATCHDOG_ENABLE = 1 << 30
SAFE_FILE = "/SAFE"
CRASH_BOOTS_TO_SAFE = 3
_NL = const(10)
_CHUNK = const(64)  # one USB full-speed packet
_ADC_SPAN_UV = const(1000000)  # far beyond -300..+600 °C: keeps d * 1000 a small int
_READ_BUDGET = const(32)  # bytes read per read_line call: a long line never holds up sampling
_RECOVERY_PULSES = const(9)  # UM10204 3.1.16: a slave lets go within nine clocks


class RP2040:
    def __init__(self, board):
        self.board = board
        self.clock = time
        # The charge pin first: whatever below fails, the switch is driven off.
        self._charge = _charge_pin_off(board)
        self._timeout_us = bus_timeout_us(board.i2c_freq)
        self.i2c = self._bus()
        self._led = (
            machine.Pin(board.led_gpio, machine.Pin.OUT, value=0) if board.led_gpio >= 0 else None
        )
        # The flash chip's 64-bit id: names this dock to hosts that watch several.
        self.uid = "".join("%02x" % b for b in machine.unique_id())
        self.boot_id = _boot_id()
        self.reset_cause = _CAUSES.get(machine.reset_cause(), "other")
        self.store = FileStore("/state")
        self._adc = machine.ADC(4)  # the RP2040's own temperature sensor
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._tx = select.poll()
        self._tx.register(sys.stdout, select.POLLOUT)
        # One byte more than a command may have: a line that fills it is too long, and
        # is returned cut there (the rest discarded up to its newline) to be refused whole.
        self._line = bytearray(MAX_COMMAND_BYTES + 1)
        self._len = 0
        self._byte = bytearray(1)
        self._wdt = None
        self.watchdog_ms = None
        self._collect_timer = machine.Timer(-1)  # rp2's timers are virtual: any id is -1

    def _bus(self):
        # On rp2 this (re)initialises the one static peripheral object and hands its
        # pins back to it: the same object the monitors' drivers already hold.
        b = self.board
        return machine.I2C(
            b.i2c_id,
            scl=machine.Pin(b.scl),
            sda=machine.Pin(b.sda),
            freq=b.i2c_freq,
            timeout=self._timeout_us,
        )

    def recover_bus(self):
        """I2C-bus recovery (NXP UM10204 3.1.16): with SDA released, clock SCL until a
        slave stuck mid-byte lets SDA go (at most nine pulses), then a STOP, then the
        controller re-initialised. True when SDA is high. About 100 µs of pin work."""
        b = self.board
        od = machine.Pin.OPEN_DRAIN
        up = machine.Pin.PULL_UP
        scl = machine.Pin(b.scl, od, up, value=1)
        sda = machine.Pin(b.sda, od, up, value=1)
        half = 500000 // b.i2c_freq + 1  # µs: no faster than the bus's own clock
        for _ in range(_RECOVERY_PULSES):
            if sda.value():
                break
            scl.value(0)
            time.sleep_us(half)
            scl.value(1)
            time.sleep_us(half)
        # STOP: SDA rises while SCL is high.
        scl.value(0)
        time.sleep_us(half)
        sda.value(0)
        time.sleep_us(half)
        scl.value(1)
        time.sleep_us(half)
        sda.value(1)
        time.sleep_us(half)
        released = sda.value() == 1
        self._bus()
        return released

    def write(self, buf, start, end):
        # Only what the USB CDC buffer takes now: a host that holds the port
        # without reading must not stall sampling (the queue drops instead). The
        # stream's write(buf, offset, length) and ipoll: no slice, no list, nothing
        # allocated per hand-over.
        sent = start
        while sent < end and self._tx_ready():
            n = end - sent
            n = self._out.write(buf, sent, n if n < _CHUNK else _CHUNK)
            if not n:
                break
            sent += n
        return sent - start

    def _tx_ready(self):
        for _ in self._tx.ipoll(0):
            return True
        return False

    def _input_waiting(self):
        for _ in self._poll.ipoll(0):  # ipoll: no list allocated per look
            return True
        return False

    @native
    def read_line(self):
        # Byte by byte (reading more than poll() promised would block the sampling loop),
        # as machine code: 27 µs a byte on the RP2040 (69 as bytecode), and at most
        # _READ_BUDGET bytes a call, so that a call stays under a millisecond.
        line = self._line
        byte = self._byte
        ipoll = self._poll.ipoll
        readinto = self._in.readinto
        n = int(self._len)
        cap = len(line)
        for _ in range(_READ_BUDGET):
            for _ in ipoll(0):  # ipoll: no list allocated per look
                break
            else:
                self._len = n
                return None
            if not readinto(byte):
                self._len = n
                return None
            b = int(byte[0])
            if b == _NL:
                self._len = 0
                return bytes(line[:n])
            if n < cap:
                line[n] = b
                n += 1
        self._len = n
        return None

    def wait_us(self, us):
        if us < 1000:
            time.sleep_us(us)  # a busy wait: the core sleeps only in whole milliseconds
            return self._input_waiting()
        # ipoll, not poll: poll() allocates a list at every call, 200 times a second,
        # and a heap that fills brings MicroPython's collection into a sampling gap.
        for _ in self._poll.ipoll(us // 1000):
            return True
        return False

    def running(self):
        return True

    def interrupts(self, poll):
        # Stretches that stand the loop still for longer than two periods (a collection:
        # 12-23 ms on tier C; a line built from Python values: ~6 ms) keep sampling
        # from a hard timer interrupt: MicroPython runs hard handlers even during a
        # collection, and they may not allocate (``poll`` does not).
        if poll is None:
            self._collect_timer.deinit()
        else:
            self._collect_timer.init(
                mode=machine.Timer.PERIODIC, freq=1000, callback=poll, hard=True
            )

    def collect(self):
        gc.collect()

    def charge(self, on):
        self._charge.value(1 if on == self.board.charge_active_high else 0)

    def temp_mc(self):
        # RP2040 datasheet 4.9.5: T = 27 - (V - 0.706) / 0.001721, V = raw * 3.3 / 65535,
        # in small ints (under 2**30: a larger int is a heap object on the board):
        # 3.3 V / 65535 is 50.355 µV a count, 3223 / 64 within 0.01 % of it.
        uv = self._adc.read_u16() * 3223 // 64
        d = uv - 706000
        if d > _ADC_SPAN_UV:
            d = _ADC_SPAN_UV
        elif d < -_ADC_SPAN_UV:
            d = -_ADC_SPAN_UV
        return 27000 - d * 1000 // 1721

    def led(self, on):
        if self._led is not None:
            self._led.value(1 if on else 0)

    def start_watchdog(self, timeout_ms):
        # Once started, rp2's machine.WDT survives a soft reset and has no stop.
        self._wdt = machine.WDT(timeout=timeout_ms)
        self.watchdog_ms = timeout_ms

    def stop_watchdog(self):
        # For a person at the REPL after Ctrl-C (charging is off, the firmware is not
        # running): the RP2040 pauses its watchdog when CTRL.ENABLE is cleared.
        if self._wdt is not None:
            machine.mem32[_WATCHDOG_CTRL] &= ~_WATCHDOG_ENABLE
            self._wdt = None
            self.watchdog_ms = None

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()


def _safe_mode_reason(board):
    try:
        os.stat(SAFE_FILE)
        return SAFE_FILE + " exists"
    except OSError:
        pass
    if board.safe_gpio >= 0:
        pull = machine.Pin.PULL_DOWN if board.safe_active_high else machine.Pin.PULL_UP
        pin = machine.Pin(board.safe_gpio, machine.Pin.IN, pull)
        time.sleep_ms(2)  # let the pull settle
        if pin.value() == (1 if board.safe_active_high else 0):
            return "GPIO%d held at boot" % board.safe_gpio
    return None


def _charge_pin_off(board):
    off = 0 if board.charge_active_high else 1
    return machine.Pin(board.charge_gpio, machine.Pin.OUT, value=off)


def _boot_id():
    return "%08x" % int.from_bytes(os.urandom(4), "big")


def _error_text(e):
    return "%s: %s" % (type(e).__name__, e)


def _log(text, boot_id):
    sys.stdout.buffer.write(protocol.encode(protocol.LOG, 0, boot_id, 0, [("msg", text)]))


def main(board_path="board.json"):
    from dockfw.app import App
    from dockfw.board import BoardError, load

    try:
        board = load(board_path)
    except BoardError as e:
        # The charge pin is not known: the pull-down holds the switch off.
        _log("pogodock: bad board file, the firmware does not start: %s" % e, _boot_id())
        return
    try:
        hal = RP2040(board)  # drives the charge pin off first thing
    except Exception as e:
        try:
            _charge_pin_off(board)
        except Exception:
            pass  # the pull-down holds the switch off
        _log(
            "pogodock: the dock's hardware could not be set up (%s), charging off, the "
            "firmware does not start" % _error_text(e),
            _boot_id(),
        )
        return
    reason = _safe_mode_reason(board)
    if reason is None:
        try:
            app = App(hal)
        except Exception as e:
            hal.charge(False)
            _log(
                "pogodock: the firmware could not start (%s), charging off" % _error_text(e),
                hal.boot_id,
            )
            return
        if app.crash_boots >= CRASH_BOOTS_TO_SAFE:
            reason = "the last %d boots ended in firmware errors" % app.crash_boots
    if reason is not None:
        hal.charge(False)
        _log(
            "pogodock: safe mode (%s): firmware not running, charging off; `make resume` "
            "leaves it (removes %s and the crash count, then resets)" % (reason, SAFE_FILE),
            hal.boot_id,
        )
        return
    from dockfw.app import WATCHDOG_MS

    hal.start_watchdog(WATCHDOG_MS)
    try:
        app.run()
    except KeyboardInterrupt:
        # Ctrl-C: a person (or mpremote) wants the REPL. Charging goes off below and
        # the firmware stops, so the watchdog has nothing left to guard.
        hal.stop_watchdog()
        raise
    finally:
        hal.charge(False)
        hal.led(False)
    if app.reboot_requested:
        machine.reset()
