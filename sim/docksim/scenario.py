"""Scenario files (README, "Scenario files"): read, validate everything, hold the result.

``load(path, boards_dir)`` or ``parse(obj, source, boards_dir)`` returns a
``Scenario``; any problem raises ``ScenarioError`` whose message names the file,
the place (``events[3] (misalign)``, ``load[2]``, ``pins.VBUS1``) and the field::

    scenarios/x.json: events[3] (misalign): field 'extra_mohm': must be a number > 0

Top-level fields: ``board`` (a file ``<boards_dir>/<board>.json``, loaded with
``dockfw.board.load``), ``seed`` (integer >= 0) and ``duration_s`` (> 0) are required;
``sample_hz`` / ``idle_hz`` (None: the board's), ``load`` (``[[t, ma], ...]``, strictly
increasing t; no load before the first step), ``pins`` (``{name: {r_mohm, cycles}}``),
``events``, and the project's extras ``ambient_c`` (default 25), ``temp_swing_c`` (the
daily cycle's amplitude, default 10), ``temp_session_sigma_c`` (default 2),
``seating_sigma_mohm`` (session-to-session seating variation per pin, default 2; see
sessions.py for all three) and ``description`` are optional.

Every event has ``t`` (seconds >= 0, at most ``duration_s``), ``type`` and an optional
``note``. Per type (``[]`` = optional):

=============  ===========================================================
dock           (device placed on the dock; refused when already docked)
undock         (device lifted; refused when not docked; ends misalignment)
misalign       pins, extra_mohm > 0 | open: true   (only while docked)
realign        [pins]   (default: every pin)
intermittent   pin, rate_hz > 0, dropout_ms > 0, [until > t]
oxidation      pin, mohm_per_day > 0
clean          [pins]   (default: every pin; undoes oxidation)
overload       ma > 0, [until > t]
sensor_fault   pin (a pin or a sense monitor name), mode nak|reset|stuck,
               [until > t] (not for reset: a reset is instantaneous)
heat           temp_c (-40 .. 150)
power_cut      off_s > 0, [during: "write", skip_writes >= 0, fraction 0..1]
bus_fault      mode stuck_slave|short (SDA held low), [until > t],
               [pulses 1..9] (stuck_slave: SCL clocks until it lets go)
=============  ===========================================================

A ``power_cut`` switches the whole dock off at ``t`` for ``off_s`` (the device stays where
the other events put it), then it boots as from power-on; with ``during: "write"`` it falls
in the middle of the first flash write at or after ``t`` (after letting ``skip_writes``
writes through), ``fraction`` of that write's data reaching the flash (default: drawn from
the seed). Timed cuts may not fall while an earlier timed cut holds the power off.

``load_profiles`` (optional) gives the device's draw the shape of a real one. Each entry
has ``t`` (start, s), ``kind``, an optional ``until`` (end, s, > t; default
``duration_s``) and ``note``; per kind (``[]`` = optional, ``step_s`` >= 0.001, default
0.5)::

    cc_cv    cc_ma, cv_at >= 0, end_ma <= cc_ma, tau_s > 0, [step_s]
             cc_ma until t + cv_at, then end_ma + (cc_ma - end_ma) * exp(-s / tau_s),
             s the time since t + cv_at, sampled at the start of every step_s (a phone
             charging: constant current, then the constant-voltage taper); once within
             0.001 mA of end_ma it stays there and stops stepping
    pulsed   high_ma, low_ma, period_s > 0, 0 < duty < 1
             high_ma from t + k * period_s, low_ma from t + (k + duty) * period_s:
             exact edges, each part at least 1 µs (a radio, a motor)
    trickle  ma, jitter_ma, [step_s]
             a walk within ma ± jitter_ma (never below 0) starting at ma, moving by up
             to jitter_ma / 2 every step_s, drawn from ``seed`` and the profile's index
             (a wearable)

All currents are 0 .. 1 000 000 mA. Each profile becomes ordinary load steps at parse
time (``Scenario.load``): during [t, until) they replace the file's own ``load`` steps;
at ``until`` the ``load`` step then in effect comes back (0 mA if none has begun).
Profiles may touch (one's ``until`` the next one's ``t``) but not overlap, and a
profile, like all of them together, may give at most 200 000 steps.
``Scenario.load_profiles`` keeps the validated profiles, sorted by ``t``, ``until``
filled in.

``Scenario.events`` holds the validated event dicts (times in seconds, as in the
file) sorted by ``t``; ties keep file order (``event_index[k]`` is the file index of
``events[k]``). ``Scenario.pins`` has an entry for every board pin: ``r_mohm`` (the
override, or a default between 30 and 40 mOhm drawn from the seed) and ``cycles``.

Runs under CPython and MicroPython (no dataclasses, no typing at run time, no
reliance on dict order).
"""

