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

The context offers ``board``, ``sampler``, ``report``, ``docking``, ``store``,
``event(kind, pins, severity, fields)``, ``t_s()`` (dock time in seconds, kept
across reboots), ``temp_mc()`` and ``set_charging(on, reason)``.
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
