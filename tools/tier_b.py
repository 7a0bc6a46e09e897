"""Test tier B: the firmware's tests under the real MicroPython interpreter.

Compiles the firmware and the simulator with mpy-cross into ``build/mpy`` (the
firmware as ``make flash`` puts it on a board, its machine code for this machine), then runs every
``tests/mp/test_*.py`` in a fresh ``micropython -X heapsize=320k`` (``MPY_HEAP``, as the
Makefile sets it) through
``tools/mptest.py`` (a fresh interpreter per module: each gets the whole heap),
and prints the total as "N passed, N failed".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))
import compile_firmware  # noqa: E402

OUT = ROOT / "build" / "mpy"
HEAP = os.environ.get("MPY_HEAP", "320k")  # the Makefile's MPY_HEAP


def compile_tree(src_root: Path, entries: list[str]) -> None:
    for entry in entries:
        path = src_root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for src in files:
            rel = src.relative_to(src_root)
            dst = (OUT / rel).with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            # -march=host: the per-cycle path's machine code, for this interpreter
            proc = compile_firmware.compile_one(src, rel, dst, BIN / "mpy-cross", "host", "-O0")
            if proc.returncode != 0:
                raise SystemExit("mpy-cross %s: %s" % (rel, proc.stderr.strip()))


def build_mpy() -> None:
    """Compile the firmware and the simulator into build/mpy."""
    import shutil

    shutil.rmtree(OUT, ignore_errors=True)
    compile_tree(ROOT / "firmware", ["dockfw"])
    compile_tree(ROOT / "sim", ["docksim"])
    # The tests too: compiling a source file at import takes heap of its own, and the
    # fragments it leaves can deny the firmware a buffer of a few kB later.
    compile_tree(ROOT / "tests", ["mp"])


def main() -> int:
    build_mpy()
    modules = sorted(p.stem for p in (ROOT / "tests" / "mp").glob("test_*.py"))
    env = dict(os.environ, MICROPYPATH="%s:%s" % (OUT, OUT / "mp"))
    passed = failed = 0
    for mod in modules:
        proc = subprocess.run(
            [str(BIN / "micropython"), "-X", "heapsize=%s" % HEAP, "tools/mptest.py", mod],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        out = proc.stdout + proc.stderr
        m = re.search(r"^(\d+) passed, (\d+) failed$", proc.stdout, re.M)
        for line in out.splitlines():
            if not re.match(r"^\d+ passed, \d+ failed$", line):
                print("  " + line if line.startswith(("ok", "FAIL")) else line)
        if m:
            passed += int(m.group(1))
            failed += int(m.group(2))
        if not m or (proc.returncode != 0 and not int(m.group(2))):
            print(
                "FAIL %s: the interpreter ended without a result (exit %d)" % (mod, proc.returncode)
            )
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
