import errno

import pytest
from docksim.clock import SimClock
from docksim.i2cbus import SimI2C


class Echo:
    """A toy device: remembers writes, answers reads from ``reply``."""

    def __init__(self, reply=b"\x12\x34"):
        self.reply = reply
        self.writes = []
        self.nak = False

    def i2c_write(self, data):
        if self.nak:
            raise OSError(errno.EIO)
        self.writes.append(bytes(data))

    def i2c_read(self, n):
        if self.nak:
            raise OSError(errno.EIO)
        return self.reply[:n]


@pytest.fixture
def rig():
    clock = SimClock()
    bus = SimI2C(400000, clock)
    dev = Echo()
    bus.attach(0x40, dev)
    return clock, bus, dev


def test_register_read_with_pointer_is_48_clocks_120_us(rig):
    clock, bus, dev = rig
    buf = bytearray(2)
    bus.readfrom_mem_into(0x40, 0x01, buf)
    assert bytes(buf) == b"\x12\x34"
    assert dev.writes == [b"\x01"]
    assert bus.clocks == 48
    assert bus.bytes == 5  # addr+W, pointer, addr+R, 2 data
    assert bus.transactions == 1
    assert bus.wire_us() == 120
    assert clock.now_us == 120


def test_read_without_pointer_is_29_clocks_and_fractions_carry(rig):
    clock, bus, _ = rig
    buf = bytearray(2)
    bus.readfrom_into(0x40, buf)
    assert bus.clocks == 29 and bus.bytes == 3
    assert clock.now_us == 72  # 72.5 µs, half a µs carried
    bus.readfrom_into(0x40, buf)
    assert clock.now_us == 145  # exact over two reads
    assert bus.wire_us() == 145
    for _ in range(998):
        bus.readfrom_into(0x40, buf)
    assert bus.clocks == 29000
    assert clock.now_us == 72500 == bus.wire_us()


def test_write_and_split_read_clock_counts(rig):
    _, bus, dev = rig
    bus.writeto_mem(0x40, 0x05, b"\x10\x00")
    assert dev.writes == [b"\x05\x10\x00"]
    assert bus.clocks == 1 + 9 + 9 + 18 + 1
    bus.reset_counters()
    assert (bus.clocks, bus.bytes, bus.transactions) == (0, 0, 0)
    # writeto without STOP + readfrom after a repeated START == readfrom_mem
    assert bus.writeto(0x40, b"\x02", False) == 1
    assert bus.readfrom(0x40, 2) == b"\x12\x34"
    assert bus.clocks == 48
    assert bus.transactions == 2


def test_frequency_sets_wire_time():
    clock = SimClock()
    bus = SimI2C(100000, clock)
    bus.attach(0x41, Echo())
    bus.readfrom_mem(0x41, 0, 2)
    assert bus.wire_us() == 480 == clock.now_us


def test_missing_address_naks_with_eio_after_11_clocks(rig):
    clock, bus, _ = rig
    with pytest.raises(OSError) as exc:
        bus.readfrom_mem(0x41, 0, 2)
    assert exc.value.args[0] == errno.EIO
    assert bus.clocks == 11  # START, address byte, STOP
    assert bus.transactions == 1
    assert clock.now_us == 27  # 27.5 µs
    for call in (
        lambda: bus.readfrom(0x41, 2),
        lambda: bus.writeto(0x41, b"\x00"),
        lambda: bus.writeto_mem(0x41, 0, b"\x00\x00"),
        lambda: bus.readfrom_mem_into(0x41, 0, bytearray(2)),
        lambda: bus.readfrom_into(0x41, bytearray(2)),
    ):
        with pytest.raises(OSError) as exc:
            call()
        assert exc.value.args[0] == errno.EIO


def test_device_nak_becomes_eio(rig):
    _, bus, dev = rig
    dev.nak = True
    with pytest.raises(OSError) as exc:
        bus.readfrom_mem(0x40, 0, 2)
    assert exc.value.args[0] == errno.EIO
    dev.nak = False
    assert bus.readfrom_mem(0x40, 0, 2) == b"\x12\x34"


def test_scan_lists_acking_devices(rig):
    _, bus, dev = rig
    other = Echo()
    bus.attach(0x45, other)
    bus.attach(0x03, Echo())  # reserved address: scan does not probe it
    assert bus.scan() == [0x40, 0x45]
    assert bus.clocks == 112 * 11
    assert bus.transactions == 112
    assert dev.writes == [b""]  # an address-only probe
    other.nak = True
    assert bus.scan() == [0x40]
    bus.detach(0x40)
    assert bus.scan() == []


def test_buffers_memoryview_and_short_replies(rig):
    _, bus, dev = rig
    buf = bytearray(4)
    bus.readfrom_into(0x40, memoryview(buf)[1:3])
    assert bytes(buf) == b"\x00\x12\x34\x00"
    dev.reply = b"\x56"
    assert bus.readfrom(0x40, 3) == b"\x56\xff\xff"  # bus idles high
    assert bus.writevto(0x40, (b"\x00", bytearray(b"\x01\x02"))) == 3
    assert dev.writes[-1] == b"\x00\x01\x02"
    bus.readfrom_mem(0x40, 0x0102, 2, addrsize=16)
    assert dev.writes[-1] == b"\x01\x02"


def test_without_clock_counts_only():
    bus = SimI2C()
    bus.attach(0x40, Echo())
    bus.readfrom_mem(0x40, 0, 2)
    assert bus.clocks == 48 and bus.wire_us() == 120


def test_bad_arguments():
    with pytest.raises(ValueError):
        SimI2C(0)
    with pytest.raises(ValueError):
        SimI2C().attach(0x80, Echo())
