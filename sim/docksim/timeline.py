"""The circuit's state over time: the actions replayed into segments over which it is
static, but for oxidation's slope and intermittent dropouts (circuit.py, the model).

Change points are the actions' times; the segment between two is materialised on
demand by replaying the actions up to it (forwards from the last one asked for, from
the start when asked for an earlier one), and the last few are kept. Runs under
CPython and MicroPython.
"""

from collections import namedtuple

from docksim.actions import insert_rail, rail_on_at, scenario_actions, us
from docksim.dropouts import Dropouts
from docksim.sessions import REF_C, TEMPCO_PER_C, seated_mohm, session_temp_c

BIG = 1 << 62

_Overload = namedtuple("_Overload", ("index", "ma"))  # index: the overload event's


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


class Segment:
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
        self.drops = ()  # active Dropouts
        self.ox = False  # does any closed contact change inside the segment?


class _Replay:
    """The mutable state while applying actions in time order."""

    def __init__(self, n, ambient_c):
        self.pos = 0  # next action to apply
        self.docked = False
        self.session = -1
        self.load = 0.0
        self.overloads = []  # _Overload, in start order
        self.temp_c = ambient_c
        self.heat = False  # a heat event set temp_c: the session cycle no longer does
        self.rail_on = True
        self.mis_extra = [0.0] * n
        self.mis_open = [False] * n
        self.ox_s = [0.0] * n  # sum of rates, mOhm/µs
        self.ox_c = [0.0] * n  # sum of -rate * t0, mOhm
        self.drops = []


class Timeline:
    def __init__(self, scenario, base_mohm):
        board = scenario.board
        self.seed = scenario.seed
        self._n = len(board.pins)
        self._index = {}
        for p in board.pins:
            self._index[p.name] = p.index
        self._base = base_mohm
        self._ambient = float(scenario.ambient_c)
        self._sigma = float(scenario.seating_sigma_mohm)
        self._swing = float(scenario.temp_swing_c)
        self._temp_sigma = float(scenario.temp_session_sigma_c)
        self._end_us = scenario.duration_us
        self.actions = scenario_actions(scenario)
        self._rail_actions = 0
        self._rebuild()

    def _rebuild(self):
        cps = [-BIG]
        for a in self.actions:
            if a.t_us != cps[-1]:
                cps.append(a.t_us)
        self._cp = cps
        self._rp = _Replay(self._n, self._ambient)
        self._rp_seg = -1
        self._drop_gens = {}  # event index -> Dropouts, shared by the segments
        self._segs = {}

    def set_rail(self, on, t_us):
        """The charge switch from ``t_us`` on; True if that changed anything."""
        if on == rail_on_at(self.actions, t_us):
            return False
        self._rail_actions += 1
        insert_rail(self.actions, on, t_us, self._rail_actions)
        self._rebuild()
        return True

    def _apply(self, rp, act):
        t = act.t_us
        k = act.index
        kind = act.kind
        ev = act.payload
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
                until = us(ev["until"]) if "until" in ev else BIG
                dur = int(ev["dropout_ms"] * 1000 + 0.5)
                gen = Dropouts(self.seed, k, self._index[ev["pin"]], t, until, ev["rate_hz"], dur)
                self._drop_gens[k] = gen
            rp.drops.append(gen)
        elif kind == "intermittent_end":
            rp.drops = [d for d in rp.drops if d is not self._drop_gens.get(k)]
        elif kind == "overload":
            rp.overloads.append(_Overload(k, float(ev["ma"])))
        elif kind == "overload_end":
            rp.overloads = [o for o in rp.overloads if o.index != k]
        elif kind == "heat":
            rp.temp_c = float(ev["temp_c"])
            rp.heat = True
        elif kind == "rail":
            rp.rail_on = ev

    def _pin_list(self, ev):
        if "pins" in ev:
            return [self._index[name] for name in ev["pins"]]
        return range(self._n)

    def segment(self, i):
        """The static state over [cp[i], cp[i+1]), materialised on demand."""
        seg = self._segs.get(i)
        if seg is not None:
            return seg
        cp = self._cp
        if i < self._rp_seg:
            self._rp = _Replay(self._n, self._ambient)
        rp = self._rp
        acts = self.actions
        t = cp[i]
        while rp.pos < len(acts) and acts[rp.pos].t_us <= t:
            self._apply(rp, acts[rp.pos])
            rp.pos += 1
        self._rp_seg = i
        seg = Segment()
        seg.a = t
        seg.b = cp[i + 1] if i + 1 < len(cp) else BIG
        seg.docked = rp.docked
        seg.session = rp.session
        seg.demand = rp.overloads[-1].ma if rp.overloads else rp.load
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
            seated = seated_mohm(self._base[j], self.seed, rp.session, j, self._sigma)
            r0[j] = seated + rp.mis_extra[j] + rp.ox_c[j]
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

    def state_at(self, t):
        """(segment, open pins by dropout, lo, hi): the state at t and where it holds."""
        i = _bisect_right(self._cp, t) - 1
        seg = self.segment(i)
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

    # -- what the timeline holds, for the truth accessors -------------------------------

    def docks_until(self, t_us):
        """How many dockings there were up to ``t_us``."""
        docks = 0
        for a in self.actions:
            if a.t_us > t_us:
                break
            if a.kind == "dock":
                docks += 1
        return docks

    def dropouts(self, j, t0_us, t1_us):
        """Every dropout interval of pin ``j``'s intermittent events in the window."""
        out = []
        for a in self.actions:
            if a.kind == "intermittent" and self._index[a.payload["pin"]] == j:
                if a.index not in self._drop_gens:
                    self._apply(_Replay(self._n, self._ambient), a)
                out.extend(self._drop_gens[a.index].opens_between(t0_us, t1_us))
        out.sort()
        return out

    def dock_sessions(self):
        """[(t_dock_us, t_undock_us), ...]; a session still open at the end of the
        scenario ends at ``duration_s``."""
        out = []
        start = None
        for a in self.actions:
            if a.kind == "dock":
                start = a.t_us
            elif a.kind == "undock" and start is not None:
                out.append((start, a.t_us))
                start = None
        if start is not None:
            out.append((start, max(self._end_us, start)))
        return out
