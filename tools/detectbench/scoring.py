"""The detection benchmark's rules: what detects a fault, what explains an alarm, the goals.

Scoring (``score``), per scenario, all times in simulated milliseconds:

Scoring (``score``), per scenario, all times in simulated milliseconds:

* A fault is DETECTED by the first ``warn`` / ``fault`` event of its kind whose pins
  overlap the fault's (any pins for a whole-dock fault: overload, heat), raised from
  ``PRE_MS`` before onset (conversion windows) until the fault's end + ``GRACE_MS``
  (oxidation: until its end, the clean). Else it is MISSED. Latency = event - onset.
* A FALSE ALARM is a ``warn`` / ``fault`` event that no fault explains: same kind,
  overlapping pins, within [onset - ``PRE_MS``, end + ``GRACE_MS``]. ``info`` events
  never count. ``charge_off`` is explained while an overcurrent or overheat fault is,
  or beside (±``BESIDE_MS``) an explained ``overcurrent`` / ``overheat`` event, and one
  whose reason is "cannot bound ..." (protection cut for what a failed monitor leaves
  unknown) while a ``sensor_fault`` is injected. A contact
  ``overheat`` (pins named) is explained when the circuit's truth shows that contact
  above 60 % of the firmware's I²R limit half a second before the event (real heat,
  e.g. a misaligned contact carrying current), whatever was injected.
* Goals (README, "Measured: the detection benchmark"): misalignment latency <= 1000 ms;
  intermittent latency <= 5000 ms at rates >= 2/s (slower rates: detection only);
  overcurrent: ``charge_off``
  within 2 sampling periods of onset; oxidation: flagged before the contact has risen
  10 mOhm above its first baseline. The rise is the circuit's oxidation term at the
  event above its value in the first baseline: ``mohm_per_day`` x days since the mean
  mid-time of the first sessions the drift detector learns its baseline from (see
  ``baseline_time_ms``). Other kinds: detection.
* ``detect_latency_ms_p95`` / ``_max`` are over the detected faults with an onset a
  detector can react to: oxidation (a slope from t=0, judged in days) and wear marks
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

GRACE_MS = 2000.0  # an event this long after a fault's end still belongs to it
PRE_MS = 20.0  # an event this long before onset still counts (conversion windows)
BESIDE_MS = 5.0  # charge_off this close to an explained overcurrent/overheat event
DAY_MS = 86400000.0

KINDS = (
    "misalignment",
    "intermittent",
    "oxidation",
    "wear",
    "overcurrent",
    "overheat",
    "sensor_fault",
)
DETECTOR_OF = {
    "misalignment": "alignment",
    "intermittent": "intermittent",
    "oxidation": "drift",
    "wear": "wear",
    "overcurrent": "protection",
    "overheat": "protection",
    "sensor_fault": "protection",
}
ALARM = ("warn", "fault")

MISALIGN_GOAL_MS = 1000.0
INTERMITTENT_GOAL_MS = 5000.0
INTERMITTENT_GOAL_MIN_RATE = 2.0
CUTOFF_GOAL_PERIODS = 2.0
OXIDATION_GOAL_MOHM = 10.0
CONTACT_HEAT_EXPLAINS = 0.6  # of the firmware's contact I²R limit


# -- data ------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected (or modelled) fault. Times in simulated ms; ``end_ms`` None: never."""

    kind: str
    pins: tuple[str, ...]
    onset_ms: float
    end_ms: float | None = None
    label: str = ""
    severity: str | None = None  # "fault": only a fault-severity event detects it
    at_boot: bool = False  # already there at boot: no onset to time from
    ref_ms: float | None = None  # oxidation: when a first baseline could be taken
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Event:
    t_ms: float
    kind: str
    pins: tuple[str, ...]
    severity: str
    fields: dict[str, Any] = field(default_factory=dict)
    truth_p_mw: float | None = None  # contact overheat: the hottest named contact's I²R


@dataclass
class FaultResult:
    fault: Fault
    event: Event | None
    latency_ms: float | None
    goal: str
    goal_met: bool | None  # None: no goal for this fault beyond detection
    measure: float | None = None  # the goal's figure: periods, mOhm
    cutoff_ms: float | None = None  # overcurrent: onset to charge_off

    @property
    def detected(self) -> bool:
        return self.event is not None


@dataclass
class ScenarioScore:
    results: list[FaultResult]
    false_alarms: list[Event]
    explained: list[tuple[Event, str]]  # warn/fault events and what explains them


# -- scoring ---------------------------------------------------------------------------


def pins_overlap(fault_pins: Sequence[str], event_pins: Sequence[str]) -> bool:
    """A whole-dock fault (no pins) takes any event; else they must share a pin."""
    if not fault_pins:
        return True
    return any(p in fault_pins for p in event_pins)


def _window_end(f: Fault, detect: bool) -> float:
    if f.end_ms is None:
        return math.inf
    if detect and f.kind == "oxidation":
        return f.end_ms
    return f.end_ms + GRACE_MS


def _severity_ok(f: Fault, ev: Event) -> bool:
    if ev.severity not in ALARM:
        return False
    return f.severity is None or ev.severity == f.severity


def detects(f: Fault, ev: Event) -> bool:
    return (
        ev.kind == f.kind
        and _severity_ok(f, ev)
        and pins_overlap(f.pins, ev.pins)
        and f.onset_ms - PRE_MS <= ev.t_ms <= _window_end(f, True)
    )


