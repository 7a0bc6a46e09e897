"""The dock's main loop: sample on schedule, detect, report, answer commands.

``App`` is handed a HAL object and never touches hardware itself. A HAL has:
``i2c`` (``machine.I2C``-like), ``clock`` (``time``-like: ticks_ms, ticks_us,
ticks_diff, ticks_add), ``board`` (``dockfw.board.Board``), ``store``
(``dockfw.store``), ``uid`` (the board's unique id, hex), ``boot_id`` and
``reset_cause`` (str), ``write(buf) -> int``
(takes what the link accepts now, never blocks; returns the byte count),
``read_line() -> bytes or None`` (never blocks), ``wait_us(us) -> bool`` (sleeps
at most ``us``, True early when host input is waiting), ``running()``,
``charge(on)``, ``led(on)`` and ``temp_mc()`` (the dock's temperature in
milli-°C, or None). ``dockfw.rp2040`` builds one from ``machine``; the simulator
builds one from simulated chips.

Data flows one way: sampler (registers -> per-pin values) -> detectors (per
cycle, then per report) -> health -> lines on the wire and the charge switch.
"""

import gc

from dockfw import protocol
from dockfw.alignment import Alignment
from dockfw.board import SUPPLY
from dockfw.commands import Commands
from dockfw.docking import Docking
from dockfw.drift import Drift
from dockfw.health import Health
from dockfw.intermittent import Intermittent
from dockfw.outqueue import OutQueue
from dockfw.protection import Protection
from dockfw.protocol import Fixed, Obj
from dockfw.report import Report
from dockfw.sampler import Sampler
from dockfw.store import INT, need
from dockfw.uptime import Uptime
from dockfw.wear import Wear

FIRMWARE_VERSION = "0.2.0"
_MICROPYTHON_HEAP = hasattr(gc, "mem_free")
HEALTH_MS = 1000
CLOCK_STATE = "clock"
_STATE_VERSION = 1


def _mhz(hz):
    return int(hz * 1000 + 0.5)


