"""Docking: a device arriving and leaving, and the mating cycles each pin has made.

Presence comes from the sampler (a supply sense pad not clipped, or current on
a pin). It must hold for ``ARRIVE_MS`` before a ``docked`` event and be gone for
``LEAVE_MS`` before ``undocked``, so a contact chattering under a device is not
a departure. Every pin mates once per docking: the counts persist in the store.
While charging is switched off the pads cannot see a device (the rail is off),
and when no current flows and the supply pad's monitor has failed nothing can,
so the state is held. A device still on the dock when the firmware restarts
resumes its session: the restart is not a mating.
"""

from array import array

from micropython import const

from dockfw.detect import Detector

ARRIVE_MS = const(50)
LEAVE_MS = const(300)
SETTLE_MS = const(300)  # contacts still bounce just after a device lands


class Docking(Detector):
    def __init__(self, ctx):
        self.ctx = ctx
        self._clock = ctx.clock
        pins = ctx.board.pins
        saved = ctx.store.load("cycles") or {}
        self.cycles = array("i", [int(saved.get(p.name, 0)) for p in pins])
        # Docked when the firmware last stopped? Then a device found at boot resumes.
        self._resume = bool((ctx.store.load("docking") or {}).get("present"))
        self.present = False
        self.changed = 0  # +1 arrived, -1 left, since the App last looked
        self.session = 0
        self.at = 0  # ticks_ms of the last change
        self.started_s = 0  # dock time (s) the session started
        self._raw = False
        self._since = 0

    def cycle(self, s, now):
        if not self.ctx.charging or not s.presence_known:
            return
        raw = s.docked
        if raw == self.present:
            self._raw = raw
            return
        if raw != self._raw:
            self._raw = raw
            self._since = now
            return
        if self._clock.ticks_diff(now, self._since) >= (ARRIVE_MS if raw else LEAVE_MS):
            self.present = raw
            self.at = now
            self.changed = 1 if raw else -1

    def settled(self, now):
        """Docked long enough for the contacts to have stopped bouncing."""
        return self.present and self._clock.ticks_diff(now, self.at) >= SETTLE_MS

    def docked(self, ctx):
        self.session += 1
        self.started_s = ctx.t_s()
        resumed = self._resume
        self._resume = False
        if not resumed:
            for j in range(len(self.cycles)):
                self.cycles[j] += 1
            ctx.store.save("cycles", {p.name: self.cycles[p.index] for p in ctx.board.pins})
            ctx.store.save("docking", {"present": True})
        ctx.event("docked", [], "info", [("session", self.session), ("resumed", resumed)])

    def undocked(self, ctx):
        self._resume = False
        ctx.store.save("docking", {"present": False})
        ctx.event(
            "undocked",
            [],
            "info",
            [("session", self.session), ("duration_s", ctx.t_s() - self.started_s)],
        )

    def clear(self, ctx):
        self.changed = 0
