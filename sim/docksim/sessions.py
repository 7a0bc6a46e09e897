"""What each docking session draws from the seed: every contact's seating and the dock's
temperature (circuit.py says how they enter a contact's resistance).

* Seating: per docking session and pin, sigma ``seating_sigma_mohm`` (clipped to ±3.45
  sigma and so that base + seat >= base / 2; ``seated_mohm``). Default 2 mOhm: no
  datasheet gives a repeatability, vendors quote maxima of 50 mOhm and more, and the
  field expects 1 to 3 mOhm from one docking to the next (README, "Oxidation drift"):
  the upper end the detectors must stand.
* Temperature (``session_temp_c``): ``ambient_c`` plus a daily cycle of ``temp_swing_c``
  (default ±10 °C, warmest at 15:00, the scenario's t = 0 being midnight: a desk or
  bedside dock between about 15 and 35 °C) taken at the docking's time, plus a
  per-session draw of sigma ``temp_session_sigma_c`` (default 2 °C: the room, the sun,
  the device's own warmth), held until the next docking. Per session rather than
  continuous, so the state stays piecewise constant; a session is minutes to hours, the
  cycle a day.

Runs under CPython and MicroPython.
"""

import math

from docksim.rand import mix

TEMPCO_PER_C = 0.0039  # copper
REF_C = 25.0
DAY_S = 86400
DAY_PEAK_S = 15 * 3600  # the daily cycle's warmest hour


def _gauss(a, b, c):
    """Roughly standard normal, bounded at ±3.45: the sum of a hash's four bytes."""
    x = mix(a, b, c)
    s = (x & 255) + (x >> 8 & 255) + (x >> 16 & 255) + (x >> 24)
    return (s - 510) / 147.8


def seat_offset_mohm(seed, session, j, sigma):
    """Pin ``j``'s seating offset in docking ``session`` (0, 1, ...), before the clip at
    half its base resistance. Shared with tools/bench_drift.py's short-cut."""
    return sigma * _gauss(seed, 0x5EA7 + session, j)


def seated_mohm(base, seed, session, j, sigma):
    """Pin ``j``'s resistance as seated in ``session`` (-1: never docked yet, its base)."""
    if session < 0:
        return base
    off = seat_offset_mohm(seed, session, j, sigma)
    if base + off < base / 2:
        return base / 2
    return base + off


def session_temp_c(seed, session, t_dock_s, ambient_c, swing_c, sigma_c):
    """The dock's temperature over docking ``session``, docked at ``t_dock_s``."""
    phase = 2 * math.pi * ((t_dock_s - DAY_PEAK_S) % DAY_S) / DAY_S
    return ambient_c + swing_c * math.cos(phase) + sigma_c * _gauss(seed, 0x7E39 + session, 0x7E)
