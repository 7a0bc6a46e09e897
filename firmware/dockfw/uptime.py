"""Milliseconds since boot that never wrap, from a clock whose ticks do.

The board's ``ticks_ms`` wraps at 2**30 (about 12.4 days) and an int beyond
2**30 is a heap object there, so time is kept as whole seconds plus a
millisecond remainder; ``t_ms()`` builds the big number only when a report
needs it. ``update()`` must run at least every 2**29 ms (6 days); the sampling
loop calls it every cycle.
"""

from dockfw.viper import native


class Uptime:
    def __init__(self, clock):
        self._clock = clock
        self._last = clock.ticks_ms()
        self.s = 0
        self.ms = 0

    @native  # every sampling cycle
    def update(self):
        now = self._clock.ticks_ms()
        d = self._clock.ticks_diff(now, self._last)
        if d > 0:
            self._last = now
            ms = self.ms + d
            if ms >= 1000:
                self.s += ms // 1000
                ms %= 1000
            self.ms = ms

    def t_ms(self):
        return self.s * 1000 + self.ms
