"""The circuit's timeline of actions: the scenario's load steps and events, and the charge
switch, in the order the circuit applies them.

Runs under CPython and MicroPython (a namedtuple takes a tuple's memory there, where an
object of a class would take about twice it: a load profile gives thousands of steps).
"""

from collections import namedtuple

# ``order`` puts simultaneous actions in sequence (ends first, then load steps, then the
# file's events, then the switch); ``index`` is the load step's, the event's or the
# switch's own number; ``kind`` the event's type, or ``load``, ``<type>_end``, ``rail``;
# ``payload`` the event's dict, the load step's mA or the switch's new state.
Action = namedtuple("Action", ("t_us", "order", "index", "kind", "payload"))

_ORD_END = 0
_ORD_LOAD = 1
_ORD_EVENT = 2
_ORD_RAIL = 3


def us(seconds):
    return int(seconds * 1000000 + 0.5)


def _before(x, y):
    """Action ``x`` comes before ``y``: by time, then kind order, then index."""
    if x.t_us != y.t_us:
        return x.t_us < y.t_us
    if x.order != y.order:
        return x.order < y.order
    return x.index < y.index


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


def scenario_actions(sc):
    """The scenario's load steps and circuit events (an event with ``until`` gives an
    ``_end`` action too), in timeline order."""
    acts = []
    for i, (t_s, ma) in enumerate(sc.load):
        acts.append(Action(us(t_s), _ORD_LOAD, i, "load", float(ma)))
    for k, ev in enumerate(sc.events):
        kind = ev["type"]
        if kind == "sensor_fault":
            continue  # the chips' business (dock.py), not the circuit's
        if kind in ("intermittent", "overload") and "until" in ev:
            acts.append(Action(us(ev["until"]), _ORD_END, k, kind + "_end", ev))
        acts.append(Action(us(ev["t"]), _ORD_EVENT, k, kind, ev))
    return _sorted_actions(acts)


def rail_on_at(acts, t_us):
    """Whether the charge switch is on at ``t_us`` (on from boot)."""
    last = True
    for a in acts:
        if a.kind == "rail" and a.t_us <= t_us:
            last = a.payload
    return last


def insert_rail(acts, on, t_us, number):
    """Insert the switch's ``number``-th change (to ``on`` at ``t_us``) in its place."""
    new = Action(int(t_us), _ORD_RAIL, number, "rail", on)
    k = len(acts)
    while k and _before(new, acts[k - 1]):  # a switch is nearly always the latest
        k -= 1
    acts.insert(k, new)
