"""Every per-pin field of the ``sample`` and ``health`` lines, defined once for the host.

A row says what the key holds (kind, unit, meaning) and where it goes: the dashboard's
pin table (``column``), the MQTT per-pin payload (``published``) and the Prometheus
metrics (``metric``). ``model.PinView`` keeps the latest value of each; the dashboard,
the fleet view and the MQTT and Prometheus exporters derive their lists from here, and
``tests/test_protocol_doc.py`` holds this table and docs/protocol.md's per-pin tables to
the same keys and types. A new pin field: its row here, its row in docs/protocol.md.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from dockfw import protocol

# kinds: how the host reads a value (anything else the dock might send reads as None)
NUMBER = "number"  # a finite int or float
INT = "int"
STATE = "state"  # protocol.PIN_STATES (or one a newer firmware adds)
FLAGS = "flags"  # a list of strings

_MILLI = 1e-3
_DAY_S = 86400.0


class PinField(NamedTuple):
    key: str
    lines: tuple[str, ...]  # the lines that carry it (the first is the one that owns it)
    kind: str
    unit: str  # as the protocol states it; "" for none
    help: str
    column: str = ""  # the dashboard's header; "" keeps it out of the pin table
    decimals: int = 0  # for a NUMBER column
    published: bool = False  # in the MQTT per-pin payload
    metric: str = ""  # the Prometheus family ("" none; a counter's without _total)
    counter: bool = False
    metric_scale: float = 1.0  # to the metric's base unit
    metric_unit: str = ""


S = (protocol.SAMPLE,)
H = (protocol.HEALTH,)

FIELDS: tuple[PinField, ...] = (
    PinField(
        "i_ma", S, NUMBER, "mA", "Mean current through the pin.",
        column="I mA", published=True,
        metric="pogodock_pin_current_amperes", metric_scale=_MILLI, metric_unit="amperes",
    ),
    PinField(
        "v_mv", S, INT, "mV", "Dock-side voltage at the pin.",
        published=True,
        metric="pogodock_pin_voltage_volts", metric_scale=_MILLI, metric_unit="volts",
    ),
    PinField(
        "r_mohm", S + H, NUMBER, "mΩ",
        "Latest contact resistance (absent while the current is too low to measure it).",
        column="R mΩ", decimals=2, published=True,
        metric="pogodock_pin_resistance_ohms", metric_scale=_MILLI, metric_unit="ohms",
    ),
    PinField("i_min_ma", S, INT, "mA", "Least current in the report's cycles."),
    PinField("i_max_ma", S, INT, "mA", "Greatest current in the report's cycles."),
    PinField("r_min_mohm", S, NUMBER, "mΩ", "Least resistance in the report's cycles."),
    PinField("r_max_mohm", S, NUMBER, "mΩ", "Greatest resistance in the report's cycles."),
    PinField("flags", S, FLAGS, "", "What any cycle saw: sensor, clipped, low_current."),
    PinField(
        "r_baseline_mohm", H, NUMBER, "mΩ",
        "The contact resistance the dock learned for a clean pin.",
        column="base", decimals=2, published=True,
        metric="pogodock_pin_baseline_resistance_ohms", metric_scale=_MILLI, metric_unit="ohms",
    ),
    PinField(
        "drift_mohm_per_day", H, NUMBER, "mΩ/day",
        "Trend of the contact resistance (only while the dock sees a real trend).",
        column="drift/d", decimals=3, published=True,
        metric="pogodock_pin_resistance_drift_ohms_per_second",
        metric_scale=_MILLI / _DAY_S,
    ),
    PinField(
        "days_to_clean", H, INT, "days",
        "Forecast until the pin needs cleaning, in whole days (only with a rising trend).",
        column="clean d", published=True,
        metric="pogodock_pin_clean_in_seconds", metric_scale=_DAY_S, metric_unit="seconds",
    ),
    PinField(
        "intermittent_count", H, INT, "",
        "Intermittent contact dropouts (the dock's clear command resets it).",
        column="int", published=True,
        metric="pogodock_pin_intermittent_dropouts", counter=True,
    ),
    PinField(
        "cycles", H, INT, "", "Mating cycles the pin has made.",
        column="cycles", published=True, metric="pogodock_pin_mating_cycles", counter=True,
    ),
    PinField(
        "state", H, STATE, "", "ok, warn, fault, open or unknown.",
        column="state", published=True,
    ),
    PinField(
        "score", H, INT, "", "Pin health, 0 to 100 (100: a healthy contact).",
        column="score", published=True, metric="pogodock_pin_health_score",
    ),
    PinField(
        "p_mw", H, INT, "mW", "I²R heat in the contact (absent while its drop is unknown).",
        published=True,
    ),
)  # fmt: skip
BY_KEY = {f.key: f for f in FIELDS}
COLUMNS = tuple(f for f in FIELDS if f.column)
PUBLISHED = tuple(f for f in FIELDS if f.published)
GAUGES = tuple(f for f in FIELDS if f.metric and not f.counter)
COUNTERS = tuple(f for f in FIELDS if f.metric and f.counter)


_BY_LINE = {line: tuple(f for f in FIELDS if line in f.lines) for line in S + H}


def of_line(line: str) -> tuple[PinField, ...]:
    """The fields a ``line`` (``protocol.SAMPLE`` or ``HEALTH``) carries per pin."""
    return _BY_LINE[line]


def read(field: PinField, v: Any) -> Any:
    """``v`` as the host keeps it for ``field``, or None where it is not of its kind
    (a dock's null, or garbage: never inf, nan or a wrong type)."""
    kind = field.kind
    if kind == NUMBER:
        return finite(v)
    if kind == INT:
        return v if isinstance(v, int) and not isinstance(v, bool) else None
    if kind == STATE:
        # A state newer firmware may add is shown as it is, not lost.
        return v if isinstance(v, str) else None
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    return None


def finite(v: Any) -> float | None:
    """``v`` as a finite float, or None (null, inf, nan, a bool, a string...)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:  # JSON integers have no bound; the dock never sends such
        return None
    return f if math.isfinite(f) else None
