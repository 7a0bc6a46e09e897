"""The MicroPython interpreter a virtual board runs on: its modules and its command line.

The board's own modules (``mp/vb_*.py``) and the simulator parts they use
(``docksim``, ``dockfw.board``) are compiled once per vboard with ``mpy-cross``
into a private folder that becomes the interpreter's ``MICROPYPATH``: a reset starts
a fresh interpreter, and bytecode loads faster than source compiles. Their source
names start with ``vboard:`` so that tracebacks can leave those frames out, as a board
shows no frames for its C code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dockfw
import docksim

MP_SIDE = Path(__file__).resolve().with_name("mp")
SOURCE_PREFIX = "vboard:"
# The 64-bit unix port's objects are about twice an RP2040's: the simulated dock and the
# REPL take about 106 kB of it, the firmware 76 kB imported, 99 kB once its App is built
# (gc.mem_alloc() after gc.collect(), before and after; see README, "A virtual board").
HEAP = "1M"


class InterpreterError(Exception):
    """The interpreter or its compiler is missing, or the board's modules do not compile."""


def _tool(name: str) -> Path:
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found is None:
        raise InterpreterError(
            "%s not found (run `make setup`: it installs MicroPython into .venv)" % name
        )
    return Path(found)


class Interpreter:
    def __init__(self) -> None:
        self.micropython = _tool("micropython")
        self.mpy_cross = _tool("mpy-cross")
        self.lib: Path | None = None

    def _sources(self) -> list[tuple[Path, str]]:
        """(file, name in the interpreter's path) for every module the board imports."""
        sim = Path(docksim.__file__).resolve().parent
        firmware = Path(dockfw.__file__).resolve().parent
        out = [(p, p.name) for p in sorted(MP_SIDE.glob("vb_*.py"))]
        out += [(p, "docksim/" + p.name) for p in sorted(sim.glob("*.py"))]
        out += [(firmware / n, "dockfw/" + n) for n in ("__init__.py", "board.py")]
        return out

    def compile(self, lib: Path) -> None:
        procs: list[tuple[str, subprocess.Popen]] = []
        failure = None
        for src, name in self._sources():
            dst = lib / Path(name).with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            cmd = [str(self.mpy_cross), "-o", str(dst), "-s", SOURCE_PREFIX + name, str(src)]
            try:
                procs.append((name, subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)))
            except OSError as e:
                failure = "cannot run %s: %s" % (self.mpy_cross, e.strerror or e)
                break
        # Every compiler started is waited for, whatever failed first.
        for name, proc in procs:
            _, err = proc.communicate()
            if proc.returncode != 0 and failure is None:
                lines = err.strip().splitlines()
                failure = "the virtual board's module %s does not compile: %s" % (
                    name,
                    lines[-1] if lines else "mpy-cross failed",
                )
        if failure is not None:
            raise InterpreterError(failure)
        self.lib = lib

    def command(self, args: list[str]) -> list[str]:
        return [str(self.micropython), "-X", "heapsize=" + HEAP, "-m", "vb_main", *args]

    def env(self) -> dict[str, str]:
        assert self.lib is not None, "compile() first"
        return dict(os.environ, MICROPYPATH=str(self.lib))
