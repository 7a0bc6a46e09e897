"""What each INA219 of the board sees of the solved circuit: µV on its shunt input, mV on
its bus input.

* supply pin: ``I·Rsh``, bus ``rail - I·Rsh`` (the dock side of its contact);
  ground pin: ``I·Rsh``, bus 0.
* sense pad (method ``pad``) on the supply node: ``rail - V+``, bus ``V+``; on the
  ground node: ``V- - GND``, bus 0. An undocked or unpowered device leaves the supply
  pad pulled down to ground by the dock: its shunt input sees the whole rail (the chip
  clips; the firmware reads that as "no device"), and the ground pad reads 0.
* Kelvin monitor (method ``kelvin``) across pin k's contact: supply
  ``(rail - I_k·Rsh_k) - V+`` (= ``I_k·Rc_k`` while the contact is closed), bus ``V+``;
  ground ``V- - I_k·Rsh_k``, bus ``V-``. A Kelvin monitor shared by several pins
  watches the first of them.

Runs under CPython and MicroPython.
"""

from dockfw.board import KELVIN, SUPPLY

# Slot kinds: what a monitor at an address sees.
_K_SUPPLY_PIN = 0
_K_GROUND_PIN = 1
_K_PAD_SUPPLY = 2
_K_PAD_GROUND = 3
_K_KELVIN_SUPPLY = 4
_K_KELVIN_GROUND = 5


class MonitorInputs:
    """One slot per monitor address, pins first then sense monitors."""

    def __init__(self, board, supply, shunt_mohm):
        self._rsh = shunt_mohm
        self.slots = []
        self.slot_of = {}
        pins = board.pins
        for p in pins:
            self.slot_of[p.addr] = len(self.slots)
            self.slots.append((_K_SUPPLY_PIN if supply[p.index] else _K_GROUND_PIN, p.index))
        for s in board.sense:
            self.slot_of[s.addr] = len(self.slots)
            if s.method == KELVIN:
                watched = [p.index for p in pins if p.sense == s.index]
                k = watched[0] if watched else 0
                self.slots.append((_K_KELVIN_SUPPLY if s.node == SUPPLY else _K_KELVIN_GROUND, k))
            else:
                self.slots.append((_K_PAD_SUPPLY if s.node == SUPPLY else _K_PAD_GROUND, -1))

    def readings(self, sol):
        """(shunt µV, bus mV) per slot from a ``kirchhoff.solve`` result."""
        cur, _, rail, vp, dp, vn = sol
        rsh = self._rsh
        out = []
        for kind, k in self.slots:
            if kind == _K_SUPPLY_PIN:
                u = cur[k] * rsh[k]
                out.append((u, rail - u / 1000.0))
            elif kind == _K_GROUND_PIN:
                out.append((cur[k] * rsh[k], 0.0))
            elif kind == _K_PAD_SUPPLY:
                out.append((dp * 1000.0, vp))
            elif kind == _K_PAD_GROUND:
                out.append((vn * 1000.0, 0.0))
            elif kind == _K_KELVIN_SUPPLY:
                out.append((dp * 1000.0 - cur[k] * rsh[k], vp))
            else:
                out.append((vn * 1000.0 - cur[k] * rsh[k], vn))
        return out
