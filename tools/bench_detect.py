"""Detection benchmark: every detector against injected faults, scored from the wire.

The suite is the project's example scenarios (``scenarios/*.json``) plus the benchmark
scenarios in ``tests/bench_scenarios/*.json``. Each scenario runs the real firmware on a
simulated dock (in-process, one scenario per worker process) and keeps the ``event``
lines it sends. The faults come from the simulator's truth (``Circuit.faults()``), plus
wear, which the simulator does not inject but models: a pin crossing 80 % of its rated
mating cycles (``wear`` of any severity expected) or 100 % (``wear`` ``fault``), at the
dock that takes it there, or at boot when the scenario starts it past the mark.

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
  already passed at boot are left out and reported on their own.

``python tools/bench_detect.py [--jobs N] [--only SUBSTR] [--out build/bench.json]``
prints a table per detector and merges the figures into ``build/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOARDS = ROOT / "boards"
EXAMPLES = ROOT / "scenarios"
BENCH_SCENARIOS = ROOT / "tests" / "bench_scenarios"
BENCH_JSON = ROOT / "build" / "bench.json"

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


@dataclass
class ScenarioRun:
    """What a worker hands back: plain data, picklable."""

    name: str
    path: str
    board: str = ""
    period_ms: float = 0.0
    duration_ms: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    cpu_s: float = 0.0
    cycles: int = 0
    error: str | None = None


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


# -- running a scenario ----------------------------------------------------------------


def scenario_paths(only: str | None = None) -> list[Path]:
    paths = sorted(EXAMPLES.glob("*.json")) + sorted(BENCH_SCENARIOS.glob("*.json"))
    if only:
        paths = [p for p in paths if only in scenario_name(p)]
    return paths


def scenario_name(path: Path) -> str:
    return path.stem if path.parent == BENCH_SCENARIOS else "ex/" + path.stem


def _fmt_num(v: float) -> str:
    return ("%g" % v) if isinstance(v, float) else str(v)


def _label(f: dict[str, Any], ev: dict[str, Any]) -> str:
    t = "t=%ss" % _fmt_num(ev["t"])
    kind = f["type"]
    if kind == "misalign":
        what = "open" if ev.get("open") else "+%s mOhm" % _fmt_num(ev["extra_mohm"])
        return "%s misalign %s" % (t, what)
    if kind == "intermittent":
        return "%s intermittent %s/s %s ms" % (
            t,
            _fmt_num(ev["rate_hz"]),
            _fmt_num(ev["dropout_ms"]),
        )
    if kind == "oxidation":
        return "%s oxidation %s mOhm/day" % (t, _fmt_num(ev["mohm_per_day"]))
    if kind == "overload":
        return "%s overload %s mA" % (t, _fmt_num(ev["ma"]))
    if kind == "heat":
        return "%s heat %s C" % (t, _fmt_num(ev["temp_c"]))
    if kind == "sensor_fault":
        return "%s %s %s" % (t, ev["pin"], ev["mode"])
    return "%s %s" % (t, kind)


def baseline_time_ms(circuit: Any, onset_ms: float) -> float:
    """When the drift detector's first baseline stands, in the oxidation's own terms.

    The detector learns its baseline from the first ``LEARN_MIN`` docking sessions; the
    oxidation term grows linearly, so its mean over those sessions is its value at the
    mean of their mid-times. Sessions before the onset see none of it (the onset
    stands in for them)."""
    from dockfw.drift import LEARN_MIN

    mids = [max(onset_ms, (a + b) / 2000.0) for a, b in circuit.dock_sessions()][:LEARN_MIN]
    return sum(mids) / len(mids) if mids else onset_ms


def sim_faults(scn: Any, circuit: Any) -> list[Fault]:
    """The circuit's injected faults, in ms, with the scenario's parameters."""
    by_index = {scn.event_index[k]: ev for k, ev in enumerate(scn.events)}
    out = []
    for f in circuit.faults():
        ev = by_index[f["event"]]
        onset = f["t_us"] / 1000.0
        end = f["end_us"] / 1000.0 if f["end_us"] is not None else None
        details = {k: v for k, v in ev.items() if k not in ("t", "type", "note", "pins", "pin")}
        ref = None
        if f["kind"] == "oxidation":
            ref = baseline_time_ms(circuit, onset)
        out.append(
            Fault(
                f["kind"], tuple(f["pins"]), onset, end, _label(f, ev), ref_ms=ref, details=details
            )
        )
    return out


def wear_faults(scn: Any) -> list[Fault]:
    """Pins crossing 80 % (any wear event) and 100 % (a wear fault) of rated cycles."""
    docks = [ev["t"] * 1000.0 for ev in scn.events if ev["type"] == "dock"]
    out = []
    for p in scn.board.pins:
        c0 = int(scn.pins[p.name]["cycles"])
        rated = int(p.rated_cycles)
        for pct, sev in ((80, None), (100, "fault")):
            mark = (rated * pct + 99) // 100
            if c0 >= mark:
                onset, at_boot, how = 0.0, True, "at boot"
            elif mark - c0 <= len(docks):
                onset, at_boot = docks[mark - c0 - 1], False
                how = "t=%ss dock" % _fmt_num(onset / 1000.0)
            else:
                continue
            label = "%s %d%% of %d cycles (from %d)" % (how, pct, rated, c0)
            out.append(
                Fault(
                    "wear",
                    (p.name,),
                    onset,
                    None,
                    label,
                    severity=sev,
                    at_boot=at_boot,
                    details={"cycles0": c0, "mark": mark},
                )
            )
    return out


class _EventSink:
    """The serial stream's writer: keeps the ``event`` lines only (months of samples
    would not fit in memory)."""

    def __init__(self) -> None:
        self.buf = b""
        self.lines: list[bytes] = []

    def write(self, data: bytes) -> None:
        buf = self.buf + data
        if b"\n" not in data:
            self.buf = buf
            return
        *lines, self.buf = buf.split(b"\n")
        self.lines.extend(line for line in lines if b'"type":"event"' in line)


def run_scenario(path: str) -> ScenarioRun:
    """Run one scenario file through the firmware; never raises (errors are kept)."""
    p = Path(path)
    run = ScenarioRun(scenario_name(p), str(p))
    t0 = time.process_time()
    try:
        import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
        from dockfw import protocol
        from docksim import scenario as scenario_mod
        from docksim.dock import SimDock

        scn = scenario_mod.load(str(p), str(BOARDS))
        board = scn.board
        assert board is not None
        run.board = scn.board_name
        run.period_ms = 1000.0 / (scn.sample_hz or board.sample_hz)
        run.duration_ms = scn.duration_s * 1000.0
        sink = _EventSink()
        dock = SimDock(scn, sink.write)
        app = dock.run_firmware(sample_hz=scn.sample_hz, idle_hz=scn.idle_hz)
        run.cycles = app.sampler.cycles
        circuit = dock.circuit
        run.faults = sim_faults(scn, circuit) + wear_faults(scn)
        for line in sink.lines:
            rec = protocol.decode(line)
            ev = Event(
                float(rec["t_ms"]),
                rec["kind"],
                tuple(rec.get("pins") or ()),
                rec["severity"],
                {k: v for k, v in rec.items() if k not in ("v", "type", "seq", "boot")},
            )
            if ev.kind == "overheat" and ev.pins:
                t_us = max(0, int((ev.t_ms - 500) * 1000))
                hottest = 0.0
                for name in ev.pins:
                    r = circuit.contact_mohm(name, t_us)
                    i = circuit.pin_current_ma(name, t_us)
                    if r is not None:
                        hottest = max(hottest, i * i * r / 1e6)
                ev.truth_p_mw = hottest
            run.events.append(ev)
    except Exception:
        run.error = traceback.format_exc()
    run.cpu_s = time.process_time() - t0
    return run


def _cost(path: Path) -> float:
    """A rough CPU estimate, to start the long scenarios first."""
    try:
        obj = json.loads(path.read_text())
        dur = float(obj["duration_s"])
        shz = float(obj.get("sample_hz") or 200)
        ihz = float(obj.get("idle_hz") or 5)
        docked = 0.0
        t_dock = None
        for ev in sorted(obj.get("events", []), key=lambda e: e["t"]):
            if ev["type"] == "dock":
                t_dock = ev["t"]
            elif ev["type"] == "undock" and t_dock is not None:
                docked += ev["t"] - t_dock
                t_dock = None
        if t_dock is not None:
            docked += dur - t_dock
        per = lambda hz: 70e-6 + (300e-6 if hz <= 5 else 0.0)  # noqa: E731
        return docked * shz * per(shz) + (dur - docked) * ihz * per(ihz)
    except Exception:
        return 0.0


def run_all(
    paths: Sequence[Path],
    jobs: int | None = None,
    progress: Callable[[ScenarioRun], None] | None = None,
) -> list[ScenarioRun]:
    """Run the scenarios, longest first, over ``jobs`` processes; results in path order."""
    jobs = jobs or min(len(paths), os.cpu_count() or 1) or 1
    order = sorted(paths, key=_cost, reverse=True)
    runs: dict[str, ScenarioRun] = {}
    if jobs <= 1:
        for p in order:
            r = run_scenario(str(p))
            runs[str(p)] = r
            if progress:
                progress(r)
    else:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [(p, pool.submit(run_scenario, str(p))) for p in order]
            for p, fut in futures:
                r = fut.result()
                runs[str(p)] = r
                if progress:
                    progress(r)
    return [runs[str(p)] for p in paths]


# -- the report ------------------------------------------------------------------------


@dataclass
class Suite:
    runs: list[ScenarioRun]
    scores: dict[str, ScenarioScore]
    wall_s: float = 0.0

    def results(self) -> list[tuple[ScenarioRun, FaultResult]]:
        return [(r, fr) for r in self.runs for fr in self.scores[r.name].results]

    def false_alarms(self) -> list[tuple[ScenarioRun, Event]]:
        return [(r, e) for r in self.runs for e in self.scores[r.name].false_alarms]


def score_runs(runs: Sequence[ScenarioRun], wall_s: float = 0.0) -> Suite:
    limit = contact_heat_limit_mw()
    scores = {}
    for r in runs:
        if r.error is not None:
            # A crashed scenario detects nothing.
            scores[r.name] = ScenarioScore(
                [FaultResult(f, None, None, "scenario crashed", False) for f in r.faults], [], []
            )
        else:
            scores[r.name] = score(r.faults, r.events, r.period_ms, limit)
    return Suite(list(runs), scores, wall_s)


def figures(suite: Suite) -> dict[str, float | None]:
    """The numbers for build/bench.json (None: not measurable in this run)."""
    res = suite.results()
    timed_lat = [max(0.0, fr.latency_ms or 0.0) for _, fr in res if timed(fr)]
    p95 = percentile(timed_lat, 95)
    out: dict[str, float | None] = {
        "detect_scenarios": len(suite.runs),
        "detect_faults": len(res),
        "detect_missed": sum(1 for _, fr in res if not fr.detected),
        "detect_false_alarms": len(suite.false_alarms()),
        "detect_latency_ms_p95": round(p95, 1) if p95 is not None else None,
        "detect_latency_ms_max": round(max(timed_lat), 1) if timed_lat else None,
        "detect_goals_failed": sum(1 for _, fr in res if fr.goal_met is False),
        "detect_scenario_errors": sum(1 for r in suite.runs if r.error is not None),
    }
    for kind in KINDS:
        mine = [fr for _, fr in res if fr.fault.kind == kind]
        if mine:
            out["detect_missed_%s" % kind] = sum(1 for fr in mine if not fr.detected)
    for kind in ("misalignment", "intermittent", "overheat", "sensor_fault"):
        lat = [fr.latency_ms for _, fr in res if fr.fault.kind == kind and timed(fr)]
        lat = [x for x in lat if x is not None]
        out["detect_%s_latency_ms_max" % kind] = round(max(lat), 1) if lat else None
    oc = [fr for _, fr in res if fr.fault.kind == "overcurrent"]
    periods = [fr.measure for fr in oc if fr.measure is not None]
    out["detect_overcurrent_cutoff_periods_max"] = (
        round(max(periods), 2) if periods and len(periods) == len(oc) else None
    )
    ox = [fr for _, fr in res if fr.fault.kind == "oxidation"]
    rises = [fr.measure for fr in ox if fr.measure is not None]
    out["detect_oxidation_rise_mohm_max"] = (
        round(max(rises), 2) if rises and len(rises) == len(ox) else None
    )
    days = [fr.latency_ms / DAY_MS for fr in ox if fr.latency_ms is not None]
    out["detect_oxidation_latency_days_max"] = round(max(days), 2) if days else None
    out["detect_cpu_s"] = round(sum(r.cpu_s for r in suite.runs), 1)
    out["detect_wall_s"] = round(suite.wall_s, 1)
    return out


def _lat_text(fr: FaultResult) -> str:
    if fr.latency_ms is None:
        return "-"
    if fr.fault.kind == "oxidation":
        return "%.2f d" % (fr.latency_ms / DAY_MS)
    if fr.fault.at_boot:
        return "%.0f ms*" % fr.latency_ms
    return "%.0f ms" % fr.latency_ms


def _goal_text(fr: FaultResult) -> str:
    g = fr.goal
    if fr.fault.kind == "overcurrent" and fr.measure is not None:
        g += " (%.2f = %.0f ms)" % (fr.measure, fr.cutoff_ms or 0.0)
    elif fr.fault.kind == "oxidation" and fr.measure is not None:
        g += " (%.2f)" % fr.measure
    return g


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        for k, cell in enumerate(row):
            widths[k] = max(widths[k], len(cell))
    fmt = "  ".join("%%-%ds" % w for w in widths)
    lines = [(fmt % tuple(header)).rstrip(), (fmt % tuple("-" * w for w in widths)).rstrip()]
    lines += [(fmt % tuple(row)).rstrip() for row in rows]
    return "\n".join(lines)


def report(suite: Suite, out: Callable[[str], None] = print) -> None:
    res = suite.results()
    header = ("scenario", "fault", "pins", "expect", "detected", "latency", "goal", "met")
    for kind in KINDS:
        rows = []
        for run, fr in res:
            if fr.fault.kind != kind:
                continue
            f = fr.fault
            expect = kind + (" (fault)" if f.severity == "fault" else "")
            met = "-" if fr.goal_met is None else ("yes" if fr.goal_met else "NO")
            ev = fr.event
            got = "no" if ev is None else "yes, %s" % ev.severity
            rows.append(
                (
                    run.name,
                    f.label,
                    ",".join(f.pins) or "(dock)",
                    expect,
                    got,
                    _lat_text(fr),
                    _goal_text(fr),
                    met,
                )
            )
        if not rows:
            continue
        out("")
        out(
            "== %s (%s.py): %d faults, %d missed"
            % (kind, DETECTOR_OF[kind], len(rows), sum(1 for r in rows if r[4] == "no"))
        )
        out(table(rows, header))
    if any(fr.fault.at_boot for _, fr in res):
        out("(* mark already passed at boot: latency from boot, not in the percentile)")
    fa = suite.false_alarms()
    out("")
    out("== false alarms: %d" % len(fa))
    if fa:
        rows = [
            (
                run.name,
                "%.0f" % e.t_ms,
                e.kind,
                ",".join(e.pins) or "(dock)",
                e.severity,
                _fields_text(e.fields),
            )
            for run, e in fa
        ]
        out(table(rows, ("scenario", "t_ms", "kind", "pins", "severity", "fields")))
    errors = [r for r in suite.runs if r.error is not None]
    if errors:
        out("")
        out("== scenarios that crashed: %d" % len(errors))
        for r in errors:
            out("-- %s\n%s" % (r.name, (r.error or "").rstrip()))
    out("")
    rows = []
    for r in suite.runs:
        sc = suite.scores[r.name]
        rows.append(
            (
                r.name,
                r.board,
                "%d" % len(sc.results),
                "%d" % sum(1 for fr in sc.results if not fr.detected),
                "%d" % len(sc.false_alarms),
                "%d" % r.cycles,
                "%.1f" % r.cpu_s,
                "error" if r.error else "",
            )
        )
    out("== scenarios: %d" % len(suite.runs))
    out(table(rows, ("scenario", "board", "faults", "missed", "false", "cycles", "cpu_s", "")))


def _fields_text(fields: dict[str, Any]) -> str:
    skip = ("t_ms", "kind", "pins", "severity")
    text = ", ".join("%s=%s" % (k, json.dumps(v)) for k, v in fields.items() if k not in skip)
    return text if len(text) <= 90 else text[:87] + "..."


def merge_json(path: Path, figs: dict[str, float | None]) -> dict[str, Any]:
    """Update ``path`` (one JSON object of metrics) with ``figs``; None removes a key."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict):
                data = loaded
        except ValueError:
            data = {}
    for k, v in figs.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return data


