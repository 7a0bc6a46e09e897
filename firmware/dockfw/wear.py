"""Wear: each pin's mating cycles against the cycles its maker rates it for.

``docking`` counts a mating cycle per pin at every docking and keeps the counts
in the store. Here, right after that count (``docked`` runs after docking's
own), a pin that reaches ``WARN_PCT`` of its rated life raises ``wear`` warn and
one that reaches its rating raises ``wear`` fault, each once: what was raised is
kept in the store (``wear``), so a reboot does not raise it again. A pin that
jumps past both thresholds at once raises only the fault. Without that record (a
new store) a pin already past a threshold raises it at the next docking: said
once more rather than never.
"""

from array import array

from micropython import const

from dockfw import protocol
from dockfw.detect import FAULT, OK, WARN, Detector
from dockfw.store import INT, OBJ, need

WARN_PCT = const(80)  # time to order pins: the last fifth of rated life
PENALTY_FROM_PCT = const(50)  # wear starts to cost score past half of rated life
PENALTY_MAX = const(30)  # at rated life: worn, not broken; a fault caps the score anyway
STATE = "wear"
STATE_VERSION = const(1)


def _check(obj):
    raised = need(obj, "raised", STATE, OBJ)
    for name in raised:
        need(raised, name, STATE + ".raised", INT, OK, FAULT)


class Wear(Detector):
    def __init__(self, ctx):
        self.ctx = ctx
        pins = ctx.board.pins
        n = self.n = len(pins)
        self.rated = array("i", [p.rated_cycles for p in pins])
        self.pct = array("i", [0] * n)  # used life, %, at the last docking
        saved = ctx.store.load(STATE, STATE_VERSION, _check)
        raised = saved["raised"] if saved is not None else {}
        # the highest level announced per pin
        self.raised = array("b", [raised.get(p.name, OK) for p in pins])
        self._unsaved = False
        self._update(ctx)

    def _update(self, ctx):
        cycles = ctx.docking.cycles
        for j in range(self.n):
            self.pct[j] = cycles[j] * 100 // self.rated[j]

    def _level_of(self, j):
        pct = self.pct[j]
        return FAULT if pct >= 100 else (WARN if pct >= WARN_PCT else OK)

    def docked(self, ctx):
        self._update(ctx)
        cycles = ctx.docking.cycles
        changed = False
        for j in range(self.n):
            lvl = self._level_of(j)
            if lvl < self.raised[j]:  # fewer cycles than before: new pins, announce afresh
                self.raised[j] = lvl
                changed = True
            if lvl <= self.raised[j]:
                continue
            self.raised[j] = lvl
            changed = True
            ctx.event(
                protocol.EV_WEAR,
                [j],
                protocol.SEV_FAULT if lvl == FAULT else protocol.SEV_WARN,
                [("cycles", cycles[j]), ("rated_cycles", self.rated[j]), ("used_pct", self.pct[j])],
            )
        # Saved when the device leaves: a flash write stalls sampling, never while a
        # device lands (a reboot before then announces the level again, no harm).
        self._unsaved = self._unsaved or changed

    def undocked(self, ctx):
        if not self._unsaved:
            return
        self._unsaved = False
        raised = {}
        for p in ctx.board.pins:
            raised[p.name] = self.raised[p.index]
        ctx.store.save(STATE, STATE_VERSION, {"raised": raised})

    def level(self, j):
        return self._level_of(j)

    def penalty(self, j):
        over = self.pct[j] - PENALTY_FROM_PCT
        if over <= 0:
            return 0
        return min(PENALTY_MAX, over * PENALTY_MAX // (100 - PENALTY_FROM_PCT))
