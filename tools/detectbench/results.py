"""The detection benchmark's results: the suite's figures for ``build/bench.json`` and
its tables, one per detector."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from detectbench.scenarios import ScenarioRun
from detectbench.scoring import (
    DAY_MS,
    DETECTOR_OF,
    KINDS,
    Event,
    FaultResult,
    ScenarioScore,
    contact_heat_limit_mw,
    percentile,
    score,
    timed,
)


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
