"""Supervision: an exception anywhere in the loop switches charging off first, is told,
and the dock carries on; repeated ones reboot it with the reason noted; the watchdog is
fed only while cycles and reports keep completing; charging waits for a good cycle.

Faults are injected by making one part of the real firmware raise on the simulated
dock (monkeypatched for the test), the charge switch is watched through the SimDock.
"""

import itertools

import pytest
from dockfw import app as app_mod
from dockfw import commands as commands_mod
from dockfw import drift as drift_mod
from dockfw import sampler as sampler_mod
from dockfw.alignment import Alignment
from support.protectrig import go, scn


def raising(monkeypatch, cls, name, after_ms=0, times=None, error=None):
    """Make ``cls.name`` raise from dock time ``after_ms`` on (read from the object's
    context where it has one), ``times`` times (None: every call); the dock times it
    raised at."""
    orig = getattr(cls, name)
    fired = []

    def method(self, *a, **kw):
        ctx = getattr(self, "ctx", None) or getattr(self, "app", None)
        if ctx is None and a and hasattr(a[0], "clock"):
            ctx = a[0]  # a detector's report(ctx)
        now_ms = ctx.clock.now_us // 1000 if ctx is not None else 0
        if now_ms >= after_ms and (times is None or len(fired) < times):
            fired.append(now_ms)
            raise error or RuntimeError("injected")
        return orig(self, *a, **kw)

    monkeypatch.setattr(cls, name, method)
    return fired


def events(r, kind):
    return [e for e in r.of_type("event") if e["kind"] == kind]


def test_a_detector_error_cuts_charging_in_that_cycle_and_the_dock_carries_on(monkeypatch):
    # One exception from the alignment detector's per-cycle path at 4 s, docked at 1.5 A.
    fired = raising(monkeypatch, Alignment, "cycle", after_ms=4000, times=1)
    r = go(scn([], duration=14))
    (err,) = events(r, "firmware_error")
    assert err["severity"] == "fault" and err["where"] == "cycle/Alignment"
    assert err["error"] == "RuntimeError: injected" and err["count"] == 1
    # Off in the same cycle, before anything else was said; on again 5 s later.
    assert [on for _, on in r.switch] == [True, False, True], r.switch
    assert 0 <= r.switch[1][0] - fired[0] <= 1
    off = [e for e in events(r, "charge_off") if e["reason"] == "firmware error"]
    on = events(r, "charge_on")
    assert len(off) == 1 and len(on) == 1 and err["seq"] < off[0]["seq"]
    assert 5000 <= r.switch[2][0] - r.switch[1][0] <= 5000 + 250
    # The loop went on: samples all through, one boot, and the device stayed docked.
    # (A line's t_ms is when it is written: behind a check round's steps, one or two a
    # period between the cycle and the supply pins' half read, up to ~20 ms late.)
    ts = [s["t_ms"] for s in r.of_type("sample") if s["t_ms"] > 2000]
    assert max(b - a for a, b in itertools.pairwise(ts)) <= 225
    assert len({x["boot"] for x in r.lines}) == 1
    assert [e["kind"] for e in r.of_type("event") if e["kind"] in ("docked", "undocked")] == [
        "docked"
    ]


def test_charge_on_during_a_firmware_errors_hold_is_refused_not_said(monkeypatch):
    # The hold keeps the switch off; an ack and a charge_on event would say it is on.
    raising(monkeypatch, Alignment, "cycle", after_ms=4000, times=1)
    r = go(scn([], duration=12), cmds=[(5.0, {"cmd": "charge", "on": True, "id": "on"})])
    (refused,) = r.of_type("error")
    assert refused["id"] == "on" and refused["code"] == "unsafe", refused
    assert "firmware error" in refused["message"]
    assert not r.of_type("ack")
    (on,) = events(r, "charge_on")  # the hold's own end, not the host's
    assert on["reason"].startswith("no firmware error for"), on
    assert [is_on for _, is_on in r.switch] == [True, False, True], r.switch


