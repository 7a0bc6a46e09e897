"""Several docks as one view: a ``DockModel`` per dock key (uid), and each dock's worst state.

The overview shows one row per dock, worst first, so that among dozens the one that
needs a person is on top: ``worst`` ranks the dock's own state, every pin's state and
whether the monitor hears it at all (a dock not heard is ``silent``: whatever it last
said may no longer hold).
"""

from __future__ import annotations

from pogodock.model import DockModel
from pogodock.records import Record

# Worse is higher. "unknown" (no health line yet) is not worse than ok: it says nothing.
RANK = {"ok": 0, "unknown": 0, "open": 1, "silent": 2, "warn": 3, "fault": 4}
SILENT = "silent"
SHORT_UID = 8


def short_names(keys: list[str]) -> dict[str, str]:
    """Each dock key cut to ``SHORT_UID`` characters while that still tells it apart."""
    short = [k[:SHORT_UID] for k in keys]
    return {k: s if short.count(s) == 1 else k for k, s in zip(keys, short, strict=True)}


class FleetModel:
    def __init__(self) -> None:
        self.docks: dict[str, DockModel] = {}

    def apply(self, key: str, rec: Record) -> str | None:
        model = self.docks.get(key)
        if model is None:
            model = self.docks[key] = DockModel()
        return model.apply(rec)

    def worst(self, key: str) -> tuple[str, str]:
        """The dock's worst state and where it is: (state, pin name or "dock" or "link")."""
        m = self.docks[key]
        state, where = m.dock_state or "unknown", "dock"
        for p in m.pins.values():
            # A pin as bad as the dock is named: it says where the dock's state comes from.
            rank = RANK.get(p.state or "", 0)
            if rank > 0 and rank >= RANK.get(state, 0) and (where == "dock" or rank > RANK[state]):
                state, where = p.state or state, p.name
        if m.link.connected is False and RANK[SILENT] > RANK.get(state, 0):
            state, where = SILENT, "link"
        return state, where

    def ranked(self) -> list[str]:
        """Dock keys, the worst first; equals by key, so rows do not jump about."""
        return sorted(self.docks, key=lambda k: (-RANK.get(self.worst(k)[0], 0), k))
