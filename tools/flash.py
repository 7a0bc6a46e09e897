"""``make flash``: compile the firmware and copy it onto a dock with mpremote.

The board's flash gets ``main.py`` (source, it runs at boot), ``dockfw/*.mpy``
(bytecode from mpy-cross: smaller and faster to import than source) and
``board.json`` (the chosen file from ``boards/``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import compile_firmware  # noqa: E402


def build_image(board: str, out: Path) -> Path:
    board_file = ROOT / "boards" / ("%s.json" % board)
    if not board_file.is_file():
        names = ", ".join(sorted(p.stem for p in (ROOT / "boards").glob("*.json")))
        raise SystemExit("flash: no board named %r (boards: %s)" % (board, names))
    shutil.rmtree(out, ignore_errors=True)
    errors = compile_firmware.compile_all(out)
    if errors:
        raise SystemExit("flash: firmware does not compile:\n" + "\n".join(errors))
    shutil.copy(board_file, out / "board.json")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", default="auto", help="serial port of the dock, or 'auto'")
    parser.add_argument("--board", default="pico-dock-4", help="board file name in boards/")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "flash")
    parser.add_argument(
        "--build-only", action="store_true", help="build the flash image, copy nothing"
    )
    args = parser.parse_args()
    image = build_image(args.board, args.out)
    if args.build_only:
        print("flash image in %s" % image)
        return 0
    mpremote = Path(sys.executable).with_name("mpremote")
    # Run from inside the image so `cp -r dockfw :` lands in :/dockfw, not :/flash/dockfw.
    entries = sorted(p.name for p in image.iterdir())
    cmd = [str(mpremote), "connect", args.port, "fs", "cp", "-r", *entries, ":", "+", "reset"]
    proc = subprocess.run(cmd, cwd=image)
    if proc.returncode != 0:
        print(
            "flash: mpremote failed (is the dock plugged in? PORT=%s)" % args.port, file=sys.stderr
        )
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
