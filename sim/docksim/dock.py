"""A virtual dock: the scenario's circuit and simulated INA219s behind the firmware's HAL.

``SimDock`` offers exactly what ``dockfw.app.App`` expects of a HAL (see its
docstring), so the firmware modules run unchanged against simulated hardware.
Sensor faults from the scenario are applied to the simulated chips when
simulated time reaches them.

Power cuts (the scenario's ``power_cut`` events) are played by
``sim.power.PowerSupply``, loaded only for a scenario that has them (the
MicroPython tests' heap is tight): the running App is abandoned where the cut
falls (``PowerCut``, which ``run_firmware`` catches) and a new one boots on the
same flash when the power is back. Without cuts the store is a ``MemoryStore``;
with them it is the firmware's file protocol on a simulated flash
(``sim.flash``), which a cut can catch in the middle of a write.
Runs under CPython and MicroPython.
"""

import gc
import os

from dockfw.docking import STATE as DOCKING_STATE
from dockfw.ina219 import bus_timeout_us
from dockfw.store import MemoryStore

from docksim.circuit import Circuit
from docksim.clock import SimClock
from docksim.i2cbus import SimI2C, hardware_begin, hardware_end, heap_lock, heap_unlock
from docksim.ina219_model import INA219Model
from docksim.wiring import apply_fault, fault_actions, monitors, unique_id

# Simulated time one host command line costs the firmware: what the RP2040 spends reading
# the line byte by byte, parsing it, acting and writing the answer. Measured on the
# official rp2 image (MicroPython v1.28.0) in tier C's emulated RP2040 with
# ``tools/tier_c.py --run tools/rp2_command_cost.py`` (device docked, 2026-12-03): a
# ``get`` of one key 10.0 ms a line, of every setting 12.1, a ``set`` 12.0, an ``info``
# 40.8 (with the script's stand-in for the USB port, whose read costs 1.5 ms more a line
# than the real port's 27 µs a byte). The board spreads it over steps between sampling
# cycles; the simulator charges it whole as the line is read, and keeps 9 ms (firmware
# 0.2.0's figure, when a line ran in one go): charged whole, the 8.5 ms a ``get`` now
# costs in all would be paid from the 1/16 share alone and pace a flood slower than
# the board, whose steps fit between cycles.
# Re-measure with that script when command handling changes.
COMMAND_COST_US = 9000
# How long a garbage collection stands the RP2040 still, with the App built (tier C:
# 11.6 ms quiet, up to 23 ms with a command flood's objects live): the simulated one
# takes as long, the sampling cycle going on from the board's timer interrupt meanwhile.
COLLECT_COST_US = 12000
COLLECT_POLL_US = 1000  # the board's timer during a collection: 1 kHz


class _NeverCut(BaseException):
    """What ``run_firmware`` catches for a dock whose power never fails: nothing."""