class App:
    def __init__(self, hal, sample_hz=None, idle_hz=None, report_hz=None):
        # Collect before the long-lived buffers are allocated, so they fill the
        # space start-up garbage leaves instead of landing between its holes.
        gc.collect()
        board = hal.board
        self.hal = hal
        self.board = board
        self.clock = hal.clock
        self.store = hal.store
        self.sample_mhz = _mhz(sample_hz if sample_hz is not None else board.sample_hz)
        self.idle_mhz = _mhz(idle_hz if idle_hz is not None else board.idle_hz)
        self.report_mhz = _mhz(report_hz if report_hz is not None else board.report_hz)
        self.sampler = Sampler(board, hal.i2c, 1000000000 // self.sample_mhz)
        self.report = Report(len(board.pins))
        self.uptime = Uptime(hal.clock)
        self.seq = 0
        self.out = OutQueue()
        self.charging = False
        saved = self.store.load(CLOCK_STATE, _STATE_VERSION, _check_clock)
        self._epoch_s = saved["t_s"] if saved is not None else 0
        # Detectors, in the order they see each cycle: docking first, so the
        # others know whether a device is there; protection last, so it acts on
        # everything this cycle showed.
        self.docking = Docking(self)
        self.alignment = Alignment(self)
        self.intermittent = Intermittent(self)
        self.drift = Drift(self)
        self.wear = Wear(self)
        self.protection = Protection(self)
        self.detectors = (
            self.docking,
            self.alignment,
            self.intermittent,
            self.drift,
            self.wear,
            self.protection,
        )
        self.health = Health(self)
        self.commands = Commands(self)
        self.reboot_requested = False
        self._last_report_ms = 0
        self._last_health_ms = 0

    def _report_storage_problems(self):
        for name, reason, action in self.store.take_problems():
            self.event(
                "storage", [], "warn", [("file", name), ("reason", reason), ("action", action)]
            )

    # -- context offered to the detectors ---------------------------------
    def t_s(self):
        """Dock time in seconds: uptime on top of what earlier boots had counted."""
        return self._epoch_s + self.uptime.s

    def temp_mc(self):
        return self.hal.temp_mc()

    def set_charging(self, on):
        self.charging = bool(on)
        self.hal.charge(self.charging)
        self.hal.led(self.charging)

    def event(self, kind, pins, severity, fields=()):
        """An ``event`` line; ``pins`` are indices into ``board.pins``."""
        names = [self.board.pins[j].name for j in pins]
        self.emit(
            protocol.EVENT, [("kind", kind), ("pins", names), ("severity", severity)] + list(fields)
        )

    # -- output ---------------------------------------------------------
    def emit(self, kind, fields=()):
        """Queue one line; a line the queue cannot hold is dropped but still
        takes its ``seq``, so the host sees the gap."""
        out = self.out
        out.begin()
        protocol.write(out.put, kind, self.seq, self.hal.boot_id, self.uptime.t_ms(), fields)
        out.commit()
        self.seq += 1
        self.flush()

    def flush(self):
        """Hand queued bytes to the link for as long as it takes them."""
        out = self.out
        while out.pending():
            n = self.hal.write(out.peek())
            if not n:
                return
            out.consume(n)

    def hello_fields(self):
        pins = []
        for p in self.board.pins:
            pins.append(
                Obj(
                    [
                        ("name", p.name),
                        ("role", p.role),
                        ("x_mm", Fixed(p.x_um, 3)),
                        ("y_mm", Fixed(p.y_um, 3)),
                        ("rated_cycles", p.rated_cycles),
                        ("max_ma", p.max_ma),
                    ]
                )
            )
        return [
            ("fw", FIRMWARE_VERSION),
            ("board", self.board.name),
            ("uid", self.hal.uid),
            ("reset_cause", self.hal.reset_cause),
            ("sample_hz", Fixed(self.sample_mhz, 3)),
            ("idle_hz", Fixed(self.idle_mhz, 3)),
            ("report_hz", Fixed(self.report_mhz, 3)),
            ("pins", pins),
            ("sense", [s.name for s in self.board.sense]),
        ]

    def send_sample(self):
        sampler = self.sampler
        report = self.report
        pins = []
        for p in self.board.pins:
            pins.append((p.name, report.pin_fields(p.index, self._pin_mv(p))))
        self.emit(
            protocol.SAMPLE,
            [
                ("docked", self.docking.present),
                ("charging", self.charging),
                ("cycles", report.cycles),
                ("pins", Obj(pins)),
                (
                    "faulty_monitors",
                    [c.addr for k, c in enumerate(sampler.chips) if not sampler.ok[k]],
                ),
            ],
        )

    def _pin_mv(self, p):
        chip = self.sampler.pin_chip(p.index)
        if not self.sampler.ok[p.index]:
            return None
        # The monitor's bus input is the dock side of a supply pin; a ground
        # pin's dock-side node is the top of its shunt, i.e. the shunt reading.
        if p.role == SUPPLY:
            return chip.bus_mv
        return (chip.shunt_uv + 500) // 1000

    # -- the loop -------------------------------------------------------
    def start(self):
        self.sampler.start()
        self.emit(protocol.HELLO, self.hello_fields())
        self._report_storage_problems()
        self.set_charging(True)
        now = self.clock.ticks_ms()
        self._last_report_ms = now
        self._last_health_ms = now

    def cycle(self):
        """The per-cycle path: read, summarise, detect. Allocates nothing."""
        self.uptime.update()
        sampler = self.sampler
        sampler.cycle()
        now = self.clock.ticks_ms()
        for d in self.detectors:
            d.cycle(sampler, now)
        # Resistances only once the contacts have settled: while a device lands
        # or leaves, the monitors' windows straddle the change and drop / current
        # pairs readings from different moments.
        self.report.add(sampler, self.docking.settled())
        return now

    def step(self):
        """One sampling cycle; a docking change, a report and a health line when due."""
        now = self.cycle()
        if self.docking.changed:
            self._docking_changed()
        if (
            self.report.full()
            or self.clock.ticks_diff(now, self._last_report_ms) * self.report_mhz >= 1000000
        ):
            self._last_report_ms = now
            self._report(now)

    def _docking_changed(self):
        arrived = self.docking.changed > 0
        self.docking.changed = 0
        for d in self.detectors:
            if arrived:
                d.docked(self)
            else:
                d.undocked(self)
        self.store.save(CLOCK_STATE, _STATE_VERSION, {"t_s": self.t_s()})
        self._report_storage_problems()

    def _report(self, now):
        self.sampler.housekeeping()
        for d in self.detectors:
            d.report(self)
        self.send_sample()
        if self.clock.ticks_diff(now, self._last_health_ms) >= HEALTH_MS:
            self._last_health_ms = now
            self.emit(protocol.HEALTH, self.health.fields())
        self.report.clear()
        # The report path allocates; collecting here, between two cycles, keeps GC
        # pauses out of the sampling rhythm and the heap from fragmenting.
        # (MicroPython only: CPython's generational collector needs no help, and
        # a full collection per report would slow the simulator tenfold.)
        if _MICROPYTHON_HEAP:
            gc.collect()

    def period_us(self):
        fast = self.sampler.docked or self.docking.present
        return 1000000000 // (self.sample_mhz if fast else self.idle_mhz)

    def run(self):
        self.start()
        clock = self.clock
        due = clock.ticks_us()
        while self.hal.running() and not self.reboot_requested:
            self.step()
            period = self.period_us()
            due = clock.ticks_add(due, period)
            late = clock.ticks_diff(clock.ticks_us(), due)
            if late > period:
                due = clock.ticks_us()  # fell behind a whole period: skip, do not burst
            self._wait_until(due)

    def _wait_until(self, due):
        clock = self.clock
        while True:
            left = clock.ticks_diff(due, clock.ticks_us())
            if left <= 0:
                return
            if self.out.pending():
                self.flush()
            if self.hal.wait_us(left):
                self.commands.poll()


def _check_clock(obj):
    need(obj, "t_s", CLOCK_STATE, INT, 0, 0x3FFFFFFF)
