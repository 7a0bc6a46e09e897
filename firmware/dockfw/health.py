"""Pin health: every detector's verdict folded into one state and one score per pin.

A ``health`` line goes out about once a second. Per pin: ``state`` (``unknown``
when its monitors are not answering, ``open`` when a docked device leaves it
without contact, else the worst detector level: ``ok``, ``warn``, ``fault``), a
0..100 ``score`` (100 minus what each detector takes off; a fault caps it at 30
so a person reading the number sees the difference at a glance), the last
contact resistance, the baseline and drift from the oxidation detector, the
intermittent count and mating cycles. The dock-wide ``state`` is the worst of the
pins' and protection's own: never ``ok`` while a monitor is down (an ``unknown`` pin
is at least a warning), a fault while charging is cut or the bus is down.
"""

from dockfw.detect import FAULT
from dockfw.protocol import Fixed, Obj

_STATES = ("ok", "warn", "fault")
FAULT_SCORE_CAP = 30


def _mohm(uohm):
    return Fixed(uohm, 3) if uohm is not None and uohm >= 0 else None


class Health:
    def __init__(self, app):
        self.app = app
        self.last_r = [-1] * len(app.board.pins)  # µΩ, the last report that had one

    def pin(self, j):
        """(state, score) of pin ``j``."""
        app = self.app
        if app.protection.pin_sensor_bad(j):
            return "unknown", 0
        level = 0
        score = 100
        for d in app.detectors:
            lvl = d.level(j)
            if lvl > level:
                level = lvl
            score -= d.penalty(j)
        if level == FAULT and score > FAULT_SCORE_CAP:
            score = FAULT_SCORE_CAP
        score = max(0, score)
        if app.docking.present and app.alignment.is_open(j):
            return "open", score
        return _STATES[level], score

    def fields(self):
        app = self.app
        rep = app.report
        prot = app.protection
        pins = []
        worst = prot.dock_level()
        for p in app.board.pins:
            j = p.index
            r = rep.r_uohm(j)
            if r >= 0:
                self.last_r[j] = r
            state, score = self.pin(j)
            worst = max(worst, 2 if state == "fault" else (0 if state == "ok" else 1))
            drift = app.drift.drift_uohm_per_day(j)
            pins.append(
                (
                    p.name,
                    Obj(
                        [
                            ("state", state),
                            ("score", score),
                            ("r_mohm", _mohm(self.last_r[j])),
                            ("r_baseline_mohm", _mohm(app.drift.baseline_uohm(j))),
                            ("drift_mohm_per_day", Fixed(drift, 3) if drift is not None else None),
                            ("days_to_clean", app.drift.days_to_clean(j)),
                            ("intermittent_count", app.intermittent.count(j)),
                            ("cycles", app.docking.cycles[j]),
                            ("p_mw", prot.p_mw[j] if prot.heat_known(j) else None),
                        ]
                    ),
                )
            )
        t = app.temp_mc()
        return [
            ("charging", app.charging),
            ("docked", app.docking.present),
            ("session", app.docking.session),
            ("state", _STATES[worst]),
            ("temp_c", Fixed(t // 100, 1) if t is not None else None),
            ("dropped_lines", app.out.dropped),
            ("pins", Obj(pins)),
        ]
