"""The virtual board's boot: run as ``micropython -m vb_main`` by the supervisor.

Arguments: boot mode (``friendly`` or ``raw``), reset cause (``machine.PWRON_RESET`` or
``machine.WDT_RESET`` as a number), control descriptor. In the environment (the unix port
dies on a command-line argument of 256 bytes or more, and paths can be that long):
``POGODOCK_VBOARD_ARG0`` to ``ARG3``, the scenario file, boards folder, flash folder and
power-on instant (µs of ``CLOCK_MONOTONIC``, which is ``ticks_us`` here), and
``POGODOCK_VBOARD_WRITE_CUTS``, the power cuts still to fall during a flash write
(``sim.power.WriteCuts.encode``).

What a Pico does from reset, in order: the hardware is there (the scenario's circuit
and monitors, the ``machine`` module over them), the flash is mounted at ``/``,
``boot.py`` and ``main.py`` run, then the REPL. Everything of the virtual board itself
is imported before the flash replaces ``/``, and then dropped from ``sys.modules``, so
user code sees a board's module set: ``import dockfw`` finds the flashed firmware or
nothing.
"""

import gc
import os
import sys

POWER_CUTS_ENV = "POGODOCK_VBOARD_WRITE_CUTS"


def _cooked_print():
    """``print`` as the rp2 port's: text to the console with ``\\r\\n`` line ends."""
    import builtins

    plain_print = builtins.print
    stdout = sys.stdout

    def print(*args, sep=" ", end="\n", file=None):
        if file is not None and file is not stdout:
            plain_print(*args, sep=sep, end=end, file=file)
            return
        if sep is None:
            sep = " "
        if end is None:
            end = "\n"
        stdout.write((sep.join([str(a) for a in args]) + end).replace("\n", "\r\n"))

    def repl_print(obj):
        # What the REPL calls for an expression statement: repr and newline, and ``_``.
        if obj is not None:
            stdout.write(repr(obj) + "\r\n")
            builtins._ = obj  # pyright: ignore[reportAttributeAccessIssue]

    builtins.print = print
    # MicroPython's own hook for expression statements; the stubs do not know it.
    builtins.__repl_print__ = repl_print  # pyright: ignore[reportAttributeAccessIssue]


def _forget_own_modules():
    for name in list(sys.modules):
        if name.split(".")[0] in ("docksim", "dockfw") or name.startswith("vb_"):
            del sys.modules[name]


class _WriteCuts:
    """What the flash asks at every write (``vb_flash.FlashVfs``): whether one of the
    scenario's power cuts falls in it, said to the supervisor either way."""

    def __init__(self, scenario, pending, console, clock):
        from docksim.power import WriteCuts, cut_length, decode_pending

        self._cuts = WriteCuts(scenario, decode_pending(pending))
        self._falling = None  # the cut that falls in the write under way
        self._length = cut_length
        self._scenario = scenario
        self._console = console
        self._clock = clock

    def active(self):
        """True while a cut is still to fall in a write."""
        return bool(self._cuts.pending)

    def landing(self, path, size):
        """None (the write lands whole) or the bytes that land before the power fails."""
        due = self._cuts.at_write(self._clock.now_us)
        if due is None:
            return None
        if not due.falls:
            self._console.write_let_through(due.cut.index)
            return None
        self._falling = due.cut
        return self._length(self._scenario, due.cut, size)

    def fail(self, path, landed, size):
        """The power fails now (after ``landed`` bytes of the write); never returns."""
        falling = self._falling
        self._console.power_cut(falling.index if falling is not None else -1, path, landed, size)


def main():
    mode, cause, control_fd = sys.argv[1:4]
    scenario_path, boards, flash, power_on_us = [
        os.getenv("POGODOCK_VBOARD_ARG%d" % k) or "" for k in range(4)
    ]
    cuts = os.getenv(POWER_CUTS_ENV) or "-"
    import vb_machine
    import vb_micropython
    from docksim.scenario import load
    from vb_console import Console, Unplugged
    from vb_flash import FlashVfs
    from vb_hardware import Hardware
    from vb_repl import Repl, SoftReboot, format_exception

    console = Console(int(control_fd))
    scenario = load(scenario_path, boards)
    hardware = Hardware(scenario, int(power_on_us))
    write_cuts = _WriteCuts(scenario, cuts, console, hardware.clock) if cuts != "-" else None

    def hard_reset():
        console.request_reset(b"h")

    vb_machine.attach(hardware, int(cause), hard_reset, console)
    sys.modules["machine"] = vb_machine
    vb_micropython.attach(console)
    sys.modules["micropython"] = vb_micropython
    os.umount("/")
    os.mount(FlashVfs(flash, write_cuts), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]  # the rp2 port's
    _forget_own_modules()
    _cooked_print()
    repl = Repl(console, raw=mode == "raw")
    gc.collect()
    try:
        repl.boot()
        repl.run()
    except SoftReboot as r:
        console.write_text("MPY: soft reboot\n")
        console.request_reset(b"r" if r.args[0] else b"s")
    except Unplugged:
        pass
    except BaseException as e:  # the board's own fault: user code's are caught in Repl
        # Said with all its frames (it is the vboard's bug, not the program's), then a
        # soft reboot into the REPL it was in, so that the board stays up.
        console.write_text("MPY: the virtual board failed:\n")
        console.write(format_exception(e, hide=False))
        console.write_text("MPY: soft reboot\n")
        console.request_reset(b"r" if repl.raw else b"s")


main()
