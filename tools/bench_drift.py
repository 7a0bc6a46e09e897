"""Drift over dock-years: false ``oxidation`` alarms and the rise at which real drift is raised.

The real drift detector (``firmware/dockfw/drift.py``) judges one statistic per pin and
docking session: the median of the session's report resistances, corrected to 25 °C.
Simulating every sample of 730 sessions a year for tens of years is far too slow, so
this tool builds each session's statistic the way the pipeline does and hands it to
``Drift.session`` / ``Drift.save`` exactly as ``Drift.undocked`` does:

* the contact at 25 °C: the pin's base resistance (``scenario.default_r_mohm``), the
  seating offset of that docking (``sessions.seat_offset_mohm``, clipped as the
  simulator clips it) and the oxidation term; the same functions and draws as the
  full simulator for the same seed;
* at the session's temperature (``sessions.session_temp_c``: the daily cycle plus a
  per-session draw), times copper's tempco, and back to 25 °C with the firmware's
  integer correction (the dock's sensor reads the temperature the contact has);
* the measurement: a pin's contact drop is the difference of two monitors' shunt
  readings, so their offsets (the simulator draws 25 µV rms per chip) leave an error
  of offset / pin current, and the load varies from session to session (trickle
  wearables at 50 to 300 mA, phones at 0.5 to 2 A: ``LOADS_MA``); plus the median's
  own noise.

``--verify`` runs the full simulator (every sample, the real firmware App) for a few
seeds and compares the statistics the firmware took with the short-cut's for the same
sessions: the seating and temperature parts are identical by construction, so the
difference is the measurement error, whose spread the short-cut's model must cover.

Dockings: two a day (about 07:00 and 22:00, ±1 h), 20 min to 8 h each. False alarms:
dock-years with nothing wrong, every ``warn`` / ``fault`` ``oxidation`` counted.
Detection: one pin starts drifting at a rate from ``RATES`` on a random day after the
detector has settled (``--warmup-days``); the rise is the contact's oxidation term at
the end of the session whose undock raised the first ``oxidation`` on that pin.

``python tools/bench_drift.py [--years 40] [--seeds-per-rate 200] [--sigma 2] [--jobs 2]``
``python tools/bench_drift.py --verify [--verify-seeds 3]``
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("firmware", "sim"):
    if str(ROOT / sub) not in sys.path:
        sys.path.insert(0, str(ROOT / sub))

import docksim  # noqa: E402, F401  (makes dockfw importable: micropython stand-in)
from dockfw import drift as drift_mod  # noqa: E402
from dockfw.store import MemoryStore  # noqa: E402
from docksim.scenario import (  # noqa: E402
    DEFAULT_TEMP_SESSION_SIGMA_C,
    DEFAULT_TEMP_SWING_C,
    default_r_mohm,
)
from docksim.sessions import TEMPCO_PER_C, seat_offset_mohm, session_temp_c  # noqa: E402

DAY = 86400
PINS = ("VBUS1", "GND1", "GND2", "VBUS2")  # pico-dock-4
SUPPLY = (True, False, False, True)
RATES = (0.5, 1.0, 2.0, 3.0, 5.0)  # mOhm/day
GOAL_MOHM = 10.0
# Session loads, mA: (weight, low, high). Wearables trickle, phones draw amperes.
LOADS_MA = ((0.4, 50.0, 300.0), (0.6, 500.0, 2000.0))
# A pin's drop error: its pin and pad monitors' offsets (25 µV rms each in
# sim/ina219_model.py) plus what the pad monitor's coarser range adds; set so that the
# short-cut's error matches the full simulator's (--verify: 0.71 mOhm sd at 50-400 mA,
# 0.14 above, where 25 µV a chip alone gave 0.33 and 0.09).
OFFSET_UV = 50.0
MEDIAN_NOISE_UV = 3.0  # rms of a session median's drop (many reports of ~1 count each)
AMBIENT_C = 25.0
MIN_CURRENT_MA = 50  # pico-dock-4's min_current_ma: below it r_mohm is null


class _Pin:
    def __init__(self, name, index):
        self.name = name
        self.index = index


class _Board:
    pins = [_Pin(n, i) for i, n in enumerate(PINS)]


class _NoVerdicts:
    """The alignment and intermittent detectors as ``Drift`` sees them here: sessions are
    fed whole, none misaligned or intermittent."""

    def misaligned(self, j: int) -> bool:
        return False

    def active(self, j: int) -> bool:
        return False


NO_VERDICTS = _NoVerdicts()


class Ctx:
    """What ``Drift`` needs between sessions: the board, a store, the event sink."""

    board = _Board()

    def __init__(self):
        self.store = MemoryStore()
        self.events = []  # (session index, kind, pin index, severity, fields)
        self.session_index = 0

    def event(self, kind, pins, severity, fields=()):
        for j in pins:
            self.events.append((self.session_index, kind, j, severity, dict(fields)))


def fw_correct(r_uohm: int, t_mc: int) -> int:
    """``Drift.report``'s correction to 25 °C, in the firmware's integers."""
    f = 409600000 // (100000 + 39 * (t_mc - 25000) // 100)
    return (r_uohm * f) >> 12 if r_uohm < 131072 else ((r_uohm >> 6) * f) >> 6


def session_times(seed: int, days: int) -> list[tuple[float, float]]:
    """(dock, undock) in s: two dockings a day, morning and evening."""
    rnd = random.Random(seed * 7919 + 17)
    out = []
    for d in range(days):
        for hour, longest_h in ((7.0, 2.0), (22.0, 8.0)):
            a = d * DAY + (hour + rnd.uniform(-1, 1)) * 3600
            out.append((a, a + rnd.uniform(1200, longest_h * 3600)))
    return out


def session_load_ma(rnd: random.Random) -> float:
    u = rnd.random()
    for w, lo, hi in LOADS_MA:
        if u < w:
            return rnd.uniform(lo, hi)
        u -= w
    return LOADS_MA[-1][2]


class DockModel:
    """One dock's pins, seating, temperature and measurement errors, from its seed."""

    def __init__(self, seed, sigma_mohm, swing_c, temp_sigma_c):
        self.seed = seed
        self.sigma = sigma_mohm
        self.swing = swing_c
        self.temp_sigma = temp_sigma_c
        self.base = [float(default_r_mohm(seed, j)) for j in range(len(PINS))]
        rnd = random.Random(seed * 104729 + 5)
        # a pin's drop is pad minus shunt: two monitors' offsets
        self.offset_uv = [rnd.gauss(0, OFFSET_UV * math.sqrt(2)) for _ in PINS]
        self.rnd = rnd

    def contact_25(self, j, session):
        """The contact at 25 °C without oxidation, as ``Circuit._seated`` has it."""
        base = self.base[j]
        r = base + seat_offset_mohm(self.seed, session, j, self.sigma)
        return max(r, base / 2)

    def temp_c(self, session, t_dock):
        return session_temp_c(self.seed, session, t_dock, AMBIENT_C, self.swing, self.temp_sigma)

    def statistic(self, j, session, t_dock, ox_mohm, load_ma):
        """The session statistic the firmware forms, µΩ at 25 °C."""
        temp = self.temp_c(session, t_dock)
        r = (self.contact_25(j, session) + ox_mohm) * (1 + TEMPCO_PER_C * (temp - 25.0))
        i_pin_a = load_ma / 2000.0  # two pins per role share it
        if i_pin_a * 1000 < MIN_CURRENT_MA:
            return None  # the firmware reports no resistance: no statistic
        err_uv = self.offset_uv[j] + self.rnd.gauss(0, MEDIAN_NOISE_UV)
        r_uohm = round(r * 1000 + err_uv / i_pin_a)
        return fw_correct(r_uohm, round(temp * 1000))


