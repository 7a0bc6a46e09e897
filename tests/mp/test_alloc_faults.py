# Tier B: the per-cycle path allocates nothing while monitors are down either, measured
# under MicroPython: protection bounding a silent pin monitor's current (its pad, the
# other side), judging a contact blind (its sense monitor silent), and a frozen monitor
# whose side stays short of the other (the split rule's larger side).
from frozenbus import FrozenHal, alloc_per_cycle_of, docked_app

_BLIND_SAFE_COUNTS = 400  # 400 mA per pin: under the blind limit, so nothing trips


def _alloc_per_cycle(silent=(), counts=None, cycles=500):
    hal = FrozenHal()
    for p in hal.board.pins:
        if counts is not None and p.name in counts:
            hal.i2c.set(p.addr, 1, counts[p.name])
    app = docked_app(hal)
    assert app.docking.present and app.charging
    for k in silent:
        app.sampler.ok[k] = 0  # stopped answering: skipped until a check revives it
    per = alloc_per_cycle_of(app, hal, cycles)
    assert app.charging and not app.protection.tripped
    return per, app


def test_a_silent_pin_monitor_is_bounded_without_allocating():
    per, app = _alloc_per_cycle(silent=(0,))  # VBUS1
    assert per == 0, per
    assert app.protection._st[0] == 1  # its current is a bound, not a measurement


def test_a_blind_contact_is_judged_without_allocating():
    counts = {}
    for name in ("VBUS1", "GND1", "GND2", "VBUS2"):
        counts[name] = _BLIND_SAFE_COUNTS
    per, app = _alloc_per_cycle(silent=(5,), counts=counts)  # SENSE_G
    assert per == 0, per
    assert not app.protection.heat_known(1) and app.protection.p_mw[1] > 0


def test_a_frozen_monitor_short_of_its_side_costs_nothing_per_cycle():
    per, app = _alloc_per_cycle(counts={"GND1": 0})
    assert per == 0, per
    assert app.protection._split >= 6  # the larger side counts
