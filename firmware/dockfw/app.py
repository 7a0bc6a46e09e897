"""The dock's main loop: sample on schedule, detect, report, answer commands.

``App`` is handed a HAL object and never touches hardware itself. A HAL has: ``i2c``
(``machine.I2C``-like), ``clock`` (``time``-like: ticks_ms, ticks_us, ticks_diff,
ticks_add), ``board`` (``dockfw.board.Board``), ``store`` (``dockfw.store``),
``uid`` (the board's unique id, hex), ``boot_id`` and ``reset_cause`` (str),
``write(buf) -> int`` (takes what the link accepts now, never blocks; returns the
byte count), ``read_line() -> bytes or None`` (never blocks: a complete line from
the host without its newline, or None while none is complete; a line longer than
``protocol.MAX_COMMAND_BYTES`` comes back as its first ``MAX_COMMAND_BYTES + 1``
bytes, the rest discarded up to its newline, so that it is refused whole as
``too_long``, never executed in part), ``wait_us(us) -> bool`` (sleeps at most
``us``, True early when host input is waiting), ``running()``, ``charge(on)``,
``led(on)``, ``temp_mc()`` (the dock's temperature in milli-°C, or None),
``interrupts(poll)`` (from now on ``poll()`` is called every millisecond where
the platform can interrupt the loop: on the RP2040 from a hard timer interrupt, so
``poll`` must not allocate; ``interrupts(None)`` stops it), ``collect()`` (a garbage
collection), ``recover_bus() -> bool``
(the I2C-bus recovery: SCL clocked until SDA is released, a STOP, the controller
re-initialised; True when SDA is high), ``feed()`` (the watchdog) and
``watchdog_ms`` (its timeout while it runs, else None: whoever runs the App starts
it, ``dockfw.rp2040.main`` on the board). ``dockfw.rp2040`` builds one from
``machine``; the simulator builds one from simulated chips.

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

Timing (``tick``, ``work_step``): only the sampling cycle runs on schedule. A report
and a check round are begun by the cycle that makes them due and then run as small
steps between cycles (``_report_step``, ``_check_step``), each started only while
``STEP_US`` are left before the next cycle, so that no cycle waits on them on the
RP2040, where a cycle takes about 2 ms of its 5 ms. ``step`` does a cycle and all
its work at once, for tests and tools that drive the App by hand.
"""

import gc

from micropython import const

from dockfw import protocol, settings
from dockfw.alignment import Alignment
from dockfw.board import SUPPLY
from dockfw.commands import Commands
from dockfw.detect import Detector
from dockfw.docking import ARRIVED, GONE_AT_BOOT, Docking
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
from dockfw.viper import native
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
# Work between sampling cycles (a report's lines, a check round) runs in steps that
# take at most about a millisecond on the RP2040; a step starts only while this much
# time is left before the next cycle, so no step ever delays one.
STEP_US = 2000
# The RP2040 sleeps in whole milliseconds (WFE); a cycle due within less than this
# starts at once instead of spinning the rest away, so the core idles between cycles.
# Cycles keep their rate: each is due a whole period after the one before.
EARLY_US = 1000
# The supply pins' half read may wait this long for a step: the check round and the
# report then keep their pace (two or three steps a period), and the cut stays within
# two periods (tier C: 7.6 ms at worst with none). Like a cycle, it starts up to
# EARLY_US early where a step leaves the loop that close: on the RP2040 a cycle takes
# about 1.7 ms of the 5, and the steps need the time after the read (a timer alarm that
# held the read to the microsecond left the report without steps: gaps of 13.6 ms on
# tier C).
HALF_LATE_US = 1000
# Garbage collection takes 12-23 ms on the RP2040, more than two periods: the HAL
# runs the sampling cycle from a hard timer interrupt meanwhile (``hal.collect``),
# which the per-cycle path allows because it allocates nothing (tests/mp/test_alloc.py).
# The App collects right after a cycle while no device is docked (sampling is slow
# then). Docked, the loop allocates nothing: only the lines built from Python values
# do (events, command answers, with the commands themselves). After GC_AFTER_LINES of
# them the App collects, before MicroPython would collect by itself at any moment
# (without the interrupt's cycles): a line takes 2 kB at most (an ``info`` answer) of
# the ~90 kB free. (Asking the heap itself, ``gc.mem_free()``, takes 8 ms on the
# RP2040: a gap of its own.)
GC_AFTER_LINES = 8
# State goes to flash (a sector erase stalls the whole chip for tens of ms, up to
# 400 ms on a slow part) when a device leaves, before a reboot, and while one stays
# docked: a minute after it arrived (its mating counted, safe from a power cut from
# then on), then hourly, and never more often than that; never as it lands. Each
# save is announced with the time it stalled sampling.
SAVE_AFTER_ARRIVAL_S = 60
# Phases of the work between cycles.
_IDLE = const(0)
_R_DETECT = const(1)  # each detector's report()
_R_SAMPLE = const(2)  # the sample line, a pin at a time
_R_JUDGE = const(3)  # the pins' health states
_R_HEALTH = const(4)  # the health line, a pin at a time
_R_END = const(5)
_C_BEGIN = const(6)
_C_CHIPS = const(7)  # housekeeping, a monitor at a time
_C_PROTECT = const(8)
_C_SAVE = const(9)
SAVE_DOCKED_S = 3600


