"""The dock's circuit and the docked device over time (docs/hardware.md, the topology).

::

    rail ──┬── Rsh ── Rc(VBUS1) ──┐                     ┌── Rc(GND1) ── Rsh ──┬── GND
           └── Rsh ── Rc(VBUS2) ──┴─ V+ ─[device I]─ V- ─┴── Rc(GND2) ── Rsh ──┘

The device is a constant-current load: the scenario's ``load`` steps, replaced by
``ma`` during an ``overload`` (and limited to what the rail can push through the
branches, so V+ never falls below V-). Parallel branches share the current by
Kirchhoff, inversely to their resistance (shunt + contact). With every supply contact
or every ground contact open no current flows.

Contact resistance of pin k at time t (mOhm)::

    (base_k + seat_k(session) + oxidation_k(t) + misalign_k) * (1 + 0.0039 * (T - 25))

* ``base_k``: the scenario's ``pins`` ``r_mohm`` (default 30..40 from the seed).
* ``seat_k``: drawn per docking session and pin from the seed, sigma
  ``seating_sigma_mohm`` (clipped to ±3.45 sigma and so that base + seat >= base / 2;
  ``seat_offset_mohm``). Default 2 mOhm: no datasheet gives a repeatability, vendors
  quote maxima of 50 mOhm and more, and the field expects 1 to 3 mOhm from one docking
  to the next (README, "Oxidation drift"): the upper end the detectors must stand.
* ``oxidation_k``: ``mohm_per_day`` times the days since the event, docked or not,
  until a ``clean`` of that pin (which removes it; later oxidation events start afresh).
* ``misalign_k``: ``extra_mohm`` of the latest ``misalign`` naming the pin, until a
  ``realign`` (of that pin, or of all) or an ``undock`` (the next docking seats afresh).
* T: ``temp_c`` of the latest ``heat`` event; else, from the first docking on, the
  session's temperature (``session_temp_c``): ``ambient_c`` plus a daily cycle of
  ``temp_swing_c`` (default ±10 °C, warmest at 15:00, the scenario's t = 0 being
  midnight: a desk or bedside dock between about 15 and 35 °C) taken at the docking's
  time, plus a per-session draw of sigma ``temp_session_sigma_c`` (default 2 °C: the
  room, the sun, the device's own warmth), held until the next docking; before the
  first docking ``ambient_c``. Per session rather than continuous, so the state stays
  piecewise constant; a session is minutes to hours, the cycle a day.

Open (infinite) when undocked, misaligned with ``open``, or inside an intermittent
dropout: from the event's ``t`` until ``until`` (or forever), dropouts arrive as a
Poisson process of ``rate_hz``, each open for ``dropout_ms`` (overlaps merge). Arrivals
are generated per block of time from the seed, the event index and the block number,
so any instant can be looked up in O(1) without a list of every dropout.

Monitor inputs (``source(addr)``; µV on the shunt input, mV on the bus input):

* supply pin: ``I·Rsh``, bus ``rail - I·Rsh`` (the dock side of its contact);
  ground pin: ``I·Rsh``, bus 0.
* sense pad (method ``pad``) on the supply node: ``rail - V+``, bus ``V+``; on the
  ground node: ``V- - GND``, bus 0. An undocked or unpowered device leaves the supply
  pad pulled down to ground by the dock: its shunt input sees the whole rail (the chip
  clips; the firmware reads that as "no device"), and the ground pad reads 0.
* Kelvin monitor (method ``kelvin``) across pin k's contact: supply
  ``(rail - I_k·Rsh_k) - V+`` (= ``I_k·Rc_k`` while the contact is closed), bus ``V+``;
  ground ``V- - I_k·Rsh_k``, bus ``V-``. A Kelvin monitor shared by several pins
  watches the first of them.

``source(addr)(t0_us, t1_us)`` averages the inputs over the window exactly, split at
every change point (load steps, events, dropout edges). Between change points the
state is cached, so the common call is a couple of comparisons. Oxidation is the one
thing that moves between change points (linearly in R, slightly non-linearly in the
readings): there the cache holds each reading as a secant through +-dt around a
point, dt being the time the fastest oxidising contact takes to move
``ox_step_mohm`` (0.05 mOhm: the secant is off by ~(0.05 / 35)^2 relative, far below
an LSB), and a piece's average is the secant's value at its midpoint.

``set_rail(on, t_us)`` (optional): the charge switch. With the rail off every node is
at 0 V, nothing flows and the supply pad reads 0 (not clipped, docked or not).

Truth accessors (tests, benchmarks): ``contact_mohm``, ``pin_current_ma``,
``load_ma`` (what flows), ``demand_ma`` (what the device asks for), ``docked``,
``temp_c``, ``node_mv``, ``mating_cycles``, ``dock_sessions``, ``faults``,
``reading``. Times are integer µs since boot. Runs under CPython and MicroPython.
"""

