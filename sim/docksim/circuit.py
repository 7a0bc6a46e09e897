"""The dock's circuit and the docked device over time (docs/hardware.md, the topology).

::

    rail ──┬── Rsh ── Rc(VBUS1) ──┐                     ┌── Rc(GND1) ── Rsh ──┬── GND
           └── Rsh ── Rc(VBUS2) ──┴─ V+ ─[device I]─ V- ─┴── Rc(GND2) ── Rsh ──┘

The device is a constant-current load: the scenario's ``load`` steps, replaced by
``ma`` during an ``overload`` (kirchhoff.py solves the circuit at an instant).

Contact resistance of pin k at time t (mOhm)::

    (base_k + seat_k(session) + oxidation_k(t) + misalign_k) * (1 + 0.0039 * (T - 25))

* ``base_k``: the scenario's ``pins`` ``r_mohm`` (default 30..40 from the seed).
* ``seat_k``: drawn per docking session and pin from the seed (sessions.py).
* ``oxidation_k``: ``mohm_per_day`` times the days since the event, docked or not,
  until a ``clean`` of that pin (which removes it; later oxidation events start afresh).
* ``misalign_k``: ``extra_mohm`` of the latest ``misalign`` naming the pin, until a
  ``realign`` (of that pin, or of all) or an ``undock`` (the next docking seats afresh).
* T: ``temp_c`` of the latest ``heat`` event; else, from the first docking on, the
  session's temperature (sessions.py); before the first docking ``ambient_c``.

Open (infinite) when undocked, misaligned with ``open``, or inside an intermittent
dropout (dropouts.py).

The parts: actions.py orders the scenario's load steps and events into a timeline,
timeline.py replays it into segments of static state, kirchhoff.py solves the circuit,
monitor_inputs.py says what each monitor sees of the solution and windows.py averages
that over a conversion window: ``source(addr)(t0_us, t1_us)``. faults.py lists the
injected faults for scoring.

``set_rail(on, t_us)`` (optional): the charge switch. With the rail off every node is
at 0 V, nothing flows and the supply pad reads 0 (not clipped, docked or not).

Truth accessors (tests, benchmarks): ``contact_mohm``, ``pin_current_ma``,
``load_ma`` (what flows), ``demand_ma`` (what the device asks for), ``docked``,
``temp_c``, ``node_mv``, ``mating_cycles``, ``dock_sessions``, ``faults``,
``reading``. Times are integer µs since boot. Runs under CPython and MicroPython.
"""

from dockfw.board import SUPPLY

from docksim.faults import injected_faults
from docksim.kirchhoff import solve
from docksim.monitor_inputs import MonitorInputs
from docksim.timeline import Timeline
from docksim.windows import Windows


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
        self._index = {}
        for p in pins:
            self._index[p.name] = p.index
        self._sup = [p.role == SUPPLY for p in pins]
        self._rsh = [p.shunt_uohm / 1000.0 for p in pins]  # mOhm
        self._cycles0 = [scenario.pins[p.name]["cycles"] for p in pins]
        self._rail = float(board.rail_mv)
        self._inputs = MonitorInputs(board, self._sup, self._rsh)
        base = [float(scenario.pins[p.name]["r_mohm"]) for p in pins]
        self._timeline = Timeline(scenario, base)
        self._windows = Windows(self._timeline.state_at, self._readings_at, n, ox_step_mohm)

    def set_rail(self, on, t_us):
        """The charge switch: the rail is on from boot; changes take effect at ``t_us``."""
        if self._timeline.set_rail(bool(on), t_us):
            self._windows.forget()

    def _solve(self, seg, opens, t):
        return solve(seg, opens, t, self._rail, self._sup, self._rsh)

    def _readings_at(self, seg, opens, t):
        return self._inputs.readings(self._solve(seg, opens, t))

    def source(self, addr):
        """``f(t0_us, t1_us) -> (shunt_uv, bus_mv)``: the inputs of the monitor at ``addr``
        averaged over the window."""
        return self._windows.source(self._inputs.slot_of[addr])

    # -- truth -------------------------------------------------------------------------

    def _sol_at(self, t):
        seg, opens, _, _ = self._timeline.state_at(t)
        return self._solve(seg, opens, t)

    def reading(self, addr, t_us):
        """The instantaneous (shunt µV, bus mV) inputs of the monitor at ``addr``."""
        return self._inputs.readings(self._sol_at(t_us))[self._inputs.slot_of[addr]]

    def contact_mohm(self, pin_name, t_us):
        """Contact resistance of a pin, mOhm; None when open (undocked, misaligned open,
        inside a dropout)."""
        _, contact, _, _, _, _ = self._sol_at(t_us)
        return contact[self._index[pin_name]]

    def pin_current_ma(self, pin_name, t_us):
        current, _, _, _, _, _ = self._sol_at(t_us)
        return current[self._index[pin_name]]

    def load_ma(self, t_us):
        """The current flowing through the device (0 undocked or unpowered)."""
        current, _, _, _, _, _ = self._sol_at(t_us)
        return sum(current[k] for k in range(self._n) if self._sup[k])

    def demand_ma(self, t_us):
        """What the device asks for: the load step, or an overload's ``ma``."""
        return self._timeline.state_at(t_us)[0].demand

    def node_mv(self, t_us):
        """(V+, V-) of the device, mV (both 0 when undocked or unpowered)."""
        _, _, _, v_plus, _, v_minus = self._sol_at(t_us)
        return v_plus, v_minus

    def docked(self, t_us):
        return self._timeline.state_at(t_us)[0].docked

    def temp_c(self, t_us):
        return self._timeline.state_at(t_us)[0].temp_c

    def mating_cycles(self, pin_name, t_us):
        """The pin's ``cycles`` from the scenario plus the docks up to ``t_us``."""
        return self._cycles0[self._index[pin_name]] + self._timeline.docks_until(t_us)

    def dropouts(self, pin_name, t0_us, t1_us):
        """Every dropout interval (start, end) µs of the pin's intermittent events in the
        window, merged per event (whether docked or not)."""
        return self._timeline.dropouts(self._index[pin_name], t0_us, t1_us)

    def dock_sessions(self):
        """[(t_dock_us, t_undock_us), ...]; a session still open at the end of the
        scenario ends at ``duration_s``."""
        return self._timeline.dock_sessions()

    def faults(self):
        """The injected faults, for scoring detections (faults.py says what each holds)."""
        return injected_faults(self.scenario)
