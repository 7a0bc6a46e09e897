"""Simulated time with the board's ``time`` API: ticks that wrap at 2**30.

The firmware is handed a clock object instead of importing ``time``; on the
board that object is the ``time`` module itself, here it is ``SimClock``.
``now_us`` is the simulator's own never-wrapping time in microseconds.

An alarm (``set_alarm``) stops time at a chosen instant and calls back there, in
the middle of whatever was letting time pass (a wait, an I2C transfer): that is
how a power cut falls at its exact moment.
"""

_PERIOD = 1 << 30
_MASK = _PERIOD - 1
_HALF = _PERIOD >> 1


class SimClock:
    def __init__(self, start_us=0, realtime=None):
        self.now_us = start_us
        # realtime: a callable sleeping for a number of seconds, or None to run
        # simulated time as fast as the CPU allows (``--fast``).
        self._realtime = realtime
        self._alarm_us = None
        self._on_alarm = None

    def set_alarm(self, at_us, callback):
        """Call ``callback()`` when time reaches ``at_us`` (None: no alarm), with
        ``now_us`` exactly there; time passing beyond it waits for the callback."""
        self._alarm_us = at_us
        self._on_alarm = callback

    def _ring(self, at_us):
        callback = self._on_alarm
        self.now_us = at_us
        self._alarm_us = self._on_alarm = None
        if callback is not None:
            callback()

    def ticks_us(self):
        return self.now_us & _MASK

    def ticks_ms(self):
        return (self.now_us // 1000) & _MASK

    def ticks_cpu(self):
        return self.ticks_us()

    def ticks_add(self, ticks, delta):
        return (ticks + delta) & _MASK

    def ticks_diff(self, a, b):
        return ((a - b + _HALF) & _MASK) - _HALF

    def advance_us(self, us):
        """Let simulated time pass without sleeping (e.g. I2C wire time)."""
        if us > 0:
            end = self.now_us + us
            alarm = self._alarm_us
            if alarm is not None and end >= alarm:
                self._ring(alarm)
            self.now_us = end

    def sleep_us(self, us):
        if us <= 0:
            return
        end = self.now_us + us
        alarm = self._alarm_us
        if alarm is not None and end >= alarm:
            if self._realtime is not None:
                self._realtime((alarm - self.now_us) / 1000000)
            self._ring(alarm)
        if self._realtime is not None:
            self._realtime((end - self.now_us) / 1000000)
        self.now_us = end

    def sleep_ms(self, ms):
        self.sleep_us(ms * 1000)

    def sleep(self, s):
        self.sleep_us(int(s * 1000000))