import math

from dockfw.board import KELVIN, SUPPLY

from docksim.rand import mix

TEMPCO_PER_C = 0.0039  # copper
REF_C = 25.0
DAY_S = 86400
DAY_PEAK_S = 15 * 3600  # the daily cycle's warmest hour
OVERHEAT_C = 60.0  # heat events at or above this count as injected "overheat" faults
_BIG = 1 << 62
_M32 = 0xFFFFFFFF

# Slot kinds: what a monitor at an address sees.
_K_SUPPLY_PIN = 0
_K_GROUND_PIN = 1
_K_PAD_SUPPLY = 2
_K_PAD_GROUND = 3
_K_KELVIN_SUPPLY = 4
_K_KELVIN_GROUND = 5

# Ordering of simultaneous actions: ends first, then load steps, then the file's events.
_ORD_END = 0
_ORD_LOAD = 1
_ORD_EVENT = 2
_ORD_RAIL = 3


def _us(seconds):
    return int(seconds * 1000000 + 0.5)


def _gauss(a, b, c):
    """Roughly standard normal, bounded at ±3.45: the sum of a hash's four bytes."""
    x = mix(a, b, c)
    s = (x & 255) + (x >> 8 & 255) + (x >> 16 & 255) + (x >> 24)
    return (s - 510) / 147.8


def seat_offset_mohm(seed, session, j, sigma):
    """Pin ``j``'s seating offset in docking ``session`` (0, 1, ...), before the clip at
    half its base resistance. Shared with tools/bench_drift.py's short-cut."""
    return sigma * _gauss(seed, 0x5EA7 + session, j)


def session_temp_c(seed, session, t_dock_s, ambient_c, swing_c, sigma_c):
    """The dock's temperature over docking ``session``, docked at ``t_dock_s``."""
    phase = 2 * math.pi * ((t_dock_s - DAY_PEAK_S) % DAY_S) / DAY_S
    return ambient_c + swing_c * math.cos(phase) + sigma_c * _gauss(seed, 0x7E39 + session, 0x7E)


