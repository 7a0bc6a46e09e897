"""A small fake dock on a real pseudo-terminal, driven step by step by a test.

The dock's port is a symlink (``link``) to the pty's slave side, so a test can
unplug the dock (close the pty, remove the link) and plug it back (a new pty
behind the same path), as a USB device disappears and comes back. Lines are
made by the firmware's own encoder (``dockfw.protocol.encode``).
"""

from __future__ import annotations

import json
import os
import select
import threading
import time
import tty
from pathlib import Path
from typing import Any

from dockfw import protocol
from dockfw.protocol import Fixed, Obj
from pogodock.virtual import ptylink

PINS = ("VBUS1", "GND1")


class FakeDock:
    def __init__(self, link: Path, boot: str = "0000b001", pins: tuple[str, ...] = PINS) -> None:
        self.link = link
        self.boot = boot
        self.pins = pins
        self.uid = "0123456789abcdef"
        self.seq = 0
        self.t_ms = 0
        self.master: int | None = None
        self.slave: int | None = None
        self.commands: list[dict[str, Any]] = []
        self.answer = True
        # Reentrant: emit holds it across its seq and write; the server thread's answers
        # to info and the test's own lines must not share a seq or skip one.
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- plugging ---------------------------------------------------------------
    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self.master, self.slave = master, slave
        ptylink.point(str(self.link), os.ttyname(slave))
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(master,), daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self.link.is_symlink():
            self.link.unlink()
        with self._lock:
            for fd in (self.master, self.slave):
                if fd is not None:
                    os.close(fd)
            self.master = self.slave = None

    # -- what the dock says -----------------------------------------------------
    def write(self, data: bytes) -> None:
        with self._lock:
            if self.master is None:
                return
            view = memoryview(data)
            while view:
                n = os.write(self.master, view)
                view = view[n:]

    def emit(self, kind: str, fields: list[tuple[str, Any]] | None = None) -> None:
        with self._lock:
            self.write(protocol.encode(kind, self.seq, self.boot, self.t_ms, fields or []))
            self.seq += 1
            self.t_ms += 200

    def skip(self, n: int) -> None:
        """Lines the dock sent that never arrived."""
        with self._lock:
            self.seq += n

    def hello(self) -> None:
        pins = [
            Obj([("name", p), ("role", "supply" if p.startswith("V") else "ground")])
            for p in self.pins
        ]
        self.emit(
            protocol.HELLO,
            [
                ("fw", "fake"),
                ("board", "fake-board"),
                ("uid", self.uid),
                ("reset_cause", "power_on"),
                ("pins", pins),
            ],
        )

    def sample(
        self, r_mohm: float = 35.0, i_ma: float = 1500.0, r_max: float | None = None
    ) -> None:
        pins = []
        for p in self.pins:
            pins.append(
                (
                    p,
                    Obj(
                        [
                            ("i_ma", Fixed(int(i_ma * 10), 1)),
                            ("v_mv", 4990),
                            ("r_mohm", Fixed(int(r_mohm * 1000), 3)),
                            ("r_max_mohm", Fixed(int((r_max or r_mohm) * 1000), 3)),
                        ]
                    ),
                )
            )
        self.emit(protocol.SAMPLE, [("docked", True), ("cycles", 40), ("pins", Obj(pins))])

    def event(self, kind: str, pins: list[str], severity: str = "warn") -> None:
        self.emit(protocol.EVENT, [("kind", kind), ("pins", pins), ("severity", severity)])

    def console(self, text: str) -> None:
        self.write(text.encode() + b"\r\n")

    def reboot(self, boot: str) -> None:
        with self._lock:
            self.boot = boot
            self.seq = 0
            self.t_ms = 0
            self.console("MicroPython v1.24.0 on 2024-10-25; Raspberry Pi Pico with RP2040")
            self.hello()

    # -- answering commands -----------------------------------------------------
    def _serve(self, master: int) -> None:
        buf = b""
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                self._command(line)

    def _command(self, line: bytes) -> None:
        try:
            cmd = json.loads(line)
        except ValueError:
            self.emit(
                protocol.ERROR,
                [("id", None), ("code", protocol.E_BAD_JSON), ("message", "not JSON")],
            )
            return
        self.commands.append(cmd)
        if not self.answer:
            return
        if cmd.get("cmd") == "info":
            self.hello()
            self.emit(protocol.ACK, [("id", cmd.get("id")), ("cmd", "info")])
        else:
            self.emit(
                protocol.ERROR,
                [
                    ("id", cmd.get("id")),
                    ("code", protocol.E_UNKNOWN_COMMAND),
                    ("message", "unknown command"),
                ],
            )


def wait_for(pred: Any, timeout: float = 5.0, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())