import json
import math
from collections import namedtuple

from dockfw import board as board_mod

from docksim.rand import mix

DEFAULT_AMBIENT_C = 25.0
DEFAULT_SEATING_SIGMA_MOHM = 2.0  # the field's upper end (sessions.py)
DEFAULT_TEMP_SWING_C = 10.0
DEFAULT_TEMP_SESSION_SIGMA_C = 2.0
DEFAULT_R_MOHM_LO = 30.0
DEFAULT_R_MOHM_HI = 40.0

SENSOR_FAULT_MODES = ("nak", "reset", "stuck")
POWER_CUT_DURING = ("write",)
BUS_FAULT_MODES = ("stuck_slave", "short")

_TOP_FIELDS = (
    "board",
    "seed",
    "duration_s",
    "sample_hz",
    "idle_hz",
    "load",
    "load_profiles",
    "pins",
    "events",
    "ambient_c",
    "seating_sigma_mohm",
    "temp_swing_c",
    "temp_session_sigma_c",
    "description",
)
_TOP_REQUIRED = ("board", "seed", "duration_s")
_PIN_FIELDS = ("r_mohm", "cycles")

# type -> (required fields, optional fields); "t", "type" and "note" are common.
EVENT_FIELDS = {
    "dock": ((), ()),
    "undock": ((), ()),
    "misalign": (("pins",), ("extra_mohm", "open")),
    "realign": ((), ("pins",)),
    "intermittent": (("pin", "rate_hz", "dropout_ms"), ("until",)),
    "oxidation": (("pin", "mohm_per_day"), ()),
    "clean": ((), ("pins",)),
    "overload": (("ma",), ("until",)),
    "sensor_fault": (("pin", "mode"), ("until",)),
    "heat": (("temp_c",), ()),
    "power_cut": (("off_s",), ("during", "skip_writes", "fraction")),
    "bus_fault": (("mode",), ("until", "pulses")),
}
_COMMON = ("t", "type", "note")

_M32 = 0xFFFFFFFF


class ScenarioError(ValueError):
    pass


def _is_num(v):
    # bool is an int in Python; NaN and infinities are refused (NaN fails both tests).
    return isinstance(v, (int, float)) and not isinstance(v, bool) and -1e300 < v < 1e300


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _fmt(v):
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return str(v)


class _Fail(Exception):
    """Internal: ``_Fail(field, msg)``, a field's problem, turned into a ScenarioError
    with its place by the caller (no ``__init__``: MicroPython's Exception has none to
    chain to)."""

    @property
    def field(self):
        return self.args[0]

    @property
    def msg(self):
        return self.args[1]


