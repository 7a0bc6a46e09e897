# Tier B: oxidation (drift) and wear detectors under MicroPython, with a small context.
import gc
from array import array

from dockfw.detect import FAULT, OK, WARN
from dockfw.drift import Drift
from dockfw.sessionstat import SessionStats, median_in_place
from dockfw.store import MemoryStore
from dockfw.wear import Wear
from fakectx import CLEAN
from fakectx import SessionCtx as Ctx

DAY = 86400


class Noise:
    """Deterministic pseudo-Gaussian noise (sum of uniforms), µΩ."""

    def __init__(self, seed):
        self.x = seed * 2654435761 + 1

    def __call__(self, sigma):
        s = 0
        for _ in range(4):
            self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
            s += self.x % 2001 - 1000
        return s * sigma * 173 // 200000  # 4 uniforms of sd 577.6: scale to sigma


def series(d, ctx, days, rate=0, seed=1, first=0):
    noise = Noise(seed)
    found = None
    for day in range(days):
        t = 79200 + DAY * day
        vals = [30000 + 2500 * j + noise(500) for j in range(4)]
        if day < first:
            continue
        vals[1] += rate * t // DAY
        n = len(ctx.of("oxidation"))
        for j in range(4):
            d.session(ctx, j, vals[j], t)
        d.save(ctx)
        if found is None and len(ctx.of("oxidation")) > n:
            found = day
    return found


def test_median_selection_matches_sorting():
    noise = Noise(7)
    for n in (1, 2, 5, 64, 255):
        vals = [noise(1000) for _ in range(n)]
        a = array("i", vals)
        assert median_in_place(a, 0, n) == sorted(vals)[n // 2]


def test_collecting_a_session_allocates_nothing():
    st = SessionStats(4, 256)
    st.add(0, 1, 0)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for i in range(2000):
            st.add(i & 3, 30000 + i, i)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert used == 0, used
    assert st.count(0) <= 256


def test_a_2_5_mohm_per_day_drift_from_the_first_session_is_flagged_within_days():
    ctx = Ctx()
    d = Drift(ctx, CLEAN, CLEAN)
    # armed after three sessions; the trend needs 4 mOhm over the learned baseline
    assert series(d, ctx, 12, rate=2500) in (3, 4)
    ev = ctx.of("oxidation")[0]
    assert ev[1] == ["GND1"] and ev[2] == "warn"
    assert abs(ev[3]["drift_mohm_per_day"].value - 2500) < 600
    assert d.level(1) == FAULT and d.level(0) == OK
    assert all(e[1] == ["GND1"] for e in ctx.of("oxidation"))


def test_quiet_pins_stay_silent():
    for seed in range(5):
        ctx = Ctx()
        d = Drift(ctx, CLEAN, CLEAN)
        assert series(d, ctx, 40, seed=seed) is None
        assert d.baseline_uohm(0) > 0


def test_a_clean_is_detected_and_the_state_survives_a_reboot():
    store = MemoryStore()
    ctx = Ctx(store)
    series(Drift(ctx, CLEAN, CLEAN), ctx, 8, rate=2500)
    ctx2 = Ctx(store)
    d2 = Drift(ctx2, CLEAN, CLEAN)  # reboot: the same store
    assert d2.level(1) == WARN or d2.level(1) == FAULT
    assert d2.drift_uohm_per_day(1) > 1500
    for j, r in enumerate((30000, 32500, 35000, 37500)):
        d2.session(ctx2, j, r, 79200 + 9 * DAY)
    ev = ctx2.of("cleaned")
    assert len(ev) == 1 and ev[0][1] == ["GND1"] and d2.level(1) == OK


def test_wear_warns_once_at_80_percent():
    ctx = Ctx()
    ctx.docking.cycles[2] = 7999
    w = Wear(ctx)
    for _ in range(3):
        for j in range(4):
            ctx.docking.cycles[j] += 1
        w.docked(ctx)
    ev = ctx.of("wear")
    assert len(ev) == 1 and ev[0][1] == ["GND2"] and ev[0][2] == "warn"
    assert w.level(2) == WARN and w.penalty(2) == 18
    w.undocked(ctx)  # saved as the device leaves, never as it lands
    w2 = Wear(Ctx(ctx.store))  # reboot: not raised again
    assert w2.raised[2] == WARN
