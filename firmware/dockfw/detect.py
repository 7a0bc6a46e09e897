"""What every detector is: the common interface between the sampler and pin health.

A detector watches the per-pin arrays the sampler fills each cycle and raises
events through the context (the ``App``). Its methods, called by the App:

``cycle(s, now)``    every sampling cycle; ``s`` is the Sampler, ``now`` its
                     ``ticks_ms``. Integer work on preallocated state only; it may
                     call ``ctx`` on a rare transition (a trip), never routinely.
``report(ctx)``      once per report (a few times a second); may allocate.
``docked(ctx)``      a device arrived: a docking session starts.
``undocked(ctx)``    the device left: the session ends.
``level(j)``         pin ``j``'s standing with this detector: OK, WARN or FAULT.
``penalty(j)``       points this detector takes off pin ``j``'s 0..100 score.
``clear(ctx)``       the host's ``clear``: counters and latched events reset.

The context (``ctx``, the ``App``) offers, and a detector uses no more:

``board``            the pins (``board.pins[j].name``, role, rating) and limits.
``sampler``          this cycle's per-pin arrays (the ``s`` of ``cycle``).
``report``           the report window's per-pin figures (``r_uohm(j)``, ``i_ma(j)``).
``docking``          the docking detector: ``present``, ``settled()``, ``session``,
                     ``cycles``.
``store``            the flash store: ``load(name, version, check)``, ``save(...)``.
``clock``            ``ticks_ms``/``ticks_us``/``ticks_diff``/``ticks_add``.
``charging``         True while the charge switch is on.
``sample_millihz``     the sampling rate in millihertz (an int: 200 Hz is 200000).
``interruptible``    True while this may run from the HAL's timer interrupt: then
                     nothing may be allocated (protection opens the switch and tells
                     the cut later).
``crash_hold``       True while charging is held off after a firmware error.
``event(kind, pins, severity, fields)``  an ``event`` line: ``kind`` one of
                     ``protocol.EVENT_KINDS``, ``severity`` of ``protocol.SEVERITIES``,
                     ``pins`` indices into ``board.pins``, ``fields`` (key, value) pairs.
``t_s()``            dock time in seconds, kept across reboots.
``temp_mc()``        the dock's temperature in milli-°C, or None.
``set_charging(on)`` the charge switch (refused on while ``crash_hold``).

What one detector needs of another it is handed when built (``Drift(ctx, alignment,
intermittent)``), and the App runs a detector's ``report`` after those it was handed
(tests/test_detector_contract.py holds both to this).
"""

from micropython import const

OK = const(0)
WARN = const(1)
FAULT = const(2)


class Detector:
    def cycle(self, s, now):
        pass

    def report(self, ctx):
        pass

    def docked(self, ctx):
        pass

    def undocked(self, ctx):
        pass

    def level(self, j):
        return OK

    def penalty(self, j):
        return 0

    def clear(self, ctx):
        pass
