# A hand-driven context for the alignment and intermittent detectors: per-cycle
# values written straight into sampler-like arrays, no chips, no simulator. Runs
# under CPython (tests/test_*.py) and MicroPython (tests/mp/), allocates nothing
# per cycle itself, so the detectors' own allocation can be measured.
from array import array

from dockfw.board import load
from dockfw.sampler import ST_LOW_CURRENT, UNKNOWN
from dockfw.store import MemoryStore
from docksim.clock import SimClock


class _Docking:
    def __init__(self):
        self.present = True
        self.ok = True

    def settled(self):
        return self.present and self.ok


class _Report:
    def __init__(self, n):
        self.r = array("i", [UNKNOWN] * n)
        self.i = array("i", [0] * n)

    def r_uohm(self, j):
        return self.r[j]

    def i_ma(self, j):
        return self.i[j]

    def i_dma(self, j):
        return self.i[j] * 10


class FakeSampler:
    def __init__(self, n):
        self.n = n
        self.i_ua = array("i", [0] * n)
        self.drop_uv = array("i", [0] * n)
        self.r_uohm = array("i", [UNKNOWN] * n)
        self.status = array("b", [0] * n)
        self.presence_known = True


class FakeCtx:
    """``set_pin`` then ``step()`` per cycle; ``report()`` per report; events in ``events``."""

    def __init__(self, board="boards/pico-dock-4.json", sample_hz=200):
        self.board = load(board)
        n = len(self.board.pins)
        self.n = n
        self.clock = SimClock()
        self.sample_millihz = sample_hz * 1000
        self.period_us = 1000000 // sample_hz
        self.docking = _Docking()
        self.report = _Report(n)
        self.charging = True
        self.s = FakeSampler(n)
        self.sampler = self.s
        self.events = []
        self.detectors = ()
        self.min_ua = self.board.min_current_ma * 1000

    def event(self, kind, pins, severity, fields=()):
        self.events.append((kind, [self.board.pins[j].name for j in pins], severity, dict(fields)))

    def t_s(self):
        return self.clock.now_us // 1000000

    def index(self, name):
        for p in self.board.pins:
            if p.name == name:
                return p.index
        raise KeyError(name)

    def set_pin(self, j, i_ua, r_uohm):
        """Pin ``j`` carries ``i_ua`` through a contact of ``r_uohm`` (None: open)."""
        s = self.s
        s.i_ua[j] = i_ua
        if r_uohm is None or i_ua < self.min_ua:
            s.r_uohm[j] = UNKNOWN
            s.status[j] = ST_LOW_CURRENT
            s.drop_uv[j] = 0 if r_uohm is not None else 320000
        else:
            s.r_uohm[j] = r_uohm
            s.status[j] = 0
            s.drop_uv[j] = i_ua // 1000 * r_uohm // 1000

    def share(self, total_ua, r_uohm):
        """Split ``total_ua`` over each role's pins inversely to contact + 10 mOhm shunt;
        ``r_uohm`` per pin, None for an open pin."""
        pins = self.board.pins
        for role in ("supply", "ground"):
            g = [0] * self.n
            gs = 0
            for p in pins:
                if p.role == role and r_uohm[p.index] is not None:
                    g[p.index] = 10**9 // (r_uohm[p.index] + 10000)
                    gs += g[p.index]
            for p in pins:
                if p.role == role:
                    i = total_ua * g[p.index] // gs if gs else 0
                    self.set_pin(p.index, i, r_uohm[p.index])

    def step(self):
        self.clock.advance_us(self.period_us)
        now = self.clock.ticks_ms()
        for d in self.detectors:
            d.cycle(self.s, now)

    def do_report(self):
        for j in range(self.n):
            self.report.r[j] = self.s.r_uohm[j]
            self.report.i[j] = self.s.i_ua[j] // 1000
        for d in self.detectors:
            d.report(self)


class NoVerdicts:
    """What ``Drift`` is handed for the alignment and intermittent detectors where a
    test feeds it sessions by hand: no pin misaligned, none intermittent."""

    def misaligned(self, j):
        return False

    def active(self, j):
        return False


CLEAN = NoVerdicts()


PINS = ("VBUS1", "GND1", "GND2", "VBUS2")


class _Pin:
    def __init__(self, name, index, rated):
        self.name = name
        self.index = index
        self.rated_cycles = rated


class _Board:
    def __init__(self, rated):
        self.pins = [_Pin(n, i, rated[i]) for i, n in enumerate(PINS)]


class _Counts:
    def __init__(self, cycles):
        self.cycles = array("i", cycles)


class SessionCtx:
    """The context of the detectors that judge whole sessions (drift, wear), fed by
    hand: four pins (``PINS``), a store, the docking's mating cycles; events in
    ``events`` as (kind, pin names, severity, fields as a dict)."""

    def __init__(self, store=None, cycles=(0, 0, 0, 0), rated=(10000, 10000, 10000, 10000)):
        self.board = _Board(rated)
        self.store = store or MemoryStore()
        self.docking = _Counts(cycles)
        self.events = []

    def event(self, kind, pins, severity, fields=()):
        self.events.append((kind, [PINS[j] for j in pins], severity, dict(fields)))

    def of(self, kind):
        return [e for e in self.events if e[0] == kind]
