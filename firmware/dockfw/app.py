"""The dock's main loop: sample on schedule, detect, report, answer commands.

``App`` is handed a HAL object and never touches hardware itself. A HAL has:
``i2c`` (``machine.I2C``-like), ``clock`` (``time``-like: ticks_ms, ticks_us,
ticks_diff, ticks_add), ``board`` (``dockfw.board.Board``), ``store``
(``dockfw.store``), ``uid`` (the board's unique id, hex), ``boot_id`` and
``reset_cause`` (str), ``write(buf) -> int``
(takes what the link accepts now, never blocks; returns the byte count),
``read_line() -> bytes or None`` (never blocks: a complete line from the host
without its newline, or None while none is complete; a line longer than
``protocol.MAX_COMMAND_BYTES`` comes back as its first ``MAX_COMMAND_BYTES + 1``
bytes, the rest discarded up to its newline, so that it is refused whole as
``too_long``, never executed in part), ``wait_us(us) -> bool`` (sleeps
at most ``us``, True early when host input is waiting), ``running()``,
``charge(on)``, ``led(on)``, ``temp_mc()`` (the dock's temperature in
milli-°C, or None), ``recover_bus() -> bool`` (the I2C-bus recovery: SCL clocked
until SDA is released, a STOP, the controller re-initialised; True when SDA is
high), ``feed()`` (the watchdog) and ``watchdog_ms`` (its timeout
while it runs, else None: whoever runs the App starts it, ``dockfw.rp2040.main``
on the board). ``dockfw.rp2040`` builds one from ``machine``; the simulator builds
one from simulated chips.

Supervision (``run``): an exception from any stage (sampling, a detector, the
reporter, a command) switches charging off first, goes out as a
``firmware_error`` event naming the stage and the exception, and the loop carries
on; charging comes back after ``CRASH_RETRY_S`` without another one.
``MAX_CRASHES`` within ``CRASH_WINDOW_S`` reboot the dock (the reason is noted in
the store, so the next ``hello`` says ``crash``); ``dockfw.rp2040.main`` parks a
dock whose boots keep ending that way in safe mode. The watchdog is fed only
while sampling cycles and reports keep completing on time, so a hang anywhere
ends in a reset, and a reset leaves the charge switch off.

Data flows one way: sampler (registers -> per-pin values) -> detectors (per
cycle, then per report) -> health -> lines on the wire and the charge switch.
"""

import gc

import micropython

from dockfw import protocol, settings
from dockfw.alignment import Alignment
from dockfw.board import SUPPLY
from dockfw.commands import Commands
from dockfw.detect import Detector
from dockfw.docking import Docking
from dockfw.drift import Drift
from dockfw.health import Health
from dockfw.intermittent import Intermittent
from dockfw.outqueue import OutQueue
from dockfw.protection import Protection
from dockfw.protocol import Fixed, Obj
from dockfw.report import Report
from dockfw.sampler import Sampler
from dockfw.store import INT, OBJ, TEXT, StateError, need
from dockfw.uptime import Uptime
from dockfw.wear import Wear

