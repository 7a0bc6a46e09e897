"""``build/bench.json``: one JSON object, a number per metric, that every benchmark updates."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

BENCH_JSON = Path(__file__).resolve().parents[1] / "build" / "bench.json"


def merge_json(path: Path, figs: dict[str, float | None]) -> dict[str, Any]:
    """Update ``path`` (one JSON object of metrics) with ``figs``; None removes a key."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict):
                data = loaded
        except ValueError:
            data = {}
    for k, v in figs.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return data
