"""``--record FILE``: every received line, appended to a JSONL file as it arrives.

One JSON object per line, ``host_time`` (the host's receive time, ISO 8601 UTC)
first, then one of:

- ``"dock": {...}``: a protocol line, inline, exactly as the dock wrote it, so
  ``jq`` reads the device's fields in one pass (``.dock.type``, ``.dock.pins``);
- ``"line": "<text>"``: a protocol line that is not plain JSON (a ``NaN``, a
  body that does not decode), kept as the text received;
- ``"console": "<text>"``: console text (boot banner, traceback, noise);
- ``"link": "connected" | "disconnected" | "port_error" | "shared"``, with
  ``"detail"`` and ``"port"``: what the host saw of the port;
- ``"not_recorded": N``, with ``"detail"``: the N records before this one could
  not be written (a full disk); replay does not count their lines as lost on the link.

Recordings written before the ``dock`` form stored every protocol line as
``"line"``; both read back the same (``pogodock.recordings.replay``). Lost lines and
reboots are not stored: replay finds them again from ``seq`` and ``boot``.

Following several docks (``monitor --all``), ``--record DIR`` keeps one such
recording per dock, ``DIR/<uid>.jsonl`` (``DockRecordings``): each file holds one
dock's lines only, so replay, export and plot read it as any recording.

Each record is one ``write`` on a file opened with ``O_APPEND``, so the file is
safe to kill at any moment: at worst its last line is cut short, which replay
skips. A record that cannot be written (a full disk) never stops the monitor:
the recorder says so once, through ``say``, shows it in ``state()``, keeps
trying with every record, and the first record it writes again starts on a line
of its own, after a ``not_recorded`` note.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from typing import Protocol

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


class BinarySink(Protocol):
    def write(self, data: bytes, /) -> int | None: ...


class Recorder:
    """A subscriber that appends every record to ``path`` (or to ``stream``).

    ``say(text)`` is called once when writing starts failing and once when it
    works again (the monitor prints it on stderr); ``state()`` is the same news
    in a few words for the dashboard.
    """

    def __init__(
        self,
        path: str,
        *,
        stream: BinarySink | None = None,
        say: Callable[[str], None] | None = None,
        goes_on: str = "the monitor",
    ) -> None:
        self.path = path
        self.say = say
        self.goes_on = goes_on  # what keeps running while records are lost, for messages
        self.records = 0
        self.unwritten = 0  # records not written since writing last worked
        self.errors = 0  # records never written, in all
        self.problem = ""  # why writing fails now, '' while it works
        self._t = -1.0
        self._iso = ""
        self._stream = stream
        self._mid_line = False  # the file may end in a record cut short
        self.fd = -1
        if stream is None:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            # A previous run killed mid-write may have left a cut line: start afresh.
            size = os.fstat(self.fd).st_size
            if size:
                with open(path, "rb") as f:
                    f.seek(size - 1)
                    self._mid_line = f.read(1) != b"\n"

    def __call__(self, rec: Record) -> None:
        t = rec.host_time
        if t != self._t:
            self._t = t
            self._iso = iso_utc(t)
        text = self._encode(rec)
        if text is None:
            return
        if self.unwritten:  # say where the gap is, so replay does not blame the link
            note = {
                "host_time": self._iso,
                "not_recorded": self.unwritten,
                "detail": self.problem,
            }
            text = json.dumps(note, ensure_ascii=False) + "\n" + text
        if self._mid_line:  # the last record may have been cut short: a line of our own
            text = "\n" + text
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate in text that did not come from a port
            data = text.encode("utf-8", "backslashreplace")
        try:
            self._write_all(data)
        except OSError as e:
            self._failed(e)
            return
        self.records += 1
        self._mid_line = False
        if self.unwritten:
            lost = self.unwritten
            self.unwritten = 0
            self.problem = ""
            self._say(
                "recording %s: writing again; %d record%s before this could not be written"
                % (self.path, lost, "" if lost == 1 else "s")
            )

    def _encode(self, rec: Record) -> str | None:
        iso = self._iso
        if isinstance(rec, DeviceLine):
            if not rec.plain_json:
                return json.dumps({"host_time": iso, "line": rec.raw}, ensure_ascii=False) + "\n"
            return '{"host_time":"%s","dock":%s}\n' % (iso, rec.raw.strip())
        if isinstance(rec, ConsoleText):
            return json.dumps({"host_time": iso, "console": rec.text}, ensure_ascii=False) + "\n"
        if isinstance(rec, LinkEvent) and rec.kind in RECORDED_LINK_KINDS:
            obj = {"host_time": iso, "link": rec.kind, "detail": rec.detail, "port": rec.port}
            return json.dumps(obj, ensure_ascii=False) + "\n"
        return None

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._stream is not None:
                n = self._stream.write(view.tobytes())
                n = len(view) if n is None else n
            else:
                n = os.write(self.fd, view)
            if n <= 0:
                raise OSError("the file took nothing")
            view = view[n:]

    def _failed(self, e: OSError) -> None:
        self._mid_line = True  # part of the record may have gone in
        self.errors += 1
        self.unwritten += 1
        first = not self.problem
        self.problem = e.strerror or str(e) or type(e).__name__
        if first:
            self._say(
                "recording %s: cannot write (%s); %s goes on, records are lost "
                "until it can write again" % (self.path, self.problem, self.goes_on)
            )

    def _say(self, text: str) -> None:
        if self.say is not None:
            try:
                self.say(text)
            except Exception:  # a closed stderr must not stop the recording
                pass

    def state(self) -> str:
        """How the recording stands, in a few words (the dashboard's link line)."""
        name = os.path.basename(self.path) or self.path
        if self.problem:
            return "recording %s FAILING: %s, %d record%s not written" % (
                name,
                self.problem,
                self.unwritten,
                "" if self.unwritten == 1 else "s",
            )
        if self.errors:
            return "recording %s (%d records lost)" % (name, self.errors)
        return "recording %s" % name

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


_UNSAFE = re.compile(r"[^0-9A-Za-z_.-]")


class DockRecordings:
    """``out(key, record)`` for ``fleet.DockRouter``: a ``Recorder`` per dock in ``folder``."""

    def __init__(self, folder: str, say: Callable[[str], None] | None = None) -> None:
        """Raises ``OSError`` when ``folder`` cannot be made."""
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        self.path = folder  # as a Recorder's, for the messages that name it
        self.say = say
        self.recorders: dict[str, Recorder] = {}
        self.unopened = 0  # records for a dock whose file could not be opened
        self._lock = threading.Lock()  # readers of several ports write here

    def file_for(self, key: str) -> str:
        name = _UNSAFE.sub("_", key).lstrip(".") or "dock"
        return os.path.join(self.folder, name + ".jsonl")

    def __call__(self, key: str, rec: Record) -> None:
        with self._lock:
            r = self.recorders.get(key)
            if r is None:
                path = self.file_for(key)
                try:
                    r = Recorder(path, say=self.say)
                except OSError as e:
                    self.unopened += 1
                    if self.unopened == 1 and self.say is not None:
                        self.say("recording %s: cannot open (%s)" % (path, e.strerror or e))
                    return
                self.recorders[key] = r
            r(rec)

    @property
    def errors(self) -> int:
        return self.unopened + sum(r.errors for r in self.recorders.values())

    def state(self) -> str:
        failing = [r.state() for r in self.recorders.values() if r.problem]
        n = len(self.recorders)
        return (
            failing[0]
            if failing
            else "recording %s (%d dock%s)"
            % (
                self.folder,
                n,
                "" if n == 1 else "s",
            )
        )

    def close(self) -> None:
        with self._lock:
            for r in self.recorders.values():
                r.close()
