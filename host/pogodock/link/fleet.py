"""``monitor --all`` and a repeated ``--port``: one monitor follows many docks.

``Fleet`` runs a ``Reader`` per port, each on its own thread as the single-dock
monitor does, and with ``scan`` every port found by USB id (``ports.find_docks``)
whose device answers ``info`` with a ``hello``, looking again every ``rescan_s``
seconds for docks plugged in later; a port whose device does not say hello is left
alone until it is unplugged. ``attach(reader)`` is called for each new
reader before it starts, so that every exporter subscribes from its first record.

A port is not a dock: ``DockRouter`` hands each record on with the key of the
dock it belongs to (its ``uid``), on the reader's thread. The reader's decoder
holds a new boot id's lines until a hello says which dock it is, so a device line
always belongs to the reader's current dock; what comes before a port's first
line (connected, shared) or before its first hello waits until that is known;
what a person must see at once (the port cannot be opened, no hello came) goes
out under the dock last heard there, or the port's name.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable

from pogodock.link import ports
from pogodock.link import reader as reader_mod
from pogodock.link.reader import Reader
from pogodock.records import (
    CONNECTED,
    DOCK_CHANGED,
    PORT_ERROR,
    REBOOT,
    UNCONFIRMED,
    DeviceLine,
    LinkEvent,
    Record,
)

RESCAN_S = 3.0
# Records kept for a port whose dock has not said who it is (a dock without a hello).
PENDING_MAX = 2000


class Fleet:
    def __init__(
        self,
        paths: list[str],
        attach: Callable[[Reader], None],
        *,
        scan: bool = False,
        rescan_s: float = RESCAN_S,
        wait: bool = True,
    ) -> None:
        self.paths = list(paths)
        self.attach = attach
        self.scan = scan
        self.rescan_s = rescan_s
        self.wait = wait
        self.readers: dict[str, Reader] = {}
        self.confirm_timeout = 2.0
        self._refused: set[str] = set()  # real paths whose device did not say hello
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Opens every given port (raising ``PortError`` unless ``wait``), then scans."""
        for path in self.paths:
            self.add(path, self.wait)
        if self.scan:
            self.rescan()
            self._thread = threading.Thread(target=self._scan, name="pogodock-scan", daemon=True)
            self._thread.start()

    def add(self, path: str, wait: bool = True) -> Reader | None:
        """A reader for ``path`` unless one follows it already (by its real path: a
        ``/dev/serial/by-id`` link and its ``ttyACM`` are one port)."""
        real = os.path.realpath(path)
        if real in self.readers:
            return None
        reader = Reader(path)
        self.attach(reader)
        reader.start(wait=wait)
        self.readers[real] = reader
        return reader

    def rescan(self) -> None:
        """Follows each port with the docks' USB id whose device says hello. One that
        does not (another MicroPython board) is left alone until it is unplugged, so
        that it is not sent ``info`` every few seconds nor held open."""
        found = {os.path.realpath(p): p for p in ports.find_docks()}
        self._refused &= set(found)
        for real, path in found.items():
            if real in self.readers or real in self._refused:
                continue
            confirmed = reader_mod.is_dock(path, self.confirm_timeout)
            if confirmed:
                self.add(path)
            elif confirmed is False:
                self._refused.add(real)

    def _scan(self) -> None:
        while not self._stop.wait(self.rescan_s):
            try:
                self.rescan()
            except Exception:  # a failing scan must not end the monitor; try again later
                pass

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for reader in list(self.readers.values()):
            reader.stop()


def dock_key(reader: Reader) -> str:
    """The dock the reader's records now come from: its uid (a dock that gives none is
    known by its port)."""
    uid = reader.uid
    if uid:
        return uid
    return "port-" + os.path.basename(reader.port or reader.current_port or "unknown")


class DockRouter:
    """A reader subscriber: ``out(key, record)`` with the key of the record's dock."""

    def __init__(self, reader: Reader, out: Callable[[str, Record], None]) -> None:
        self.reader = reader
        self.out = out
        self._known = False
        self._pending: deque[Record] = deque()

    def __call__(self, rec: Record) -> None:
        reader = self.reader
        now = False
        if isinstance(rec, LinkEvent):
            now = rec.kind in (PORT_ERROR, UNCONFIRMED)
            if rec.kind == CONNECTED:
                self._known = False  # another dock may be behind the port now
            elif rec.kind in (REBOOT, DOCK_CHANGED):
                self._known = True  # the decoder has decided: the uid is the new boot's
        elif isinstance(rec, DeviceLine) and reader.uid is not None:
            self._known = True
        if not self._known:
            self._pending.append(rec)
            if len(self._pending) < PENDING_MAX and not now:
                return
        key = dock_key(reader)
        while self._pending:
            self.out(key, self._pending.popleft())
        if self._known:
            self.out(key, rec)


class TaggedQueue:
    """(key, record) pairs for a consumer on another thread; bounded, drops the oldest."""

    def __init__(self, maxlen: int = 200000) -> None:
        self._q: deque[tuple[str, Record]] = deque(maxlen=maxlen)

    def __call__(self, key: str, rec: Record) -> None:
        self._q.append((key, rec))

    def drain(self) -> list[tuple[str, Record]]:
        q = self._q
        pop = q.popleft
        return [pop() for _ in range(len(q))]
