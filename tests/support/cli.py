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
