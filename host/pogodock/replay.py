"""Reading recordings back: ``pogodock replay`` and the loader export and plot use.

``load(path)`` turns a JSONL recording (see ``pogodock.recorder``) back into the
records the monitor saw, through the same parser and sequence tracker as the
live reader: lost lines and reboots come out as ``LinkEvent`` records again.
Lines of the file that are not valid records (a last line cut short by a kill)
are skipped and counted.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

from pogodock.model import DockModel, describe, fmt
from pogodock.records import (
    LINK_KINDS,
    ConsoleText,
    Decoder,
    DeviceLine,
    Event,
    LinkEvent,
    Record,
    Sample,
    iso_utc,
    parse_iso,
)


class RecordingError(Exception):
    pass


@dataclass
class Recording:
    path: str
    records: list[Record] = field(default_factory=list)
    skipped: int = 0
    file_lines: int = 0


def iter_records(path: str, stats: Recording | None = None) -> Iterator[Record]:
    out: list[Record] = []
    dec = Decoder(out.append)
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise RecordingError("no recording at %s" % path) from None
    except IsADirectoryError:
        raise RecordingError("%s is a folder, not a recording" % path) from None
    except OSError as e:
        raise RecordingError("cannot read %s: %s" % (path, e.strerror or e)) from None
    with f:
        for text in f:
            if stats is not None:
                stats.file_lines += 1
            text = text.strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
                t = parse_iso(obj["host_time"])
            except (ValueError, KeyError, TypeError):
                if stats is not None:
                    stats.skipped += 1
                continue
            if not isinstance(obj, dict):
                continue
            if isinstance(obj.get("line"), str):
                dec.line(obj["line"], t)
            elif isinstance(obj.get("console"), str):
                dec.line(obj["console"], t)
            elif obj.get("link") in LINK_KINDS:
                out.append(
                    LinkEvent(
                        t, obj["link"], str(obj.get("detail", "")), port=str(obj.get("port", ""))
                    )
                )
            elif stats is not None:
                stats.skipped += 1
            if out:
                yield from out
                out.clear()


def load(path: str) -> Recording:
    rec = Recording(path)
    rec.records = list(iter_records(path, rec))
    if rec.file_lines and not rec.records:
        raise RecordingError(
            "%s holds no pogodock records (is it a recording made with --record?)" % path
        )
    return rec


def summary(recording: Recording) -> str:
    """Several lines of text: what the recording holds."""
    model = DockModel()
    types: dict[str, int] = {}
    r_by_pin: dict[str, list[float]] = {}
    boots: list[str] = []
    event_lines: list[str] = []
    for rec in recording.records:
        model.apply(rec)
        if isinstance(rec, DeviceLine):
            types[rec.type] = types.get(rec.type, 0) + 1
            if not boots or boots[-1] != rec.boot:
                boots.append(rec.boot)
            if isinstance(rec, Sample):
                for name, p in rec.pins.items():
                    r = p.get("r_mohm") if isinstance(p, dict) else None
                    if isinstance(r, (int, float)) and not isinstance(r, bool):
                        r_by_pin.setdefault(name, []).append(float(r))
            elif isinstance(rec, Event):
                event_lines.append("  %s  %s" % (iso_utc(rec.host_time), describe(rec)))
        elif isinstance(rec, ConsoleText):
            types["console"] = types.get("console", 0) + 1
    out = ["recording %s" % recording.path]
    if model.first_time is not None and model.last_time is not None:
        out.append(
            "from %s to %s (%.1f s of host time)"
            % (
                iso_utc(model.first_time),
                iso_utc(model.last_time),
                model.last_time - model.first_time,
            )
        )
    if model.hello is not None:
        out.append("dock: firmware %s, board %s" % (model.hello.fw, model.hello.board))
    out.append(
        "lines: %d (%s)"
        % (
            model.link.lines,
            ", ".join("%s %d" % (k, v) for k, v in sorted(types.items())) or "none",
        )
    )
    link = model.link
    out.append(
        "link: %d lost, %d reboot%s, %d disconnect%s, %d console line%s, boots %s"
        % (
            link.lost,
            link.reboots,
            "" if link.reboots == 1 else "s",
            link.disconnects,
            "" if link.disconnects == 1 else "s",
            link.console,
            "" if link.console == 1 else "s",
            ", ".join(boots) or "none",
        )
    )
    if recording.skipped:
        out.append(
            "skipped %d unreadable line%s of the file"
            % (recording.skipped, "" if recording.skipped == 1 else "s")
        )
    if r_by_pin:
        out.append("contact resistance per pin (mΩ): min / median / max / last")
        for name, vals in r_by_pin.items():
            out.append(
                "  %-8s %s / %s / %s / %s"
                % (
                    name,
                    fmt(min(vals), 2),
                    fmt(statistics.median(vals), 2),
                    fmt(max(vals), 2),
                    fmt(vals[-1], 2),
                )
            )
    if model.pins and any(p.state for p in model.pins.values()):
        out.append(
            "last health: "
            + ", ".join("%s %s" % (p.name, p.state or "?") for p in model.pins.values())
        )
    out.append(
        "events: %d%s"
        % (
            len(event_lines),
            (" (" + ", ".join("%s %d" % kv for kv in sorted(model.event_counts.items())) + ")")
            if event_lines
            else "",
        )
    )
    out.extend(event_lines[:200])
    if len(event_lines) > 200:
        out.append("  ... and %d more" % (len(event_lines) - 200))
    return "\n".join(out)
