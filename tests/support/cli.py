"""The pogodock command line as a person runs it: ``python -m pogodock.cli``, in a
process of its own, from the repository's root unless ``cwd`` says where, its output
read as text. Other ``subprocess`` arguments pass through."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMMAND = (sys.executable, "-m", "pogodock.cli")


def run_cli(*args: str, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``pogodock ARGS`` run to its end; stdout and stderr captured unless ``kw`` says
    where else they go."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("cwd", ROOT)
    return subprocess.run([*COMMAND, *args], text=True, timeout=timeout, **kw)


def start_cli(*args: str, **kw: Any) -> subprocess.Popen[str]:
    """``pogodock ARGS`` started; stdout and stderr are pipes unless ``kw`` says else."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("cwd", ROOT)
    return subprocess.Popen([*COMMAND, *args], text=True, **kw)


def start_sim_pty(
    scenario: str, link: Path, *args: str, **kw: Any
) -> tuple[subprocess.Popen[str], str]:
    """``pogodock sim --pty`` on ``scenario``, its pty named by a symlink at ``link``:
    (the process, the path to open). Tests open the link, never ``/dev/pts/N``: once the
    sim has ended, the kernel hands that number to the next pty opened, often another
    test's, and a host still retrying the old path would read that test's dock."""
    proc = start_cli("sim", "--scenario", scenario, "--pty", "--link", str(link), *args, **kw)
    assert proc.stdout is not None
    path = proc.stdout.readline().strip()
    assert path == str(link), path
    return proc, path
