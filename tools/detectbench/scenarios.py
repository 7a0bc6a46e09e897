"""Running the suite's scenario files: the real firmware on a simulated dock, one
scenario per worker process, each keeping the ``event`` lines it sends and the faults
the simulator's truth says it injected (plus wear, which the simulator models but does
not inject: a pin crossing 80 % or 100 % of its rated mating cycles)."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detectbench.scoring import Event, Fault

ROOT = Path(__file__).resolve().parents[2]
BOARDS = ROOT / "boards"
EXAMPLES = ROOT / "scenarios"
BENCH_SCENARIOS = ROOT / "tests" / "bench_scenarios"
# Seed k of a sweep runs the file with its seed + k * SEED_STRIDE (k = 0: the file as it
# is): other pins' resistances, seating, monitors' offsets and noise, dropout phases and
# load jitter, the same faults. A detector tuned to one seed shows here.
SEED_STRIDE = 7919
SEED_MAX = 0xFFFFFFFF


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
    seed: int = 0  # the seed it ran at (a sweep's differs from the file's)


def scenario_paths(only: str | None = None) -> list[Path]:
    paths = sorted(EXAMPLES.glob("*.json")) + sorted(BENCH_SCENARIOS.glob("*.json"))
    if only:
        paths = [p for p in paths if only in scenario_name(p)]
    return paths


def scenario_name(path: Path) -> str:
    return path.stem if path.parent == BENCH_SCENARIOS else "ex/" + path.stem


def fmt_num(v: float) -> str:
    return ("%g" % v) if isinstance(v, float) else str(v)


def _label(f: dict[str, Any], ev: dict[str, Any]) -> str:
    t = "t=%ss" % fmt_num(ev["t"])
    kind = f["type"]
    if kind == "misalign":
        what = "open" if ev.get("open") else "+%s mOhm" % fmt_num(ev["extra_mohm"])
        return "%s misalign %s" % (t, what)
    if kind == "intermittent":
        return "%s intermittent %s/s %s ms" % (
            t,
            fmt_num(ev["rate_hz"]),
            fmt_num(ev["dropout_ms"]),
        )
    if kind == "oxidation":
        return "%s oxidation %s mOhm/day" % (t, fmt_num(ev["mohm_per_day"]))
    if kind == "overload":
        return "%s overload %s mA" % (t, fmt_num(ev["ma"]))
    if kind == "heat":
        return "%s heat %s C" % (t, fmt_num(ev["temp_c"]))
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
                how = "t=%ss dock" % fmt_num(onset / 1000.0)
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


def run_name(path: Path, seed_step: int) -> str:
    """A run's name: the scenario's, and ``@k`` for the k-th other seed of a sweep."""
    return scenario_name(path) + ("@%d" % seed_step if seed_step else "")


def run_scenario(path: str, seed_step: int = 0) -> ScenarioRun:
    """Run one scenario file through the firmware, its seed moved ``seed_step`` strides
    on; never raises (errors are kept)."""
    p = Path(path)
    run = ScenarioRun(run_name(p, seed_step), str(p))
    t0 = time.process_time()
    try:
        import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
        from dockfw import protocol
        from docksim import scenario as scenario_mod
        from docksim.dock import SimDock

        obj = json.loads(p.read_text())
        if seed_step and isinstance(obj, dict) and isinstance(obj.get("seed"), int):
            obj["seed"] = (obj["seed"] + seed_step * SEED_STRIDE) % (SEED_MAX + 1)
        scn = scenario_mod.parse(obj, str(p), str(BOARDS))
        run.seed = scn.seed
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
    seeds: int = 1,
) -> list[ScenarioRun]:
    """Run each scenario at ``seeds`` seeds (its own first), longest first, over ``jobs``
    processes; results in path order, then seed order."""
    tasks = [(p, k) for p in paths for k in range(max(1, seeds))]
    jobs = jobs or min(len(tasks), os.cpu_count() or 1) or 1
    order = sorted(tasks, key=lambda task: _cost(task[0]), reverse=True)
    runs: dict[tuple[Path, int], ScenarioRun] = {}
    if jobs <= 1:
        for p, k in order:
            r = run_scenario(str(p), k)
            runs[(p, k)] = r
            if progress:
                progress(r)
    else:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [(task, pool.submit(run_scenario, str(task[0]), task[1])) for task in order]
            for task, fut in futures:
                r = fut.result()
                runs[task] = r
                if progress:
                    progress(r)
    return [runs[task] for task in tasks]
