"""The reader core: the only code that touches a dock's serial port.

``Reader`` owns the port (a USB CDC device or any path pyserial opens, a
pseudo-terminal included), holds DTR (MicroPython only sends while the host
does), splits the byte stream into lines, turns each into a record
(``pogodock.records``) and hands it to its subscribers: callbacks, called on
the reader's thread, or ``RecordQueue`` objects that another thread drains.

It also:

- reports lost lines (``seq`` gaps), reboots (a new ``boot`` id) and another
  dock on the port (a new boot id whose hello names another ``uid``) as
  ``LinkEvent`` records, and keeps non-JSON lines as ``ConsoleText``;
- finds the dock by USB id when no port is given, and confirms it with
  ``info`` -> ``hello``;
- reconnects when the port vanishes (unplug, reset), with backoff, and finds
  the dock again;
- sends commands with ids (``send``/``request``) and matches ``ack``/``error``
  replies to them. Commands are written by the reader's own thread, so a user
  interface that sends one never blocks on the port.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import serial
from dockfw import protocol

from pogodock.link import ports
from pogodock.records import (
    CONFIRMED,
    CONNECTED,
    DISCONNECTED,
    DOCK_CHANGED,
    PORT_ERROR,
    REBOOT,
    SHARED,
    UNCONFIRMED,
    Ack,
    ConsoleText,
    Decoder,
    Error,
    Hello,
    LinkEvent,
    Record,
    too_long,
)

MAX_LINE_BYTES = 65536
READ_TIMEOUT_S = 0.05
REASK_AFTER_REBOOT_S = 0.3

Subscriber = Callable[[Record], None]


class Pending:
    """A command sent to the dock, waiting for its ``ack`` or ``error``."""

    def __init__(self, cid: int, cmd: str, line: bytes) -> None:
        self.id = cid
        self.cmd = cmd
        self.line = line
        self.sent_at = 0.0
        self.reply: Ack | Error | None = None
        self.failure: str | None = None
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def ok(self) -> bool:
        return isinstance(self.reply, Ack)

    def resolve(self, reply: Ack | Error) -> None:
        self.reply = reply
        self._done.set()

    def fail(self, why: str) -> None:
        if not self._done.is_set():
            self.failure = why
            self._done.set()

    def wait(self, timeout: float | None = None) -> Ack | Error | None:
        """The reply, or None when there was none (see ``failure``) within ``timeout``."""
        self._done.wait(timeout)
        return self.reply

    def describe(self) -> str:
        if isinstance(self.reply, Ack):
            return "%s #%d: ok" % (self.cmd, self.id)
        if isinstance(self.reply, Error):
            return "%s #%d: %s (%s)" % (self.cmd, self.id, self.reply.message, self.reply.code)
        if self.failure:
            return "%s #%d: %s" % (self.cmd, self.id, self.failure)
        return "%s #%d: waiting" % (self.cmd, self.id)


class RecordQueue:
    """A bounded queue of records for a consumer on another thread (drops the oldest)."""

    def __init__(self, maxlen: int = 200000) -> None:
        self._q: deque[Record] = deque(maxlen=maxlen)
        self.maxlen = maxlen
        self.dropped = 0

    def __call__(self, rec: Record) -> None:
        q = self._q
        if len(q) == self.maxlen:
            self.dropped += 1
        q.append(rec)

    def drain(self, limit: int | None = None) -> list[Record]:
        q = self._q
        n = len(q) if limit is None else min(limit, len(q))
        pop = q.popleft
        return [pop() for _ in range(n)]

    def __len__(self) -> int:
        return len(self._q)


class LineSplitter:
    """Bytes in, lines out (to ``line``), each without its newline; empty lines dropped.

    A line longer than ``MAX_LINE_BYTES`` is cut: its start goes to ``cut`` as
    console text, and the rest of it, up to its newline, is dropped, so that no
    tail of it is taken for a line of its own and no buffer grows without bound.
    """

    def __init__(
        self, line: Callable[[bytes, float], object], cut: Callable[[ConsoleText], None]
    ) -> None:
        self._line = line
        self._cut = cut
        self._buf = b""
        self._dropping = False
        self.cut_lines = 0

    def reset(self) -> None:
        """Forget a partial line (the port was reopened: what follows is a new stream)."""
        self._buf = b""
        self._dropping = False

    def feed(self, data: bytes, host_time: float) -> None:
        if self._dropping:
            nl = data.find(b"\n")
            if nl < 0:
                return
            self._dropping = False
            data = data[nl + 1 :]
        if self._buf:
            data = self._buf + data
        lines = data.split(b"\n")
        rest = lines.pop()
        if len(rest) > MAX_LINE_BYTES:
            self.cut_lines += 1
            self._cut(too_long(rest.decode("utf-8", "replace"), host_time))
            rest = b""
            self._dropping = True
        self._buf = rest
        decode = self._line
        for raw in lines:
            if raw and raw != b"\r":
                decode(raw, host_time)


class Reader:
    def __init__(
        self,
        port: str | None = None,
        *,
        baudrate: int = 115200,
        confirm_timeout: float = 2.0,
        command_timeout: float = 5.0,
        max_backoff: float = 2.0,
        exclusive: bool = True,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.confirm_timeout = confirm_timeout
        self.command_timeout = command_timeout
        self.max_backoff = max_backoff
        self.exclusive = exclusive
        self._subs: list[Subscriber] = []
        self._decoder = Decoder(self._dispatch)
        self._splitter = LineSplitter(self._decoder.line, self._dispatch)
        self._ser: serial.Serial | None = None
        self._outbox: deque[Pending] = deque()
        self._pending: dict[int, Pending] = {}
        # Ids start anywhere below 2**29 (the dock's small ints): a reply left unread
        # on the port by an earlier process, which numbered from where it started,
        # must not be taken for this one's.
        self._next_id = 1 + random.getrandbits(29)
        self._id_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._confirm_deadline = 0.0
        self._unconfirmed_told = False
        self._reask_at = 0.0
        self._held_asked = False
        self._last_error = ""
        self._other_version = ""  # why a protocol line's version is not ours, as said
        self.current_port: str | None = None
        self.hello: Hello | None = None
        self.confirmed = False
        self.connects = 0
        self.disconnects = 0

    # -- subscribers ------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Subscriber:
        """``callback(record)`` runs on the reader's thread for every record; keep it quick."""
        self._subs = [*self._subs, callback]
        return callback

    def subscribe_queue(self, maxlen: int = 200000) -> RecordQueue:
        q = RecordQueue(maxlen)
        self.subscribe(q)
        return q

    def unsubscribe(self, callback: Subscriber) -> None:
        self._subs = [s for s in self._subs if s is not callback]

    # -- statistics -------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ser is not None

    @property
    def lines(self) -> int:
        return self._decoder.lines

    @property
    def console_lines(self) -> int:
        return self._decoder.console

    @property
    def lost(self) -> int:
        return self._decoder.tracker.lost

    @property
    def reboots(self) -> int:
        return self._decoder.tracker.reboots

    @property
    def uid(self) -> str | None:
        """The uid of the dock the records now handed out come from (None before its
        hello). Subscribers run on the reader's thread, so this is their record's dock."""
        return self._decoder.uid

    # -- the parse path ---------------------------------------------------------
    def feed(self, data: bytes, host_time: float) -> None:
        """Bytes as read from the port -> records to the subscribers."""
        self._splitter.feed(data, host_time)

    def _dispatch(self, rec: Record) -> None:
        cls = rec.__class__
        if cls is Ack or cls is Error or cls is Hello or cls is LinkEvent:
            self._observe(rec)
        elif cls is ConsoleText and rec.reason.startswith("protocol version"):  # type: ignore[attr-defined]
            self._other_version = rec.reason  # type: ignore[attr-defined]
        for sub in self._subs:
            try:
                sub(rec)
            except Exception:  # a faulty subscriber must not stop the reader
                pass

    def _observe(self, rec: Record) -> None:
        if isinstance(rec, (Ack, Error)):
            cid = rec.id
            if isinstance(cid, int):
                p = self._pending.get(cid)
                if p is not None and (not isinstance(rec, Ack) or rec.cmd == p.cmd):
                    del self._pending[cid]
                    p.resolve(rec)
        elif isinstance(rec, Hello):
            self.hello = rec
            self._other_version = ""
            if not self.confirmed:
                self.confirmed = True
                self._dispatch(
                    LinkEvent(
                        rec.host_time,
                        CONFIRMED,
                        "dock confirmed: firmware %s, board %s" % (rec.fw, rec.board),
                        port=self.current_port or "",
                    )
                )
        elif isinstance(rec, LinkEvent) and rec.kind in (REBOOT, DOCK_CHANGED):
            # A rebooted dock says hello first; ask again if that hello was missed.
            self.confirmed = False
            now = time.monotonic()
            self._confirm_deadline = now + self.confirm_timeout
            self._unconfirmed_told = False
            self._reask_at = now + REASK_AFTER_REBOOT_S

    # -- commands ---------------------------------------------------------------
    def send(self, cmd: str, **args: Any) -> Pending:
        """Queue a command; the reader's thread writes it. Returns at once."""
        with self._id_lock:
            cid = self._next_id
            self._next_id += 1
        p = Pending(cid, cmd, protocol.command(cmd, cid, **args))
        if b"\x03" in p.line:
            p.fail("refused: a command must not contain Ctrl-C")
            return p
        if self._ser is None:
            p.fail("not connected")
            return p
        self._outbox.append(p)
        return p

    def request(self, cmd: str, timeout: float = 3.0, **args: Any) -> Ack | Error | None:
        """Send and wait for the reply. Never call this from a subscriber callback."""
        return self.send(cmd, **args).wait(timeout)

    def _flush_outbox(self, ser: serial.Serial) -> None:
        while self._outbox:
            p = self._outbox.popleft()
            p.sent_at = time.monotonic()
            self._pending[p.id] = p
            ser.write(p.line)

    def _housekeeping(self, now: float) -> None:
        if self._pending:
            limit = now - self.command_timeout
            for cid, p in list(self._pending.items()):
                if p.sent_at < limit:
                    del self._pending[cid]
                    p.fail("no reply within %g s" % self.command_timeout)
        held = self._decoder.held
        if held is not None:
            # A new boot id waits for a hello to say which dock it is: ask for one if
            # the dock's own was missed, and stop waiting (a reboot) after a while.
            waited = time.time() - self._decoder.held_since
            if waited > self.confirm_timeout:
                self._decoder.release()
            elif waited > REASK_AFTER_REBOOT_S and not self._held_asked:
                self._held_asked = True
                self.send(protocol.CMD_INFO)
        else:
            self._held_asked = False
        if self._reask_at and now >= self._reask_at:
            self._reask_at = 0.0
            if not self.confirmed:
                self.send(protocol.CMD_INFO)
        if not self.confirmed and not self._unconfirmed_told and now > self._confirm_deadline:
            self._unconfirmed_told = True
            self._dispatch(
                LinkEvent(
                    time.time(),
                    UNCONFIRMED,
                    "no hello from %s within %g s: %s; still listening"
                    % (self.current_port, self.confirm_timeout, self._unconfirmed_why()),
                    port=self.current_port or "",
                )
            )

    def _unconfirmed_why(self) -> str:
        other = self._other_version
        if other:
            # A pogodock of another protocol version: its lines are kept as console text.
            return "its lines are of %s (update pogodock or the dock's firmware)" % other
        return "it may not be a pogodock"

    # -- the port ---------------------------------------------------------------
    def _open(self, path: str) -> serial.Serial:
        ser = serial.Serial()
        ser.port = path
        ser.baudrate = self.baudrate
        ser.timeout = READ_TIMEOUT_S
        ser.write_timeout = 1.0
        ser.dtr = True  # applied at open; MicroPython's USB CDC sends only while DTR is set
        ser.rts = True
        if self.exclusive:
            ser.exclusive = True
        ser.open()
        return ser

    def _candidates(self) -> list[str]:
        if self.port:
            return [self.port]
        return ports.find_docks()

    def connect(self) -> None:
        """Open the port now (or find the dock); raises ``ports.PortError`` saying why not."""
        err = self._try_connect()
        if err:
            raise ports.PortError(err)

    def _try_connect(self) -> str:
        """'' when connected, else why not (one sentence)."""
        cands = self._candidates()
        if not cands:
            return (
                "no dock found: no serial port with USB id %04x:%04x; plug one in or pass --port"
                % (
                    ports.DOCK_VID,
                    ports.DOCK_PID,
                )
            )
        if len(cands) == 1:
            try:
                ser = self._open(cands[0])
            except (serial.SerialException, OSError, ValueError) as e:
                return ports.explain_open_error(cands[0], e)
            self._attach(ser, cands[0])
            return ""
        errors = []
        for path in cands:
            try:
                ser = self._open(path)
            except (serial.SerialException, OSError, ValueError) as e:
                errors.append(ports.explain_open_error(path, e))
                continue
            if _probe(ser, self.confirm_timeout):
                self._attach(ser, path)
                return ""
            ser.close()
        if errors:
            return errors[0]
        return "found %d ports with the dock's USB id (%s) but none answered info with hello" % (
            len(cands),
            ", ".join(cands),
        )

    def _attach(self, ser: serial.Serial, path: str) -> None:
        self._ser = ser
        self._splitter.reset()
        self._other_version = ""  # a new port: what the last one spoke says nothing
        self.current_port = path
        self.connects += 1
        self.confirmed = False
        self._unconfirmed_told = False
        self._last_error = ""
        self._confirm_deadline = time.monotonic() + self.confirm_timeout
        self._dispatch(LinkEvent(time.time(), CONNECTED, "connected to %s" % path, port=path))
        self._warn_if_shared(path)
        self.send(protocol.CMD_INFO)

    def _warn_if_shared(self, path: str) -> None:
        # Tools that open the port without a lock (some terminals, mpremote) get no
        # "busy" error: both sides then read, and each gets part of the lines.
        # Pseudo-terminals are skipped: the simulator keeps its own end open.
        if os.path.realpath(path).startswith("/dev/pts/"):
            return
        others = ports.holders(path)
        if others:
            names = ", ".join("pid %d (%s)" % (h.pid, h.command) for h in others)
            self._dispatch(
                LinkEvent(
                    time.time(),
                    SHARED,
                    "%s is also open in %s: lines will go missing until it is closed"
                    % (path, names),
                    port=path,
                )
            )

    def _close_port(self) -> None:
        """Close the port, if one is open, and forget it (a port already gone may not close)."""
        ser = self._ser
        self._ser = None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def _detach(self, why: str) -> None:
        self._close_port()
        self.disconnects += 1
        for p in list(self._pending.values()) + list(self._outbox):
            p.fail("link lost")
        self._pending.clear()
        self._outbox.clear()
        self._splitter.reset()
        self._decoder.release()  # a new boot's lines waiting for its hello: no hello now
        self._dispatch(
            LinkEvent(
                time.time(),
                DISCONNECTED,
                "lost %s: %s" % (self.current_port, why),
                port=self.current_port or "",
            )
        )

    # -- the thread -------------------------------------------------------------
    def start(self, wait: bool = False) -> None:
        """Connect (raising ``PortError`` unless ``wait``) and start reading on a thread."""
        if self._ser is None and not wait:
            self.connect()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pogodock-reader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2.0)
        self._thread = None
        self._close_port()
        self._decoder.release()  # what waited for a hello goes to the subscribers too

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            if self._ser is None:
                err = self._try_connect()
                if err:
                    if err != self._last_error:
                        self._last_error = err
                        self._dispatch(
                            LinkEvent(time.time(), PORT_ERROR, err, port=self.port or "")
                        )
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                backoff = 0.1
            self._pump()

    def _pump(self) -> None:
        ser = self._ser
        if ser is None:
            return
        next_check = 0.0
        while not self._stop.is_set():
            try:
                if self._outbox:
                    self._flush_outbox(ser)
                n = ser.in_waiting
                data = ser.read(n if n > 0 else 1)
            except (serial.SerialException, OSError, TypeError, AttributeError) as e:
                # TypeError/AttributeError: pyserial after the fd vanished under it.
                self._detach(_short(e))
                return
            if data:
                self.feed(data, time.time())
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 0.1
                self._housekeeping(now)