def explains(f: Fault, ev: Event) -> bool:
    return (
        ev.kind == f.kind
        and pins_overlap(f.pins, ev.pins)
        and f.onset_ms - PRE_MS <= ev.t_ms <= _window_end(f, False)
    )


def contact_heat_limit_mw() -> float:
    try:
        import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
        from dockfw.protection import CONTACT_MW_LIMIT

        return float(CONTACT_MW_LIMIT)
    except Exception:
        return 250.0


def _goal(
    f: Fault, ev: Event | None, latency: float | None, events: Sequence[Event], period_ms: float
) -> tuple[str, bool | None, float | None, float | None]:
    """(goal text, met, measure, cutoff_ms) for a fault and its first detecting event."""
    if f.kind == "misalignment":
        return (
            "<= %d ms" % MISALIGN_GOAL_MS,
            latency is not None and latency <= MISALIGN_GOAL_MS,
            None,
            None,
        )
    if f.kind == "intermittent":
        rate = float(f.details.get("rate_hz", 0.0))
        if rate >= INTERMITTENT_GOAL_MIN_RATE:
            met = latency is not None and latency <= INTERMITTENT_GOAL_MS
            return "<= %d ms" % INTERMITTENT_GOAL_MS, met, None, None
        return "detected (rate < 2/s)", ev is not None, None, None
    if f.kind == "overcurrent":
        cut = None
        for e in events:
            if (
                e.kind == "charge_off"
                and e.severity in ALARM
                and f.onset_ms - PRE_MS <= e.t_ms <= _window_end(f, True)
            ):
                cut = e
                break
        if cut is None:
            return "charge_off <= 2 periods", False, None, None
        cutoff = cut.t_ms - f.onset_ms
        periods = cutoff / period_ms if period_ms > 0 else math.inf
        return "charge_off <= 2 periods", periods <= CUTOFF_GOAL_PERIODS, periods, cutoff
    if f.kind == "oxidation":
        if ev is None:
            return "rise < 10 mOhm", False, None, None
        rise = oxidation_rise_mohm(f, ev.t_ms)
        return "rise < 10 mOhm", rise < OXIDATION_GOAL_MOHM, rise, None
    return "detected", ev is not None, None, None


def oxidation_rise_mohm(f: Fault, t_ms: float) -> float:
    """The circuit's oxidation term at ``t_ms`` above its value at the first baseline."""
    ref = f.ref_ms if f.ref_ms is not None else f.onset_ms
    rate = float(f.details.get("mohm_per_day", 0.0))
    return max(0.0, rate * (t_ms - ref) / DAY_MS)


def score(
    faults: Sequence[Fault],
    events: Sequence[Event],
    period_ms: float,
    heat_limit_mw: float | None = None,
) -> ScenarioScore:
    """Match one scenario's events against its faults (see the module docstring)."""
    events = sorted(events, key=lambda e: e.t_ms)
    limit = contact_heat_limit_mw() if heat_limit_mw is None else heat_limit_mw
    results = []
    for f in faults:
        ev = next((e for e in events if detects(f, e)), None)
        latency = ev.t_ms - f.onset_ms if ev is not None else None
        goal, met, measure, cutoff = _goal(f, ev, latency, events, period_ms)
        results.append(FaultResult(f, ev, latency, goal, met, measure, cutoff))
    explained: list[tuple[Event, str]] = []
    false_alarms: list[Event] = []
    ok_protect: list[Event] = []
    for e in events:
        if e.severity not in ALARM or e.kind == "charge_off":
            continue
        why = next((f.label or f.kind for f in faults if explains(f, e)), None)
        if (
            why is None
            and e.kind == "overheat"
            and e.pins
            and e.truth_p_mw is not None
            and e.truth_p_mw >= CONTACT_HEAT_EXPLAINS * limit
        ):
            why = "contact heat in truth (%.0f mW)" % e.truth_p_mw
        if why is None:
            false_alarms.append(e)
        else:
            explained.append((e, why))
            if e.kind in ("overcurrent", "overheat"):
                ok_protect.append(e)
    for e in events:
        if e.severity not in ALARM or e.kind != "charge_off":
            continue
        why = next(
            (
                f.label or f.kind
                for f in faults
                if f.kind in ("overcurrent", "overheat")
                and f.onset_ms - PRE_MS <= e.t_ms <= _window_end(f, False)
            ),
            None,
        )
        if why is None and any(abs(p.t_ms - e.t_ms) <= BESIDE_MS for p in ok_protect):
            why = "beside an explained protection event"
        if why is None and str(e.fields.get("reason", "")).startswith("cannot bound"):
            # Cut for what a failed monitor leaves unknown: the sensor fault explains it.
            why = next(
                (
                    f.label or f.kind
                    for f in faults
                    if f.kind == "sensor_fault"
                    and f.onset_ms - PRE_MS <= e.t_ms <= _window_end(f, False)
                ),
                None,
            )
        if why is None:
            false_alarms.append(e)
        else:
            explained.append((e, why))
    false_alarms.sort(key=lambda e: e.t_ms)
    return ScenarioScore(results, false_alarms, explained)


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    v = sorted(values)
    if not v:
        return None
    k = max(1, math.ceil(q / 100.0 * len(v)))
    return v[k - 1]


def timed(r: FaultResult) -> bool:
    """Does this fault's latency enter the latency percentile?"""
    return r.detected and r.fault.kind != "oxidation" and not r.fault.at_boot
