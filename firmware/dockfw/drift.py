"""Oxidation: one contact's resistance creeping up, docking session after docking session.

During a session each report's resistance per pin (not when the pin is misaligned,
drops out or has no reading) is corrected to 25 °C with copper's +0.39 %/°C into a
preallocated buffer (decimated by two when full: 25 s at 200 Hz and 20 min at 2 Hz
both fit); at undock its median is the session statistic. Seating varies from one
docking to the next, so detection runs on the session series, never on samples:

* baseline: mean of the first ``LEARN_MIN`` sessions, then of every in-control
  session up to ``LEARN_MAX`` (a month at two dockings a day): self-starting, it arms
  after three sessions and keeps learning while the CUSUM stays low;
* sigma, the seating variation: pooled over all pins from second differences of the
  session series (a linear drift leaves them alone, so an oxidising pin cannot hide
  by inflating sigma) over about the last ``POOL_MAX`` terms, starting from the
  field's 2 mOhm worth ``PRIOR_TERMS`` terms (a young dock's few terms are no
  estimate), never below ``SIGMA_FLOOR_UOHM``;
* one-sided CUSUM, h = 3.5 sigma, k = sigma + 1.5 sigma/sqrt(n) (n sessions in the
  baseline: its own error, else a young baseline estimated low walks the CUSUM into
  false alarms), started at h/2 whenever armed (fast initial response, Lucas &
  Crosier 1982): a drift already under way while the baseline was learned trips it
  soon after; a trend is raised only when the last two sessions' mean also stands
  ``MIN_RISE_UOHM`` (4 mOhm) above the baseline, so a sigma estimated low cannot
  turn seating scatter into an alarm. Chosen from ``tools/bench_drift.py`` (README,
  "Oxidation drift"): with 2 mOhm of seating scatter on every pin, +-10 °C a day and
  loads from 50 mA to 2 A, about 0.2 false alarms per dock-year (h = 5 sigma and
  k = 0.5 sigma from three sessions made 4 a year), while drift at 0.5 to 3 mOhm/day
  is raised before +10 mOhm (p95); at 5 mOhm/day, 2.5 mOhm a session against 2 mOhm
  of scatter, the p95 is +12 (no test at this false-alarm rate sees four such sessions
  reliably; a lower h only adds false alarms);
* guards: +10 mOhm above baseline warns, +20 mOhm is a fault (clean now); each level
  is raised once (a session already past +20 raises the fault alone);
* drift: least squares over the sessions since the last reset; days to clean: when
  that line reaches baseline + 20 mOhm.

After an alarm, a session back within 3 sigma of the baseline and 3 sigma below the
one before is ``cleaned`` (after the host's ``cleaned`` the next session only has to
be back within 3 sigma); a clean contact far below the old baseline is learned
afresh. State survives reboots in the store (``drift``, named fields), written per session;
the fields are those of the release before this method (only the bounds of
``learn_sessions`` and ``pool_terms`` grew), so its saved state loads as it is.
"""

import math
from array import array

from micropython import const

from dockfw import protocol
from dockfw.detect import FAULT, OK, WARN, Detector
from dockfw.protocol import Fixed
from dockfw.sessionstat import SessionStats, fit_line
from dockfw.store import BOOL, INT, INTS, NUM, OBJ, StateError, need

CAP = const(96)  # values per pin and session (decimated by two when full): ample for a median
MIN_VALUES = const(10)  # fewer reports (about 2 s) say nothing reliable about a session
LEARN_MIN = const(3)  # sessions before the detector arms (self-starting: it keeps learning)
LEARN_MAX = const(64)  # in-control sessions the baseline keeps averaging (a month)
HISTORY = const(16)  # session statistics per pin for the drift fit
TREND_T = const(3)  # a slope under 3 standard errors is scatter: reported as no drift
SIGMA_FLOOR_UOHM = const(1000)  # a few quiet sessions must not make a hair trigger
SIGMA_PRIOR_UOHM = const(2000)  # the field's seating scatter: sigma's start (README)
PRIOR_TERMS = const(8)  # ... worth two sessions of a four-pin dock
K_PCT = const(100)  # CUSUM reference, % of sigma: a 2-sigma shift (+ baseline error)
H_PCT = const(350)  # CUSUM limit, % of sigma (with MIN_RISE_UOHM: see the module's top)
FIR_PCT = const(175)  # CUSUM head start h/2 when armed or re-armed
BASE_ERR_PCT = const(150)  # k's allowance for the baseline's own error, % of sigma/sqrt(n)
MIN_RISE_UOHM = const(4000)  # a trend's last two sessions must stand this far above baseline
CLEAN_Z_PCT = const(300)  # 3 sigma: "back at the baseline" and "a real step down"
WARN_UOHM = const(10000)  # EIA-364: a change up to 10 mΩ is "stable"
FAULT_UOHM = const(20000)  # 15 to 20 mΩ: the industry's cleaning trigger
PENALTY_X2_PER_MOHM = const(5)  # 2.5 score points per mΩ above baseline
PENALTY_CAP = const(50)  # the fault level itself caps the score further
D2_CLIP = const(8)  # a second difference over 8 sigma is a jump, not seating
POOL_MAX = const(256)  # sigma pool terms kept (about a month of four pins): older fade
HORIZON_DAYS = const(3650)  # a cleaning further off than this is "not in sight"
CUS_MAX = const(100000)  # the CUSUM stops growing long past h: stays a small int
MAX_UOHM = const(1000000000)  # 1 kOhm: an open contact reads unknown, never this
STATE = "drift"
STATE_VERSION = const(1)


