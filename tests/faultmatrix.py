"""The monitor-fault matrix: every monitor of a board failing in every way, with an
overload and an overheating contact injected at the worst moment (right as the
monitor fails), judged from the simulator's truth. Shared by tests/test_monitor_faults.py
and tools/reliability_faults.py.

One run per (board, monitor, mode, seed), 11.5 simulated seconds:

* docked at 1 s drawing ``load``; at 3 s the monitor fails (``nak``: no answer,
  ``stuck``: its converter stops, ``reset``: a power-on reset) until 6 s, and 50 ms
  later a 0.45 s overload (``ma`` over the board's total limit) starts;
* at 9 s the monitor fails again (until the end), and 50 ms later a contact served
  by it (or the monitor's own pin) goes bad: +400 mOhm with its sibling open, the
  device drawing ``hot_ma`` through it (over 1.3 times the heat limit);
* with a sense monitor failing, the load stays under the blind limit (500 mA per pin)
  until the contact goes bad, so charging is on when it does;
* the seed moves the failures and the injections by up to one sampling period
  (``timeline``): over several seeds they fall at every phase of the sampling cycle.

Exposure is what the truth shows: the longest stretch (1 ms steps) with the current
over a limit (the total or a pin's), and with a contact's I^2 R over the heat limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
from dockfw import protection as pr
from dockfw import protocol
from dockfw.app import CHECK_MS
from docksim import scenario as scenario_mod
from docksim.dock import SimDock
from simrig import BOARDS

MODES = ("nak", "stuck", "reset")
NONE = "none"  # no monitor fails: the same injections on a sound dock, for comparison
FAIL_A = 3.0  # the monitor fails; the overload follows
FAIL_B = 9.0  # it fails again; the contact goes bad
LAG = 0.05  # injection after the failure: before a housekeeping round can see a stuck one
OVERLOAD_S = 0.45
END = 11.5
EXTRA_MOHM = 400
# A contact of up to BLIND_MOHM at this current stays under the 250 mW limit.
BLIND_SAFE_MA = 450


@dataclass
class Case:
    board: str
    monitor: str  # a pin or sense monitor name
    mode: str
    seed: int = 7

    @property
    def name(self) -> str:
        return "%s-%s-%s-s%d" % (self.board, self.monitor, self.mode, self.seed)


@dataclass
class Result:
    case: Case
    period_ms: float
    overload_ms: float  # longest stretch over a current limit
    heat_ms: float  # longest stretch with a contact over the heat limit
    cuts: list[dict] = field(default_factory=list)  # charge_off events (severity fault)
    events: list[dict] = field(default_factory=list)
    unexpected: list[dict] = field(default_factory=list)  # cuts no injection explains

    @property
    def stuck(self) -> bool:
        return self.case.mode == "stuck"

    def overload_allowed_ms(self) -> float:
        """Three sampling periods, what working monitors need at the worst phase: an
        overload that starts just after a conversion began shows only partly in it (the
        firmware fits a conversion within a period), fully in the next, which the cycle
        after it reads (cycle-aligned, as the benchmark injects them, it is two). A
        monitor frozen and not yet found stuck adds the cycles it takes both sides to
        disagree long enough."""
        cycles = 3 + (pr.SPLIT_CYCLES + 2 if self.stuck else 0)
        return cycles * self.period_ms + 1

    def heat_allowed_ms(self) -> float:
        """HEAT_MS and the few cycles the smoothed heat takes to cross the limit; a stuck
        monitor is found within two check rounds, its contact then judged blind."""
        return pr.HEAT_MS + 30 * self.period_ms + (2 * CHECK_MS if self.stuck else 0)

    @property
    def overload_missed(self) -> bool:
        return self.overload_ms > self.overload_allowed_ms()

    @property
    def heat_missed(self) -> bool:
        return self.heat_ms > self.heat_allowed_ms()


def cases(board: str, seed: int = 7) -> list[Case]:
    b = _board(board)
    monitors = [p.name for p in b.pins] + [s.name for s in b.sense]
    return [Case(board, m, mode, seed) for m in monitors for mode in MODES]


def _board(name: str):
    from dockfw.board import load

    return load("%s/%s.json" % (BOARDS, name))


def _hot_pins(board, monitor: str) -> tuple[str, str | None]:
    """The contact that goes bad (served by the monitor) and the sibling that opens."""
    pins = board.pins
    names = [p.name for p in pins]
    if monitor in names:
        target = board.pin(monitor)
    else:
        s = next(x for x in board.sense if x.name == monitor)
        target = next(p for p in pins if p.sense == s.index)
    sib = next((p.name for p in pins if p.role == target.role and p is not target), None)
    return target.name, sib


def timeline(case: Case) -> tuple[float, float, float, float]:
    """When (s) the monitor fails, the overload starts, it fails again and the contact
    goes bad. The seed moves the failures and the injections within a sampling period,
    so that a sweep of seeds meets the sampling cycles at every phase."""
    fail = (case.seed * 1.37) % 5.0 / 1000
    inject = (case.seed * 2.71) % 5.0 / 1000
    return FAIL_A + fail, FAIL_A + LAG + inject, FAIL_B + fail, FAIL_B + LAG + inject


def scenario(case: Case) -> dict:
    board = _board(case.board)
    fail_a, over_at, fail_b, bad = timeline(case)
    sense = case.monitor not in [p.name for p in board.pins]
    target, sib = _hot_pins(board, case.monitor)
    n_role = sum(1 for p in board.pins if p.role == board.pin(target).role)
    load = BLIND_SAFE_MA * n_role if sense else board.max_total_ma // 2
    hot = 900 if sense else load
    over = board.max_total_ma + 1000
    events: list[dict] = [{"t": 1, "type": "dock"}]
    for t, until in ((fail_a, fail_a + 3), (fail_b, None)):
        if case.mode == NONE:
            break
        ev = {"t": t, "type": "sensor_fault", "pin": case.monitor, "mode": case.mode}
        if until is not None and case.mode != "reset":
            ev["until"] = until
        events.append(ev)
    events.append({"t": over_at, "type": "overload", "ma": over, "until": over_at + OVERLOAD_S})
    events.append({"t": bad, "type": "misalign", "pins": [target], "extra_mohm": EXTRA_MOHM})
    if sib is not None:
        events.append({"t": bad, "type": "misalign", "pins": [sib], "open": True})
    return {
        "board": case.board,
        "seed": case.seed,
        "duration_s": END,
        "load": [[0, 0], [1, load], [bad, hot]],
        "events": events,
    }


def _longest(flags: list[bool], step_ms: float) -> float:
    best = run = 0
    for f in flags:
        run = run + 1 if f else 0
        best = max(best, run)
    return best * step_ms


def run_case(case: Case) -> Result:
    scn = scenario_mod.parse(scenario(case), case.name, BOARDS)
    board = scn.board
    raw: list[bytes] = []
    dock = SimDock(scn, raw.append)
    dock.run_firmware(sample_hz=scn.sample_hz, idle_hz=scn.idle_hz)
    c = dock.circuit
    limit = pr.CONTACT_MW_LIMIT
    _, over_at, _, bad = timeline(case)
    t0 = int(over_at * 1e6)
    over = [
        c.load_ma(t) > board.max_total_ma
        or any(c.pin_current_ma(p.name, t) > p.max_ma for p in board.pins)
        for t in range(t0, t0 + 1_000_000, 1000)
    ]
    target, _ = _hot_pins(board, case.monitor)
    t1 = int(bad * 1e6)
    heat = []
    for t in range(t1, int(END * 1e6), 1000):
        r = c.contact_mohm(target, t)
        i = c.pin_current_ma(target, t)
        heat.append(r is not None and not math.isinf(r) and i * i * r / 1e6 > limit)
    events = [
        rec
        for rec in (protocol.decode(x) for x in b"".join(raw).splitlines())
        if rec["type"] == "event"
    ]
    cuts = [e for e in events if e["kind"] == "charge_off" and e["severity"] == "fault"]
    windows = ((over_at, over_at + 0.1), (bad, END))
    # (An event's t_ms is in whole ms: the half read's guard can cut in the millisecond
    # the overload began.)
    unexpected = [
        e for e in cuts if not any(int(a * 1000) <= e["t_ms"] <= b * 1000 for a, b in windows)
    ]
    return Result(
        case,
        1000.0 / (scn.sample_hz or board.sample_hz),
        _longest(over, 1.0),
        _longest(heat, 1.0),
        cuts,
        events,
        unexpected,
    )
