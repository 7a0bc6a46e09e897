"""The scenario's power cuts: when each falls, and how much of a write it cuts lands.

Shared by ``SimDock`` (``PowerSupply``, in simulated time), the virtual board's
supervisor (timed cuts, in real time) and its flash layer (cuts during a write), so
that a scenario cuts the same way in both. Runs under CPython and MicroPython.

A cut is timed (at ``t``) or falls during a flash write: the first write committed at or
after ``t`` once ``skip_writes`` writes have gone through. Of that write's data, the
first ``cut_length()`` bytes reach the flash: the file is left holding them, and
whatever would have followed (the store's rename of ``x.tmp`` over ``x.json``) never
happens.
"""

from collections import namedtuple

from docksim.rand import mix

_FRACTION_SALT = 0xC075

# What ``WriteCuts.at_write`` finds: the ``Cut`` due, and whether the power fails in this
# write (False: the write goes through, one less for the cut to let pass).
CutAtWrite = namedtuple("CutAtWrite", ("cut", "falls"))


class PowerCut(BaseException):
    """The dock's power failed: the running firmware is abandoned where it stands.

    A BaseException, so that the firmware's own ``except Exception`` (its supervision
    of a failing stage, its store's "never raise") does not take a power failure for
    a firmware error.
    """


class Cut:
    """One ``power_cut`` event: ``index`` among the scenario's cuts (file order of time),
    ``t_us``, ``off_us``, ``during_write``, ``skip_writes``, ``fraction`` (or None)."""

    def __init__(self, index, ev):
        self.index = index
        self.t_us = int(ev["t"] * 1000000)
        self.off_us = int(ev["off_s"] * 1000000)
        self.during_write = ev.get("during") == "write"
        self.skip_writes = ev.get("skip_writes", 0)
        self.fraction = ev.get("fraction")


def power_cuts(scenario):
    """Every ``power_cut`` of the scenario, in time order."""
    cuts = []
    for ev in scenario.events:
        if ev["type"] == "power_cut":
            cuts.append(Cut(len(cuts), ev))
    return cuts


def cut_length(scenario, cut, size):
    """Bytes of a ``size``-byte write that reach the flash when ``cut`` falls in it:
    0 (an empty file) to ``size`` (all of it, but nothing after)."""
    f = cut.fraction
    if f is None:
        f = mix(scenario.seed, cut.index, _FRACTION_SALT) / 4294967296.0
    n = int(f * (size + 1))
    return n if n < size else size


class WriteCuts:
    """The cuts still to fall during a write, and what each write does to them.

    ``pending`` maps a cut's index to the writes it still lets through; the virtual
    board hands it from one interpreter to the next (``encode`` / ``decode``).
    """

    def __init__(self, scenario, pending=None):
        self.scenario = scenario
        self.cuts = {}
        for cut in power_cuts(scenario):
            if cut.during_write:
                self.cuts[cut.index] = cut
        if pending is None:
            pending = {}
            for k in self.cuts:
                pending[k] = self.cuts[k].skip_writes
        self.pending = pending

    def at_write(self, now_us):
        """A write is committed now: ``None`` (it goes through, touching no cut) or a
        ``CutAtWrite``: ``falls`` False (it goes through, one less for ``cut`` to let
        pass) or True (the power fails in it)."""
        due = None
        for k in self.pending:
            cut = self.cuts[k]
            if cut.t_us <= now_us and (due is None or (cut.t_us, k) < (due.t_us, due.index)):
                due = cut
        if due is None:
            return None
        if self.pending[due.index] > 0:
            self.pending[due.index] -= 1
            return CutAtWrite(due, False)
        del self.pending[due.index]
        return CutAtWrite(due, True)

    def encode(self):
        """``pending`` as one command-line word: ``"3:0,5:2"``, or ``"-"``."""
        if not self.pending:
            return "-"
        return ",".join("%d:%d" % (k, self.pending[k]) for k in sorted(self.pending))


def decode_pending(text):
    """``WriteCuts.encode``'s word back into ``pending``."""
    pending = {}
    if text != "-":
        for part in text.split(","):
            k, _, left = part.partition(":")
            pending[int(k)] = int(left)
    return pending


class PowerSupply:
    """The simulated dock's power, for a scenario with cuts.

    A timed cut falls at its simulated instant, wherever the firmware is (an alarm on
    the dock's ``SimClock``: in a wait, or between two I2C transfers); a cut during a
    write falls in the flash (``MemFlash.cut_write``). Either way the dock goes dead:
    ``PowerCut`` abandons the running App, the rail goes off, nothing more is said.
    ``back()`` lets the outage pass (the host's input meanwhile is lost, the monitors
    come back in their power-on state) for the next App to boot on the same flash,
    ``reset_cause`` ``power_on`` and a new boot id. A timed cut that falls while the
    power is already off changes nothing.

    ``log`` has one entry per cut that fell: ``cut`` (its index), ``t_us``,
    ``back_us``, and for a write ``path``, ``size`` and ``kept`` (bytes that landed).
    """

    PowerCut = PowerCut

    def __init__(self, dock):
        # Here, not at the top: the virtual board uses this module without the firmware.
        from docksim.flash import FlashStore, MemFlash, earlier_life

        self.dock = dock
        scenario = dock.scenario
        self.flash = MemFlash(self._cut_write)
        life = earlier_life(scenario)
        for path in life:
            self.flash.put(path, life[path])
        self.store = FlashStore("/state", self.flash)
        self.log = []
        self._timed = [c for c in power_cuts(scenario) if not c.during_write]
        self._writes = WriteCuts(scenario)
        self._arm()

    def _arm(self):
        if self._timed:
            self.dock.clock.set_alarm(self._timed[0].t_us, self._timed_cut)

    def _timed_cut(self):
        self._off(self._timed.pop(0), None, None, None)
        raise PowerCut()

    def _cut_write(self, path, size):
        """``MemFlash``'s question at every write: None, or the bytes that land before
        the power fails in it."""
        due = self._writes.at_write(self.dock.clock.now_us)
        if due is None or not due.falls:
            return None
        keep = cut_length(self.dock.scenario, due.cut, size)
        self._off(due.cut, path, keep, size)
        return keep

    def _off(self, cut, path, kept, size):
        dock = self.dock
        now = dock.clock.now_us
        dock.powered = False
        self.flash.powered = False
        dock.clock.set_alarm(None, None)
        dock.charging = False
        dock.led_on = False
        dock.circuit.set_rail(False, now)
        self.log.append(
            {"cut": cut.index, "t_us": now, "back_us": now + cut.off_us, "path": path,
             "kept": kept, "size": size}
        )  # fmt: skip

    def back(self):
        """Let the outage pass; False when the scenario ends before the power is back."""
        dock = self.dock
        clock = dock.clock
        back = self.log[-1]["back_us"]
        while self._timed and self._timed[0].t_us < back:
            self._timed.pop(0)
        if back >= dock.end_us:
            clock.sleep_us(dock.end_us - clock.now_us)
            return False
        clock.sleep_us(back - clock.now_us)
        dock.power_on()
        self.flash.powered = True
        self._arm()
        return True
