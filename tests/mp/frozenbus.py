# A HAL whose I2C bus answers from fixed register values without allocating: for
# measuring what the firmware itself allocates per cycle (the simulated chips
# allocate, so they cannot be used for that).
import gc

from dockfw.board import load
from dockfw.store import MemoryStore
from docksim.clock import SimClock


class FrozenBus:
    def __init__(self):
        self.regs = {}  # addr -> bytearray(12): six big-endian registers
        self.ptr = {}

    def add(self, addr, shunt_counts, bus_mv):
        r = bytearray(12)
        self.regs[addr] = r
        self.ptr[addr] = 0
        self.set(addr, 1, shunt_counts & 0xFFFF)
        self.set(addr, 2, (bus_mv // 4) << 3 | 2)  # CNVR set

    def set(self, addr, reg, value):
        r = self.regs[addr]
        r[2 * reg] = value >> 8 & 0xFF
        r[2 * reg + 1] = value & 0xFF

    def readfrom_mem_into(self, addr, reg, buf):
        self.ptr[addr] = reg
        self.readfrom_into(addr, buf)

    def readfrom_into(self, addr, buf):
        r = self.regs[addr]
        i = 2 * self.ptr[addr]
        buf[0] = r[i]
        buf[1] = r[i + 1]

    def writeto_mem(self, addr, reg, buf):
        self.ptr[addr] = reg
        self.set(addr, reg, buf[0] << 8 | buf[1])


class FrozenHal:
    """A docked device drawing about 1.5 A, every pin's contact near 35 mOhm."""

    def __init__(self, board_path="boards/pico-dock-4.json"):
        self.board = load(board_path)
        self.clock = SimClock()
        self.i2c = FrozenBus()
        self.store = MemoryStore()
        self.uid = "e66038b7136a2c2d"
        self.boot_id = "00000000"
        self.reset_cause = "power_on"
        self.sent = 0
        self.watchdog_ms = None
        for p in self.board.pins:
            # 750 mA through a 10 mOhm shunt: 7.5 mV = 750 counts.
            self.i2c.add(p.addr, 750, 4990 if p.role == "supply" else 0)
        for s in self.board.sense:
            # 7.5 mV shunt + 26 mV contact drop.
            self.i2c.add(s.addr, 3350, 4960 if s.node == "supply" else 0)

    def write(self, buf, start, end):
        self.sent += end - start
        return end - start

    def read_line(self):
        return None

    def wait_us(self, us):
        self.clock.advance_us(us)
        return False

    def running(self):
        return True

    def interrupts(self, poll):
        pass  # the interrupt's cycles are the simulator's and tier C's business

    def collect(self):
        gc.collect()

    def charge(self, on):
        pass

    def led(self, on):
        pass

    def temp_mc(self):
        return 25000

    def feed(self):
        pass


def docked_app(hal):
    """An App on ``hal``, run 2 s at 200 Hz: docked, settled, baselines learnt."""
    from dockfw.app import App

    app = App(hal)
    app.start()
    for _ in range(400):
        hal.clock.advance_us(5000)
        app.step()
    return app


def alloc_per_cycle_of(app, hal, cycles):
    """Heap allocated per sampling cycle (read, summarise, detect), the collector off."""
    import gc

    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(cycles):
            hal.clock.advance_us(5000)
            app.cycle()
        return (gc.mem_alloc() - before) / cycles
    finally:
        gc.enable()
