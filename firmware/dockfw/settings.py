"""The dock's settings on the running App: one validator for every way a value comes in.

Names, bounds and units are defined in ``dockfw.protocol.SETTINGS``; this module adds
their resolution, the rule that ties two settings together, and reading and changing
them on the App (``get``, ``put``). The ``get`` and ``set`` commands go through it, and
so does keeping host-set values across a reboot (``remember``, ``restore``; while a
device is docked a set value goes to flash with the App's next save, see
``dockfw.commands``):
``values(app)`` gives them as plain numbers, ``apply(app, dict)`` checks every entry
as ``set`` would and returns what it refused.
"""

from dockfw.protocol import SETTINGS, UNSEEN_DROP_MV, Fixed
from dockfw.store import OBJ, need

# What a host set, kept across reboots: {"values": {name: value}} (only the settings a
# host changed; the rest follow the board file and the firmware's defaults).
STATE = "settings"
STATE_VERSION = 1

NAMES = sorted(SETTINGS)

# Where each setting lives: (the part of the App, or "" for the App itself, attribute).
# Rates are kept there in thousandths (0.001 Hz resolution), the temperature in m°C;
# the other settings are whole numbers as they are.
_WHERE = {
    "sample_hz": ("", "sample_millihz"),
    "idle_hz": ("", "idle_millihz"),
    "report_hz": ("", "report_millihz"),
    "min_current_ma": ("sampler", "min_ma"),
    "max_total_ma": ("protection", "max_total_ma"),
    "contact_mw_limit": ("protection", "contact_mw_limit"),
    "temp_limit_c": ("protection", "temp_limit_mc"),
}
_MILLI = ("sample_hz", "idle_hz", "report_hz")


def short(value):
    """A value from the host, cut short for a message (answers have a bounded size)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 24 else text[:24] + "..."


def bounds(app, key):
    """(lowest, highest, unit) of a known setting, on this board."""
    lo, hi, unit = SETTINGS[key]
    if key == "max_total_ma":
        hi = min(hi, app.board.max_total_ma)
    return lo, hi, unit


def check(app, key, value):
    """``(stored, None)`` for a valid value of a known setting, else ``(None, reason)``;
    ``stored``: the value as the dock keeps it (thousandths for rates)."""
    if not isinstance(key, str) or key not in SETTINGS:
        return None, "no setting %s (settings: %s)" % (short(key), ", ".join(NAMES))
    lo, hi, unit = bounds(app, key)
    kind = type(value)  # bool is no number here (and MicroPython's bool is no int)
    if (kind is not int and kind is not float) or not lo <= value <= hi:
        return None, "%s must be a number from %s to %s %s" % (key, lo, hi, unit)
    if key in _MILLI:
        return (value * 1000 if kind is int else int(value * 1000 + 0.5)), None
    if value != int(value):
        return None, "%s must be a whole number of %s" % (key, unit)
    return int(value), None


def _owner(app, key):
    part = _WHERE[key][0]
    return getattr(app, part) if part else app


def stored(app, key):
    v = getattr(_owner(app, key), _WHERE[key][1])
    return v // 1000 if key == "temp_limit_c" else v


def get(app, key):
    """A setting's value as the wire shows it (rates as decimals)."""
    v = stored(app, key)
    return Fixed(v, 3) if key in _MILLI else v


def _store(app, key, v):
    setattr(_owner(app, key), _WHERE[key][1], v * 1000 if key == "temp_limit_c" else v)
    if key == "sample_hz":
        app.sampler.set_period(1000000000 // v)


def broken_rule(app, changes):
    """The rule between settings that the current ones with ``changes`` (name -> stored
    value) break, as ``(names involved, reason)``; None when they break none."""
    ma = changes.get("min_current_ma")
    mw = changes.get("contact_mw_limit")
    ma = stored(app, "min_current_ma") if ma is None else ma
    mw = stored(app, "contact_mw_limit") if mw is None else mw
    if ma * UNSEEN_DROP_MV > mw * 1000:
        return (
            ("min_current_ma", "contact_mw_limit"),
            "min_current_ma (%d mA) must not exceed contact_mw_limit (%d mW): below it no "
            "contact drop is measured, and a contact dropping up to 1 V would heat unseen"
            % (ma, mw),
        )
    return None


def put(app, key, value):
    """Change one setting; None when done, else the reason it was refused (nothing changed)."""
    v, why = check(app, key, value)
    if why is None:
        broken = broken_rule(app, {key: v})
        if broken is not None:
            return broken[1]
        _store(app, key, v)
    return why


def values(app):
    """Every setting as a plain number, in a form ``apply`` takes back."""
    out = {}
    for key in NAMES:
        out[key] = _plain(app, key)
    return out


def apply(app, changes):
    """Change the settings in ``changes`` (name -> value) that are valid together; the
    rest are left as they are and returned as a list of (name, reason)."""
    if not isinstance(changes, dict):
        return [(None, "settings must be an object")]
    refused = []
    valid = {}
    for key in changes:
        v, why = check(app, key, changes[key])
        if why is None:
            valid[key] = v
        else:
            refused.append((key, why))
    while True:
        broken = broken_rule(app, valid)
        if broken is None:
            break
        names, why = broken
        dropped = [k for k in names if k in valid]
        if not dropped:  # the settings as they stand already break it: nothing to blame
            break
        for k in dropped:
            del valid[k]
            refused.append((k, why))
    for key in valid:
        _store(app, key, valid[key])
    return refused


def _plain(app, key):
    v = stored(app, key)
    if key in _MILLI:
        return v / 1000 if v % 1000 else v // 1000
    return v


def remember(app, keys):
    """Keep the values of ``keys`` (set by a host) on flash with the others a host set:
    one write. ``dockfw.commands`` calls it when a write may stall the chip (no device
    docked, or with the App's own saves)."""
    saved = app.store.load(STATE, STATE_VERSION, _check_state)
    kept = saved["values"] if saved is not None else {}
    for key in keys:
        kept[key] = _plain(app, key)
    app.store.save(STATE, STATE_VERSION, {"values": kept})


def restore(app):
    """Put back at boot what hosts set before; a value this board or firmware refuses
    keeps its default and is said (a ``storage`` event), never half applied."""
    saved = app.store.load(STATE, STATE_VERSION, _check_state)
    if saved is None:
        return
    for key, why in apply(app, saved["values"]):
        app.store.problem(STATE, "%s: %s" % (key, why), "default kept")


def _check_state(obj):
    need(obj, "values", STATE, OBJ)