def _bisect_right(a, x):
    lo = 0
    hi = len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if x < a[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _before(x, y):
    """Action ``x`` comes before ``y``: by time, then kind order, then index."""
    if x[0] != y[0]:
        return x[0] < y[0]
    if x[1] != y[1]:
        return x[1] < y[1]
    return x[2] < y[2]


def _sorted_actions(acts):
    """``acts`` in timeline order, by a merge sort: MicroPython's ``list.sort`` is a
    quicksort that takes the last element as pivot and calls the key at every
    comparison, so on the nearly sorted actions of a scenario with a few hundred
    events it took seconds (each boot of a virtual board built them)."""
    width = 1
    n = len(acts)
    while width < n:
        out = []
        for lo in range(0, n, 2 * width):
            a = acts[lo : lo + width]
            b = acts[lo + width : lo + 2 * width]
            i = j = 0
            while i < len(a) and j < len(b):
                if _before(b[j], a[i]):
                    out.append(b[j])
                    j += 1
                else:
                    out.append(a[i])
                    i += 1
            out.extend(a[i:])
            out.extend(b[j:])
        acts = out
        width *= 2
    return acts


class _Dropouts:
    """The open intervals of one ``intermittent`` event, generated block by block."""

    def __init__(self, seed, index, pin, t0, t1, rate_hz, dur_us):
        self.pin = pin
        self.t0 = t0
        self.t1 = t1
        self.rate = rate_hz / 1000000.0  # per µs
        self.dur = dur_us
        blk = int(4000000 / rate_hz)  # about four arrivals per block
        if blk < 4 * dur_us:
            blk = 4 * dur_us  # a dropout spills into the next block at most
        self.blk = blk
        self.key = mix(seed, index, 0x1D7)
        self._cb = None  # the block whose intervals _ci holds (None: none yet)
        self._ci = []

    def _arrivals(self, b):
        start = self.t0 + b * self.blk
        end = start + self.blk
        if end > self.t1:
            end = self.t1
        x = mix(self.key, b, 0x5EED) or 1
        out = []
        t = float(start)
        rate = self.rate
        log = math.log
        while True:
            # xorshift32
            x ^= (x << 13) & _M32
            x ^= x >> 17
            x ^= (x << 5) & _M32
            t -= log((x + 0.5) / 4294967296.0) / rate
            if t >= end:
                return out
            out.append(int(t))

    def intervals(self, b):
        """Merged open intervals [s, e) within block ``b``, clipped to it."""
        if b == self._cb:
            return self._ci
        bs = self.t0 + b * self.blk
        be = bs + self.blk
        if be > self.t1:
            be = self.t1
        starts = self._arrivals(b)
        if b > 0:
            starts = self._arrivals(b - 1) + starts
        out = []
        dur = self.dur
        for s in starts:
            e = s + dur
            if e > self.t1:
                e = self.t1
            if e <= bs:
                continue
            if s < bs:
                s = bs
            if e > be:
                e = be
            if out and s <= out[-1][1]:
                if e > out[-1][1]:
                    out[-1][1] = e
            else:
                out.append([s, e])
        self._cb = b
        self._ci = out
        return out

    def at(self, t):
        """(open, lo, hi): the state at ``t`` and a range around it where it holds."""
        b = (t - self.t0) // self.blk
        lo = self.t0 + b * self.blk
        hi = lo + self.blk
        if hi > self.t1:
            hi = self.t1
        for s, e in self.intervals(b):
            if t < s:
                return False, lo, s
            if t < e:
                return True, s, e
            lo = e
        return False, lo, hi

    def opens_between(self, a, b):
        """Every merged open interval overlapping [a, b) (for tests and scoring)."""
        if a < self.t0:
            a = self.t0
        if b > self.t1:
            b = self.t1
        out = []
        if a >= b:
            return out
        blk0 = (a - self.t0) // self.blk
        blk1 = (b - 1 - self.t0) // self.blk
        for k in range(blk0, blk1 + 1):
            for s, e in self.intervals(k):
                if e <= a or s >= b:
                    continue
                if out and out[-1][1] >= s:
                    out[-1][1] = e
                else:
                    out.append([s, e])
        return [(s, e) for s, e in out]


class _Seg:
    """The piecewise-constant part of the state over one static segment [a, b)."""

    def __init__(self):
        self.a = 0
        self.b = 0
        self.docked = False
        self.session = -1
        self.demand = 0.0
        self.temp_c = REF_C
        self.tf = 1.0
        self.rail_on = True
        # per pin: mOhm at 25 °C without oxidation's slope, None = open
        self.r0: "list[float | None]" = []
        self.slope: "list[float]" = []  # per pin: mOhm per µs (oxidation)
        self.drops = ()  # active _Dropouts
        self.ox = False  # does any closed contact change inside the segment?


class _Replay:
    """The mutable state while applying actions in time order."""

    def __init__(self, n, ambient_c):
        self.pos = 0  # next action to apply
        self.docked = False
        self.session = -1
        self.load = 0.0
        self.overloads = []  # [action id, ma], in start order
        self.temp_c = ambient_c
        self.heat = False  # a heat event set temp_c: the session cycle no longer does
        self.rail_on = True
        self.mis_extra = [0.0] * n
        self.mis_open = [False] * n
        self.ox_s = [0.0] * n  # sum of rates, mOhm/µs
        self.ox_c = [0.0] * n  # sum of -rate * t0, mOhm
        self.drops = []


class Circuit:
    def __init__(self, scenario, ox_step_mohm=0.05):
        self.scenario = scenario
        board = scenario.board
        self.board = board
        self.seed = scenario.seed
        self.ox_step_mohm = ox_step_mohm
        pins = board.pins
        n = len(pins)
        self._n = n
        self._names = [p.name for p in pins]
        self._index = {}
        for p in pins:
            self._index[p.name] = p.index
        self._sup = [p.role == SUPPLY for p in pins]
        self._rsh = [p.shunt_uohm / 1000.0 for p in pins]  # mOhm
        self._base = [float(scenario.pins[p.name]["r_mohm"]) for p in pins]
        self._cycles0 = [scenario.pins[p.name]["cycles"] for p in pins]
        self._rail = float(board.rail_mv)
        self._ambient = float(scenario.ambient_c)
        self._sigma = float(scenario.seating_sigma_mohm)
        self._swing = float(scenario.temp_swing_c)
        self._temp_sigma = float(scenario.temp_session_sigma_c)
        self._end_us = scenario.duration_us
        # Monitors: one slot per address, pins first then sense monitors.
        self._slots = []
        self._slot_of = {}
        for p in pins:
            self._slot_of[p.addr] = len(self._slots)
            self._slots.append((_K_SUPPLY_PIN if self._sup[p.index] else _K_GROUND_PIN, p.index))
        for s in board.sense:
            self._slot_of[s.addr] = len(self._slots)
            if s.method == KELVIN:
                watched = [p.index for p in pins if p.sense == s.index]
                k = watched[0] if watched else 0
                self._slots.append((_K_KELVIN_SUPPLY if s.node == SUPPLY else _K_KELVIN_GROUND, k))
            else:
                self._slots.append((_K_PAD_SUPPLY if s.node == SUPPLY else _K_PAD_GROUND, -1))
        self._actions = self._build_actions()
        self._rail_actions = 0
        self._rebuild()

    # -- the timeline ------------------------------------------------------------------

    def _build_actions(self):
        sc = self.scenario
        acts = []
        for i, step in enumerate(sc.load):
            acts.append((_us(step[0]), _ORD_LOAD, i, "load", float(step[1])))
        for k, ev in enumerate(sc.events):
            kind = ev["type"]
            if kind == "sensor_fault":
                continue  # the chips' business (dock.py), not the circuit's
            t = _us(ev["t"])
            order = (_ORD_EVENT, k)
            if kind in ("intermittent", "overload") and "until" in ev:
                acts.append((_us(ev["until"]), _ORD_END, k, kind + "_end", ev))
            acts.append((t, order[0], order[1], kind, ev))
        return _sorted_actions(acts)

    def _rebuild(self):
        cps = [-_BIG]
        for a in self._actions:
            if a[0] != cps[-1]:
                cps.append(a[0])
        self._cp = cps
        self._rp = _Replay(self._n, self._ambient)
        self._rp_seg = -1
        self._drop_gens = {}  # event index -> _Dropouts, shared by the segments
        self._segs = {}
        self._qa = 0
        self._qb = -1  # empty: the first call computes
        self._qox = False
        self._qte = 0
        self._qdt = 0
        self._qr = []  # readings of the quiet range, per slot (set by _quiet)
        self._qs = []  # their slopes per µs, per slot (set by _linearise)

    def set_rail(self, on, t_us):
        """The charge switch: the rail is on from boot; changes take effect at ``t_us``."""
        on = bool(on)
        last = True
        for a in self._actions:
            if a[3] == "rail" and a[0] <= t_us:
                last = a[4]
        if on == last:
            return
        self._rail_actions += 1
        new = (int(t_us), _ORD_RAIL, self._rail_actions, "rail", on)
        acts = self._actions
        k = len(acts)
        while k and _before(new, acts[k - 1]):  # a switch is nearly always the latest
            k -= 1
        acts.insert(k, new)
        self._rebuild()

    def _apply(self, rp, act):
        t, _, k, kind, ev = act
        n = self._n
        if kind == "load":
            rp.load = ev
        elif kind == "dock":
            rp.docked = True
            rp.session += 1
            if not rp.heat:
                rp.temp_c = session_temp_c(
                    self.seed, rp.session, t / 1e6, self._ambient, self._swing, self._temp_sigma
                )
        elif kind == "undock":
            rp.docked = False
            for j in range(n):
                rp.mis_extra[j] = 0.0
                rp.mis_open[j] = False
        elif kind == "misalign":
            for name in ev["pins"]:
                j = self._index[name]
                if ev.get("open", False):
                    rp.mis_open[j] = True
                    rp.mis_extra[j] = 0.0
                else:
                    rp.mis_open[j] = False
                    rp.mis_extra[j] = float(ev["extra_mohm"])
        elif kind == "realign":
            for j in self._pin_list(ev):
                rp.mis_extra[j] = 0.0
                rp.mis_open[j] = False
        elif kind == "oxidation":
            j = self._index[ev["pin"]]
            rate = ev["mohm_per_day"] / 86400000000.0
            rp.ox_s[j] += rate
            rp.ox_c[j] -= rate * t
        elif kind == "clean":
            for j in self._pin_list(ev):
                rp.ox_s[j] = 0.0
                rp.ox_c[j] = 0.0
        elif kind == "intermittent":
            gen = self._drop_gens.get(k)
            if gen is None:
                until = _us(ev["until"]) if "until" in ev else _BIG
                dur = int(ev["dropout_ms"] * 1000 + 0.5)
                gen = _Dropouts(self.seed, k, self._index[ev["pin"]], t, until, ev["rate_hz"], dur)
                self._drop_gens[k] = gen
            rp.drops.append(gen)
        elif kind == "intermittent_end":
            rp.drops = [d for d in rp.drops if d is not self._drop_gens.get(k)]
        elif kind == "overload":
            rp.overloads.append([k, float(ev["ma"])])
        elif kind == "overload_end":
            rp.overloads = [o for o in rp.overloads if o[0] != k]
        elif kind == "heat":
            rp.temp_c = float(ev["temp_c"])
            rp.heat = True
        elif kind == "rail":
            rp.rail_on = ev

    def _pin_list(self, ev):
        if "pins" in ev:
            return [self._index[name] for name in ev["pins"]]
        return range(self._n)

    def _segment(self, i):
        """The static state over [cp[i], cp[i+1]), materialised on demand."""
        seg = self._segs.get(i)
        if seg is not None:
            return seg
        cp = self._cp
        if i < self._rp_seg:
            self._rp = _Replay(self._n, self._ambient)
        rp = self._rp
        acts = self._actions
        t = cp[i]
        while rp.pos < len(acts) and acts[rp.pos][0] <= t:
            self._apply(rp, acts[rp.pos])
            rp.pos += 1
        self._rp_seg = i
        seg = _Seg()
        seg.a = t
        seg.b = cp[i + 1] if i + 1 < len(cp) else _BIG
        seg.docked = rp.docked
        seg.session = rp.session
        seg.demand = rp.overloads[-1][1] if rp.overloads else rp.load
        seg.temp_c = rp.temp_c
        seg.tf = 1.0 + TEMPCO_PER_C * (seg.temp_c - REF_C)
        seg.rail_on = rp.rail_on
        n = self._n
        r0: "list[float | None]" = [None] * n
        slope = [0.0] * n
        ox = False
        for j in range(n):
            slope[j] = rp.ox_s[j]
            if rp.mis_open[j]:
                continue
            r0[j] = self._seated(j, rp.session) + rp.mis_extra[j] + rp.ox_c[j]
            if rp.ox_s[j] and rp.docked:
                ox = True
        seg.r0 = r0
        seg.slope = slope
        seg.ox = ox
        seg.drops = tuple(rp.drops)
        if len(self._segs) >= 4:
            self._segs = {}
        self._segs[i] = seg
        return seg

    def _seated(self, j, session):
        base = self._base[j]
        if session < 0:
            return base
        off = seat_offset_mohm(self.seed, session, j, self._sigma)
        if base + off < base / 2:
            return base / 2
        return base + off

    # -- solving the circuit -----------------------------------------------------------

    def _state_at(self, t):
        """(segment, open pins by dropout, lo, hi): the state at t and where it holds."""
        i = _bisect_right(self._cp, t) - 1
        seg = self._segment(i)
        lo = seg.a
        hi = seg.b
        opens = ()
        if seg.docked:
            for d in seg.drops:
                o, a, b = d.at(t)
                if o:
                    opens += (d.pin,)  # no star-unpacking: MicroPython lacks it
                if a > lo:
                    lo = a
                if b < hi:
                    hi = b
        return seg, opens, lo, hi

    def _solve(self, seg, opens, t):
        """(pin currents mA, contact mOhm or None, rail mV, V+ mV, rail - V+ mV, V- mV)."""
        n = self._n
        cur = [0.0] * n
        rc = [None] * n
        rail = self._rail if seg.rail_on else 0.0
        vp = 0.0
        dp = rail
        vn = 0.0
        if seg.docked:
            sup = self._sup
            rsh = self._rsh
            g = [0.0] * n
            gs = 0.0
            gg = 0.0
            tf = seg.tf
            for k in range(n):
                r0 = seg.r0[k]
                if r0 is None or k in opens:
                    continue
                r = (r0 + seg.slope[k] * t) * tf
                rc[k] = r
                gk = 1.0 / (r + rsh[k])
                g[k] = gk
                if sup[k]:
                    gs += gk
                else:
                    gg += gk
            if rail > 0 and gs > 0:
                if gg > 0:
                    rps = 1.0 / gs
                    rpg = 1.0 / gg
                    i = seg.demand
                    imax = rail * 1000.0 / (rps + rpg)
                    if i > imax:
                        i = imax
                    for k in range(n):
                        if g[k]:
                            cur[k] = i * g[k] * (rps if sup[k] else rpg)
                    dp = i * rps / 1000.0
                    vn = i * rpg / 1000.0
                else:
                    # Powered, no return path: no current, so the device's whole
                    # circuit floats up to the rail, V- included.
                    dp = 0.0
                    vn = rail
                vp = rail - dp
        return cur, rc, rail, vp, dp, vn

    def _readings(self, sol):
        cur, _, rail, vp, dp, vn = sol
        rsh = self._rsh
        out = []
        for kind, k in self._slots:
            if kind == _K_SUPPLY_PIN:
                u = cur[k] * rsh[k]
                out.append((u, rail - u / 1000.0))
            elif kind == _K_GROUND_PIN:
                out.append((cur[k] * rsh[k], 0.0))
            elif kind == _K_PAD_SUPPLY:
                out.append((dp * 1000.0, vp))
            elif kind == _K_PAD_GROUND:
                out.append((vn * 1000.0, 0.0))
            elif kind == _K_KELVIN_SUPPLY:
                out.append((dp * 1000.0 - cur[k] * rsh[k], vp))
            else:
                out.append((vn * 1000.0 - cur[k] * rsh[k], vn))
        return out

    def _quiet(self, t):
        """Cache the state of the quiet range around t (no change point inside)."""
        seg, opens, lo, hi = self._state_at(t)
        self._qa = lo
        self._qb = hi
        self._qseg = seg
        self._qopens = opens
        self._qox = False
        if seg.ox:
            top = 0.0
            for k in range(self._n):
                if seg.slope[k] > top and seg.r0[k] is not None and k not in opens:
                    top = seg.slope[k]
            if top > 0:
                self._qox = True
                self._qdt = self.ox_step_mohm / (top * seg.tf)
                self._linearise(t)
                return
        self._qr = self._readings(self._solve(seg, opens, t))

    def _linearise(self, t):
        """Readings as a secant through t - dt and t + dt: valid while |t' - t| <= dt."""
        dt = self._qdt
        seg = self._qseg
        lo = self._readings(self._solve(seg, self._qopens, t - dt))
        hi = self._readings(self._solve(seg, self._qopens, t + dt))
        k = 0.5 / dt
        self._qte = t
        r = []
        sl = []
        for j in range(len(lo)):
            a = lo[j]
            b = hi[j]
            r.append(((a[0] + b[0]) * 0.5, (a[1] + b[1]) * 0.5))
            sl.append(((b[0] - a[0]) * k, (b[1] - a[1]) * k))
        self._qr = r
        self._qs = sl

    def _value(self, slot, t):
        """The cached reading of a slot at t (t inside the quiet range)."""
        if not self._qox:
            return self._qr[slot]
        d = t - self._qte
        if d > self._qdt or -d > self._qdt:
            self._linearise(t)
            d = 0
        r = self._qr[slot]
        s = self._qs[slot]
        return (r[0] + s[0] * d, r[1] + s[1] * d)

    def _average(self, slot, t0, t1):
        if t1 <= t0:
            if not (self._qa <= t0 < self._qb):
                self._quiet(t0)
            return self._value(slot, t0)
        acc_s = 0.0
        acc_b = 0.0
        t = t0
        while t < t1:
            if not (self._qa <= t < self._qb):
                self._quiet(t)
            e = self._qb if self._qb < t1 else t1
            # Linear within a piece: its average is its value at the midpoint.
            r = self._value(slot, (t + e) / 2)
            w = e - t
            acc_s += r[0] * w
            acc_b += r[1] * w
            t = e
        span = t1 - t0
        return (acc_s / span, acc_b / span)

    def source(self, addr):
        """``f(t0_us, t1_us) -> (shunt_uv, bus_mv)``: the inputs of the monitor at ``addr``
        averaged over the window."""
        slot = self._slot_of[addr]

        def f(t0, t1):
            if self._qa <= t0 and t1 <= self._qb and t0 < t1:
                if not self._qox:
                    return self._qr[slot]
                d = (t0 + t1) / 2 - self._qte
                if -self._qdt <= d <= self._qdt:
                    r = self._qr[slot]
                    s = self._qs[slot]
                    return (r[0] + s[0] * d, r[1] + s[1] * d)
            return self._average(slot, t0, t1)

        return f

    # -- truth -------------------------------------------------------------------------

    def _sol_at(self, t):
        seg, opens, _, _ = self._state_at(t)
        return seg, self._solve(seg, opens, t)

    def reading(self, addr, t_us):
        """The instantaneous (shunt µV, bus mV) inputs of the monitor at ``addr``."""
        return self._readings(self._sol_at(t_us)[1])[self._slot_of[addr]]

    def contact_mohm(self, pin_name, t_us):
        """Contact resistance of a pin, mOhm; None when open (undocked, misaligned open,
        inside a dropout)."""
        return self._sol_at(t_us)[1][1][self._index[pin_name]]

    def pin_current_ma(self, pin_name, t_us):
        return self._sol_at(t_us)[1][0][self._index[pin_name]]

    def load_ma(self, t_us):
        """The current flowing through the device (0 undocked or unpowered)."""
        cur = self._sol_at(t_us)[1][0]
        return sum(cur[k] for k in range(self._n) if self._sup[k])

    def demand_ma(self, t_us):
        """What the device asks for: the load step, or an overload's ``ma``."""
        return self._state_at(t_us)[0].demand

    def node_mv(self, t_us):
        """(V+, V-) of the device, mV (both 0 when undocked or unpowered)."""
        sol = self._sol_at(t_us)[1]
        return sol[3], sol[5]

    def docked(self, t_us):
        return self._state_at(t_us)[0].docked

    def temp_c(self, t_us):
        return self._state_at(t_us)[0].temp_c

    def mating_cycles(self, pin_name, t_us):
        """The pin's ``cycles`` from the scenario plus the docks up to ``t_us``."""
        j = self._index[pin_name]
        docks = 0
        for a in self._actions:
            if a[0] > t_us:
                break
            if a[3] == "dock":
                docks += 1
        return self._cycles0[j] + docks

    def dropouts(self, pin_name, t0_us, t1_us):
        """Every dropout interval (start, end) µs of the pin's intermittent events in the
        window, merged per event (whether docked or not)."""
        j = self._index[pin_name]
        out = []
        for a in self._actions:
            if a[3] == "intermittent" and self._index[a[4]["pin"]] == j:
                self._replay_gen(a)
                out.extend(self._drop_gens[a[2]].opens_between(t0_us, t1_us))
        out.sort()
        return out

    def _replay_gen(self, act):
        if act[2] not in self._drop_gens:
            self._apply(_Replay(self._n, self._ambient), act)

    def dock_sessions(self):
        """[(t_dock_us, t_undock_us), ...]; a session still open at the end of the
        scenario ends at ``duration_s``."""
        out = []
        start = None
        for a in self._actions:
            if a[3] == "dock":
                start = a[0]
            elif a[3] == "undock" and start is not None:
                out.append((start, a[0]))
                start = None
        if start is not None:
            out.append((start, max(self._end_us, start)))
        return out

    def faults(self):
        """The injected faults, for scoring detections. Each a dict: ``kind`` (the
        protocol event kind a detector should raise), ``pins`` (board pin names; empty
        for the whole dock), ``t_us`` (onset), ``end_us`` (None: lasts to the end),
        ``type`` (the scenario event type), ``event`` (its index in the file) and,
        where it applies, ``monitor``, ``mode``, ``temp_c``, ``extra_mohm``, ``open``,
        ``mohm_per_day``, ``ma``."""
        sc = self.scenario
        evs = sc.events
        out = []
        for k, ev in enumerate(evs):
            kind = ev["type"]
            t = _us(ev["t"])
            f = None
            if kind == "misalign":
                end = None
                for later in evs[k + 1 :]:
                    if later["type"] == "undock" or (
                        later["type"] == "realign"
                        and ("pins" not in later or _overlap(later["pins"], ev["pins"]))
                    ):
                        end = _us(later["t"])
                        break
                f = {"kind": "misalignment", "pins": list(ev["pins"]), "end_us": end}
                if ev.get("open", False):
                    f["open"] = True
                else:
                    f["extra_mohm"] = ev["extra_mohm"]
            elif kind == "intermittent":
                f = {"kind": "intermittent", "pins": [ev["pin"]], "end_us": _until(ev)}
            elif kind == "oxidation":
                end = None
                for later in evs[k + 1 :]:
                    if later["type"] == "clean" and (
                        "pins" not in later or ev["pin"] in later["pins"]
                    ):
                        end = _us(later["t"])
                        break
                f = {
                    "kind": "oxidation",
                    "pins": [ev["pin"]],
                    "end_us": end,
                    "mohm_per_day": ev["mohm_per_day"],
                }
            elif kind == "overload":
                f = {"kind": "overcurrent", "pins": [], "end_us": _until(ev), "ma": ev["ma"]}
            elif kind == "sensor_fault":
                name = ev["pin"]
                if name in self._index:
                    pins = [name]
                else:
                    s = next(x for x in self.board.sense if x.name == name)
                    pins = [p.name for p in self.board.pins if p.sense == s.index]
                end = t if ev["mode"] == "reset" else _until(ev)
                f = {
                    "kind": "sensor_fault",
                    "pins": pins,
                    "end_us": end,
                    "monitor": name,
                    "mode": ev["mode"],
                }
            elif kind == "heat" and ev["temp_c"] >= OVERHEAT_C:
                end = None
                for later in evs[k + 1 :]:
                    if later["type"] == "heat" and later["temp_c"] < OVERHEAT_C:
                        end = _us(later["t"])
                        break
                f = {"kind": "overheat", "pins": [], "end_us": end, "temp_c": ev["temp_c"]}
            if f is not None:
                f["t_us"] = t
                f["type"] = kind
                f["event"] = sc.event_index[k]
                out.append(f)
        return out


def _until(ev):
    return _us(ev["until"]) if "until" in ev else None


def _overlap(a, b):
    for x in a:
        if x in b:
            return True
    return False
