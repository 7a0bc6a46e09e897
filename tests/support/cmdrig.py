"""The command tests' rig: the firmware on a simulated dock with the lines a host writes
at set times (``LineInbox``), and the answers it gave."""

import json

from mp.lineinbox import LineInbox
from simrig import Run, load_scenario


def run_with(commands, scenario="misalign", **overrides):
    """The firmware on ``scenario`` with host command lines ``[(t_s, bytes), ...]``."""
    scn = load_scenario(scenario, **overrides)

    def inbox_for(dock):
        inbox = LineInbox(dock.clock)
        for t, line in sorted(commands, key=lambda c: c[0]):
            inbox.send(t, line + b"\n")
        return inbox

    return Run(scn, inbox_for=inbox_for)


def cmd(t, **obj):
    return (t, json.dumps(obj).encode())


def dock_scenario(duration, events=(), dock_at=1, ma=1500, **extra):
    """A device docking at ``dock_at`` s drawing ``ma``, on the reference board at 200/s."""
    obj = {
        "board": "pico-dock-4",
        "seed": 11,
        "duration_s": duration,
        "sample_hz": 200,
        "load": [[0, 0], [dock_at, ma]],
        "events": [{"t": dock_at, "type": "dock"}, *events],
    }
    obj.update(extra)
    return load_scenario(obj)


def run_host(scn, script, cost_us=None):
    """Run the firmware with ``script``: [(t_s, bytes the host writes)]; ``cost_us``: the
    simulated time each command line takes the firmware (default: the simulator's, what
    one costs an RP2040)."""
    holder = {}

    def inbox_for(dock):
        if cost_us is not None:
            dock.command_cost_us = cost_us
        inbox = LineInbox(dock.clock)
        for t, data in script:
            inbox.send(t, data)
        holder["inbox"] = inbox
        return inbox

    r = Run(scn, inbox_for=inbox_for)
    r.inbox = holder["inbox"]
    return r


def answer_lines(r):
    """Every ack and error line, in order."""
    return [x for x in r.lines if x["type"] in ("ack", "error")]
