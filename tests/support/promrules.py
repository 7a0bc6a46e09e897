"""prometheus/pogodock-rules.yml, and the metric names its alert rules read."""

from __future__ import annotations

import re
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "prometheus" / "pogodock-rules.yml"


def rule_metrics(text: str) -> set[str]:
    """The metric names the rules' expressions read (the file keeps them on expr lines)."""
    exprs = re.findall(r"expr: (?:>-\n((?:\s{10}.*\n)+)|(.*)\n)", text)
    return {m for block in exprs for m in re.findall(r"\b(pogodock_\w+|up)\b", "".join(block))}
