"""A host that talks to a dock's serial port the hard way: hostile lines and floods.

``Link`` reads every line the dock sends on its own thread (a host that keeps
reading, so the dock's answers always have room) and writes from another, as fast
as the port takes bytes. ``run_corpus`` sends hostile lines and checks each answer;
``flood`` sends commands as fast as the link takes them. Both report what they saw
as a dict of figures. Used by the link tests and tools/reliability_commands.py.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterable
from typing import Any

import serial

from support.strictref import reference

ANY = "any"


class Link:
    def __init__(self, port: str) -> None:
        self.ser = serial.Serial(port, timeout=0.05)
        self.lock = threading.Lock()
        self.records: list[tuple[float, dict[str, Any]]] = []  # (wall time, line)
        self.console: list[bytes] = []  # anything that was not a protocol line
        self.not_strict: list[bytes] = []  # JSON lines a strict reader refuses
        self._rest = b""
        self._synced = False
        self._stop = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                data = self.ser.read(65536)
            except (serial.SerialException, OSError):
                return
            if not data:
                continue
            now = time.monotonic()
            lines = (self._rest + data).split(b"\n")
            self._rest = lines.pop()
            if not self._synced and lines:  # joined mid-line: that line's start is gone
                lines.pop(0)
                self._synced = True
            for raw in lines:
                self._take(now, raw)

    def _take(self, now: float, raw: bytes) -> None:
        try:
            rec = json.loads(raw)
        except ValueError:
            rec = None
        if not isinstance(rec, dict) or "type" not in rec:
            with self.lock:
                self.console.append(raw)
            return
        try:
            reference(raw, command=False)
        except ValueError:
            with self.lock:
                self.not_strict.append(raw)
        with self.lock:
            self.records.append((now, rec))

    def send(self, data: bytes) -> None:
        self.ser.write(data)

    def snapshot(self) -> list[tuple[float, dict[str, Any]]]:
        with self.lock:
            return list(self.records)

    def answers(self) -> list[dict[str, Any]]:
        return [r for _, r in self.snapshot() if r["type"] in ("ack", "error")]

    def wait(self, pred, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return True
            time.sleep(0.02)
        return pred()

    def request(self, line: bytes, cid: str, timeout: float = 10) -> dict[str, Any]:
        """Send one command line with id ``cid`` and wait for its answer."""
        self.send(line + b"\n")
        found: list[dict[str, Any]] = []

        def answered() -> bool:
            found[:] = [a for a in self.answers() if a.get("id") == cid]
            return bool(found)

        assert self.wait(answered, timeout), "no answer to %r" % line
        return found[0]

    def close(self) -> None:
        self._stop = True
        self._reader.join(2)
        self.ser.close()


def config(link: Link, tag: str) -> dict[str, Any]:
    ans = link.request(b'{"cmd":"get","id":"%s"}' % tag.encode(), tag)
    assert ans["type"] == "ack", ans
    return ans["config"]


def _writer(link: Link, lines: Iterable[bytes], sent: list[int]) -> threading.Thread:
    def run() -> None:
        for line in lines:
            link.send(line + b"\n")
            sent[0] += 1

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def sampling(records, t0: float, t1: float) -> dict[str, float]:
    """What the sample lines received between wall times t0 and t1 show: lines, the
    sampling cycles they summarise and the dock time they span."""
    samples = [r for t, r in records if r["type"] == "sample" and t0 <= t <= t1]
    if len(samples) < 2:
        return {"lines": len(samples), "cycles": 0, "span_s": 0.0, "rate_hz": 0.0}
    span = (samples[-1]["t_ms"] - samples[0]["t_ms"]) / 1000
    cycles = sum(r["cycles"] for r in samples[1:])
    return {
        "lines": len(samples),
        "cycles": cycles,
        "span_s": span,
        "rate_hz": cycles / span if span > 0 else 0.0,
    }


def lost_lines(records) -> int:
    """Lines the dock numbered that never arrived: the gaps in ``seq`` within each boot."""
    lost = 0
    last: dict[str, int] = {}
    for _, r in records:
        prev = last.get(r["boot"])
        if prev is not None and r["seq"] > prev + 1:
            lost += r["seq"] - prev - 1
        last[r["boot"]] = r["seq"]
    return lost


def run_corpus(
    link: Link, items: list[tuple[bytes, tuple[str, ...], Any]], timeout: float = 120
) -> dict[str, Any]:
    """Send hostile lines (as ``mp.hostile.corpus`` makes them) between two ``get``s and
    check every answer. Returns figures and the mismatches found."""
    before = config(link, "corpus-before")
    start_answers = len(link.answers())
    t0 = time.monotonic()
    sent = [0]
    writer = _writer(link, (line for line, _, _ in items), sent)
    writer.join(timeout)
    done = link.wait(lambda: len(link.answers()) >= start_answers + len(items), timeout)
    t1 = time.monotonic()
    time.sleep(max(0.0, t0 + 2 - t1))  # sampling seen over 2 s at least
    after = config(link, "corpus-after")
    answers = link.answers()[start_answers : start_answers + len(items)]
    wrong = []
    for (line, codes, cid), ans in zip(items, answers, strict=False):
        if ans["type"] != "error" or ans["code"] not in codes or (cid != ANY and ans["id"] != cid):
            wrong.append((line[:120], codes, cid, ans))
    records = link.snapshot()
    return {
        "lines": len(items),
        "sent": sent[0],
        "answered": len(answers),
        "all_answered": done,
        "wrong": wrong,
        "config_kept": before == after,
        "boots": sorted({r["boot"] for _, r in records}),
        "charging_off": [  # what a host's "charge off" would have left
            r
            for t, r in records
            if t0 <= t
            and r["type"] == "event"
            and r["kind"] == "charge_off"
            and r.get("reason") == "host"
        ],
        "wall_s": t1 - t0,
        "sampling": sampling(records, t0, time.monotonic()),
    }


def dock_ms(link: Link) -> int:
    """The dock's time in its latest sample line (0 before the first)."""
    samples = [r["t_ms"] for _, r in link.snapshot() if r["type"] == "sample"]
    return samples[-1] if samples else 0


