"""``make flash``: compile the firmware and copy it onto a dock with mpremote.

The board's flash gets the files ``firmware/manifest.py`` names (``--manifest``: another),
as it places them: ``main.py`` (source, it runs at boot), ``dockfw/*.mpy`` (bytecode from
mpy-cross: smaller and faster to import than source), and ``board.json`` (the chosen file
from ``boards/``). The per-cycle path's machine code
(``@micropython.native``) is compiled for the architecture the board reports
(``sys.implementation._mpy``): the RP2040's armv6m on a dock, the host's on a virtual board.

A running dock is guarded by its watchdog, which goes on counting after mpremote
has stopped the firmware and would reset the board in the middle of a copy. So
flashing first puts the board in safe mode (``/SAFE``: the firmware and its
watchdog do not start at boot), copies, then removes ``/SAFE`` and resets.
``--safe`` (``make safe``) only enters safe mode; ``--resume`` (``make resume``)
leaves it, and forgets the crash count that parks a dock there by itself.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import compile_firmware  # noqa: E402
import firmware_manifest  # noqa: E402


def build_image(
    board: str,
    out: Path,
    arch: str = compile_firmware.BOARD_ARCH,
    manifest: Path = firmware_manifest.MANIFEST,
) -> Path:
    board_file = ROOT / "boards" / ("%s.json" % board)
    if not board_file.is_file():
        names = ", ".join(sorted(p.stem for p in (ROOT / "boards").glob("*.json")))
        raise SystemExit("flash: no board named %r (boards: %s)" % (board, names))
    shutil.rmtree(out, ignore_errors=True)
    errors = compile_firmware.compile_all(out, arch, manifest)
    if errors:
        raise SystemExit("flash: firmware does not compile:\n" + "\n".join(errors))
    shutil.copy(board_file, out / "board.json")
    return out


# Run right after mpremote's soft reset, well within the watchdog's timeout.
ENTER_SAFE = "open('SAFE', 'w').close()"
LEAVE_SAFE = """import os
for name in ('SAFE', 'state/boot.json'):
    try:
        os.remove(name)
    except OSError:
        pass
"""
IS_SAFE = "import os; print('SAFE' in os.listdir('/'))"
ARCH = "import sys; print('arch', sys.implementation._mpy >> 10)"
BACK_WITHIN_S = 20.0  # a Pico's USB port comes back a second or two after a reset


def mpremote(port: str, *args: str, cwd: Path | None = None, quiet: bool = False):
    exe = Path(sys.executable).with_name("mpremote")
    return subprocess.run(
        [str(exe), "connect", port, *args], cwd=cwd, capture_output=quiet, text=True
    )


def enter_safe_mode(port: str) -> bool:
    """Stop the firmware, mark the flash, hard-reset, and wait until the board answers
    from safe mode."""
    if mpremote(port, "exec", ENTER_SAFE, "+", "reset", quiet=True).returncode != 0:
        return False
    end = time.monotonic() + BACK_WITHIN_S
    while time.monotonic() < end:
        time.sleep(0.5)
        proc = mpremote(port, "exec", IS_SAFE, quiet=True)
        if proc.returncode == 0 and proc.stdout.strip().endswith("True"):
            return True
    return False


def board_arch(port: str) -> str | None:
    """mpy-cross's name for the architecture of the MicroPython on ``port``; None when the
    board does not answer, "" when it names none that mpy-cross knows."""
    proc = mpremote(port, "exec", ARCH, quiet=True)
    words = proc.stdout.split() if proc.returncode == 0 else []
    if len(words) < 2 or words[-2] != "arch" or not words[-1].isdigit():
        return None
    return compile_firmware.ARCH_NAMES.get(int(words[-1]), "")


def leave_safe_mode(port: str) -> int:
    return mpremote(port, "exec", LEAVE_SAFE, "+", "reset").returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", default="auto", help="serial port of the dock, or 'auto'")
    parser.add_argument("--board", default="pico-dock-4", help="board file name in boards/")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "flash")
    parser.add_argument(
        "--manifest",
        type=Path,
        default=firmware_manifest.MANIFEST,
        help="the manifest naming the firmware's files (default: firmware/manifest.py)",
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build the flash image, copy nothing"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--safe", action="store_true", help="only put the dock in safe mode")
    mode.add_argument("--resume", action="store_true", help="leave safe mode and reset")
    args = parser.parse_args()
    if args.resume:
        return leave_safe_mode(args.port)
    if args.safe:
        if not enter_safe_mode(args.port):
            return _failed("safe mode", args.port)
        print("flash: the dock is in safe mode: charging off, firmware stopped (make resume)")
        return 0
    image = build_image(args.board, args.out, manifest=args.manifest)
    if args.build_only:
        print("flash image in %s" % image)
        return 0
    if not enter_safe_mode(args.port):
        return _failed("safe mode", args.port)
    arch = board_arch(args.port)
    if arch is None:
        return _failed("asking for the architecture", args.port)
    if not arch:
        print(
            "flash: the board's MicroPython runs no machine code the firmware can be built"
            " for (sys.implementation._mpy names no architecture mpy-cross knows)",
            file=sys.stderr,
        )
        return 1
    if arch != compile_firmware.BOARD_ARCH:
        image = build_image(args.board, args.out, arch, args.manifest)
    # Run from inside the image so `cp -r dockfw :` lands in :/dockfw, not :/flash/dockfw.
    entries = sorted(p.name for p in image.iterdir())
    proc = mpremote(args.port, "fs", "cp", "-r", *entries, ":", cwd=image)
    if proc.returncode != 0:
        return _failed("copying", args.port)
    return leave_safe_mode(args.port)


def _failed(what: str, port: str) -> int:
    print(
        "flash: mpremote failed at %s (is the dock plugged in? PORT=%s)" % (what, port),
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