def test_an_error_in_the_report_path_is_named_and_three_in_a_minute_reboot(monkeypatch):
    # The drift detector's report fails three times from 4 s on, then never again.
    raising(monkeypatch, drift_mod.Drift, "report", after_ms=4000, times=3)
    r = go(scn([], duration=12))
    errs = events(r, "firmware_error")
    assert [(e["where"], e["count"]) for e in errs] == [("report/Drift", k) for k in (1, 2, 3)]
    hellos = r.of_type("hello")
    assert [h["reset_cause"] for h in hellos] == ["power_on", "crash"]
    assert hellos[1]["last_error"] == {"where": "report/Drift", "error": "RuntimeError: injected"}
    assert hellos[0]["last_error"] is None and hellos[0]["watchdog_ms"] == app_mod.WATCHDOG_MS
    # After the reboot: charging on at the first good cycle, the device's session resumed.
    second = [x for x in r.lines if x["boot"] == hellos[1]["boot"]]
    assert second[-1]["type"] in ("sample", "health") and r.dock.charging
    docked = [e for e in second if e["type"] == "event" and e["kind"] == "docked"]
    assert [d["resumed"] for d in docked] == [True]
    # The crash count is kept for the next boot's policy, the reason itself is spent.
    assert r.app.crash_boots == 1


def test_a_command_handler_error_is_caught_by_the_loop(monkeypatch):
    raising(monkeypatch, commands_mod.Commands, "poll", times=1)
    r = go(scn([], duration=6), cmds=[(3, {"cmd": "get", "id": 1})])
    (err,) = events(r, "firmware_error")
    assert err["where"] == "command/Commands"
    # Charging off at the error and still off at the end (less than 5 s later) ...
    assert r.switch[-1][1] is False and 3000 <= r.switch[-1][0] <= 3010 and not r.dock.charging
    # ... and the line that was waiting is answered once the loop reads it again.
    assert [(a["type"], a["id"]) for a in r.lines if a["type"] in ("ack", "error")] == [("ack", 1)]


def test_charging_waits_for_a_good_cycle_after_boot(monkeypatch):
    # The very first sampling cycles fail: charging must not come on until cycles run
    # clean, and then only after the crash hold.
    raising(monkeypatch, sampler_mod.Sampler, "cycle", times=2)
    r = go(scn([], duration=10))
    assert len(events(r, "firmware_error")) == 2
    assert [on for _, on in r.switch] == [False, False, True], r.switch
    assert r.switch[2][0] >= 5000


def test_the_watchdog_is_fed_through_dockings_saves_and_reports():
    r = go(scn([{"t": 5, "type": "undock"}, {"t": 7, "type": "dock"}], duration=10))
    assert r.dock.watchdog_ms == app_mod.WATCHDOG_MS
    # Fed at least every cycle while all is well (200 Hz docked, 5 Hz idle).
    assert 0 < r.dock.max_feed_gap_us <= 210_000, r.dock.max_feed_gap_us


@pytest.mark.parametrize("stalled", ["_report_step", "cycle"])
def test_the_watchdog_goes_hungry_when_reports_or_cycles_stop_completing(monkeypatch, stalled):
    # A report path that returns without ever completing (a hang in the making), or
    # cycles that do not complete: the loop still runs, but nobody feeds the watchdog,
    # which on the board resets the dock.
    if stalled == "_report_step":
        monkeypatch.setattr(app_mod.App, "_report_step", lambda self: False)
    else:
        orig = app_mod.App.tick

        def tick(self):
            if self.clock.now_us > 3_000_000:
                return  # sampling stopped
            orig(self)

        monkeypatch.setattr(app_mod.App, "tick", tick)
    r = go(scn([], duration=8))
    assert r.dock.max_feed_gap_us > app_mod.WATCHDOG_MS * 1000
