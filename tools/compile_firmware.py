"""Compile every firmware file with mpy-cross: as a check (``--check``) or into a flash image.

The files are those ``firmware/manifest.py`` names (``--manifest``: another), laid out as
it places them on the board.

python tools/compile_firmware.py --check          # every file compiles, nothing kept
python tools/compile_firmware.py --out build/flash # .mpy files laid out as on the board
python tools/compile_firmware.py --arch host ...   # for this machine's MicroPython instead

The per-cycle path's functions are marked ``@native`` / ``@viper`` (``dockfw.viper``:
the identity, so every source is plain Python that any mpy-cross compiles; ``--check``
checks that too). Compiling for one architecture (``-march``), this turns the marks into
``@micropython.native`` / ``@micropython.viper``, line for line, which mpy-cross makes
machine code: ``armv6m`` (the RP2040's Cortex-M0+) by default, ``host`` for the
MicroPython unix port on this machine (tier B, the virtual board). A module with machine
code loads only on its architecture; the others stay portable bytecode.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import firmware_manifest  # noqa: E402

MPY_CROSS = Path(sys.executable).with_name("mpy-cross")
BOARD_ARCH = "armv6m"  # the RP2040
# sys.implementation._mpy >> 10 on a board -> mpy-cross's name for its architecture.
ARCH_NAMES = {
    1: "x86",
    2: "x64",
    3: "armv6",
    4: "armv6m",
    5: "armv7m",
    6: "armv7em",
    7: "armv7emsp",
    8: "armv7emdp",
    9: "xtensa",
    10: "xtensawin",
    11: "rv32imc",
    12: "rv64imc",
}


_MARK = re.compile(r"^(\s*)@(native|viper)\b", re.M)


def machine_code(text: str) -> str:
    """A firmware source with its ``@native`` / ``@viper`` marks as MicroPython's own
    decorators (same lines, same numbers)."""
    return _MARK.sub(r"\1@micropython.\2", text)


def compile_one(
    src: Path, rel: Path, target: Path, mpy_cross: Path, arch: str | None, opt: str = "-O1"
):
    """mpy-cross on ``src`` (named ``rel`` in tracebacks) into ``target``: machine code for
    ``arch``, or plain bytecode with the marks left as the identity when ``arch`` is None.
    ``opt``: the optimisation level (-O1 drops asserts: not for tests)."""
    cmd = [str(mpy_cross), opt, "-o", str(target), "-s", str(rel)]
    if arch is None:
        return subprocess.run([*cmd, str(src)], capture_output=True, text=True)
    with tempfile.TemporaryDirectory() as tmp:
        marked = Path(tmp) / src.name
        marked.write_text(machine_code(src.read_text()))
        return subprocess.run([*cmd, "-march=" + arch, str(marked)], capture_output=True, text=True)


def sources(
    manifest: Path = firmware_manifest.MANIFEST,
) -> list[firmware_manifest.FirmwareFile]:
    """The manifest's files: without the port's own modules, which a board's MicroPython
    has already (``port=False``)."""
    try:
        return firmware_manifest.read(manifest, port=False).files
    except firmware_manifest.ManifestError as e:
        raise SystemExit("firmware manifest: %s" % e) from None


def compile_all(
    out: Path, arch: str | None = BOARD_ARCH, manifest: Path = firmware_manifest.MANIFEST
) -> list[str]:
    """Compile into ``out`` for ``arch`` (None: plain bytecode); main.py stays source (the
    board runs main.py, not main.mpy)."""
    errors = []
    for f in sources(manifest):
        rel = Path(f.target)
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if f.target == "main.py":
            shutil.copy(f.source, dst)
        target = dst.with_suffix(".mpy")
        proc = compile_one(f.source, rel, target, MPY_CROSS, arch)
        if proc.returncode != 0:
            errors.append(
                "%s: %s" % (rel, proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
            )
        elif f.target == "main.py":
            target.unlink()
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check that every file compiles")
    parser.add_argument("--out", type=Path, help="folder to write the flash image into")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=firmware_manifest.MANIFEST,
        help="the manifest naming the files (default: firmware/manifest.py)",
    )
    parser.add_argument(
        "--arch",
        default=BOARD_ARCH,
        help="mpy-cross -march for the machine code (default: %(default)s; host: this machine)",
    )
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            # As anyone's mpy-cross compiles them, and as the board gets them.
            errors = compile_all(Path(tmp), None, args.manifest) + compile_all(
                Path(tmp), args.arch, args.manifest
            )
    else:
        out = args.out or ROOT / "build" / "flash"
        shutil.rmtree(out, ignore_errors=True)
        errors = compile_all(out, args.arch, args.manifest)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        return 1
    print("mpy-cross: %d firmware files compile" % len(sources(args.manifest)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
