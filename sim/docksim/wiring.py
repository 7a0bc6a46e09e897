"""What a scenario makes of the dock's hardware, shared by every simulated dock.

``SimDock`` (simulated time) and the virtual board's ``vb_hardware`` (real time) build
the same hardware from a scenario through these, so that the same scenario gives the
same chips, the same unique id and the same faults in both. Runs under CPython and
MicroPython.
"""

from collections import namedtuple

from docksim.rand import mix

# ``mode``: a sensor fault, ``"reset"`` (a power-on reset), None (fault cleared) or a
# ``BusHold``; ``addr``: the monitor it happens to.
FaultAction = namedtuple("FaultAction", ("t_us", "addr", "mode"))
# ``hold``: how the bus is held (``stuck_slave``, ``short``; None: let go); ``pulses``:
# the SCL clocks a stuck slave needs before it lets go.
BusHold = namedtuple("BusHold", ("hold", "pulses"))

_M64 = 0xFFFFFFFFFFFFFFFF


def monitors(scenario):
    """The board's INA219s in bus order (pins, then sense): ``[(addr, noise seed), ...]``."""
    board = scenario.board
    addrs = [p.addr for p in board.pins] + [s.addr for s in board.sense]
    return [(addr, scenario.seed * 131 + k + 1) for k, addr in enumerate(addrs)]


def unique_id(scenario):
    """The RP2040's unique id (its flash chip's), 8 bytes, as ``machine.unique_id()``."""
    return ((scenario.seed * 0x9E3779B97F4A7C15 + 0x5D0C) & _M64).to_bytes(8, "big")


def fault_actions(scenario):
    """The scenario's ``sensor_fault`` and ``bus_fault`` events as ``FaultAction``s in
    time order. A held bus is modelled on the first monitor: the chip that was cut off
    mid-byte, or the place of the short."""
    board = scenario.board
    addr_of = {}
    for p in board.pins:
        addr_of[p.name] = p.addr
    for s in board.sense:
        addr_of[s.name] = s.addr
    first = monitors(scenario)[0][0]
    actions = []
    for ev in scenario.events:
        t_us = int(ev["t"] * 1000000)
        until = ev.get("until")
        if ev["type"] == "bus_fault":
            mode = ev["mode"]
            pulses = ev.get("pulses", 1 + mix(scenario.seed, t_us, 0xB05) % 9)
            actions.append(FaultAction(t_us, first, BusHold(mode, pulses)))
            if until is not None:
                actions.append(FaultAction(int(until * 1000000), first, BusHold(None, 0)))
            continue
        if ev["type"] != "sensor_fault":
            continue
        addr = addr_of[ev["pin"]]
        actions.append(FaultAction(t_us, addr, ev["mode"]))
        if ev["mode"] != "reset" and until is not None:
            actions.append(FaultAction(int(until * 1000000), addr, None))
    actions.sort(key=lambda a: a.t_us)
    return actions


def apply_fault(chip, mode):
    """One ``FaultAction``'s mode on its chip."""
    if isinstance(mode, BusHold):
        chip.hold = 0 if mode.hold is None else (-1 if mode.hold == "short" else mode.pulses)
    elif mode == "reset":
        chip.power_on_reset()
    else:
        chip.set_fault(mode)
