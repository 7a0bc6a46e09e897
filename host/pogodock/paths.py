"""Where the project's data lives when the host runs from a clone."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOARDS_DIR = Path(os.environ.get("POGODOCK_BOARDS", ROOT / "boards"))
SCENARIOS_DIR = ROOT / "scenarios"
FIRMWARE_DIR = ROOT / "firmware"
