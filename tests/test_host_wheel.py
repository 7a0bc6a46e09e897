"""pogodock installed from its wheel, away from the clone: board files and example
scenarios travel in the wheel, and ``pogodock sim`` runs on them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from (pyproject.toml names README.md as the long description).
SOURCES = ["pyproject.toml", "README.md", "host", "sim", "firmware", "boards", "scenarios"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "POGODOCK_BOARDS", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def test_the_wheel_carries_boards_and_scenarios_and_sim_runs_from_it(tmp_path):
    """Builds the wheel as ``pip install .`` would (pip's isolated build with the current
    setuptools, fetched from the package index), installs it with ``--no-deps`` into a
    fresh virtual env, and runs ``pogodock sim`` there from a folder outside the clone.

    The dependencies (pyserial, textual, matplotlib, ...) come from this project's own
    environment, seen through a ``.pth`` line naming its site-packages: a plain path, so
    that folder's own ``.pth`` files (the clone's editable install among them) are not
    run, and the fresh env's site-packages, holding the wheel, comes first on sys.path.
    This tests what the wheel carries, not dependency resolution, and needs no second
    download of matplotlib. PYTHONPATH is cleared so that nothing of the clone is seen.
    """
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            # symlinks=True: host/pogodock/data's links point into the copy, as in a clone.
            shutil.copytree(
                path, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(path, src / name)
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-q", "-w", str(dist), str(src)],
        env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("pogodock-*.whl")
    # Every module of the package, in whichever of its folders: a folder that
    # pyproject.toml's package list leaves out is missing from the wheel alone.
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for source in (ROOT / "host").rglob("*.py"):
        assert source.relative_to(ROOT / "host").as_posix() in shipped, source

    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        env=_env(), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "project-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--no-index",
         "--disable-pip-version-check", "-q", str(wheel)],
        env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr

    away = tmp_path / "elsewhere"
    away.mkdir()
    where = subprocess.run(
        [str(py), "-c", "import pogodock.paths as p; print(p.BOARDS_DIR); print(p.SCENARIOS_DIR)"],
        cwd=away, env=_env(), capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for folder in where:
        assert Path(folder).resolve().is_relative_to(venv.resolve()), folder
    boards = Path(where[0])
    assert (boards / "pico-dock-4.json").is_file()
    assert not (boards / "pico-dock-4.json").is_symlink()  # the file itself, not a link

    sim = subprocess.run(
        [str(venv / "bin" / "pogodock"), "sim", "--scenario", "misalign", "--fast"],
        cwd=away, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    records = [json.loads(line) for line in sim.stdout.splitlines() if line.startswith("{")]
    hello = next(r for r in records if r["type"] == "hello")
    assert hello["board"] == "pico-dock-4"
    assert sum(r["type"] == "sample" for r in records) >= 10
    assert any(r["type"] == "event" and r["kind"] == "misalignment" for r in records)

    # By path too: the packaged example's file, as a user would copy and edit it.
    path = Path(where[1]) / "misalign.json"
    again = subprocess.run(
        [str(venv / "bin" / "pogodock"), "sim", "--scenario", str(path), "--fast"],
        cwd=away, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert '"type":"hello"' in again.stdout