def _drain(link: Link, count, writer: threading.Thread, quiet_s: float = 20) -> None:
    """Wait for ``count()`` answers in all, for as long as they keep coming: a flood fills
    the pseudo-terminal's kernel buffer (tens of KB), which the dock then works through
    at the share of its time it gives commands (a few answers a second, as an RP2040).
    The writer may still be blocked on its last line meanwhile (the buffer is full), so
    the count is asked again until it has finished."""
    seen, last = -1, time.monotonic()
    while writer.is_alive() or len(link.answers()) < count():
        if time.monotonic() - last > quiet_s:
            return
        if len(link.answers()) != seen:
            seen, last = len(link.answers()), time.monotonic()
        time.sleep(0.1)


def flood(link: Link, seconds: float, first_id: int = 1_000_000, until=None) -> dict[str, Any]:
    """``get`` commands as fast as the link takes them for ``seconds`` (or sooner, once
    ``until()`` is true), then wait for every answer. Returns the rates and what
    sampling did meanwhile."""
    sent = [0]
    stop = [False]

    def lines():
        k = first_id
        while not stop[0]:
            yield b'{"cmd":"get","id":%d}' % k
            k += 1

    start_answers = len(link.answers())
    t0 = time.monotonic()
    writer = _writer(link, lines(), sent)
    end = t0 + seconds
    while time.monotonic() < end and not (until is not None and until()):
        time.sleep(0.05)
    stop[0] = True
    t1 = time.monotonic()
    _drain(link, lambda: start_answers + sent[0], writer)
    t2 = time.monotonic()
    answers = link.answers()[start_answers:]
    ids = [a["id"] for a in answers]
    records = link.snapshot()
    return {
        "sent": sent[0],
        "send_rate": sent[0] / (t1 - t0),
        "answered": len(answers),
        "answer_rate": len(answers) / (t2 - t0),
        "in_order": ids == list(range(first_id, first_id + len(ids))),
        # Each id once, rising: what the link lost (a seq gap) can be missing, no more.
        "rising": all(a < b for a, b in itertools.pairwise(ids))
        and set(ids) <= set(range(first_id, first_id + sent[0])),
        "lost_lines": lost_lines(records),
        "all_acks": all(a["type"] == "ack" for a in answers),
        "t0": t0,
        "t1": t1,
        "sampling": sampling(records, t0, t1),
    }