FIRMWARE_VERSION = "0.3.0"
_MICROPYTHON_HEAP = hasattr(gc, "mem_free")
HEALTH_MS = 1000
# The watchdog's timeout. A hung loop leaves charging on for at most this long (a
# reset drops the charge switch): the same order as the contact-heat trip's own
# one second over its limit, and far below the seconds a pogo pin needs to heat
# through at a few amperes. It must outlast the longest legitimate stall: a state
# save, which can erase a couple of flash sectors (45 ms typical, 400 ms worst
# each) with the CPU stalled, and the feed is given right before every save.
WATCHDOG_MS = 2000
_WAIT_SLICE_US = 250000  # the loop looks at the watchdog at least this often
_LATE_MS = 1000  # a cycle or report this far past due means that part has stopped
CRASH_RETRY_S = 5  # exception-free seconds before charging is allowed back
MAX_CRASHES = 3
CRASH_WINDOW_S = 60
CLEAN_RUN_S = 600  # after this long without a crash reboot, earlier ones are forgiven
CLOCK_STATE = "clock"
BOOT_STATE = "boot"
_STATE_VERSION = 1
_ERROR_CHARS = 120  # an exception's text in an event: enough to find it, bounded
# Protection's clock: the dock temperature, the monitors and the charge retry are
# checked this often, whatever the report rate (one housekeeping round of I2C reads).
CHECK_MS = 250


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
        self.sampler = Sampler(
            board, hal.i2c, 1000000000 // self.sample_mhz, getattr(hal, "recover_bus", None)
        )
        self.report = Report(len(board.pins))
        self.uptime = Uptime(hal.clock)
        self.seq = 0
        self.out = OutQueue()
        self.charging = False
        saved = self.store.load(CLOCK_STATE, _STATE_VERSION, _check_clock)
        self._epoch_s = saved["t_s"] if saved is not None else 0
        self.reset_cause, self.crash_boots, self.last_error = self._read_boot_note()
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
        # Those with per-cycle work, in the same order: a call costs ~15 us on the RP2040.
        self._cycling = tuple(d for d in self.detectors if type(d).cycle is not Detector.cycle)
        settings.restore(self)  # what hosts set, now that every part that holds one exists
        self.health = Health(self)
        self.commands = Commands(self)
        self.reboot_requested = False
        self.reboot_reason = None
        self._last_report_ms = 0
        self._last_health_ms = 0
        self.stage = "boot"  # what the loop is doing: named in a firmware_error event
        self.crashes = 0
        self._crash_s = [0] * MAX_CRASHES  # dock times (s) of the latest crashes
        self.crash_hold = False  # charging held off after a crash, until CRASH_RETRY_S pass
        self._crash_at_s = 0
        self._in = None  # the detector or handler running now, for a firmware_error's "where"
        self._first_good_cycle = False
        self._cycle_done_ms = 0
        self._report_done_ms = 0
        self._last_check_ms = 0

    # -- what survives a reboot besides the detectors' state ----------------
    def _read_boot_note(self):
        """Why the last boot ended, from the note ``_note_reboot`` leaves. On the
        rp2 port a requested reset and a watchdog bite both read as a watchdog
        reset: the note tells them apart. The note is spent once read."""
        cause = self.hal.reset_cause
        note = self.store.load(BOOT_STATE, _STATE_VERSION, _check_boot)
        if note is None:
            return cause, 0, None
        reason = note["reason"]
        if reason and cause in ("watchdog", "soft"):
            cause = reason
        error = note.get("error") if reason == "crash" else None
        crash_boots = note["crash_boots"] if reason == "crash" else 0
        if reason or crash_boots:
            self.store.save(BOOT_STATE, _STATE_VERSION, {"reason": "", "crash_boots": crash_boots})
        return cause, crash_boots, error

    def _note_reboot(self, reason, error=None):
        crash_boots = self.crash_boots + 1 if reason == "crash" else 0
        note = {"reason": reason, "crash_boots": crash_boots}
        if error is not None:
            note["error"] = error
        self.store.save(BOOT_STATE, _STATE_VERSION, note)

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
        if on and self.crash_hold:
            return
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
            ("reset_cause", self.reset_cause),
            ("last_error", self.last_error),
            ("watchdog_ms", self.hal.watchdog_ms),
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
        """Monitors configured, ``hello`` out. Charging stays off until the first
        good sampling cycle."""
        self.stage = "start"
        self.store.before_write = self._feed  # a save may stall the CPU for a while
        self.sampler.start()
        self.emit(protocol.HELLO, self.hello_fields())
        self._report_storage_problems()
        now = self.clock.ticks_ms()
        self._last_report_ms = now
        self._last_health_ms = now
        self._cycle_done_ms = now
        self._report_done_ms = now
        self._last_check_ms = now

    @micropython.native
    def cycle(self):
        """The per-cycle path: read, summarise, detect. Allocates nothing; machine code."""
        self.uptime.update()
        sampler = self.sampler
        self.stage = "sample"
        sampler.cycle()
        now = self.clock.ticks_ms()
        self.stage = "cycle"
        for d in self._cycling:
            self._in = d
            d.cycle(sampler, now)
        self._in = None
        # Resistances only once the contacts have settled: while a device lands
        # or leaves, the monitors' windows straddle the change and drop / current
        # pairs readings from different moments.
        self.report.add(sampler, self.docking.settled())
        return now

    def step(self):
        """One sampling cycle; a docking change, a report and a health line when due."""
        now = self.cycle()
        self._cycle_done_ms = now
        if not self._first_good_cycle:
            self._first_good_cycle = True
            if self.protection.may_charge(self):
                self.set_charging(True)
        if self.docking.changed:
            self._docking_changed()
        if self.clock.ticks_diff(now, self._last_check_ms) >= CHECK_MS:
            self._last_check_ms = now
            self.stage = "housekeeping"
            self.sampler.housekeeping()
            self.stage = "protection"
            self.protection.check(self, now)
            self.commands.accrue()
        if (
            self.report.full()
            or self.clock.ticks_diff(now, self._last_report_ms) * self.report_mhz >= 1000000
        ):
            self._last_report_ms = now
            self._report(now)

    def _docking_changed(self):
        self.stage = "docking"
        arrived = self.docking.changed > 0
        self.docking.changed = 0
        for d in self.detectors:
            self._in = d
            if arrived:
                d.docked(self)
            else:
                d.undocked(self)
        self._in = None
        self.store.save(CLOCK_STATE, _STATE_VERSION, {"t_s": self.t_s()})
        self._report_storage_problems()

    def _report(self, now):
        self.stage = "report"
        for d in self.detectors:
            self._in = d
            d.report(self)
        self._in = None
        self.stage = "sample line"
        self.send_sample()
        if self.clock.ticks_diff(now, self._last_health_ms) >= HEALTH_MS:
            self._last_health_ms = now
            self.stage = "health line"
            self.emit(protocol.HEALTH, self.health.fields())
        self.report.clear()
        self._release_crash_hold()
        if self.crash_boots and self.uptime.s >= CLEAN_RUN_S:
            self.crash_boots = 0
            self.store.save(BOOT_STATE, _STATE_VERSION, {"reason": "", "crash_boots": 0})
        self._report_done_ms = now
        # The report path allocates; collecting here, between two cycles, keeps GC
        # pauses out of the sampling rhythm and the heap from fragmenting.
        # (MicroPython only: CPython's generational collector needs no help, and
        # a full collection per report would slow the simulator tenfold.)
        if _MICROPYTHON_HEAP:
            self.stage = "gc"
            gc.collect()

    def period_us(self):
        fast = self.sampler.docked or self.docking.present
        return 1000000000 // (self.sample_mhz if fast else self.idle_mhz)

    def run(self):
        try:
            self.start()
        except Exception as e:  # every failure must end in a known state
            self._crashed(e)
        clock = self.clock
        due = clock.ticks_us()
        while self.hal.running() and not self.reboot_requested:
            try:
                self.step()
            except Exception as e:
                self._crashed(e)
            period = self.period_us()
            due = clock.ticks_add(due, period)
            late = clock.ticks_diff(clock.ticks_us(), due)
            if late > period:
                due = clock.ticks_us()  # fell behind a whole period: skip, do not burst
            try:
                self._wait_until(due)
            except Exception as e:
                self._crashed(e)
        if self.reboot_requested:
            self._note_reboot(self.reboot_reason or "reboot", self.last_error)

    def _wait_until(self, due):
        clock = self.clock
        while True:
            left = clock.ticks_diff(due, clock.ticks_us())
            if left <= 0:
                return
            self._feed()
            if self.out.pending():
                self.stage = "flush"
                self.flush()
            self.stage = "wait"
            if self.hal.wait_us(left if left < _WAIT_SLICE_US else _WAIT_SLICE_US):
                # Host input: one line at a time, each only while time and room allow
                # (Commands.poll); the rest waits in the link.
                self.stage = "command"
                self._in = self.commands
                while self.commands.poll(due):
                    pass
                self._in = None

    # -- supervision ------------------------------------------------------
    def _feed(self):
        """Feed the watchdog, but only while cycles and reports keep completing."""
        clock = self.clock
        now = clock.ticks_ms()
        if clock.ticks_diff(now, self._cycle_done_ms) > self.period_us() // 1000 + _LATE_MS:
            return
        if clock.ticks_diff(now, self._report_done_ms) > 1000000 // self.report_mhz + _LATE_MS:
            return
        self.hal.feed()

    def _crashed(self, e):
        """An exception escaped a stage: charging off first, then tell, then carry on."""
        self.hal.charge(False)
        was_charging = self.charging
        self.charging = False
        self.crash_hold = True
        where = self.stage
        if self._in is not None:
            where += "/" + type(self._in).__name__
        self._in = None
        error = ("%s: %s" % (type(e).__name__, e))[:_ERROR_CHARS]
        self.last_error = {"where": where, "error": error}
        self.crashes += 1
        t = self.t_s()
        self._crash_s.pop(0)
        self._crash_s.append(t)
        self._crash_at_s = t
        try:
            self.hal.led(False)
            self.event(
                "firmware_error",
                [],
                "fault",
                [("where", where), ("error", error), ("count", self.crashes)],
            )
            if was_charging:
                self.event("charge_off", [], "fault", [("reason", "firmware error")])
        except Exception:  # the report itself failing must not stop the loop
            pass
        if self.crashes >= MAX_CRASHES and t - self._crash_s[0] < CRASH_WINDOW_S:
            self.reboot_requested = True
            self.reboot_reason = "crash"
        self.stage = "loop"

    def _release_crash_hold(self):
        if not self.crash_hold or self.t_s() - self._crash_at_s < CRASH_RETRY_S:
            return
        self.crash_hold = False
        if self.protection.may_charge(self) and self._first_good_cycle:
            self.set_charging(True)
            self.event(
                "charge_on", [], "info", [("reason", "no firmware error for %d s" % CRASH_RETRY_S)]
            )


def _check_clock(obj):
    need(obj, "t_s", CLOCK_STATE, INT, 0, 0x3FFFFFFF)


def _check_boot(obj):
    if need(obj, "reason", BOOT_STATE, TEXT, 0, 8) not in ("", "reboot", "crash"):
        raise StateError("%s: 'reason' must be '', 'reboot' or 'crash'" % BOOT_STATE)
    need(obj, "crash_boots", BOOT_STATE, INT, 0, 1000)
    if "error" in obj:
        error = need(obj, "error", BOOT_STATE, OBJ)
        need(error, "where", BOOT_STATE + ".error", TEXT, 0, _ERROR_CHARS)
        need(error, "error", BOOT_STATE + ".error", TEXT, 0, _ERROR_CHARS)
