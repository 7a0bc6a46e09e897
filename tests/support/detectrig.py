"""Scenarios for the alignment and intermittent tests (docked at 2 s drawing 1500 mA
unless told otherwise; the Kelvin board at its 250 Hz) and the events those two
detectors send."""

MINE = ("misalignment", "intermittent")


def mine(r):
    """The events the alignment and intermittent detectors send."""
    return [
        e
        for e in r.of_type("event")
        if e["kind"] in MINE or (e["kind"] == "cleared" and e["was"] in MINE)
    ]


def scn(events, load=None, duration=16, board="pico-dock-4", seed=7, **extra):
    obj = {
        "board": board,
        "seed": seed,
        "duration_s": duration,
        "sample_hz": 250 if board == "feather-kelvin-2" else 200,
        "load": load or [[0, 0], [2, 1500]],
        "events": [{"t": 2, "type": "dock"}, *events],
    }
    obj.update(extra)
    return obj