class SimDock:
    def __init__(self, scenario, write, inbox=None, sleep=None, views=False, boot_seed=None):
        """``write(bytes)`` receives the serial stream (the firmware's queued
        bytes; with ``views``, a memoryview into the firmware's output queue,
        valid only during the call: it saves a copy per line where heap is
        scarce, under MicroPython) and returns how many bytes the link took
        (None: all of them); ``inbox`` (optional) has ``pending() -> bool`` and
        ``read_line() -> bytes or None`` for host commands; ``sleep(seconds)``
        makes simulated time follow real time. Boot ids are random at every
        boot, as ``os.urandom`` makes them on the board; ``boot_seed`` (an int)
        derives them from it instead, for runs that must repeat exactly."""
        self.scenario = scenario
        board = scenario.board
        self.board = board
        self.clock = SimClock(realtime=sleep)
        # The transaction timeout dockfw.rp2040 gives machine.I2C.
        self.i2c = SimI2C(board.i2c_freq, self.clock, bus_timeout_us(board.i2c_freq))
        self.circuit = Circuit(scenario)
        self.chips = {}
        for addr, seed in monitors(scenario):
            chip = INA219Model(self.clock, self.circuit.source(addr), seed=seed)
            self.chips[addr] = chip
            self.i2c.attach(addr, chip)
        self.boots = 0
        self._boot_seed = boot_seed
        # Simulated time each command line the firmware takes costs it. A test about
        # the answers alone (not their timing) may set 0 to run faster.
        self.command_cost_us = COMMAND_COST_US
        self.collect_cost_us = COLLECT_COST_US
        self.interrupt = False  # the firmware's code runs as the board's timer interrupt
        self._poll = None  # the timer interrupt's callback while the firmware runs one
        self._stretch_us = 0  # what the stretch under way has cost so far (a collection)
        self.stretch_cost_us = 0
        self.uid = "%016x" % int.from_bytes(unique_id(scenario), "big")
        self.boot_id = self._boot_id()
        self.reset_cause = "power_on"
        self.powered = True
        self.power = None  # sim.power.PowerSupply, for a scenario that cuts power
        self.flash = None  # its sim.flash.MemFlash
        # The dock's flash as the firmware left it: a scenario's pin cycles are
        # the mating cycles an earlier life of the dock had already counted.
        for ev in scenario.events:
            if ev["type"] == "power_cut":
                from docksim.power import PowerSupply

                self.power = PowerSupply(self)
                self.flash = self.power.flash
                self.store = self.power.store
                break
        else:
            cycles = {}
            for name, p in scenario.pins.items():
                cycles[name] = p.get("cycles", 0)
            self.store = MemoryStore(
                {DOCKING_STATE: {"version": 1, "present": False, "cycles": cycles}}
            )
        self.watchdog_ms = None
        self._max_feed_gap_us = 0
        self._fed_us = 0
        self.charging = False
        self.led_on = False
        self.end_us = int(scenario.duration_s * 1000000)
        self._write = write
        self._views = views
        self._inbox = inbox
        self._actions = fault_actions(scenario)
        self.app = None  # the firmware's App of this boot, once run_firmware built it
        self._dropped_earlier = 0
        gc.collect()  # under MicroPython: the setup garbage gone before the firmware allocates

    def attach_inbox(self, inbox):
        """Host commands from now on; ``inbox`` as in the constructor. For an inbox
        that needs the dock first (a script timed by the dock's own clock)."""
        self._inbox = inbox

    def _boot_id(self):
        if self._boot_seed is None:
            return "%08x" % int.from_bytes(os.urandom(4), "big")
        return "%08x" % ((self._boot_seed * 2654435761 + 12345 + self.boots * 40503) & 0xFFFFFFFF)

    def power_on(self):
        """The power is back after a cut: the monitors restart from their power-on
        state, what the host sent meanwhile went nowhere, a new boot begins."""
        self._apply_due()
        for addr in self.chips:
            self.chips[addr].power_on_reset()
        if self._inbox is not None:
            while self._inbox.read_line() is not None:
                pass
        self.powered = True
        self.watchdog_ms = None  # the outage stopped it
        self._fed_us = self.clock.now_us
        self.boots += 1
        self.boot_id = self._boot_id()
        self.reset_cause = "power_on"

    def reboot(self):
        """What a soft reset leaves: the chips keep power and state, the firmware restarts."""
        self.boots += 1
        self.boot_id = self._boot_id()
        self.reset_cause = "soft"
        self.charge(False)  # a reset lets go of the charge-enable pin

    def run_firmware(self, sample_hz=None, idle_hz=None, on_boot=None):
        """Run the firmware until the scenario ends, through any reboots the host asks
        for and any power cuts; the last App. (Only a power cut that falls while an
        App is being built, and lasts to the scenario's end, leaves none: that
        ``PowerCut`` is raised.) ``on_boot(app)`` is called with each App before it
        runs (a long run's time-lapse sets its pace there)."""
        from dockfw.app import WATCHDOG_MS, App

        self.start_watchdog(WATCHDOG_MS)  # as dockfw.rp2040.main does on the board
        power = self.power
        cut = power.PowerCut if power is not None else _NeverCut
        while True:
            if self.app is not None:
                self._dropped_earlier += self.app.out.dropped
                self.app = None  # the next App's buffers need its heap (MicroPython)
                gc.collect()  # a board boots with a fresh heap
            try:
                self.app = App(self, sample_hz=sample_hz, idle_hz=idle_hz)
                if on_boot is not None:
                    on_boot(self.app)
                self.app.run()
            except cut:
                if power is not None and power.back():
                    self.start_watchdog(WATCHDOG_MS)  # main() at the new boot
                    continue
                if self.app is None:
                    raise
                return self.app
            if not self.app.reboot_requested or self.clock.now_us >= self.end_us:
                return self.app
            self.reboot()

    def dropped_lines(self):
        """Lines the firmware's output queue dropped, over every boot so far."""
        return self._dropped_earlier + (self.app.out.dropped if self.app is not None else 0)

    def _apply_due(self):
        now = self.clock.now_us
        while self._actions and self._actions[0].t_us <= now:
            action = self._actions.pop(0)
            apply_fault(self.chips[action.addr], action.mode)

    def _dead(self):
        # Firmware that caught the PowerCut and went on finds a dock without power.
        if not self.powered:
            from docksim.power import PowerCut

            raise PowerCut()

    # -- the HAL interface ------------------------------------------------
    def write(self, buf, start, end):
        self._dead()
        taken = self._write(memoryview(buf)[start:end] if self._views else bytes(buf[start:end]))
        return end - start if taken is None else taken

    def read_line(self):
        self._dead()
        if self._inbox is None:
            return None
        line = self._inbox.read_line()
        if line is not None:
            self.clock.advance_us(self.command_cost_us)
        return line

    def wait_us(self, us):
        self._dead()
        left = self.end_us - self.clock.now_us
        # Up to the scenario's end, never past it; once there, the wait the firmware
        # asked for (a long period must not be waited out a microsecond at a time).
        self.clock.sleep_us(us if us < left or left <= 0 else left)
        self._apply_due()
        return self._inbox is not None and self._inbox.pending()

    def interrupts(self, poll):
        """The board's 1 kHz timer interrupt, ``poll`` (None: stopped). The simulator
        charges no CPU time for the firmware's code, except what a stretch run with
        the interrupt costs: a collection (``collect_cost_us``) and any other stretch
        ``stretch_cost_us`` (0 unless a test sets it: building a line takes the
        RP2040 ~6 ms). That time passes as the stretch ends, ``poll`` called every
        millisecond of it."""
        if poll is None and self._poll is not None:
            cost = self._stretch_us if self._stretch_us else self.stretch_cost_us
            self._stretch_us = 0
            self._play_interrupt(self._poll, cost)
        self._poll = poll

    def collect(self):
        self._dead()
        gc.collect()
        self._stretch_us += self.collect_cost_us

    def _play_interrupt(self, poll, cost_us):
        """``cost_us`` of simulated time, ``poll`` called every millisecond. Under
        MicroPython the heap is locked around each call, as it is in a hard
        interrupt: firmware code that allocates there fails here (the simulated
        hardware it calls unlocks it: i2cbus)."""
        clock = self.clock
        start = clock.now_us
        end = start + cost_us
        k = 1
        while start + k * COLLECT_POLL_US <= end:
            due = start + k * COLLECT_POLL_US
            if clock.now_us < due:
                clock.advance_us(due - clock.now_us)
            self._apply_due()
            self.interrupt = self.i2c.interrupt = True
            heap_lock()
            try:
                poll()
            finally:
                heap_unlock()
                self.interrupt = self.i2c.interrupt = False
            k += 1
        if clock.now_us < end:
            clock.advance_us(end - clock.now_us)
        self._apply_due()

    def running(self):
        self._dead()
        self._apply_due()
        return self.clock.now_us < self.end_us

    def charge(self, on):
        interrupt = self.interrupt
        hardware_begin(interrupt)
        try:
            self._dead()
            self.charging = bool(on)
            self.circuit.set_rail(self.charging, self.clock.now_us)
        finally:
            hardware_end(interrupt)

    def led(self, on):
        self._dead()
        self.led_on = bool(on)

    def start_watchdog(self, timeout_ms):
        self._dead()
        # Simulated time has no hang to catch; the gaps between feeds are kept so
        # that tests can hold them against the timeout.
        self.watchdog_ms = timeout_ms
        self._fed_us = self.clock.now_us

    def feed(self):
        self._dead()
        now = self.clock.now_us
        if now - self._fed_us > self._max_feed_gap_us:
            self._max_feed_gap_us = now - self._fed_us
        self._fed_us = now

    @property
    def max_feed_gap_us(self):
        """The longest the firmware has gone without feeding its watchdog, until now."""
        return max(self._max_feed_gap_us, self.clock.now_us - self._fed_us)

    def temp_mc(self):
        self._dead()
        return int(self.circuit.temp_c(self.clock.now_us) * 1000)

    def recover_bus(self):
        """The I2C-bus recovery of rp2040.py on the simulated lines: SCL clocked until
        SDA is released (at most nine times), a STOP; True when SDA is high."""
        self._apply_due()
        return self.i2c.clock_out()