class Drift(Detector):
    def __init__(self, ctx, alignment, intermittent):
        # A report from a misaligned seating or an intermittent contact says nothing of
        # the plating: those two keep it out of the session's statistic
        # (``alignment.misaligned(j)``, ``intermittent.active(j)``), so the App must
        # run their ``report`` before this one's (tests/test_detector_contract.py).
        self.alignment = alignment
        self.intermittent = intermittent
        self.names = [p.name for p in ctx.board.pins]
        n = self.n = len(self.names)
        self.stats = SessionStats(n, CAP)
        self.history_t = array("i", [0] * (n * HISTORY))  # session mid-times, s
        self.history_r = array("i", [0] * (n * HISTORY))  # session statistics, µΩ at 25 °C
        self.slope = array("i", [0] * n)  # µΩ/day, valid when have[j]
        self.have = array("b", [0] * n)
        self.days = array("i", [-1] * n)
        self._init_state()
        saved = ctx.store.load(STATE, STATE_VERSION, self._check)
        if saved is not None:
            self._load(saved)
        for j in range(n):
            self._fit(j)

    def _init_state(self):
        n = self.n
        self.baseline = array("i", [-1] * n)  # µΩ, -1 while learning the first time
        self.learn_sum = array("i", [0] * n)  # µΩ, the sessions the baseline averages
        self.learn_n = array("b", [0] * n)  # ... and how many
        self.cusum = array("i", [0] * n)  # CUSUM, % of sigma
        self.alarm = array("b", [0] * n)  # OK, WARN or FAULT raised and not cleaned
        self.verify = array("b", [0] * n)  # the host said cleaned: check next session
        self.history_n = array("b", [0] * n)  # sessions in history_t / history_r
        self.pool_sq = 0.0  # pooled squared second differences, mΩ²
        self.pool_terms = 0

    # -- per report: collect ------------------------------------------------------
    def report(self, ctx):
        dk = ctx.docking
        if not dk.present or not dk.settled():
            return
        rep = ctx.report
        al = self.alignment
        it = self.intermittent
        t = ctx.temp_mc()
        # 1 / (1 + 0.0039 (T - 25 °C)) in 1/4096: back to 25 °C without a float
        f = 4096 if t is None else 409600000 // (100000 + 39 * (t - 25000) // 100)
        now = ctx.t_s()
        for j in range(self.n):
            r = rep.r_uohm(j)
            if r >= 0 and not al.misaligned(j) and not it.active(j):
                self.stats.add(j, (r * f) >> 12 if r < 131072 else ((r >> 6) * f) >> 6, now)

    def docked(self, ctx):
        self.stats.reset()

    def undocked(self, ctx):
        st = self.stats
        for j in range(self.n):
            if st.count(j) >= MIN_VALUES:
                self.session(ctx, j, st.median(j), st.mid_t(j))
        st.reset()
        self.save(ctx)

    # -- per session: decide ------------------------------------------------------
    def sigma(self):
        """Seating variation, µΩ (the pooled estimate, not below the floor)."""
        # A young dock's few terms scatter widely (chi-squared with few degrees): one
        # large second difference doubled sigma and let a drifting pin's sessions be
        # learned as its baseline; one small one made a hair trigger. So the estimate
        # starts from the field's seating scatter, worth PRIOR_TERMS terms, which the
        # dock's own terms outweigh within days; (1 + 2/c) still leans high while few.
        c = self.pool_terms + PRIOR_TERMS
        prior = PRIOR_TERMS * (SIGMA_PRIOR_UOHM / 1000) ** 2
        var = (self.pool_sq / 6 + prior) / c * (1 + 2 / c)
        return max(SIGMA_FLOOR_UOHM, int(1000 * math.sqrt(var)))

    def session(self, ctx, j, r, t):
        """One session's statistic ``r`` (µΩ at 25 °C) of pin ``j``, mid-time ``t`` (s)."""
        sig = self.sigma()
        b = self.baseline[j]
        n = self.history_n[j]
        prev = self.history_r[j * HISTORY + n - 1] if n else r
        z = 0
        judge = False
        if b < 0:
            self.verify[j] = 0
            self._learn(j, r)
        else:
            z = (r - b) * 100 // sig
            v = self.verify[j]
            drop = (prev - r) * 100 // sig
            if (self.alarm[j] or v) and z <= CLEAN_Z_PCT and (v or drop >= CLEAN_Z_PCT):
                by = "host" if v else "detected"
                fields = [("r_mohm", Fixed(r, 3)), ("baseline_mohm", Fixed(b, 3)), ("by", by)]
                ctx.event(protocol.EV_CLEANED, [j], protocol.SEV_INFO, fields)
                self.alarm[j] = OK
                self.verify[j] = 0
                self.cusum[j] = FIR_PCT
                self.history_n[j] = 0  # the drift starts afresh
                if z < -CLEAN_Z_PCT:  # far below the old baseline: learn the clean contact
                    self.learn_sum[j] = self.learn_n[j] = self.cusum[j] = 0
                    self._learn(j, r)
            else:
                judge = True
        self._push(j, t, r)
        self._fit(j)
        if judge:
            self._judge(ctx, j, r, z, prev)
        if not self.alarm[j]:
            self._pool(j, sig)

    def _learn(self, j, r):
        self.learn_sum[j] += r
        self.learn_n[j] += 1
        if self.learn_n[j] >= LEARN_MIN or self.baseline[j] >= 0:
            self.baseline[j] = self.learn_sum[j] // self.learn_n[j]
        if self.learn_n[j] == LEARN_MIN:
            self.cusum[j] = FIR_PCT

    def _judge(self, ctx, j, r, z, prev):
        self.verify[j] = 0
        armed = self.learn_n[j] >= LEARN_MIN
        if armed:
            # k = 0.5 sigma plus the baseline's own error, sigma/sqrt(n): a baseline
            # estimated low must not walk the CUSUM into a false alarm
            k = K_PCT + int(BASE_ERR_PCT / math.sqrt(self.learn_n[j]))
            self.cusum[j] = max(0, min(CUS_MAX, self.cusum[j] + z - k))
        if (
            not self.alarm[j]
            and self.learn_n[j] < LEARN_MAX
            and (not armed or self.cusum[j] <= FIR_PCT)
        ):
            self._learn(j, r)
        rise = r - self.baseline[j]
        # a trend must also show in the last two sessions' level (the minimum magnitude)
        trend = self.cusum[j] >= H_PCT and (r + prev) // 2 - self.baseline[j] >= MIN_RISE_UOHM
        level = FAULT if rise >= FAULT_UOHM else (WARN if rise >= WARN_UOHM or trend else OK)
        if level <= self.alarm[j]:
            return
        self.alarm[j] = level
        d = self.drift_uohm_per_day(j)
        fields = [
            ("r_mohm", Fixed(r, 3)),
            ("baseline_mohm", Fixed(self.baseline[j], 3)),
            ("drift_mohm_per_day", Fixed(d, 3) if d is not None else None),
            ("days_to_clean", self.days_to_clean(j)),
            ("cause", "limit" if rise >= WARN_UOHM else "trend"),
        ]
        if level == FAULT:
            fields.append(("action", "clean now"))
        ctx.event(
            protocol.EV_OXIDATION,
            [j],
            protocol.SEV_FAULT if level == FAULT else protocol.SEV_WARN,
            fields,
        )

    def _push(self, j, t, r):
        o = j * HISTORY
        n = self.history_n[j]
        if n == HISTORY:  # full: forget the oldest
            n -= 1
            self.history_t[o : o + n] = self.history_t[o + 1 : o + HISTORY]
            self.history_r[o : o + n] = self.history_r[o + 1 : o + HISTORY]
        self.history_t[o + n] = t
        self.history_r[o + n] = r
        self.history_n[j] = n + 1

    def _pool(self, j, sig):
        """Fold pin j's latest second difference into the pooled seating variance."""
        n = self.history_n[j]
        if n < 3:
            return
        o = j * HISTORY + n - 1
        d = self.history_r[o] - 2 * self.history_r[o - 1] + self.history_r[o - 2]
        lim = D2_CLIP * sig
        d = max(-lim, min(lim, d)) / 1000
        self.pool_sq += d * d
        self.pool_terms += 1
        if self.pool_terms > POOL_MAX:
            self.pool_sq /= 2
            self.pool_terms //= 2

    def _fit(self, j):
        """Drift over pin j's history; days until its line reaches baseline + 20 mOhm."""
        self.have[j] = 0
        self.days[j] = -1
        line = fit_line(self.history_t, self.history_r, j * HISTORY, self.history_n[j])
        if line is None:
            return
        per_day, now, se = line
        if abs(per_day) < TREND_T * se:
            return  # seating scatter, not a trend: no drift rate and no forecast
        self.slope[j] = int(max(-1e9, min(1e9, per_day)))
        self.have[j] = 1
        left = self.baseline[j] + FAULT_UOHM - now
        if self.baseline[j] >= 0 and per_day > 0 and left <= per_day * HORIZON_DAYS:
            self.days[j] = max(0, int(left / per_day))

    # -- health and host ------------------------------------------------------------
    def baseline_uohm(self, j):
        return self.baseline[j]

    def drift_uohm_per_day(self, j):
        return self.slope[j] if self.have[j] else None

    def days_to_clean(self, j):
        return self.days[j] if self.days[j] >= 0 else None

    def level(self, j):
        return self.alarm[j]

    def penalty(self, j):
        n = self.history_n[j]
        if self.baseline[j] < 0 or not n:
            return 0
        rise = self.history_r[j * HISTORY + n - 1] - self.baseline[j]
        return max(0, min(PENALTY_CAP, rise * PENALTY_X2_PER_MOHM // 2000))

    def _rearm(self, j):
        self.alarm[j] = OK
        self.cusum[j] = FIR_PCT if self.learn_n[j] >= LEARN_MIN else 0

    def clear(self, ctx):
        """Host ``clear``: alarms reset and the CUSUM re-armed; a contact still
        high raises again at its next session."""
        for j in range(self.n):
            self._rearm(j)
        self.save(ctx)

    def cleaned_by_user(self, ctx, pins):
        """Host ``cleaned``: re-arm these pins and check them at the next session."""
        for j in pins:
            self._rearm(j)
            self.verify[j] = 1
        self.save(ctx)

    # -- persistence: named fields, checked before any is taken ---------------------
    def _check(self, obj):
        need(obj, "pool_sq_mohm2", STATE, NUM, 0, 1e12)
        need(obj, "pool_terms", STATE, INT, 0, POOL_MAX)
        pins = need(obj, "pins", STATE, OBJ)
        for name in self.names:
            if name not in pins:
                continue  # a pin new to this board file: it learns
            d = need(pins, name, STATE, OBJ)
            at = STATE + "." + name
            need(d, "baseline_uohm", at, INT, -1, MAX_UOHM)
            need(d, "learn_sum_uohm", at, INT, 0, 0x7FFFFFFF)
            need(d, "learn_sessions", at, INT, 0, LEARN_MAX)
            need(d, "cusum_pct", at, INT, 0, CUS_MAX)
            need(d, "alarm", at, INT, OK, FAULT)
            need(d, "verify", at, BOOL)
            t = need(d, "t_s", at, INTS, 0, 0x7FFFFFFF, HISTORY)
            if len(need(d, "r_uohm", at, INTS, 0, MAX_UOHM, HISTORY)) != len(t):
                raise StateError("%s: 't_s' and 'r_uohm' differ in length" % at)

    def save(self, ctx):
        pins = {}
        for j in range(self.n):
            o = j * HISTORY
            e = o + self.history_n[j]
            pins[self.names[j]] = {
                "baseline_uohm": self.baseline[j],
                "learn_sum_uohm": self.learn_sum[j],
                "learn_sessions": self.learn_n[j],
                "cusum_pct": self.cusum[j],
                "alarm": self.alarm[j],
                "verify": bool(self.verify[j]),
                "t_s": list(self.history_t[o:e]),
                "r_uohm": list(self.history_r[o:e]),
            }
        state = {"pool_sq_mohm2": self.pool_sq, "pool_terms": self.pool_terms, "pins": pins}
        ctx.store.save(STATE, STATE_VERSION, state)

    def _load(self, saved):
        self.pool_sq = float(saved["pool_sq_mohm2"])
        self.pool_terms = saved["pool_terms"]
        pins = saved["pins"]
        for j in range(self.n):
            d = pins.get(self.names[j])
            if d is None:
                continue
            self.baseline[j] = d["baseline_uohm"]
            self.learn_sum[j] = d["learn_sum_uohm"]
            self.learn_n[j] = d["learn_sessions"]
            self.cusum[j] = d["cusum_pct"]
            self.alarm[j] = d["alarm"]
            self.verify[j] = 1 if d["verify"] else 0
            t = d["t_s"]
            r = d["r_uohm"]
            o = j * HISTORY
            for i in range(len(t)):
                self.history_t[o + i] = t[i]
                self.history_r[o + i] = r[i]
            self.history_n[j] = len(t)
