"""The dock's circuit solved at one instant (circuit.py, the topology).

The device is a constant-current load, limited to what the rail can push through the
branches (so V+ never falls below V-). Parallel branches share the current by
Kirchhoff, inversely to their resistance (shunt + contact). With every supply contact
or every ground contact open no current flows; with the rail off every node is at 0 V.
Runs under CPython and MicroPython.
"""


def solve(seg, opens, t, rail_mv, supply, shunt_mohm):
    """(pin currents mA, contact mOhm or None, rail mV, V+ mV, rail - V+ mV, V- mV) at
    ``t`` in segment ``seg`` (timeline.Segment), the pins in ``opens`` inside a dropout.
    ``supply[k]``: pin k is on the supply side; ``shunt_mohm[k]``: its shunt."""
    n = len(supply)
    cur = [0.0] * n
    rc = [None] * n
    rail = rail_mv if seg.rail_on else 0.0
    vp = 0.0
    dp = rail
    vn = 0.0
    if seg.docked:
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
            gk = 1.0 / (r + shunt_mohm[k])
            g[k] = gk
            if supply[k]:
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
                        cur[k] = i * g[k] * (rps if supply[k] else rpg)
                dp = i * rps / 1000.0
                vn = i * rpg / 1000.0
            else:
                # Powered, no return path: no current, so the device's whole
                # circuit floats up to the rail, V- included.
                dp = 0.0
                vn = rail
            vp = rail - dp
    return cur, rc, rail, vp, dp, vn