def is_dock(path: str, timeout: float = 2.0, baudrate: int = 115200) -> bool | None:
    """Does the device on ``path`` answer ``info`` with a ``hello``? None when the port
    cannot be opened now (busy, gone): ask again later."""
    try:
        ser = Reader(path, baudrate=baudrate)._open(path)
    except (serial.SerialException, OSError, ValueError):
        return None
    try:
        return _probe(ser, timeout)
    finally:
        ser.close()


def _probe(ser: serial.Serial, timeout: float) -> bool:
    """Does the device on ``ser`` answer ``info`` with a ``hello``?"""
    got: list[bool] = []

    def seen(rec: Record) -> None:
        if isinstance(rec, Hello):
            got.append(True)

    dec = Decoder(seen)
    try:
        ser.write(protocol.command(protocol.CMD_INFO, 0))
        end = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < end and not got:
            buf += ser.read(ser.in_waiting or 1)
            *lines, buf = buf.split(b"\n")
            if len(buf) > MAX_LINE_BYTES:  # no hello is that long
                buf = b""
            for raw in lines:
                dec.line(raw, time.time())
    except (serial.SerialException, OSError):
        return False
    return bool(got)


def _short(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if "returned no data" in text:
        return "the port closed (unplugged, reset or the other end went away)"
    return text.splitlines()[0] if text else type(e).__name__
