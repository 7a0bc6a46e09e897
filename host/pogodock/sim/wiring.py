"""What a scenario makes of the dock's hardware, shared by every simulated dock.

``SimDock`` (simulated time) and the virtual board's ``vb_hardware`` (real time) build
the same hardware from a scenario through these, so that the same scenario gives the
same chips, the same unique id and the same faults in both. Runs under CPython and
MicroPython.
"""

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
    """The scenario's ``sensor_fault`` events as ``[(t_us, addr, mode), ...]`` in time
    order: ``mode`` is a fault, ``"reset"`` (a power-on reset) or None (fault cleared)."""
    board = scenario.board
    addr_of = {}
    for p in board.pins:
        addr_of[p.name] = p.addr
    for s in board.sense:
        addr_of[s.name] = s.addr
    actions = []
    for ev in scenario.events:
        if ev["type"] != "sensor_fault":
            continue
        addr = addr_of[ev["pin"]]
        actions.append((int(ev["t"] * 1000000), addr, ev["mode"]))
        if ev["mode"] != "reset" and ev.get("until") is not None:
            actions.append((int(ev["until"] * 1000000), addr, None))
    actions.sort(key=lambda a: a[0])
    return actions


def apply_fault(chip, mode):
    """One action of ``fault_actions`` on its chip."""
    if mode == "reset":
        chip.power_on_reset()
    else:
        chip.set_fault(mode)