def _num(obj, key, lo=None, lo_open=False, hi=None):
    """The number ``obj[key]``, checked against the bounds (``key`` is required)."""
    if key not in obj:
        raise _Fail(key, "missing")
    v = obj[key]
    ok = _is_num(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v <= hi
    if not ok:
        if lo is not None and hi is not None and lo_open:
            raise _Fail(key, "must be a number > %s and <= %s, got %r" % (_fmt(lo), _fmt(hi), v))
        if lo is not None and hi is not None:
            raise _Fail(key, "must be a number within %s..%s, got %r" % (_fmt(lo), _fmt(hi), v))
        if lo is not None:
            raise _Fail(
                key, "must be a number %s %s, got %r" % (">" if lo_open else ">=", _fmt(lo), v)
            )
        raise _Fail(key, "must be a number, got %r" % (v,))
    return v


def _opt_num(obj, key, default, lo=None, lo_open=False, hi=None):
    """Like ``_num``, but ``default`` when ``key`` is absent."""
    if key not in obj:
        return default
    return _num(obj, key, lo, lo_open, hi)


def _names_text(names):
    return ", ".join(names)


class Scenario:
    """A validated scenario: plain attributes only (set by ``parse``; ``board`` is a
    ``dockfw`` Board). No methods, on purpose: an instance then holds no reference to
    this module's code, so a MicroPython test can unload the validator after parsing
    and give its heap to the firmware."""

    source: str
    board: "board_mod.Board | None"
    board_name: str
    description: str
    seed: int
    duration_s: float
    duration_us: int
    sample_hz: "float | None"
    idle_hz: "float | None"
    ambient_c: float
    seating_sigma_mohm: float
    temp_swing_c: float
    temp_session_sigma_c: float
    load: list
    load_profiles: list
    pins: dict
    events: list
    event_index: list
    pin_names: list


def _new_scenario():
    sc = Scenario()
    sc.source = ""
    sc.board = None
    sc.board_name = ""
    sc.description = ""
    sc.seed = 0
    sc.duration_s = 0
    sc.duration_us = 0
    sc.sample_hz = None
    sc.idle_hz = None
    sc.ambient_c = DEFAULT_AMBIENT_C
    sc.seating_sigma_mohm = DEFAULT_SEATING_SIGMA_MOHM
    sc.temp_swing_c = DEFAULT_TEMP_SWING_C
    sc.temp_session_sigma_c = DEFAULT_TEMP_SESSION_SIGMA_C
    sc.load = []  # [[t_s, ma], ...], the file's own steps merged with the profiles'
    sc.load_profiles = []  # validated profile dicts, sorted by t, "until" filled in
    sc.pins = {}  # name -> {"r_mohm": float, "cycles": int}, every board pin
    sc.events = []  # validated event dicts, sorted by t (ties: file order)
    sc.event_index = []  # file index of each entry of events
    sc.pin_names = []  # board pin names, in board order
    return sc


def default_r_mohm(seed, index):
    """The starting contact resistance of pin ``index`` when the file gives none."""
    u = mix(seed, index, 0x7001) / 4294967296.0
    r = DEFAULT_R_MOHM_LO + (DEFAULT_R_MOHM_HI - DEFAULT_R_MOHM_LO) * u
    return int(r * 100 + 0.5) / 100


def _load_board(name, boards_dir, source):
    if not isinstance(name, str) or not name:
        raise ScenarioError(
            "%s: field 'board': must be a board name (a non-empty string), got %r" % (source, name)
        )
    if "/" in name or "\\" in name or name.startswith("."):
        raise ScenarioError(
            "%s: field 'board': must be a board name without a path, got %r" % (source, name)
        )
    # A NUL no file name can hold, a newline no one-line message can (no str.isprintable
    # in MicroPython).
    if any(c < " " or c == "\x7f" for c in name):
        raise ScenarioError(
            "%s: field 'board': must be a board name without control characters, got %r"
            % (source, name)
        )
    path = "%s/%s.json" % (boards_dir.rstrip("/") or "/", name) if boards_dir else name + ".json"
    try:
        with open(path):
            pass
    except (OSError, ValueError):  # ValueError: a name the OS cannot take (too long, ...)
        known = []
        try:
            import os

            known = sorted(f[:-5] for f in os.listdir(boards_dir or ".") if f.endswith(".json"))
        except (OSError, AttributeError, ImportError):
            pass
        raise ScenarioError(
            "%s: field 'board': no board %r in %s (known: %s)"
            % (source, name, boards_dir or ".", _names_text(known) or "none")
        ) from None
    try:
        return board_mod.load(path)
    except board_mod.BoardError as e:
        raise ScenarioError("%s: field 'board': %s" % (source, e)) from None


def load(path, boards_dir="boards"):
    """Read and validate a scenario file."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ScenarioError("%s: cannot read scenario file (%s)" % (path, e)) from None
    except UnicodeError:  # a picture, a binary, a file in another encoding
        raise ScenarioError("%s: not a scenario file (not UTF-8 text)" % path) from None
    except ValueError as e:  # a path the OS cannot take (a NUL in it)
        raise ScenarioError("%s: cannot read scenario file (%s)" % (path, e)) from None
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise ScenarioError("%s: not valid JSON (%s)" % (path, e)) from None
    return parse(obj, path, boards_dir)


def parse(obj, source="scenario", boards_dir="boards"):
    """Validate a decoded scenario object and build a ``Scenario``."""
    if not isinstance(obj, dict):
        raise ScenarioError("%s: expected a JSON object at the top level" % source)
    for key in sorted(obj):
        if key not in _TOP_FIELDS:
            raise ScenarioError(
                "%s: field '%s': unknown field (known: %s)"
                % (source, key, _names_text(_TOP_FIELDS))
            )
    for key in _TOP_REQUIRED:
        if key not in obj:
            raise ScenarioError("%s: field '%s': missing" % (source, key))
    sc = _new_scenario()
    sc.source = source
    try:
        seed = obj["seed"]
        if not _is_int(seed) or not 0 <= seed <= _M32:
            raise _Fail("seed", "must be an integer within 0..%d, got %r" % (_M32, seed))
        sc.seed = seed
        sc.duration_s = _num(obj, "duration_s", lo=0, lo_open=True)
        if "description" in obj and not isinstance(obj["description"], str):
            raise _Fail("description", "must be a string")
        sc.description = obj.get("description", "")
        sc.ambient_c = _opt_num(obj, "ambient_c", DEFAULT_AMBIENT_C, -40, False, 125)
        sc.seating_sigma_mohm = _opt_num(
            obj, "seating_sigma_mohm", DEFAULT_SEATING_SIGMA_MOHM, 0, False, 1000
        )
        sc.temp_swing_c = _opt_num(obj, "temp_swing_c", DEFAULT_TEMP_SWING_C, 0, False, 60)
        sc.temp_session_sigma_c = _opt_num(
            obj, "temp_session_sigma_c", DEFAULT_TEMP_SESSION_SIGMA_C, 0, False, 20
        )
        # The board file's own limits for sampling rates.
        sc.sample_hz = _opt_num(obj, "sample_hz", None, 0.002, False, 2000)
        sc.idle_hz = _opt_num(obj, "idle_hz", None, 0.002, False, 2000)
        for key in ("load", "load_profiles", "events"):
            if key in obj and not isinstance(obj[key], list):
                raise _Fail(key, "must be a list")
        if "pins" in obj and not isinstance(obj["pins"], dict):
            raise _Fail("pins", "must be an object {pin name: {r_mohm, cycles}}")
    except _Fail as f:
        raise ScenarioError("%s: field '%s': %s" % (source, f.field, f.msg)) from None
    sc.duration_us = int(sc.duration_s * 1000000 + 0.5)
    sc.board = _load_board(obj["board"], boards_dir, source)
    sc.pin_names = [p.name for p in sc.board.pins]
    sc.board_name = obj["board"]
    sc.load = _parse_load(obj.get("load", []), sc, source)
    if obj.get("load_profiles"):
        profiles = _parse_profiles(obj["load_profiles"], sc, source)
        sc.load = _merge_profiles(sc.load, profiles)
        sc.load_profiles = [p.fields for p in profiles]
    sc.pins = _parse_pins(obj.get("pins", {}), sc, source)
    _parse_events(obj.get("events", []), sc, source)
    return sc


def _parse_load(steps, sc, source):
    out = []
    prev = None
    for i, step in enumerate(steps):
        where = "%s: load[%d]" % (source, i)
        if (
            not isinstance(step, list)
            or len(step) != 2
            or not _is_num(step[0])
            or not _is_num(step[1])
            or step[0] < 0
            or step[1] < 0
        ):
            raise ScenarioError(
                "%s: must be [t, ma] with t >= 0 s and ma >= 0 mA, got %r" % (where, step)
            )
        if prev is not None and step[0] <= prev:
            raise ScenarioError(
                "%s: t %s must be later than the step before (t %s)"
                % (where, _fmt(step[0]), _fmt(prev))
            )
        if step[0] > sc.duration_s:
            raise ScenarioError(
                "%s: t %s is after the scenario ends (duration_s %s)"
                % (where, _fmt(step[0]), _fmt(sc.duration_s))
            )
        prev = step[0]
        out.append([step[0], step[1]])
    return out


# Load profiles: kind -> (required fields, optional fields); "t", "until", "kind" and
# "note" are common.
PROFILE_FIELDS = {
    "cc_cv": (("cc_ma", "cv_at", "end_ma", "tau_s"), ("step_s",)),
    "pulsed": (("high_ma", "low_ma", "period_s", "duty"), ()),
    "trickle": (("ma", "jitter_ma"), ("step_s",)),
}
_PROFILE_COMMON = ("t", "until", "kind", "note")
DEFAULT_PROFILE_STEP_S = 0.5
# The circuit's clock is 1 µs; a millisecond keeps a profile's steps well apart on it.
MIN_PROFILE_STEP_S = 0.001
# A validated profile: its start, its index in the file, its fields, its load steps.
_Profile = namedtuple("_Profile", ("t", "index", "fields", "steps"))
# A validated event: its time, its index in the file, its fields.
_Event = namedtuple("_Event", ("t", "index", "fields"))

MAX_PROFILE_STEPS = 200000  # per profile and in all: a bad step_s must not eat the heap
MAX_PROFILE_MA = 1000000
# The cc_cv taper is cut to end_ma once within this of it: its exponential never gets
# there, and steps that change nothing measurable only cost the circuit change points.
CV_SETTLED_MA = 0.001
_TRICKLE_SALT = 0x10AD0000


def _check_fields(obj, kind, common, fields):
    """No field unknown for ``kind`` (``fields``: required, optional), none missing."""
    required, optional = fields
    for key in sorted(obj):
        if key not in common and key not in required and key not in optional:
            known = list(common) + list(required) + list(optional)
            raise _Fail(key, "unknown field for %s (known: %s)" % (kind, _names_text(known)))
    for key in required:
        if key not in obj:
            raise _Fail(key, "missing")


def _check_profile(p, sc):
    """Validate one profile's fields; fills in ``until`` (default: the scenario's end)."""
    kind = p["kind"]
    _check_fields(p, kind, _PROFILE_COMMON, PROFILE_FIELDS[kind])
    t = _num(p, "t", 0)
    if t >= sc.duration_s:
        raise _Fail(
            "t",
            "%s must be before the scenario ends (duration_s %s)" % (_fmt(t), _fmt(sc.duration_s)),
        )
    if "until" in p:
        until = p["until"]
        if not _is_num(until) or until <= t or until > sc.duration_s:
            raise _Fail(
                "until",
                "must be a number > t (%s) and <= duration_s (%s), got %r"
                % (_fmt(t), _fmt(sc.duration_s), until),
            )
    if "note" in p and not isinstance(p["note"], str):
        raise _Fail("note", "must be a string")
    if kind == "cc_cv":
        cc = _num(p, "cc_ma", 0, False, MAX_PROFILE_MA)
        _num(p, "cv_at", 0)
        end = _num(p, "end_ma", 0, False, MAX_PROFILE_MA)
        if end > cc:
            raise _Fail(
                "end_ma", "must be <= cc_ma (%s): the taper falls, got %r" % (_fmt(cc), end)
            )
        _num(p, "tau_s", 0, True)
    elif kind == "pulsed":
        _num(p, "high_ma", 0, False, MAX_PROFILE_MA)
        _num(p, "low_ma", 0, False, MAX_PROFILE_MA)
        period = _num(p, "period_s", 0, True)
        duty = p.get("duty")
        if not _is_num(duty) or not 0 < duty < 1:
            raise _Fail("duty", "must be a number > 0 and < 1, got %r" % (duty,))
        if period * duty < 0.000001 or period * (1 - duty) < 0.000001:
            raise _Fail(
                "period_s",
                "high and low must each last at least 0.000001 s (1 µs), got period_s %r "
                "with duty %r" % (period, duty),
            )
    else:
        _num(p, "ma", 0, False, MAX_PROFILE_MA)
        _num(p, "jitter_ma", 0, False, MAX_PROFILE_MA)
    if "step_s" in p:
        _num(p, "step_s", MIN_PROFILE_STEP_S)
    out = dict(p)
    out["until"] = p.get("until", sc.duration_s)
    return out


def _too_many(p):
    field = "period_s" if p["kind"] == "pulsed" else "step_s"
    hint = "a longer period_s" if p["kind"] == "pulsed" else "a coarser step_s"
    return _Fail(
        field,
        "would generate more than %d load steps (use %s or a shorter span)"
        % (MAX_PROFILE_STEPS, hint),
    )


def _profile_steps(p, index, seed):
    """The profile as ``[[t, ma], ...]``, strictly increasing t within [t, until).

    Times are computed as start + k * step, not by adding a step at a time, so a pulse
    train over days keeps its edges where the period puts them."""
    kind = p["kind"]
    t0 = p["t"]
    until = p["until"]
    out = []
    if kind == "pulsed":
        period = p["period_s"]
        low_at = p["duty"] * period
        k = 0
        while True:
            start = t0 + k * period
            if start >= until:
                break
            out.append([start, p["high_ma"]])
            if start + low_at < until:
                out.append([start + low_at, p["low_ma"]])
            if len(out) > MAX_PROFILE_STEPS:
                raise _too_many(p)
            k += 1
        return out
    step = p.get("step_s", DEFAULT_PROFILE_STEP_S)
    if kind == "cc_cv":
        cc = p["cc_ma"]
        end = p["end_ma"]
        tau = p["tau_s"]
        cv0 = t0 + p["cv_at"]
        k = 0
        if p["cv_at"] > 0:
            out.append([t0, cc])
            k = 1  # the taper's first step would repeat cc_ma
        while True:
            tk = cv0 + k * step
            if tk >= until:
                break
            # Sampled at the step's start: the step holds the current the taper begins it
            # with, so the circuit never carries less than the formula during the step.
            over = (cc - end) * math.exp(-k * step / tau)
            if over < CV_SETTLED_MA:
                out.append([tk, end])
                break
            out.append([tk, end + over])
            if len(out) > MAX_PROFILE_STEPS:
                raise _too_many(p)
            k += 1
        return out
    # trickle: a walk that stays within ma ± jitter_ma, moving by up to half of
    # jitter_ma a step and reflected at the bounds (a free walk would wander off without
    # limit over a long scenario); never below 0 mA.
    ma = p["ma"]
    jitter = p["jitter_ma"]
    w = 0.0
    k = 0
    while True:
        tk = t0 + k * step
        if tk >= until:
            break
        out.append([tk, ma + w if ma + w > 0 else 0.0])
        if len(out) > MAX_PROFILE_STEPS:
            raise _too_many(p)
        u = mix(seed, _TRICKLE_SALT + index, k) / 2147483648.0 - 1.0
        w += 0.5 * jitter * u
        if w > jitter:
            w = 2 * jitter - w
        elif w < -jitter:
            w = -2 * jitter - w
        k += 1
    return out


def _parse_profiles(profiles, sc, source):
    """Validated profiles (``_Profile``), sorted by t; refuses
    overlapping profiles (which of two to follow would be a guess)."""
    checked = []
    total = 0
    for i, p in enumerate(profiles):
        if not isinstance(p, dict):
            raise ScenarioError("%s: load_profiles[%d]: must be an object, got %r" % (source, i, p))
        if "kind" not in p:
            raise ScenarioError("%s: load_profiles[%d]: field 'kind': missing" % (source, i))
        kind = p["kind"]
        if not isinstance(kind, str) or kind not in PROFILE_FIELDS:
            raise ScenarioError(
                "%s: load_profiles[%d] (%s): field 'kind': unknown kind (known: %s)"
                % (source, i, kind, _names_text(sorted(PROFILE_FIELDS)))
            )
        try:
            v = _check_profile(p, sc)
            steps = _profile_steps(v, i, sc.seed)
        except _Fail as f:
            raise ScenarioError(
                "%s: load_profiles[%d] (%s): field '%s': %s" % (source, i, kind, f.field, f.msg)
            ) from None
        total += len(steps)
        if total > MAX_PROFILE_STEPS:
            raise ScenarioError(
                "%s: load_profiles[%d] (%s): with the profiles before it, more than %d load "
                "steps in all" % (source, i, kind, MAX_PROFILE_STEPS)
            )
        checked.append(_Profile(v["t"], i, v, steps))
    checked.sort(key=lambda e: (e.t, e.index))
    for k in range(1, len(checked)):
        prev = checked[k - 1]
        t, i, v, _ = checked[k]
        if t < prev.fields["until"]:
            raise ScenarioError(
                "%s: load_profiles[%d] (%s): field 't': %s falls inside load_profiles[%d] "
                "(%s..%s); profiles may not overlap"
                % (
                    source,
                    i,
                    v["kind"],
                    _fmt(t),
                    prev.index,
                    _fmt(prev.t),
                    _fmt(prev.fields["until"]),
                )
            )
    return checked


def _merge_profiles(plain, profiles):
    """The file's ``load`` steps with each profile's interval [t, until) replaced by the
    profile's steps; at ``until`` the plain step then in effect comes back (0 mA if
    none has started). One pass in time order, no sort: MicroPython's list.sort is slow
    on nearly sorted lists (actions.py, _sorted_actions)."""
    out = []
    j = 0
    cur = 0.0
    for n, (t, _, v, steps) in enumerate(profiles):
        while j < len(plain) and plain[j][0] < t:
            out.append(plain[j])
            cur = plain[j][1]
            j += 1
        out.extend(steps)
        until = v["until"]
        while j < len(plain) and plain[j][0] < until:
            cur = plain[j][1]
            j += 1
        next_t = profiles[n + 1].t if n + 1 < len(profiles) else None
        if next_t != until and not (j < len(plain) and plain[j][0] == until):
            out.append([until, cur])
    out.extend(plain[j:])
    return out


def _parse_pins(pins, sc, source):
    board = sc.board
    names = [p.name for p in board.pins]
    for name in sorted(pins):
        if name not in names:
            raise ScenarioError(
                "%s: pins.%s: not a pin of board %s (%s)"
                % (source, name, board.name, _names_text(names))
            )
        d = pins[name]
        if not isinstance(d, dict):
            raise ScenarioError("%s: pins.%s: must be an object {r_mohm, cycles}" % (source, name))
        for key in sorted(d):
            if key not in _PIN_FIELDS:
                raise ScenarioError(
                    "%s: pins.%s: field '%s': unknown field (known: r_mohm, cycles)"
                    % (source, name, key)
                )
        try:
            _opt_num(d, "r_mohm", None, 0, True, 1e9)
            if "cycles" in d and (not _is_int(d["cycles"]) or d["cycles"] < 0):
                raise _Fail("cycles", "must be an integer >= 0, got %r" % (d["cycles"],))
        except _Fail as f:
            raise ScenarioError(
                "%s: pins.%s: field '%s': %s" % (source, name, f.field, f.msg)
            ) from None
    out = {}
    for p in board.pins:
        d = pins.get(p.name, {})
        out[p.name] = {
            "r_mohm": d.get("r_mohm", default_r_mohm(sc.seed, p.index)),
            "cycles": d.get("cycles", 0),
        }
    return out


def _check_pin(ev, key, sc, also=()):
    v = ev[key]
    names = [p.name for p in sc.board.pins]
    if not isinstance(v, str) or (v not in names and v not in also):
        allowed = names + list(also)
        what = "a pin or sense monitor" if also else "a pin"
        raise _Fail(
            key, "%r is not %s of board %s (%s)" % (v, what, sc.board.name, _names_text(allowed))
        )
    return v


def _check_pins(ev, key, sc):
    v = ev[key]
    names = [p.name for p in sc.board.pins]
    if not isinstance(v, list) or not v:
        raise _Fail(
            key, "must be a non-empty list of pin names (%s), got %r" % (_names_text(names), v)
        )
    seen = []
    for name in v:
        if not isinstance(name, str) or name not in names:
            raise _Fail(
                key, "%r is not a pin of board %s (%s)" % (name, sc.board.name, _names_text(names))
            )
        if name in seen:
            raise _Fail(key, "%r is listed twice" % (name,))
        seen.append(name)
    return v


def _check_until(ev, sc):
    if "until" not in ev:
        return
    until = ev["until"]
    if not _is_num(until) or until <= ev["t"]:
        raise _Fail("until", "must be a number > t (%s), got %r" % (_fmt(ev["t"]), until))


def _check_event(ev, sc):
    """Validate one event's fields (not its place in the story)."""
    kind = ev["type"]
    _check_fields(ev, kind, _COMMON, EVENT_FIELDS[kind])
    t = _num(ev, "t", 0)
    if t > sc.duration_s:
        raise _Fail(
            "t", "%s is after the scenario ends (duration_s %s)" % (_fmt(t), _fmt(sc.duration_s))
        )
    if "note" in ev and not isinstance(ev["note"], str):
        raise _Fail("note", "must be a string")
    if kind == "misalign":
        _check_pins(ev, "pins", sc)
        if "open" in ev and not isinstance(ev["open"], bool):
            raise _Fail("open", "must be true or false, got %r" % (ev["open"],))
        is_open = ev.get("open", False)
        if is_open and "extra_mohm" in ev:
            raise _Fail("open", "give either extra_mohm or open: true, not both")
        if not is_open:
            if "extra_mohm" not in ev:
                raise _Fail("extra_mohm", "missing (give extra_mohm > 0 or open: true)")
            _num(ev, "extra_mohm", 0, True)
    elif kind in ("realign", "clean"):
        if "pins" in ev:
            _check_pins(ev, "pins", sc)
    elif kind == "intermittent":
        _check_pin(ev, "pin", sc)
        _num(ev, "rate_hz", 0, True, 100000)
        _num(ev, "dropout_ms", 0, True, 3600000)
        if int(ev["dropout_ms"] * 1000 + 0.5) < 1:
            raise _Fail("dropout_ms", "must be at least 0.001 (1 µs), got %r" % (ev["dropout_ms"],))
        _check_until(ev, sc)
    elif kind == "oxidation":
        _check_pin(ev, "pin", sc)
        _num(ev, "mohm_per_day", 0, True)
    elif kind == "overload":
        _num(ev, "ma", 0, True, 1000000)
        _check_until(ev, sc)
    elif kind == "sensor_fault":
        _check_pin(ev, "pin", sc, [s.name for s in sc.board.sense])
        if ev["mode"] not in SENSOR_FAULT_MODES:
            raise _Fail(
                "mode", "must be one of %s, got %r" % (_names_text(SENSOR_FAULT_MODES), ev["mode"])
            )
        if ev["mode"] == "reset" and "until" in ev:
            raise _Fail("until", "a reset is instantaneous: no until")
        _check_until(ev, sc)
    elif kind == "heat":
        _num(ev, "temp_c", -40, False, 150)
    elif kind == "power_cut":
        _check_power_cut(ev)
    elif kind == "bus_fault":
        if ev["mode"] not in BUS_FAULT_MODES:
            raise _Fail(
                "mode", "must be one of %s, got %r" % (_names_text(BUS_FAULT_MODES), ev["mode"])
            )
        if "pulses" in ev:
            if ev["mode"] != "stuck_slave":
                raise _Fail("pulses", "only a stuck_slave lets go after SCL pulses")
            if not _is_int(ev["pulses"]) or not 1 <= ev["pulses"] <= 9:
                raise _Fail("pulses", "must be an integer within 1..9, got %r" % (ev["pulses"],))
        _check_until(ev, sc)


