"""``make flash`` builds what goes on the board; the image must load in MicroPython."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import firmware_manifest  # noqa: E402
import flash  # noqa: E402


@pytest.mark.parametrize("board", ["pico-dock-4", "feather-kelvin-2"])
def test_the_flash_image_holds_main_the_compiled_firmware_and_the_board(tmp_path, board):
    image = flash.build_image(board, tmp_path / "flash")
    names = sorted(p.relative_to(image).as_posix() for p in image.rglob("*") if p.is_file())
    # The manifest's files, compiled but for main.py (the board runs main.py, not main.mpy),
    # and the board file: neither the manifest nor package.json goes on the board.
    compiled = [
        f.target if f.target == "main.py" else f.target[: -len(".py")] + ".mpy"
        for f in firmware_manifest.read(port=False).files
    ]
    assert names == sorted([*compiled, "board.json"])
    assert "main.py" in names and "dockfw/app.mpy" in names and "dockfw/rp2040.mpy" in names
    assert (image / "board.json").read_text() == (ROOT / "boards" / ("%s.json" % board)).read_text()
    # The image loads under MicroPython (built again, its machine code for this machine's
    # interpreter instead of the RP2040), and its board file parses there.
    image = flash.build_image(board, tmp_path / "host", "host")
    mp = Path(sys.executable).with_name("micropython")
    code = "import dockfw.app; from dockfw import board; print(board.load('board.json').name)"
    out = subprocess.run(
        [str(mp), "-X", "heapsize=192k", "-c", code],
        cwd=image,
        env=dict(os.environ, MICROPYPATH="."),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == board


def test_an_unknown_board_is_refused_in_one_sentence(tmp_path):
    with pytest.raises(SystemExit) as e:
        flash.build_image("pico-dock-99", tmp_path / "flash")
    assert "no board named 'pico-dock-99'" in str(e.value) and "pico-dock-4" in str(e.value)
