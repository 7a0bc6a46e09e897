"""Where the project's data lives: board files and example scenarios.

They are read from the package's ``data`` directory. In a clone its entries are symlinks
to the top-level ``boards/`` and ``scenarios/`` (the one copy that is edited); an
installed wheel holds the files themselves there, so the same path serves both.
"""

import os
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
BOARDS_DIR = Path(os.environ.get("POGODOCK_BOARDS", DATA_DIR / "boards"))
SCENARIOS_DIR = DATA_DIR / "scenarios"


def scenario_names() -> list[str]:
    """The example scenarios that come with pogodock, by name."""
    try:
        return sorted(p.stem for p in SCENARIOS_DIR.glob("*.json"))
    except OSError:
        return []


def scenario(arg: str) -> str:
    """A scenario argument as a path: a file that exists, else a packaged example's name
    (``demo`` or ``demo.json``); otherwise ``arg`` unchanged, for the loader to refuse."""
    if os.path.exists(arg) or os.sep in arg:
        return arg
    name = arg[:-5] if arg.endswith(".json") else arg
    if name in scenario_names():
        return str(SCENARIOS_DIR / (name + ".json"))
    return arg
