"""The faults a scenario injects, as a detector should see them, for scoring detections.
Runs under CPython and MicroPython."""

from docksim.actions import us

OVERHEAT_C = 60.0  # heat events at or above this count as injected "overheat" faults


def injected_faults(scenario):
    """The injected faults. Each a dict: ``kind`` (the protocol event kind a detector
    should raise), ``pins`` (board pin names; empty for the whole dock), ``t_us``
    (onset), ``end_us`` (None: lasts to the end), ``type`` (the scenario event type),
    ``event`` (its index in the file) and, where it applies, ``monitor``, ``mode``,
    ``temp_c``, ``extra_mohm``, ``open``, ``mohm_per_day``, ``ma``."""
    board = scenario.board
    evs = scenario.events
    out = []
    for k, ev in enumerate(evs):
        kind = ev["type"]
        f = None
        if kind == "misalign":
            f = _misalignment(ev, evs[k + 1 :])
        elif kind == "intermittent":
            f = {"kind": "intermittent", "pins": [ev["pin"]], "end_us": _until(ev)}
        elif kind == "oxidation":
            f = _oxidation(ev, evs[k + 1 :])
        elif kind == "overload":
            f = {"kind": "overcurrent", "pins": [], "end_us": _until(ev), "ma": ev["ma"]}
        elif kind == "sensor_fault":
            f = _sensor_fault(board, ev)
        elif kind == "heat" and ev["temp_c"] >= OVERHEAT_C:
            f = _overheat(ev, evs[k + 1 :])
        if f is not None:
            f["t_us"] = us(ev["t"])
            f["type"] = kind
            f["event"] = scenario.event_index[k]
            out.append(f)
    return out


def _misalignment(ev, later_events):
    """Until the device is lifted or one of its pins realigned."""
    end = None
    for later in later_events:
        if later["type"] == "undock" or (
            later["type"] == "realign"
            and ("pins" not in later or _overlap(later["pins"], ev["pins"]))
        ):
            end = us(later["t"])
            break
    f = {"kind": "misalignment", "pins": list(ev["pins"]), "end_us": end}
    if ev.get("open", False):
        f["open"] = True
    else:
        f["extra_mohm"] = ev["extra_mohm"]
    return f


def _oxidation(ev, later_events):
    """Until the pin is cleaned."""
    end = None
    for later in later_events:
        if later["type"] == "clean" and ("pins" not in later or ev["pin"] in later["pins"]):
            end = us(later["t"])
            break
    return {
        "kind": "oxidation",
        "pins": [ev["pin"]],
        "end_us": end,
        "mohm_per_day": ev["mohm_per_day"],
    }


def _sensor_fault(board, ev):
    """On the pins the failing monitor watches (a sense monitor: every pin it senses)."""
    name = ev["pin"]
    pins = [p.name for p in board.pins if p.name == name]
    if not pins:
        s = next(x for x in board.sense if x.name == name)
        pins = [p.name for p in board.pins if p.sense == s.index]
    end = us(ev["t"]) if ev["mode"] == "reset" else _until(ev)
    return {
        "kind": "sensor_fault",
        "pins": pins,
        "end_us": end,
        "monitor": name,
        "mode": ev["mode"],
    }


def _overheat(ev, later_events):
    """Until a heat event below the limit."""
    end = None
    for later in later_events:
        if later["type"] == "heat" and later["temp_c"] < OVERHEAT_C:
            end = us(later["t"])
            break
    return {"kind": "overheat", "pins": [], "end_us": end, "temp_c": ev["temp_c"]}


def _until(ev):
    return us(ev["until"]) if "until" in ev else None


def _overlap(a, b):
    for x in a:
        if x in b:
            return True
    return False
