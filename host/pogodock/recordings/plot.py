"""``pogodock plot FILE --out OUT.png``: contact resistance per pin over time, events marked.

Each pin gets its report-mean resistance as a line and its per-report peak
(``r_max_mohm``) as a faint band above it, so short spikes stay visible.
Events are vertical lines coloured by severity and labelled with their kind and
pins; reboots and lost lines are marked along the bottom.

The time axis is the host's clock (UTC) for live recordings; for recordings of
a simulator run faster than real time the dock's own clock is used instead
(``t_ms`` made continuous across reboots), since host time would squeeze
months into seconds. ``--x host|device`` overrides the choice.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pogodock.recordings import outfile
from pogodock.records import LOST, REBOOT, DeviceLine, Event, Hello, LinkEvent, Record, Sample

SEVERITY_COLORS = {"info": "#4d7ea8", "warn": "#e08a00", "fault": "#c0392b"}
PIN_COLORS = [
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#d62728",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
]


FORMATS = ("png", "svg", "pdf")  # output_path's message names them


class PlotError(Exception):
    pass


def output_path(out: str) -> str:
    """The file ``plot`` writes for ``--out OUT``: OUT, or OUT.png when it has no suffix."""
    suffix = os.path.splitext(out)[1]
    if not suffix:
        return out + ".png"
    if suffix[1:].lower() not in FORMATS:
        raise PlotError("cannot write %s: plot writes a .png, .svg or .pdf file" % out)
    return out


@dataclass
class Series:
    x: list[float] = field(default_factory=list)
    r: list[float] = field(default_factory=list)
    r_max: list[float] = field(default_factory=list)


@dataclass
class Marks:
    events: list[tuple[float, Event]] = field(default_factory=list)
    reboots: list[float] = field(default_factory=list)
    losses: list[tuple[float, int]] = field(default_factory=list)


def _device_times(records: list[Record]) -> dict[int, float]:
    """Index of each DeviceLine -> seconds on a clock continuous across reboots."""
    out: dict[int, float] = {}
    offset = 0.0
    last_boot: str | None = None
    last_s = 0.0
    for k, rec in enumerate(records):
        if not isinstance(rec, DeviceLine):
            continue
        s = rec.t_ms / 1000.0 if isinstance(rec.t_ms, (int, float)) else 0.0
        if last_boot is not None and rec.boot != last_boot:
            offset += last_s
        last_boot = rec.boot
        last_s = s
        out[k] = offset + s
    return out


def choose_axis(records: list[Record]) -> str:
    dev = _device_times(records)
    if not dev:
        return "host"
    host = [r.host_time for r in records if isinstance(r, DeviceLine)]
    host_span = max(host) - min(host)
    dev_span = max(dev.values()) - min(dev.values())
    return "device" if dev_span > 3 * max(host_span, 1.0) else "host"


def collect(records: list[Record], axis: str) -> tuple[dict[str, Series], Marks]:
    dev = _device_times(records) if axis == "device" else {}
    series: dict[str, Series] = {}
    marks = Marks()
    pending: list[LinkEvent] = []
    for k, rec in enumerate(records):
        if isinstance(rec, LinkEvent):
            if rec.kind in (LOST, REBOOT):
                pending.append(rec)
            continue
        if not isinstance(rec, DeviceLine):
            continue
        x = dev[k] if axis == "device" else rec.host_time
        for link in pending:  # a gap or reboot shows where the next line arrived
            if link.kind == REBOOT:
                marks.reboots.append(x)
            else:
                marks.losses.append((x, link.lost))
        pending.clear()
        if isinstance(rec, Hello):
            for name in rec.pin_names:
                series.setdefault(name, Series())
        elif isinstance(rec, Sample):
            for name, p in rec.pins.items():
                if not isinstance(p, dict):
                    continue
                s = series.setdefault(name, Series())
                r = _num(p.get("r_mohm"))
                rmax = _num(p.get("r_max_mohm"))
                s.x.append(x)
                s.r.append(r)
                s.r_max.append(rmax if not math.isnan(rmax) else r)
        elif isinstance(rec, Event):
            marks.events.append((x, rec))
    return series, marks


def _num(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return math.nan
    try:
        f = float(v)
    except OverflowError:  # an integer beyond any float: not a resistance
        return math.nan
    return f if math.isfinite(f) else math.nan


def _time_unit(span_s: float) -> tuple[str, float]:
    if span_s > 3 * 86400:
        return "days", 86400.0
    if span_s > 3 * 3600:
        return "hours", 3600.0
    if span_s > 3 * 60:
        return "minutes", 60.0
    return "seconds", 1.0


def plot(
    records: list[Record],
    out: str,
    title: str = "",
    axis: str = "auto",
    size: tuple[int, int] = (1400, 700),
) -> str:
    """Writes the picture to ``out`` (a name ``output_path`` accepts); returns the axis
    used (``host`` or ``device``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    if axis == "auto":
        axis = choose_axis(records)
    series, marks = collect(records, axis)
    series = {k: v for k, v in series.items() if v.x}
    if not series:
        raise PlotError("the recording has no sample lines to plot")

    xs_all = [x for s in series.values() for x in s.x]
    x0 = min(xs_all)
    span = max(xs_all) - x0
    if axis == "device":
        unit_name, unit = _time_unit(span)

        def conv(x: float) -> float:
            return (x - x0) / unit

        xlabel = "dock time since the first line (%s)" % unit_name
    else:

        def conv(x: float) -> float:  # matplotlib date numbers
            return float(mdates.date2num(datetime.fromtimestamp(x, timezone.utc)))

        xlabel = "host time (UTC)"

    dpi = 100
    fig, ax = plt.subplots(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    finite = [v for s in series.values() for v in s.r_max + s.r if not math.isnan(v) and v > 0]
    log = bool(finite) and max(finite) / max(min(finite), 1e-6) > 20
    for j, (name, s) in enumerate(series.items()):
        color = PIN_COLORS[j % len(PIN_COLORS)]
        x = [conv(v) for v in s.x]
        ax.plot(x, s.r, color=color, linewidth=1.4, label=name)
        lo = [r if not math.isnan(r) else m for r, m in zip(s.r, s.r_max, strict=True)]
        ax.fill_between(x, lo, s.r_max, color=color, alpha=0.18, linewidth=0)
        ax.plot(x, s.r_max, color=color, linewidth=0.5, alpha=0.5)
    if log:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _pos: "%g" % v)
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)

    label_every = max(1, len(marks.events) // 30)
    top = ax.get_ylim()[1]
    for n, (x, ev) in enumerate(marks.events):
        c = SEVERITY_COLORS.get(ev.severity, "#555555")
        xv = conv(x)
        ax.axvline(xv, color=c, linestyle="--", linewidth=1.0, alpha=0.8)
        if n % label_every == 0:
            text = ev.kind + ((" " + ",".join(ev.pins)) if ev.pins else "")
            ax.text(
                xv,
                top,
                " " + text,
                rotation=90,
                va="top",
                ha="right",
                fontsize=8,
                color=c,
                clip_on=True,
            )
    for x in marks.reboots:
        ax.axvline(conv(x), color="black", linestyle=":", linewidth=1.2)
    if marks.losses:
        ax.plot(
            [conv(x) for x, _ in marks.losses],
            [0.02] * len(marks.losses),
            marker="v",
            linestyle="none",
            color="#7f7f7f",
            transform=ax.get_xaxis_transform(),
        )

    if axis == "host":
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("contact resistance (mΩ)%s" % (", log scale" if log else ""))
    ax.set_title(title or "Contact resistance per pin")
    ax.grid(True, which="major", alpha=0.3)
    handles = list(ax.get_legend_handles_labels()[0])
    extra = [
        Line2D([], [], color="#888888", alpha=0.5, linewidth=6, label="peak per report"),
    ]
    for sev in ("info", "warn", "fault"):
        if any(ev.severity == sev for _, ev in marks.events):
            extra.append(
                Line2D([], [], color=SEVERITY_COLORS[sev], linestyle="--", label="%s event" % sev)
            )
    if marks.reboots:
        extra.append(Line2D([], [], color="black", linestyle=":", label="reboot"))
    if marks.losses:
        extra.append(
            Line2D([], [], color="#7f7f7f", marker="v", linestyle="none", label="lines lost")
        )
    ax.legend(
        handles=handles + extra,
        loc="upper left",
        bbox_to_anchor=(1.005, 1.0),
        fontsize=8,
        framealpha=0.85,
    )
    fig.tight_layout()
    try:
        with outfile.replacing(out, binary=True) as f:
            fig.savefig(f, dpi=dpi, format=os.path.splitext(out)[1][1:].lower() or "png")
    finally:
        plt.close(fig)
    return axis
