"""``pogodock replay`` as a playback: where in a recording the screen stands, and what comes next.

A ``Player`` only decides which records are due; the dashboard folds them into its
model exactly as it folds a live reader's records. Going back in time cannot undo
a fold, so ``take`` then says "rewound" and hands the records from the first one
again: the model is rebuilt through the same code path, never patched.

Playback runs on the recording's host clock times the speed. A quiet stretch
(the dock unplugged for an hour) is cut to ``MAX_WAIT_S`` of waiting: a player
that sat still for minutes would look broken.
"""

from __future__ import annotations

import pickle
import time
from collections import deque
from collections.abc import Callable, Sequence

from pogodock.model import DockModel
from pogodock.records import Event, LinkEvent, Record

SPEEDS: tuple[int | None, ...] = (1, 2, 4, 8, 16, 32, 64, None)  # None: as fast as drawn
MAX_WAIT_S = 2.0
MAX_PER_TAKE = 5000  # at full speed: the screen still moves between draws
MARKS = 64  # at most, over a whole recording
MARK_EVERY = 2000  # records at least between marks (about 70 ms of folding)


def is_event(rec: Record) -> bool:
    """What ``n`` jumps to: the dock's events and what the host saw of the link."""
    return isinstance(rec, (Event, LinkEvent))


class Player:
    def __init__(
        self,
        records: Sequence[Record],
        clock: Callable[[], float] = time.monotonic,
        playing: bool = True,
    ) -> None:
        self.records = records
        self.clock = clock
        self.playing = playing and bool(records)
        self.speed_index = 0
        self.shown = 0  # records handed out so far; the screen shows records[:shown]
        self._due = 0  # a step or jump: records[:due] are to be shown, playing or not
        self._rewound = False
        self._anchor_at(self.shown)

    # -- where the clock stands ----------------------------------------------
    @property
    def speed(self) -> int | None:
        return SPEEDS[self.speed_index]

    @property
    def at(self) -> int:
        """Where the screen stands, or will once the due records are drawn."""
        return max(self.shown, self._due)

    def _played_to(self) -> int:
        """How many records playing has made due by now."""
        n = len(self.records)
        at = self.shown
        if self.speed is None:
            return min(n, at + MAX_PER_TAKE)
        speed = self.speed
        target = self._rec_t + (self.clock() - self._wall) * speed
        while at < n and self.records[at].host_time <= target:
            at += 1
        if at < n and at == self.shown:
            wait = (self.records[at].host_time - target) / speed
            if wait > MAX_WAIT_S:  # a quiet stretch: wait MAX_WAIT_S, not all of it
                self._wall = self.clock()
                self._rec_t = self.records[at].host_time - MAX_WAIT_S * speed
        return at

    # -- what the dashboard drains --------------------------------------------
    def take(self) -> tuple[bool, list[Record]]:
        """(rewound, records now due): when rewound, the records start from the first."""
        rewound, self._rewound = self._rewound, False
        due = self._due
        if self.playing:
            due = max(due, self._played_to())
        out = list(self.records[self.shown : due])
        self.shown = max(self.shown, due)
        self._due = self.shown
        if self.shown >= len(self.records):
            self.playing = False  # the end: paused there, space plays from the start
        return rewound, out

    # -- the keys ---------------------------------------------------------------
    def toggle(self) -> None:
        if not self.records:
            return
        if not self.playing and self.at >= len(self.records):
            self.seek(0)
        self.playing = not self.playing
        self._anchor_at(self.at)

    def step(self) -> None:
        """One record on, paused."""
        self.playing = False
        self._due = min(len(self.records), self.at + 1)

    def back(self) -> None:
        """One record back, paused: the screen is rebuilt up to the record before."""
        self.playing = False
        self.seek(self.at - 1)

    def seek(self, k: int) -> None:
        """Show records[:k]: forward by handing out the rest, back by starting over."""
        k = max(0, min(len(self.records), k))
        if k < self.shown:
            self._rewound = True
            self.shown = 0
        self._due = k
        self._anchor_at(k)

    def _anchor_at(self, k: int) -> None:
        """Playback time restarts from records[k - 1]'s time, now."""
        self._wall = self.clock()
        if k:
            self._rec_t = self.records[k - 1].host_time
        elif self.records:
            self._rec_t = self.records[0].host_time
        else:
            self._rec_t = 0.0

    def next_event(self) -> bool:
        """On to just after the next event; False when none is left."""
        for k in range(self.at, len(self.records)):
            if is_event(self.records[k]):
                self.seek(k + 1)
                return True
        return False

    def faster(self) -> None:
        self.speed_index = min(len(SPEEDS) - 1, self.speed_index + 1)
        self._anchor_at(self.at)

    def slower(self) -> None:
        self.speed_index = max(0, self.speed_index - 1)
        self._anchor_at(self.at)

    def position(self) -> str:
        """e.g. '▶ 4x · record 120 of 5000'."""
        if self.playing:
            mode = "▶ %s" % ("max" if self.speed is None else "%dx" % self.speed)
        elif self.at >= len(self.records):
            mode = "■ end"
        else:
            mode = "⏸ %s" % ("max" if self.speed is None else "%dx" % self.speed)
        return "%s · record %d of %d" % (mode, self.at, len(self.records))


class Marks:
    """What the screen held after every ``every``-th record: going back starts from the
    nearest mark instead of the first record (a day recorded at six records a second is
    half a million records, some 17 s of folding). A mark is the model and the log lines
    shown, pickled as they stood; folding on from it is the same fold as from the start."""

    def __init__(self, total: int, tail: int) -> None:
        self.every = max(MARK_EVERY, -(-total // MARKS))
        self.events: deque[str] = deque(maxlen=tail)  # the event log's last lines
        self.console: deque[str] = deque(maxlen=tail)
        self._saved: dict[int, bytes] = {}

    def folded(self, k: int, model: DockModel) -> None:
        """``model`` holds records[:k]; kept when a mark falls there."""
        if k % self.every == 0 and k not in self._saved:
            state = (model, self.events, self.console)
            self._saved[k] = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)

    def restore(self, k: int) -> tuple[int, DockModel]:
        """The nearest mark at or before records[:k]: where it stands and its model (the
        log lines come back with it); (0, a new model) before the first."""
        at = max((m for m in self._saved if m <= k), default=0)
        if not at:
            self.events.clear()
            self.console.clear()
            return 0, DockModel()
        model, self.events, self.console = pickle.loads(self._saved[at])
        return at, model
