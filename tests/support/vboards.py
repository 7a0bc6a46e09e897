"""A ``pogodock vboard`` for a test: a scenario file for it, the vboard on its
pseudo-terminal (stopped as a person would, its stderr checked), a flash folder."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.procs import interrupt

ROOT = Path(__file__).resolve().parents[2]


def scenario(tmp_path: Path, dock_at: float = 0.3, **extra) -> str:
    obj = {
        "board": "pico-dock-4",
        "seed": 3,
        "duration_s": 600,
        "load": [[0, 0], [dock_at, 1500]],
        "events": [{"t": dock_at, "type": "dock"}],
        **extra,
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(obj))
    return str(path)


_links = itertools.count()


@contextmanager
def vboard(
    scenario_path: str, flash: Path | None = None, stderr: list[str] | None = None
) -> Iterator[str]:
    """A vboard on its port, named by a link beside the scenario file (never the bare
    ``/dev/pts/N``, which the kernel hands to another test's pty once this one is gone);
    its stderr lines are added to ``stderr`` at the end."""
    link = Path(scenario_path).with_name("ttyVBOARD%d" % next(_links))
    args = ["vboard", "--scenario", scenario_path, "--link", str(link)]
    if flash is not None:
        args += ["--flash", str(flash)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pogodock.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path == str(link), proc.communicate(timeout=10)
        assert os.readlink(link).startswith("/dev/pts/")
        yield path
        assert proc.poll() is None, "the vboard ended by itself"
    finally:
        interrupt(proc)
        _, err = proc.communicate()
        if stderr is not None:
            stderr += err.splitlines()
    assert proc.returncode == 130
    assert not os.path.lexists(link), "the vboard left its link behind"
    assert "Traceback" not in err
    assert "interpreter ended" not in err, err  # no crash and restart on the way


def flashed(tmp_path: Path, image: Path, main: str | None = None) -> Path:
    flash = tmp_path / "flash"
    shutil.copytree(image, flash)
    if main is not None:
        (flash / "main.py").write_text(main)
    return flash