def _millihz(hz):
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
        self.sample_millihz = _millihz(sample_hz if sample_hz is not None else board.sample_hz)
        self.idle_millihz = _millihz(idle_hz if idle_hz is not None else board.idle_hz)
        self.report_millihz = _millihz(report_hz if report_hz is not None else board.report_hz)
        self.sampler = Sampler(
            board, hal.i2c, 1000000000 // self.sample_millihz, getattr(hal, "recover_bus", None)
        )
        # The cycles since the last report add into ``window``; at each report it is
        # closed and becomes ``report`` (what detectors' report() and the lines read),
        # while the next window fills.
        self.window = Report(len(board.pins))
        self.report = Report(len(board.pins))
        self.uptime = Uptime(hal.clock)
        self.seq = 0
        self.out = OutQueue()
        self.charging = False
        saved = self.store.load(CLOCK_STATE, _STATE_VERSION, _check_clock)
        self._epoch_s = saved["t_s"] if saved is not None else 0
        self.reset_cause, self.crash_boots, self.last_error = self._read_boot_note()
        # Detectors, in the order they see each report: docking first, so the
        # others know whether a device is there; those another is handed before it;
        # protection last, so it acts on everything this cycle showed.
        self.docking = Docking(self)
        self.alignment = Alignment(self)
        self.intermittent = Intermittent(self)
        self.drift = Drift(self, self.alignment, self.intermittent)
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
        # Those with per-cycle work (a call costs ~15 us on the RP2040), protection first:
        # every microsecond before its check is one more of an overload (it reads only
        # the sampler's values, none of the other detectors').
        cycling = [d for d in self.detectors if type(d).cycle is not Detector.cycle]
        cycling.remove(self.protection)
        self._cycling = (self.protection,) + tuple(cycling)
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
        self._lines_built = 0  # lines built from Python values since the last collection
        # The report and the check round under way, a step at a time (no generators:
        # one would be allocated per report).
        self._report_phase = _IDLE
        self._part = 0  # the detector or pin the report's next step is at
        self._health_due = False
        self._report_ms = 0
        self._check_phase = _IDLE
        self._chip = 0
        self._held = []  # lines emitted while a report line is being written
        self._gc_due = False
        # Stretches of the loop that take longer than a cycle's slack on the RP2040 (a
        # collection, building a line from Python values) let the sampling cycles due
        # meanwhile run from the HAL's interrupt. What those may not do there (allocate,
        # so tell anything) waits for the stretch's end (_interrupts_end).
        self.interruptible = False
        self._irq_halted = False
        self._irq_cycles = 0
        self._irq_error = None
        self._irq_poll = self._poll_from_interrupt  # bound once: not in the interrupt
        self._looping = False  # run()'s loop has begun: cycles have a schedule
        self._ticking = False  # run() is in tick(): no stretch runs cycles
        self._irq_blocked = False  # an error in the interrupt: none until a clean tick
        self.irq_alloc_halts = 0  # cycles from the interrupt stopped by a locked heap
        self._due_us = 0  # ticks_us the next cycle is due (the loop's and the interrupt's)
        self._period_us = 0
        self._collected_ms = -1  # the last collection's stall, until told
        self._collected_cycles = 0
        self._docked_save_s = None  # dock time of the last save while docked
        self._save_due_s = 0  # when the next save while docked is due
        self._sample_start = protocol.line_start(protocol.SAMPLE)
        self._health_start = protocol.line_start(protocol.HEALTH)
        self._boot_key = protocol.boot_key(hal.boot_id)

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
        self.commands.save_settings()
        if self.docking.present:
            self.docking.save(True)  # the device stays: the next boot resumes its session
        crash_boots = self.crash_boots + 1 if reason == "crash" else 0
        note = {"reason": reason, "crash_boots": crash_boots}
        if error is not None:
            note["error"] = error
        self.store.save(BOOT_STATE, _STATE_VERSION, note)

    def _report_storage_problems(self):
        for name, reason, action in self.store.take_problems():
            self.event(
                protocol.EV_STORAGE,
                [],
                protocol.SEV_WARN,
                [("file", name), ("reason", reason), ("action", action)],
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
        self._lines_built += 1
        t_ms = self.uptime.t_ms()
        # Building a line from Python values takes the RP2040 ~6 ms (tier C: every
        # fragment allocates), more than a cycle's slack: sampling goes on meanwhile.
        nested = self._interrupts_begin()
        try:
            if out.is_open():  # behind the report line being written, in seq order
                self._held.append(protocol.encode(kind, self.seq, self.hal.boot_id, t_ms, fields))
                self.seq += 1
                return
            out.begin()
            protocol.write(out.put, kind, self.seq, self.hal.boot_id, t_ms, fields)
            out.commit()
            self.seq += 1
        finally:
            self._interrupts_end(nested)
        self.flush()

    def _begin_line(self, start):
        """Open a line written piece by piece (``start``: ``protocol.line_start``)."""
        out = self.out
        out.begin()
        out.raw(start)
        out.int(self.seq)
        out.raw(self._boot_key)
        out.int(self.uptime.t_ms())
        self.seq += 1

    def _end_line(self):
        out = self.out
        out.raw(b"}\n")
        out.commit()
        self._release_held()

    def _release_held(self):
        out = self.out
        held = self._held
        while held:
            out.begin()
            out.put(held.pop(0))
            out.commit()
        self.flush()

    def flush(self):
        """Hand queued bytes to the link for as long as it takes them."""
        out = self.out
        while out.pending():
            if not out.send(self.hal):
                return

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
            ("sample_hz", Fixed(self.sample_millihz, 3)),
            ("idle_hz", Fixed(self.idle_millihz, 3)),
            ("report_hz", Fixed(self.report_millihz, 3)),
            ("pins", pins),
            ("sense", [s.name for s in self.board.sense]),
        ]

    def write_sample(self, j):
        """Part ``j`` of a ``sample`` line from the closed report: the envelope and
        the dock's fields with pin 0, then one pin per part, the last pin closing the
        line. Written straight into the output queue, allocating nothing."""
        out = self.out
        report = self.report
        if j == 0:
            self._begin_line(self._sample_start)
            out.raw(b',"docked":')
            out.raw(b"true" if self.docking.present else b"false")
            out.raw(b',"charging":')
            out.raw(b"true" if self.charging else b"false")
            out.raw(b',"cycles":')
            out.int(report.cycles)
            out.raw(b',"pins":{')
        else:
            out.raw(b",")
        p = self.board.pins[j]
        out.raw(self.health.pin_keys[j])
        report.write_pin(out, j, self._pin_mv(p))
        if j < len(self.board.pins) - 1:
            return
        out.raw(b'},"faulty_monitors":[')
        sampler = self.sampler
        first = True
        for k in range(len(sampler.chips)):
            if not sampler.ok[k]:
                if not first:
                    out.raw(b",")
                first = False
                out.int(sampler.chips[k].addr)
        out.raw(b"]")
        self._end_line()

    def write_health(self, j):
        """Part ``j`` of a ``health`` line (after ``health.judge()``), as ``write_sample``."""
        out = self.out
        health = self.health
        if j == 0:
            self._begin_line(self._health_start)
            health.write_head(out)
        health.write_pin(out, j)
        if j == len(self.board.pins) - 1:
            health.write_tail(out)
            self._end_line()

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

    @native
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
        self.window.add(sampler, self.docking.settled())
        return now

    @native
    def tick(self):
        """One sampling cycle; a docking change handled; a check round and a report
        begun when due (their steps run between the cycles that follow)."""
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
            while self._check_step():  # a round still unfinished completes first
                pass
            self._check_phase = _C_BEGIN
        if (
            self.window.full()
            or self.clock.ticks_diff(now, self._last_report_ms) * self.report_millihz >= 1000000
        ):
            self._last_report_ms = now
            while self._report_step():
                pass
            self._close_window()
            self._health_due = self.clock.ticks_diff(now, self._last_health_ms) >= HEALTH_MS
            if self._health_due:
                self._last_health_ms = now
            self._report_ms = now
            self._report_phase = _R_DETECT
            self._part = 0

    def step(self):
        """One sampling cycle and all the work it makes due, done at once: for tests and
        tools that drive the App by hand (``run`` spreads the work between cycles)."""
        self.tick()
        while self.work_step():
            pass

    def work_step(self):
        """Run one step of the work between cycles (a check round first, then the
        report); False when none is waiting."""
        return self._check_step() or self._report_step()

    def _work_waiting(self):
        """True while a report or a check round is under way."""
        return self._report_phase != _IDLE or self._check_phase != _IDLE

    def _close_window(self):
        self.window, self.report = self.report, self.window
        self.window.clear()

    def _check_step(self):
        """One step of the check round under way; False when there is none. A step that
        raises ends the round (the next starts afresh)."""
        phase = self._check_phase
        if phase == _IDLE:
            return False
        self._check_phase = _IDLE
        sampler = self.sampler
        if phase == _C_BEGIN:
            self.stage = "housekeeping"
            if sampler.housekeeping_begin():
                self._chip = 0
                self._check_phase = _C_CHIPS
            else:
                self._check_phase = _C_PROTECT
        elif phase == _C_CHIPS:
            self.stage = "housekeeping"
            k = self._chip
            if not sampler.housekeep(k):
                self._check_phase = _C_PROTECT
            elif k + 1 < len(sampler.chips):
                self._chip = k + 1
                self._check_phase = _C_CHIPS
            else:
                sampler.housekeeping_end()
                self._check_phase = _C_PROTECT
        elif phase == _C_PROTECT:
            self.stage = "protection"
            self.protection.check(self, self.clock.ticks_ms())
            self.commands.accrue()
            self._check_phase = _C_SAVE
        elif phase == _C_SAVE:
            if self._collected_ms >= 0:
                # (Without the heap's free bytes: gc.mem_free() would stall as long again.)
                fields = [("stall_ms", self._collected_ms), ("cycles", self._collected_cycles)]
                self._collected_ms = -1
                self.event(protocol.EV_HEAP_COLLECTED, [], protocol.SEV_INFO, fields)
            # Undocked, sampling is slow and a collection fits between two cycles; docked,
            # only after commands and events have built GC_AFTER_LINES lines.
            self._gc_due = _MICROPYTHON_HEAP and (
                not self.docking.present or self._lines_built >= GC_AFTER_LINES
            )
            if self.docking.present and self.t_s() >= self._save_due_s:
                self._save_docked()
        return True

    def _report_step(self):
        """One step of the report under way; False when there is none. A step that
        raises ends the report (its line is dropped: ``_crashed``)."""
        phase = self._report_phase
        if phase == _IDLE:
            return False
        self._report_phase = _IDLE
        part = self._part
        if phase == _R_DETECT:
            self.stage = "report"
            d = self.detectors[part]
            self._in = d
            d.report(self)
            self._in = None
            part += 1
            if part == len(self.detectors):
                phase, part = _R_SAMPLE, 0
        elif phase == _R_SAMPLE:
            self.stage = "sample line"
            self.write_sample(part)
            part += 1
            if part == len(self.board.pins):
                phase, part = (_R_JUDGE if self._health_due else _R_END), 0
        elif phase == _R_JUDGE:
            self.stage = "health line"
            self.health.judge()
            phase = _R_HEALTH
        elif phase == _R_HEALTH:
            self.stage = "health line"
            self.write_health(part)
            part += 1
            if part == len(self.board.pins):
                phase = _R_END
        else:  # _R_END
            self.stage = "report"
            self._release_crash_hold()
            if self.crash_boots and self.uptime.s >= CLEAN_RUN_S:
                self.crash_boots = 0
                self.store.save(BOOT_STATE, _STATE_VERSION, {"reason": "", "crash_boots": 0})
            self._report_done_ms = self._report_ms
            return True
        self._report_phase = phase
        self._part = part
        return True

    def _docking_changed(self):
        self.stage = "docking"
        clock = self.clock
        t0 = clock.ticks_us()
        change = self.docking.changed
        self.docking.changed = 0
        if change == GONE_AT_BOOT:
            self.docking.save(False)
            self._saved(t0, protocol.SAVE_UNDOCKED)
            return
        arrived = change == ARRIVED
        for d in self.detectors:
            self._in = d
            if arrived:
                d.docked(self)
            else:
                d.undocked(self)  # where detectors save what a departure settled
        self._in = None
        if arrived:
            due = self.t_s() + SAVE_AFTER_ARRIVAL_S
            last = self._docked_save_s
            if last is not None and last + SAVE_DOCKED_S > due:
                due = last + SAVE_DOCKED_S
            self._save_due_s = due
            return
        self._saved(t0, protocol.SAVE_UNDOCKED)

    def _save_docked(self):
        """A device docked for long: its mating counted, the clock, to flash."""
        self.stage = "save"
        t0 = self.clock.ticks_us()
        self.docking.save(True)
        self._docked_save_s = self.t_s()
        self._save_due_s = self._docked_save_s + SAVE_DOCKED_S
        self._saved(t0, protocol.SAVE_DOCKED)

    def _saved(self, t0, why):
        """The clock and the settings a host set to flash, then the stall since ``t0``
        announced."""
        self.commands.save_settings()
        self.store.save(CLOCK_STATE, _STATE_VERSION, {"t_s": self.t_s()})
        clock = self.clock
        stall_ms = clock.ticks_diff(clock.ticks_us(), t0) // 1000
        self.event(
            protocol.EV_STATE_SAVED, [], protocol.SEV_INFO, [("stall_ms", stall_ms), ("why", why)]
        )
        self._report_storage_problems()

    def period_us(self):
        fast = self.sampler.docked or self.docking.present
        return 1000000000 // (self.sample_millihz if fast else self.idle_millihz)

    def run(self):
        try:
            self.start()
        except Exception as e:  # every failure must end in a known state
            self._crashed(e)
        clock = self.clock
        self._due_us = clock.ticks_us()
        self._looping = True
        while self.hal.running() and not self.reboot_requested:
            # Within tick the schedule still names this cycle's due: a stretch there (an
            # event of the cycle's own) must not run another cycle from the interrupt.
            self._ticking = True
            try:
                self.tick()
                self._irq_blocked = False
            except Exception as e:
                self._crashed(e)
            self._ticking = False
            period = self.period_us()
            self._period_us = period
            due = clock.ticks_add(self._due_us, period)
            late = clock.ticks_diff(clock.ticks_us(), due)
            if late > period:
                due = clock.ticks_us()  # fell behind a whole period: skip, do not burst
            self._due_us = due
            try:
                self._between_cycles(period)
            except Exception as e:
                self._crashed(e)
        self._looping = False
        try:
            self.commands.finish()  # a line taken is answered, however the loop ends
        except Exception as e:
            self._crashed(e)
        if self.reboot_requested:
            self._note_reboot(self.reboot_reason or "reboot", self.last_error)

    @native
    def _between_cycles(self, period):
        """Until the next cycle is due: collect garbage if it is time (right after the
        cycle, where the slack is whole), the supply pins' half read halfway, and in
        between steps of the work waiting, output to the link, host commands, and sleep."""
        clock = self.clock
        if self._gc_due:
            self._gc_due = False
            self._collect()
        # (After the collection: its cycles from the interrupt move the schedule on.)
        half = clock.ticks_add(self._due_us, -(period // 2))
        halved = not self.charging  # without current there is nothing to read halfway
        # Once a cycle (each pass of the loop below costs ~0.1 ms on the RP2040), and
        # after each long wait.
        self._feed()
        while True:
            now = clock.ticks_us()
            # (Read each pass: a cycle run from the interrupt moves it on.)
            left = clock.ticks_diff(self._due_us, now)
            if left < EARLY_US:
                return
            sleep = left
            if not halved:
                to_half = clock.ticks_diff(half, now)
                if to_half < EARLY_US:
                    halved = True
                    self._half_read()
                    continue
                # What follows fits before the half read, which may start up to about
                # half a step late (a millisecond on the cut: see README "Protection");
                # a wait ends on the half, not after it: a supply monitor's conversion
                # (2.66 ms) is read in time only while its reads stay about half a
                # period apart, and a conversion left unread hides a dropout in it.
                left = to_half + HALF_LATE_US
                sleep = to_half
            if self.out.pending():
                self.stage = "flush"
                self.flush()
            # (_work_waiting() written out: each call here costs ~20 µs on the RP2040.)
            waiting = self._report_phase != _IDLE or self._check_phase != _IDLE
            if waiting and left >= STEP_US and self.work_step():
                continue
            # Commands take only what the work between cycles leaves (none of their steps
            # may push a report into the synchronous finish of ``tick``); a command under
            # way goes on without waiting for input.
            if not waiting and self.commands.busy():
                self.stage = "command"
                self._in = self.commands
                ran = self.commands.poll(clock.ticks_add(now, left))
                self._in = None
                if ran:
                    continue
            self.stage = "wait"
            if sleep >= _WAIT_SLICE_US:
                input_came = self.hal.wait_us(_WAIT_SLICE_US)
                self._feed()
            else:
                input_came = self.hal.wait_us(sleep)
            if input_came and not self._work_waiting():
                # Host input: a line at a time, in steps of about a millisecond, each
                # only while time and room allow (Commands.poll); the rest waits in the link.
                self.stage = "command"
                self._in = self.commands
                until = clock.ticks_add(now, left)
                while self.commands.poll(until):
                    pass
                self._in = None

    def _collect(self):
        """A garbage collection, the sampling cycles due meanwhile run from the HAL's
        interrupt (12-23 ms on the RP2040); its stall told by the next check round:
        building a line right after a collection would hold up the next cycle."""
        clock = self.clock
        self.stage = "gc"
        t0 = clock.ticks_us()
        nested = self._interrupts_begin()
        cycles = 0
        try:
            self.hal.collect()
        finally:
            cycles = self._interrupts_end(nested)
        stall_ms = clock.ticks_diff(clock.ticks_us(), t0) // 1000
        self._lines_built = 0
        self._collected_cycles = cycles
        self._collected_ms = stall_ms if self.docking.present else -1

    def _interrupts_begin(self):
        """Begin a stretch during which the cycles due run from the HAL's interrupt.
        True when none was begun: one already under way (then only the outermost one
        ends it), outside run()'s loop or inside its tick, or after an error there
        until a tick has passed cleanly."""
        if self.interruptible or not self._looping or self._ticking or self._irq_blocked:
            return True
        # What the loop has still to handle from an earlier stretch halts the cycles.
        self._irq_halted = self._must_halt()
        self._irq_cycles = 0
        self._irq_error = None
        self.hal.interrupts(self._irq_poll)
        self.interruptible = True  # only once armed: a failed arming defers no cut
        return False

    def _must_halt(self):
        return bool(self.protection.deferred or self.docking.changed or self.window.full())

    def _interrupts_end(self, nested):
        """End the stretch (``nested``: what ``_interrupts_begin`` said), then do what
        its cycles could not do from the interrupt: a cut told (first, while
        protection's state is the cut's), an error handled. Returns the cycles the
        stretch ran."""
        if nested:
            return 0
        self.hal.interrupts(None)
        self.interruptible = False
        cycles = self._irq_cycles
        self.protection.tell_deferred(self.sampler)
        error = self._irq_error
        if error is not None:
            self._irq_error = None
            self._irq_blocked = True  # no stretch runs cycles until a tick passes cleanly
            if isinstance(error, KeyboardInterrupt):
                raise error  # the host's Ctrl-C stops the firmware, as anywhere else
            self._crashed(error)
        return cycles

    def _poll_from_interrupt(self, _timer=None):
        """From the HAL's interrupt, every millisecond of a stretch: the sampling cycle
        when one is due. The heap is locked there, so the cycles stop (until the
        stretch ends) at anything the main loop must handle: a cut to tell, a docking
        change, a full window, a monitor that fails to answer, an error."""
        if self._irq_halted:
            return
        clock = self.clock
        now = clock.ticks_us()
        late = clock.ticks_diff(now, self._due_us)
        if late < 0:
            return
        if late > self._period_us:
            # Behind by more than a period (a flash write stood the chip still): one
            # cycle now and the schedule from it, as the loop does; no burst.
            self._due_us = clock.ticks_add(now, self._period_us)
        else:
            self._due_us = clock.ticks_add(self._due_us, self._period_us)
        stage = self.stage
        inside = self._in
        try:
            self._cycle_done_ms = self.cycle()
            self._irq_cycles += 1
            if self._must_halt():
                self._irq_halted = True
        except MemoryError:
            # A monitor's read failed, and telling it allocates, which the interrupt
            # may not: the loop's next cycle, a stretch later at most, meets the failure
            # again and handles it (the monitor marked, protection acting). (Tier B
            # counts these with no read failing: a cycle that allocates is a bug.)
            self.irq_alloc_halts += 1
            self._irq_halted = True
        except BaseException as e:  # in an interrupt: nothing may escape
            self.hal.charge(False)  # charging off first, as _crashed does
            self._irq_error = e
            self._irq_halted = True
            return
        self.stage = stage  # what the loop was doing, for an error it meets after
        self._in = inside

    @native
    def _half_read(self):
        """The supply pins' monitors read again and protection's guard on them."""
        self.stage = "half read"
        self.uptime.update()  # a cut here is stamped with its own time
        sampler = self.sampler
        sampler.half()
        self._in = self.protection
        self.protection.guard(sampler, self.clock.ticks_ms())
        self._in = None

    # -- supervision ------------------------------------------------------
    @native
    def _feed(self):
        """Feed the watchdog, but only while cycles and reports keep completing."""
        clock = self.clock
        now = clock.ticks_ms()
        if clock.ticks_diff(now, self._cycle_done_ms) > self.period_us() // 1000 + _LATE_MS:
            return
        if clock.ticks_diff(now, self._report_done_ms) > 1000000 // self.report_millihz + _LATE_MS:
            return
        self.hal.feed()

    def _crashed(self, e):
        """An exception escaped a stage: charging off first, then tell, then carry on."""
        self.hal.charge(False)
        if self.out.is_open():
            self.out.abort()  # the line the failed step was writing: its seq shows a gap
            self._release_held()
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
                protocol.EV_FIRMWARE_ERROR,
                [],
                protocol.SEV_FAULT,
                [("where", where), ("error", error), ("count", self.crashes)],
            )
            if was_charging:
                self.event(
                    protocol.EV_CHARGE_OFF, [], protocol.SEV_FAULT, [("reason", "firmware error")]
                )
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
        if self._first_good_cycle and self.protection.may_charge(self):
            self.set_charging(True)
            self.event(
                protocol.EV_CHARGE_ON,
                [],
                protocol.SEV_INFO,
                [("reason", "no firmware error for %d s" % CRASH_RETRY_S)],
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