def run_dock(seed, days, sigma, swing, temp_sigma, drift=None):
    """Feed one dock's sessions to the real detector. ``drift``: (pin, mOhm/day, onset
    day). Returns (oxidation alarms [(session, pin, severity, cause, rise)], sessions)."""
    model = DockModel(seed, sigma, swing, temp_sigma)
    ctx = Ctx()
    det = drift_mod.Drift(ctx, NO_VERDICTS, NO_VERDICTS)
    out = []
    times = session_times(seed, days)
    for k, (a, b) in enumerate(times):
        ctx.session_index = k
        load = session_load_ma(model.rnd)
        mid = (a + b) / 2
        for j in range(len(PINS)):
            ox = 0.0
            if drift is not None and drift[0] == j and mid > drift[2] * DAY:
                ox = drift[1] * (mid - drift[2] * DAY) / DAY
            r = model.statistic(j, k, a, ox, load)
            if r is not None:
                det.session(ctx, j, r, int(mid))
        det.save(ctx)
        for s, kind, j, sev, f in ctx.events:
            if kind == "oxidation" and sev in ("warn", "fault"):
                rise = 0.0
                if drift is not None and drift[0] == j:
                    rise = max(0.0, drift[1] * (b - drift[2] * DAY) / DAY)
                out.append((s, j, sev, f.get("cause"), rise))
        ctx.events.clear()
    return out, len(times)