def _check_power_cut(ev):
    _num(ev, "off_s", 0, True, 1e9)
    if "during" not in ev:
        for key in ("skip_writes", "fraction"):
            if key in ev:
                raise _Fail(key, 'only for a cut during a write (add "during": "write")')
        return
    if ev["during"] not in POWER_CUT_DURING:
        raise _Fail(
            "during",
            "must be one of %s, got %r" % (_names_text(POWER_CUT_DURING), ev["during"]),
        )
    if "skip_writes" in ev and (not _is_int(ev["skip_writes"]) or ev["skip_writes"] < 0):
        raise _Fail("skip_writes", "must be an integer >= 0, got %r" % (ev["skip_writes"],))
    _opt_num(ev, "fraction", None, 0, False, 1)


def _parse_events(events, sc, source):
    checked = []
    for i, ev in enumerate(events):
        if not isinstance(ev, dict):
            raise ScenarioError("%s: events[%d]: must be an object, got %r" % (source, i, ev))
        kind = ev.get("type")
        if "type" not in ev:
            raise ScenarioError("%s: events[%d]: field 'type': missing" % (source, i))
        if not isinstance(kind, str) or kind not in EVENT_FIELDS:
            raise ScenarioError(
                "%s: events[%d] (%s): field 'type': unknown event type (known: %s)"
                % (source, i, kind, _names_text(sorted(EVENT_FIELDS)))
            )
        try:
            _check_event(ev, sc)
        except _Fail as f:
            raise ScenarioError(
                "%s: events[%d] (%s): field '%s': %s" % (source, i, kind, f.field, f.msg)
            ) from None
        checked.append(_Event(ev["t"], i, ev))
    # Not list.sort's stability (MicroPython's is not stable): the file index breaks ties.
    checked.sort(key=lambda e: (e.t, e.index))
    # The story must make sense: dock / undock alternate, misalignment needs a device,
    # a timed power cut needs the power on.
    docked_at = None
    power_back = None  # when the power is back from the latest timed cut
    cut_index = None  # that cut's index in the file
    for t, i, ev in checked:
        kind = ev["type"]
        try:
            if kind == "power_cut" and "during" not in ev:
                if power_back is not None and t < power_back:
                    raise _Fail(
                        "t",
                        "the power is off then: events[%d] cut it until t=%s"
                        % (cut_index, _fmt(power_back)),
                    )
                power_back = t + ev["off_s"]
                cut_index = i
            if kind == "dock":
                if docked_at is not None:
                    raise _Fail("t", "the device is already docked (since t=%s)" % _fmt(docked_at))
                docked_at = t
            elif kind == "undock":
                if docked_at is None:
                    raise _Fail("t", "no device is docked at t=%s" % _fmt(t))
                docked_at = None
            elif kind == "misalign" and docked_at is None:
                raise _Fail("t", "no device is docked at t=%s to sit misaligned" % _fmt(t))
        except _Fail as f:
            raise ScenarioError(
                "%s: events[%d] (%s): field '%s': %s" % (source, i, kind, f.field, f.msg)
            ) from None
    sc.events = [dict(e.fields) for e in checked]
    sc.event_index = [e.index for e in checked]
