"""Docking: a device arriving and leaving, and the mating cycles each pin has made.

Presence comes from the sampler (a supply sense pad not clipped, or current on
a pin). It must hold for ``ARRIVE_MS`` before a ``docked`` event and be gone for
``LEAVE_MS`` before ``undocked``, so a contact chattering under a device is not
a departure. While charging is switched off the pads cannot see a device (the
rail is off), and when no current flows and the supply pad's monitor has failed
nothing can, so the state is held. Time is counted per cycle (``elapsed_ms``),
never by comparing old tick stamps: a device may stay docked for months.

Every pin mates once per docking. The counts and whether a device is docked are
one state file (``docking``), written at every change, so a power cut leaves
both as they were before the change or both after it. A device found at boot
while the file says one was docked resumes its session: the restart is not a
mating. Only the first presence decision after boot can resume; once the dock
has been seen empty, any later device is a new mating.
"""

from array import array

from micropython import const

from dockfw import protocol
from dockfw.detect import Detector
from dockfw.store import BOOL, INT, OBJ, need
from dockfw.viper import native

ARRIVE_MS = const(50)
LEAVE_MS = const(300)
SETTLE_MS = const(300)  # contacts still bounce just after a device lands
# Docking.changed: what the App has still to handle.
ARRIVED = const(1)
LEFT = const(-1)
GONE_AT_BOOT = const(-2)
_STEP_MAX_MS = const(1000)  # one cycle counts for at most this (a stall is not a docking)
STATE = "docking"
STATE_VERSION = const(1)
MAX_CYCLES = const(100000000)  # far past any pin's rating: a larger count is damage


def _checker(pins):
    def check(obj):
        need(obj, "present", STATE, BOOL)
        counts = need(obj, "cycles", STATE, OBJ)
        for p in pins:
            if p.name in counts:
                need(counts, p.name, STATE + ".cycles", INT, 0, MAX_CYCLES)

    return check


class Docking(Detector):
    def __init__(self, ctx):
        self.ctx = ctx
        self._clock = ctx.clock
        pins = ctx.board.pins
        self.cycles = array("i", [0] * len(pins))
        saved = ctx.store.load(STATE, STATE_VERSION, _checker(pins))
        # Docked when the firmware last stopped? Then a device found at boot resumes.
        self._resume = False
        if saved is not None:
            counts = saved["cycles"]
            for p in pins:
                self.cycles[p.index] = counts.get(p.name, 0)
            self._resume = saved["present"]
        self._decided = False  # has presence been decided since boot
        self.present = False
        # Since the App last looked: ARRIVED, LEFT, or GONE_AT_BOOT (the device the
        # state file remembers is not there: only the file to correct).
        self.changed = 0
        self.session = 0
        self.started_s = 0  # dock time (s) the session started
        self._raw = False
        self._held_ms = 0  # how long the raw presence has differed from ``present``
        self._docked_ms = 0  # since the device arrived, up to SETTLE_MS
        self._last = self._clock.ticks_ms()

    @native  # every sampling cycle
    def cycle(self, s, now):
        step = self._clock.ticks_diff(now, self._last)
        self._last = now
        step = 0 if step < 0 else (_STEP_MAX_MS if step > _STEP_MAX_MS else step)
        if self.present and self._docked_ms < SETTLE_MS:
            self._docked_ms += step
        if not self.ctx.charging or not s.presence_known:
            return
        raw = s.docked
        if raw != self._raw:
            self._raw = raw
            self._held_ms = 0
            return
        if raw == self.present and self._decided:
            return
        self._held_ms += step
        if self._held_ms < (ARRIVE_MS if raw else LEAVE_MS):
            return
        self._held_ms = 0
        if not self._decided:
            self._decided = True
            if not raw:
                self._empty_at_boot()
                return
        self.present = raw
        self._docked_ms = 0
        self.changed = ARRIVED if raw else LEFT

    def _empty_at_boot(self):
        # The device the file remembers is gone: the next one is a new mating. The App
        # saves that from its loop (a cycle may run from the timer interrupt, where a
        # save can neither allocate nor stall the chip), and announces the stall.
        if self._resume:
            self._resume = False
            self.changed = GONE_AT_BOOT

    @native  # asked by other detectors every sampling cycle
    def settled(self):
        """Docked long enough for the contacts to have stopped bouncing."""
        return self.present and self._docked_ms >= SETTLE_MS

    def save(self, present):
        """The mating counts to flash (``present``: a device is docked now, so a reboot
        under it is not a new mating). The App calls it while a device stays docked:
        a flash write stalls sampling, so none is made as a device lands."""
        counts = {}
        for p in self.ctx.board.pins:
            counts[p.name] = self.cycles[p.index]
        self.ctx.store.save(STATE, STATE_VERSION, {"present": present, "cycles": counts})

    def docked(self, ctx):
        self.session += 1
        self.started_s = ctx.t_s()
        resumed = self._resume
        self._resume = False
        if not resumed:
            for j in range(len(self.cycles)):
                self.cycles[j] += 1
        ctx.event(
            protocol.EV_DOCKED,
            [],
            protocol.SEV_INFO,
            [("session", self.session), ("resumed", resumed)],
        )

    def undocked(self, ctx):
        self._resume = False
        self.save(False)
        ctx.event(
            protocol.EV_UNDOCKED,
            [],
            protocol.SEV_INFO,
            [("session", self.session), ("duration_s", ctx.t_s() - self.started_s)],
        )
