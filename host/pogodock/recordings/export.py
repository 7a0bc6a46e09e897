"""``pogodock export FILE --csv OUT``: samples and events of a recording as CSV.

Long format, one row per pin per ``sample`` or ``health`` line, one row per
``event`` line, one per lost-lines gap or reboot the host saw (``type`` is
``link``). Column names carry units (``r_mohm``, ``i_ma``, ``t_ms``, ...);
``host_time_utc`` is the host's receive time, ISO 8601 in UTC. Pin columns
are every per-pin key the recording holds, in the order first seen, so new
firmware fields show up without a host change.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from typing import IO, Any

from pogodock.recordings import outfile
from pogodock.records import (
    LOST,
    REBOOT,
    DeviceLine,
    Event,
    Health,
    LinkEvent,
    Record,
    Sample,
    iso_utc,
)

HEAD = ["host_time_utc", "t_ms", "boot", "seq", "type", "pin"]
TAIL = ["docked", "charging", "kind", "severity", "pins", "lost_lines", "detail"]


def pin_columns(records: Iterable[Record]) -> list[str]:
    cols: dict[str, None] = {}
    for rec in records:
        if isinstance(rec, (Sample, Health)):
            for p in rec.pins.values():
                if isinstance(p, dict):
                    for k in p:
                        if k not in cols:
                            cols[k] = None
    return [c for c in cols if c not in HEAD and c not in TAIL]


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def rows(records: list[Record], pin_cols: list[str]) -> Iterable[list[str]]:
    width = len(HEAD) + len(pin_cols) + len(TAIL)
    tail_at = len(HEAD) + len(pin_cols)
    idx = {k: len(HEAD) + j for j, k in enumerate(pin_cols)}
    tail = {k: tail_at + j for j, k in enumerate(TAIL)}
    iso_cache: dict[float, str] = {}

    def start(rec: Record, type_: str, pin: str = "") -> list[str]:
        t = iso_cache.get(rec.host_time)
        if t is None:
            t = iso_cache[rec.host_time] = iso_utc(rec.host_time)
        row = [""] * width
        row[0] = t
        if isinstance(rec, DeviceLine):
            row[1] = str(rec.t_ms)
            row[2] = str(rec.boot)
            row[3] = str(rec.seq)
        row[4] = type_
        row[5] = pin
        return row

    for rec in records:
        if isinstance(rec, (Sample, Health)):
            for name, p in rec.pins.items():
                if not isinstance(p, dict):
                    continue
                row = start(rec, rec.type, name)
                for k, v in p.items():
                    j = idx.get(k)
                    if j is not None:
                        row[j] = _cell(v)
                if isinstance(rec, Sample):
                    row[tail["docked"]] = _cell(rec.docked)
                else:
                    row[tail["charging"]] = _cell(rec.charging)
                yield row
        elif isinstance(rec, Event):
            row = start(rec, rec.type)
            row[tail["kind"]] = rec.kind
            row[tail["severity"]] = rec.severity
            row[tail["pins"]] = " ".join(rec.pins)
            extra = rec.extra()
            if extra:
                row[tail["detail"]] = json.dumps(extra, separators=(",", ":"))
            yield row
        elif isinstance(rec, LinkEvent) and rec.kind in (LOST, REBOOT):
            row = start(rec, "link")
            row[tail["kind"]] = rec.kind
            if rec.kind == LOST:
                row[tail["lost_lines"]] = str(rec.lost)
            row[tail["detail"]] = rec.detail
            yield row


def exportable(records: Iterable[Record]) -> bool:
    """Would ``write_csv`` write a row?"""
    for rec in records:
        if isinstance(rec, (Sample, Health)):
            if any(isinstance(p, dict) for p in rec.pins.values()):
                return True
        elif isinstance(rec, Event) or (isinstance(rec, LinkEvent) and rec.kind in (LOST, REBOOT)):
            return True
    return False


def write_csv(records: list[Record], out: IO[str]) -> int:
    """Writes the CSV; returns the number of data rows."""
    cols = pin_columns(records)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEAD + cols + TAIL)
    n = 0
    for row in rows(records, cols):
        w.writerow(row)
        n += 1
    return n


def export(records: list[Record], out_path: str) -> int:
    """Writes the CSV to ``out_path`` ('-': stdout), whole or not at all (``outfile``)."""
    if out_path == "-":
        return write_csv(records, sys.stdout)
    with outfile.replacing(out_path) as f:
        return write_csv(records, f)
