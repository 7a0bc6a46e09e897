"""The RP2040 HAL: the only firmware module that imports ``machine``.

Builds the I2C bus, the charge-enable and LED pins, the clock (the ``time``
module itself) and the USB serial link from the board file, and hands them to
``App`` as one object (see ``dockfw.app`` for the interface).
"""

import os
import select
import sys
import time

import machine
from micropython import const

from dockfw.protocol import MAX_COMMAND_BYTES
from dockfw.store import FileStore

_CAUSES = {machine.PWRON_RESET: "power_on", machine.WDT_RESET: "watchdog"}
_NL = const(10)
_CHUNK = const(64)  # one USB full-speed packet


class RP2040:
    def __init__(self, board):
        self.board = board
        self.clock = time
        self.i2c = machine.I2C(
            board.i2c_id,
            scl=machine.Pin(board.scl),
            sda=machine.Pin(board.sda),
            freq=board.i2c_freq,
        )
        self._charge = machine.Pin(board.charge_gpio, machine.Pin.OUT, value=0)
        self._led = (
            machine.Pin(board.led_gpio, machine.Pin.OUT, value=0) if board.led_gpio >= 0 else None
        )
        # The flash chip's 64-bit id: names this dock to hosts that watch several.
        self.uid = "".join("%02x" % b for b in machine.unique_id())
        self.boot_id = "%08x" % int.from_bytes(os.urandom(4), "big")
        self.reset_cause = _CAUSES.get(machine.reset_cause(), "other")
        self.store = FileStore("/state")
        self._adc = machine.ADC(4)  # the RP2040's own temperature sensor
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._tx = select.poll()
        self._tx.register(sys.stdout, select.POLLOUT)
        self._line = bytearray(MAX_COMMAND_BYTES)
        self._len = 0

    def write(self, buf):
        # Only what the USB CDC buffer takes now: a host that holds the port
        # without reading must not stall sampling (the queue drops instead).
        sent = 0
        while sent < len(buf) and self._tx.poll(0):
            n = self._out.write(buf[sent : sent + _CHUNK])
            if not n:
                break
            sent += n
        return sent

    def read_line(self):
        # Byte by byte: a whole-line read could block the sampling loop.
        while self._poll.poll(0):
            ch = self._in.read(1)
            if not ch:
                return None
            if ch[0] == _NL:
                line = bytes(self._line[: self._len])
                self._len = 0
                return line
            if self._len < len(self._line):
                self._line[self._len] = ch[0]
                self._len += 1
        return None

    def wait_us(self, us):
        if us < 2000:
            time.sleep_us(us)
            return False
        return bool(self._poll.poll(us // 1000))

    def running(self):
        return True

    def charge(self, on):
        self._charge.value(1 if on == self.board.charge_active_high else 0)

    def temp_mc(self):
        # RP2040 datasheet 4.9.5: T = 27 - (V - 0.706) / 0.001721, V = raw * 3.3 / 65535.
        uv = self._adc.read_u16() * 3300000 // 65535
        return 27000 - (uv - 706000) * 1000 // 1721

    def led(self, on):
        if self._led is not None:
            self._led.value(1 if on else 0)


def main(board_path="board.json"):
    from dockfw.app import App
    from dockfw.board import load

    app = App(RP2040(load(board_path)))
    app.run()
    if app.reboot_requested:
        machine.reset()
