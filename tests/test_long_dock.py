"""Time that never runs out: a device docked for 30 days, faults on days 1, 7, 8 and 29.

The simulator's ticks wrap at 2**30 like the board's (ticks_ms every 12.4 days,
ticks_us every 17.9 minutes), and ``ticks_diff`` is valid within 2**29 (6.2 days).
The old firmware lost every resistance and every misalignment 6.2 days into a
session (the settle time was a stale stamp) and latched charging off for two trips
on day 1 and one on day 8 ("three within a minute"). The month runs as a time-lapse:
a cycle every 500 s (within ticks_diff's range in microseconds), and 200 Hz for a few
seconds from each fault, as the board samples.
"""

from dockfw import protection as pr
from dockfw import protocol
from dockfw.app import App
from docksim.dock import SimDock
from simrig import Run, load_scenario
from support.protectrig import prot

DAY = 86400
DOCK = 10  # s
FAST_S = 12  # 200 Hz for this long from each fault
OVER1 = (1 * DAY, 1 * DAY + 8)  # long enough for the retry to trip again: 2 trips
MIS7 = 7 * DAY
OVER8 = (8 * DAY, 8 * DAY + 2)  # 1 trip, with day 1's two: three in a week, not a minute
MIS29 = 29 * DAY
OVER29 = (29.5 * DAY, 29.5 * DAY + 2)
REALIGN_S = 6 * 3600


class Month(Run):
    def __init__(self):
        events = [
            {"t": DOCK, "type": "dock"},
            {"t": OVER1[0], "type": "overload", "ma": 4000, "until": OVER1[1]},
            {"t": MIS7, "type": "misalign", "pins": ["VBUS2", "GND2"], "extra_mohm": 300},
            {"t": MIS7 + REALIGN_S, "type": "realign"},
            {"t": OVER8[0], "type": "overload", "ma": 4000, "until": OVER8[1]},
            {"t": MIS29, "type": "misalign", "pins": ["VBUS1", "GND1"], "extra_mohm": 300},
            {"t": MIS29 + REALIGN_S, "type": "realign"},
            {"t": OVER29[0], "type": "overload", "ma": 4000, "until": OVER29[1]},
        ]
        obj = {
            "board": "pico-dock-4",
            "seed": 30,
            "duration_s": 30 * DAY,
            "load": [[0, 0], [DOCK, 1500]],
            "events": events,
        }
        fast = [ev["t"] for ev in events]
        self.raw = []
        self.dock = dock = SimDock(load_scenario(obj), self.raw.append)
        # The board's rates (the monitors average for 200 Hz), stepped here rather than
        # by App.run, whose waits come in 250 ms slices: 10 million of them in a month.
        app = App(dock)
        app.start()
        while dock.running():
            app.step()
            now = dock.clock.now_us
            if any(a * 1e6 <= now < (a + FAST_S) * 1e6 for a in fast):
                period = 5000
            else:
                ahead = [int(a * 1e6) - now for a in fast if a * 1e6 > now]
                period = max(5000, min([500_000_000, *ahead]))  # land on the next fault
            dock.wait_us(period)
        self.app = app
        self.lines = [protocol.decode(x) for x in b"".join(self.raw).splitlines()]


def _in(e, t0, t1):
    return t0 * 1000 <= e["t_ms"] <= t1 * 1000


def test_thirty_days_docked_with_faults_on_days_1_7_8_and_29():
    r = Month()
    # Trips in the window they claim: two within a minute on day 1, one on day 8 and
    # one on day 29 never latch (the old firmware latched on day 8 and on day 29).
    trips = [e for e in prot(r) if e["kind"] == "overcurrent"]
    assert [e["latched"] for e in trips] == [False] * 4, trips
    assert [sum(_in(e, a, a + FAST_S) for e in trips) for a, _ in (OVER1, OVER8, OVER29)] == [
        2,
        1,
        1,
    ]
    ons = [e for e in prot(r) if e["kind"] == "charge_on"]
    assert [e["reason"] for e in ons] == ["retry"] * 4
    for trip, on in zip(trips, ons, strict=True):
        assert pr.RETRY_MS <= on["t_ms"] - trip["t_ms"] <= pr.RETRY_MS + 260, (trip, on)
    assert r.dock.charging and not r.app.protection.latched
    # Misalignments raised a week and four weeks into the session, and cleared.
    events = r.of_type("event")
    for t, pins in ((MIS7, ["GND2", "VBUS2"]), (MIS29, ["GND1", "VBUS1"])):
        raised = [e for e in events if e["kind"] == "misalignment" and _in(e, t, t + FAST_S)]
        assert raised and sorted(raised[0]["pins"]) == pins, (t, raised)
        done = t + REALIGN_S
        cleared = [e for e in events if e["kind"] == "cleared" and _in(e, done, done + FAST_S)]
        assert [e["was"] for e in cleared] == ["misalignment"], cleared
    # One session all month, and every day's last report has every pin's resistance.
    docked = [e["kind"] for e in events if e["kind"] in ("docked", "undocked")]
    assert docked == ["docked"]
    samples = r.of_type("sample")
    for day in range(1, 31):
        last = [s for s in samples if (day - 1) * DAY * 1000 < s["t_ms"] <= day * DAY * 1000][-1]
        assert last["docked"] and last["charging"], (day, last)
        assert all(p["r_mohm"] is not None for p in last["pins"].values()), (day, last)
    assert samples[-1]["t_ms"] > 29.9 * DAY * 1000 and pr.TRIP_WINDOW_MS == 60000
