"""``--record FILE``: every received line, appended to a JSONL file as it arrives.

One JSON object per line:

- ``{"host_time": "2025-05-01T12:00:00.123456Z", "line": "<the device line>"}``
  for protocol lines (the exact text received, so replay parses it again with
  the same parser);
- ``{"host_time": ..., "console": "<text>"}`` for console text;
- ``{"host_time": ..., "link": "connected" | "disconnected" | "port_error" |
  "shared", "detail": "...", "port": "..."}`` for what the host saw of the port.

Lost lines and reboots are not stored: replay finds them again from ``seq`` and
``boot``. Each record is one ``write`` on a file opened with ``O_APPEND``, so
the file is safe to kill at any moment: at worst its last line is cut short,
which replay skips and the next recording session starts on a fresh line.
"""

from __future__ import annotations

import json
import os

from pogodock.records import (
    CONNECTED,
    DISCONNECTED,
    PORT_ERROR,
    SHARED,
    ConsoleText,
    DeviceLine,
    LinkEvent,
    Record,
    iso_utc,
)

RECORDED_LINK_KINDS = frozenset((CONNECTED, DISCONNECTED, PORT_ERROR, SHARED))


class Recorder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.records = 0
        self.errors = 0
        self._t = -1.0
        self._iso = ""
        # A previous run killed mid-write may have left a cut line: start afresh.
        size = os.fstat(self.fd).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    os.write(self.fd, b"\n")

    def __call__(self, rec: Record) -> None:
        t = rec.host_time
        if t != self._t:
            self._t = t
            self._iso = iso_utc(t)
        if isinstance(rec, DeviceLine):
            obj: dict[str, str] = {"host_time": self._iso, "line": rec.raw}
        elif isinstance(rec, ConsoleText):
            obj = {"host_time": self._iso, "console": rec.text}
        elif isinstance(rec, LinkEvent) and rec.kind in RECORDED_LINK_KINDS:
            obj = {"host_time": self._iso, "link": rec.kind, "detail": rec.detail, "port": rec.port}
        else:
            return
        data = (json.dumps(obj, ensure_ascii=False) + "\n").encode()
        try:
            os.write(self.fd, data)
            self.records += 1
        except OSError:
            self.errors += 1

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