def run_suite(
    only: str | None = None,
    jobs: int | None = None,
    verbose: bool = True,
    out: Callable[[str], None] = print,
) -> Suite:
    paths = scenario_paths(only)
    t0 = time.perf_counter()

    def progress(r: ScenarioRun) -> None:
        if verbose:
            state = "CRASHED" if r.error else "%d events" % len(r.events)
            print("  ran %-24s %6.1f s cpu  %s" % (r.name, r.cpu_s, state), file=sys.stderr)

    runs = run_all(paths, jobs, progress)
    suite = score_runs(runs, time.perf_counter() - t0)
    if verbose:
        report(suite, out)
    return suite


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Detection benchmark over the scenario suite.")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPUs)")
    ap.add_argument("--only", default=None, help="run the scenarios whose name contains this")
    ap.add_argument("--out", default=str(BENCH_JSON), help="metrics file to update")
    ap.add_argument("--no-write", action="store_true", help="do not update the metrics file")
    args = ap.parse_args(argv)
    suite = run_suite(args.only, args.jobs)
    figs = figures(suite)
    print("")
    print(
        table(
            [(k, "n/a" if v is None else _fmt_num(v)) for k, v in figs.items()], ("metric", "value")
        )
    )
    if not args.no_write:
        if args.only:
            print("(--only: %s not updated with a partial suite)" % args.out)
        else:
            merge_json(Path(args.out), figs)
    return 1 if any(r.error for r in suite.runs) else 0


if __name__ == "__main__":
    sys.exit(main())
