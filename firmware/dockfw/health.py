"""Pin health: every detector's verdict folded into one state and one score per pin.

A ``health`` line goes out about once a second. Per pin: ``state`` (``unknown``
when its own monitor is not answering, ``open`` when a docked device leaves it
without contact, else the worst detector level: ``ok``, ``warn``, ``fault``, and at
least ``warn`` while only its sense monitor is not answering), a
0..100 ``score`` (100 minus what each detector takes off; a fault caps it at 30
so a person reading the number sees the difference at a glance, a pin without its
sense monitor at 50), the last
contact resistance, the baseline and drift from the oxidation detector, the
intermittent count and mating cycles. The dock-wide ``state`` is the worst of the
pins' and protection's own: never ``ok`` while a monitor is down (an ``unknown`` pin
is at least a warning), a fault while charging is cut or the bus is down.
"""

from array import array

from dockfw import protocol
from dockfw.detect import FAULT, WARN

_OPEN = 3
_UNKNOWN = 4
# protocol.PIN_STATES, as the JSON strings a health line carries.
_STATE_JSON = (b'"ok"', b'"warn"', b'"fault"', b'"open"', b'"unknown"')
FAULT_SCORE_CAP = 30
# A pin whose sense monitor is down: half of what the dock watches on it is unseen.
BLIND_SCORE_CAP = 50


def _key(text):
    """``"text":`` as bytes, escaped as the protocol writes any string."""
    return (protocol._quoted(text, False) + ":").encode()


class Health:
    def __init__(self, app):
        self.app = app
        n = len(app.board.pins)
        self.last_r = [-1] * n  # µΩ, the last report that had one
        self.state = array("b", [0] * n)  # index into protocol.PIN_STATES
        self.score = array("b", [0] * n)
        self.worst = 0  # the dock's state, index into protocol.PIN_STATES: ok, warn or fault
        self.pin_keys = [_key(p.name) for p in app.board.pins]

    def _judge_pin(self, j):
        """Pin ``j``'s state (index into protocol.PIN_STATES) and score, into the arrays
        (no tuple: a health line allocates nothing)."""
        app = self.app
        protection = app.protection
        if protection.pin_monitor_bad(j):
            self.state[j] = _UNKNOWN
            self.score[j] = 0
            return
        level = 0
        score = 100
        for d in app.detectors:
            lvl = d.level(j)
            if lvl > level:
                level = lvl
            score -= d.penalty(j)
        if protection.sense_monitor_bad(j):
            # Its sense monitor is down: the current, an open contact and a tilt by
            # sharing are still watched, the resistance and the contact's heat are not.
            if level < WARN:
                level = WARN
            if score > BLIND_SCORE_CAP:
                score = BLIND_SCORE_CAP
        if level == FAULT and score > FAULT_SCORE_CAP:
            score = FAULT_SCORE_CAP
        self.score[j] = score if score > 0 else 0
        self.state[j] = _OPEN if app.docking.present and app.alignment.is_open(j) else level

    def judge(self):
        """Every pin's state and score, and the dock's, from the closed report: the
        first step of a health line (its state comes before the pins)."""
        app = self.app
        rep = app.report
        worst = app.protection.dock_level()
        for j in range(len(self.last_r)):
            r = rep.r_uohm(j)
            if r >= 0:
                self.last_r[j] = r
            self._judge_pin(j)
            k = self.state[j]
            # ok stays ok, warn and fault their own, open and unknown at least a warning
            level = k if k <= FAULT else 1
            if level > worst:
                worst = level
        self.worst = worst

    def write_head(self, out):
        """The dock-wide fields, up to the opening of ``pins`` (after ``judge``)."""
        app = self.app
        out.raw(b',"charging":')
        out.raw(b"true" if app.charging else b"false")
        out.raw(b',"docked":')
        out.raw(b"true" if app.docking.present else b"false")
        out.raw(b',"session":')
        out.int(app.docking.session)
        out.raw(b',"state":')
        out.raw(_STATE_JSON[self.worst])
        out.raw(b',"temp_c":')
        t = app.temp_mc()
        if t is None:
            out.raw(b"null")
        else:
            out.fixed(t // 100, 1)
        out.raw(b',"dropped_lines":')
        out.int(app.out.dropped)
        out.raw(b',"pins":{')

    def write_pin(self, out, j):
        """Pin ``j``'s object, with its key (and the comma before all but the first)."""
        app = self.app
        drift = app.drift
        if j:
            out.raw(b",")
        out.raw(self.pin_keys[j])
        out.raw(b'{"state":')
        out.raw(_STATE_JSON[self.state[j]])
        out.raw(b',"score":')
        out.int(self.score[j])
        out.raw(b',"r_mohm":')
        _mohm(out, self.last_r[j])
        out.raw(b',"r_baseline_mohm":')
        _mohm(out, drift.baseline_uohm(j))
        out.raw(b',"drift_mohm_per_day":')
        per_day = drift.drift_uohm_per_day(j)
        if per_day is None:
            out.raw(b"null")
        else:
            out.fixed(per_day, 3)
        out.raw(b',"days_to_clean":')
        _opt_int(out, drift.days_to_clean(j))
        out.raw(b',"intermittent_count":')
        out.int(app.intermittent.count(j))
        out.raw(b',"cycles":')
        out.int(app.docking.cycles[j])
        out.raw(b',"p_mw":')
        prot = app.protection
        _opt_int(out, prot.p_mw[j] if prot.heat_known(j) else None)
        out.raw(b"}")

    def write_tail(self, out):
        out.raw(b"}")

    def write(self, out):
        """The whole health line's fields at once (after the envelope)."""
        self.judge()
        self.write_head(out)
        for j in range(len(self.last_r)):
            self.write_pin(out, j)
        self.write_tail(out)


def _mohm(out, uohm):
    if uohm is not None and uohm >= 0:
        out.fixed(uohm, 3)
    else:
        out.raw(b"null")


def _opt_int(out, v):
    if v is None:
        out.raw(b"null")
    else:
        out.int(v)
