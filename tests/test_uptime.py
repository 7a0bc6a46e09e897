from dockfw.uptime import Uptime
from docksim.clock import SimClock


def test_ticks_wrap_at_2_to_the_30():
    clock = SimClock(start_us=(1 << 30) - 10)
    before = clock.ticks_us()
    clock.advance_us(20)
    assert clock.ticks_us() == 10
    assert clock.ticks_diff(clock.ticks_us(), before) == 20
    assert clock.ticks_add((1 << 30) - 1, 2) == 1


def test_uptime_never_wraps_across_many_tick_wraps():
    # Start just before a ticks_ms wrap and run 60 simulated days in 100 s steps.
    clock = SimClock(start_us=((1 << 30) - 5000) * 1000)
    up = Uptime(clock)
    step_us = 100_000_000
    days = 60
    for _ in range(days * 864):
        clock.advance_us(step_us)
        up.update()
    assert up.t_ms() == days * 86_400_000
    assert 0 <= up.ms < 1000
