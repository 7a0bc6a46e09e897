# Tier B: firmware core modules under the real MicroPython interpreter.
from dockfw import board, protocol
from dockfw.uptime import Uptime
from docksim.clock import SimClock


def test_fixed_point_and_envelope():
    line = protocol.encode(protocol.SAMPLE, 3, "ab", 5000000000, [("r", protocol.Fixed(35210, 3))])
    assert line == b'{"v":1,"type":"sample","seq":3,"boot":"ab","t_ms":5000000000,"r":35.21}\n', (
        line
    )
    rec = protocol.decode(line)
    assert rec["seq"] == 3 and rec["t_ms"] == 5000000000


def test_uptime_survives_tick_wraps():
    clock = SimClock(start_us=((1 << 30) - 5000) * 1000)
    up = Uptime(clock)
    for _ in range(864 * 20):  # 20 days in 100 s steps: ticks_ms wraps past 2**30 ms
        clock.advance_us(100000000)
        up.update()
    assert up.t_ms() == 20 * 86400000, up.t_ms()


def test_board_files_load_and_bad_ones_name_the_field():
    b = board.load("boards/pico-dock-4.json")
    assert [p.name for p in b.pins] == ["VBUS1", "GND1", "GND2", "VBUS2"]
    try:
        board.parse({"name": "x", "mcu": "avr"}, "bad.json")
    except board.BoardError as e:
        assert str(e).startswith("bad.json: "), str(e)
    else:
        raise AssertionError("a bad board was accepted")