def _false_alarm_job(args):
    seed, days, sigma, swing, temp_sigma = args
    alarms, n = run_dock(seed, days, sigma, swing, temp_sigma)
    return seed, alarms, n


def _detect_job(args):
    seed, rate, warmup, sigma, swing, temp_sigma = args
    rnd = random.Random(seed * 31 + int(rate * 1000))
    pin = rnd.randrange(len(PINS))
    onset = warmup + rnd.uniform(0, 30)
    days = int(onset + 12.0 / rate + 40)  # long enough to pass +10 mOhm with margin
    alarms, _ = run_dock(seed, days, sigma, swing, temp_sigma, (pin, rate, onset))
    first = None
    others = []  # alarms no drift explains: on another pin, or before the onset
    for s, j, _severity, cause, rise in alarms:
        if j == pin and rise > 0:
            if first is None:
                first = (rise, cause, s)
        else:
            others.append((s, j))
    return seed, rate, pin, first, others, days


def percentile(values, q):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def _map(fn, jobs, n_jobs):
    if n_jobs <= 1:
        return [fn(j) for j in jobs]
    with ProcessPoolExecutor(n_jobs) as ex:
        return list(ex.map(fn, jobs, chunksize=max(1, len(jobs) // (4 * n_jobs))))


def false_alarms(years, sigma, swing, temp_sigma, n_jobs, first_seed=1000, out=print):
    """Dock-years with nothing wrong: oxidation alarms per dock-year."""
    jobs = [(first_seed + i, 365, sigma, swing, temp_sigma) for i in range(years)]
    res = _map(_false_alarm_job, jobs, n_jobs)
    alarms = [(seed, a) for seed, al, _ in res for a in al]
    sessions = sum(n for _, _, n in res)
    per_year = len(alarms) / years
    out(
        "false alarms: %d in %d dock-years (%d sessions x 4 pins; seating sigma %g mOhm, "
        "temperature +-%g C daily, session sigma %g C): %.3f per dock-year"
        % (len(alarms), years, sessions, sigma, swing, temp_sigma, per_year)
    )
    for seed, (s, j, sev, cause, _) in alarms[:10]:
        out("  seed %d session %d %s %s (%s)" % (seed, s, PINS[j], sev, cause))
    return per_year


def detection(seeds, sigma, swing, temp_sigma, warmup, n_jobs, first_seed=5000, out=print):
    """Rise (mOhm) at the first oxidation alarm per rate: p50, p95, max, misses."""
    jobs = [
        (first_seed + i, rate, warmup, sigma, swing, temp_sigma)
        for rate in RATES
        for i in range(seeds)
    ]
    res = _map(_detect_job, jobs, n_jobs)
    worst = 0.0
    rows = []
    by_cause: dict[str, int] = {}
    others = 0
    for rate in RATES:
        mine = [r for r in res if r[1] == rate]
        rises = [r[3][0] for r in mine if r[3] is not None]
        missed = sum(1 for r in mine if r[3] is None)
        others += sum(len(r[4]) for r in mine)
        for r in mine:
            if r[3] is not None:
                by_cause[r[3][1]] = by_cause.get(r[3][1], 0) + 1
        p95 = percentile(rises, 95)
        if missed:
            p95 = float("inf")
        worst = max(worst, p95 or 0.0)
        over = sum(1 for x in rises if x >= GOAL_MOHM)
        rows.append(
            "  %4g mOhm/day: %d runs, missed %d, rise p50 %.2f p95 %.2f max %.2f mOhm, "
            "%d at or over +%g"
            % (
                rate,
                len(mine),
                missed,
                percentile(rises, 50) or 0,
                p95,
                max(rises) if rises else 0,
                over,
                GOAL_MOHM,
            )
        )
    out(
        "detection: one pin drifting from a random day after %g days (seating sigma %g mOhm,"
        " +-%g C):" % (warmup, sigma, swing)
    )
    for r in rows:
        out(r)
    out("  first alarms by cause: %s; alarms on the other pins meanwhile: %d" % (by_cause, others))
    return worst


# -- the short-cut against the full simulator ------------------------------------------------


def verify_scenario(seed, days, sigma, swing, temp_sigma):
    """A scenario object for the full simulator with the short-cut's sessions and loads."""
    model = DockModel(seed, sigma, swing, temp_sigma)
    times = session_times(seed, days)
    load = [[0, 0]]
    events = []
    loads = []
    for a, b in times:
        ma = session_load_ma(model.rnd)
        loads.append(ma)
        # sessions of at most 20 min: the statistic does not depend on the length
        b = min(b, a + 1200)
        load += [[round(a, 3), round(ma, 1)], [round(b, 3), 0]]
        events += [{"t": round(a, 3), "type": "dock"}, {"t": round(b, 3), "type": "undock"}]
    obj = {
        "board": "pico-dock-4",
        "seed": seed,
        "duration_s": days * DAY,
        "sample_hz": 1,
        "idle_hz": 0.01,
        "seating_sigma_mohm": sigma,
        "temp_swing_c": swing,
        "temp_session_sigma_c": temp_sigma,
        "load": load,
        "events": events,
    }
    return obj, model, times, loads


def _verify_job(args):
    seed, days, sigma, swing, temp_sigma = args
    from docksim import scenario as scenario_mod
    from docksim.dock import SimDock

    obj, model, times, loads = verify_scenario(seed, days, sigma, swing, temp_sigma)
    scn = scenario_mod.parse(obj, "bench_drift", str(ROOT / "boards"))
    got: list[tuple[int, int, int]] = []
    orig = drift_mod.Drift.session

    def spy(self, ctx, j, r, t):
        got.append((j, r, t))
        return orig(self, ctx, j, r, t)

    drift_mod.Drift.session = spy
    try:
        dock = SimDock(scn, lambda b: None, None, boot_seed=seed)
        dock.run_firmware(sample_hz=scn.sample_hz, idle_hz=scn.idle_hz)
    finally:
        drift_mod.Drift.session = orig
    rows = []
    for j, r, t in got:  # t: the session's mid-time, s since boot (the scenario's t = 0)
        k = min(range(len(times)), key=lambda i: abs(times[i][0] + 600 - t))
        a = times[k][0]
        short = model.statistic(j, k, a, 0.0, loads[k])
        if short is None:  # the firmware measured what the short-cut says it cannot
            short = -1000000
        truth = model.contact_25(j, k)
        rows.append((seed, k, j, loads[k], model.temp_c(k, a), truth, r / 1000.0, short / 1000))
    return rows


def verify(seeds, days, sigma, swing, temp_sigma, n_jobs, out=print):
    jobs = [(7000 + i, days, sigma, swing, temp_sigma) for i in range(seeds)]
    rows = [r for part in _map(_verify_job, jobs, n_jobs) for r in part]
    full_err = [fw - truth for _, _, _, _, _, truth, fw, _ in rows]
    short_err = [sc - truth for _, _, _, _, _, truth, _, sc in rows]
    truth_sd = _sd(
        [
            r[5]
            - sum(x[5] for x in rows if x[2] == r[2] and x[0] == r[0])
            / sum(1 for x in rows if x[2] == r[2] and x[0] == r[0])
            for r in rows
        ]
    )
    out(
        "verify: %d sessions x pins from the full simulator (%d seeds, %d days each)"
        % (len(rows), seeds, days)
    )
    out("  seating+temperature truth at 25 C: sd %.3f mOhm around each pin's mean" % truth_sd)
    for name, err in (("full simulator", full_err), ("short-cut", short_err)):
        out(
            "  %-14s statistic - truth: mean %+.3f sd %.3f |max| %.3f mOhm"
            % (name, sum(err) / len(err), _sd(err), max(abs(e) for e in err))
        )
    for lo, hi in ((0, 400), (400, 5000)):
        sub = [(fw - t, sc - t) for _, _, _, ma, _, t, fw, sc in rows if lo <= ma < hi]
        if sub:
            out(
                "  loads %d-%d mA (%d): error sd full %.3f, short-cut %.3f mOhm"
                % (lo, hi, len(sub), _sd([a for a, _ in sub]), _sd([b for _, b in sub]))
            )
    return rows


def _sd(xs):
    if len(xs) < 2:
        return 0.0
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def figures(years=40, seeds=100, sigma=2.0, n_jobs=2, out=print):
    """``make bench``'s keys (README, "Figures")."""
    swing, tsig = DEFAULT_TEMP_SWING_C, DEFAULT_TEMP_SESSION_SIGMA_C
    fa = false_alarms(years, sigma, swing, tsig, n_jobs, out=out)
    rise = detection(seeds, sigma, swing, tsig, 30.0, n_jobs, out=out)
    return {
        "detect_false_alarms_per_dock_year": round(fa, 3),
        "detect_oxidation_rise_mohm_p95": round(rise, 2) if math.isfinite(rise) else None,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--years", type=int, default=40, help="dock-years with nothing wrong")
    ap.add_argument("--seeds-per-rate", type=int, default=100, help="drift runs per rate")
    ap.add_argument("--sigma", type=float, default=2.0, help="seating sigma, mOhm")
    ap.add_argument("--swing", type=float, default=DEFAULT_TEMP_SWING_C, help="daily +-C")
    ap.add_argument("--temp-sigma", type=float, default=DEFAULT_TEMP_SESSION_SIGMA_C)
    ap.add_argument("--warmup-days", type=float, default=30.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verify", action="store_true", help="short-cut vs the full simulator")
    ap.add_argument("--verify-seeds", type=int, default=3)
    ap.add_argument("--verify-days", type=int, default=10)
    ap.add_argument("--only", choices=("false", "detect"), default=None)
    a = ap.parse_args(argv)
    t0 = time.time()
    if a.verify:
        verify(a.verify_seeds, a.verify_days, a.sigma, a.swing, a.temp_sigma, a.jobs)
    else:
        if a.only != "detect":
            false_alarms(a.years, a.sigma, a.swing, a.temp_sigma, a.jobs)
        if a.only != "false":
            detection(a.seeds_per_rate, a.sigma, a.swing, a.temp_sigma, a.warmup_days, a.jobs)
    print("(%.1f s)" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
