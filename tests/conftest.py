import sys
from pathlib import Path

import pogodock  # noqa: F401  (installs the micropython shim the firmware imports)
import pytest

ROOT = Path(__file__).resolve().parents[1]
# tests/mp/ is tier B: plain functions for the MicroPython runner (tools/mptest.py).
collect_ignore = ["mp"]
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture
def root() -> Path:
    return ROOT
