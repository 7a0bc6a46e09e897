"""The reference for strict command JSON: CPython's ``json`` with strict hooks.

``reference(line)`` accepts exactly what ``dockfw.strictjson.parse`` must accept, and
returns the same value: CPython's parser (strict about control characters, whitespace
and grammar) on text decoded as strict UTF-8, refusing on top what the dock refuses:
NaN and Infinity, numbers beyond the float range, duplicate keys, lone surrogates,
nesting deeper than ``MAX_DEPTH`` and more than ``MAX_VALUES`` values. ``same(a, b)``
compares two parsed values by type and value (1 and 1.0 differ, so do 0.0 and -0.0).
"""

from __future__ import annotations

import json
import math
from typing import Any

from dockfw.strictjson import MAX_DEPTH, MAX_VALUES


class Refused(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise Refused("duplicate key %r" % k)
        out[k] = v
    return out


def _constant(name: str) -> float:
    raise Refused("%s is not JSON" % name)


def _finite(text: str) -> float:
    v = float(text)
    if math.isinf(v):
        raise Refused("%s is out of range" % text)
    return v


def _surrogate(s: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def _check(v: Any, depth: int) -> None:
    if isinstance(v, str):
        if _surrogate(v):
            raise Refused("lone surrogate")
    elif isinstance(v, (dict, list)):
        if depth + 1 > MAX_DEPTH:
            raise Refused("too deep")
        items = v.items() if isinstance(v, dict) else ((None, x) for x in v)
        for k, x in items:
            if k is not None and _surrogate(k):
                raise Refused("lone surrogate in a key")
            _check(x, depth + 1)


def _count(v: Any) -> int:
    if isinstance(v, dict):
        return 1 + sum(_count(x) for x in v.values())
    if isinstance(v, list):
        return 1 + sum(_count(x) for x in v)
    return 1


def reference(line: bytes, command: bool = True) -> Any:
    """The value of ``line`` read strictly; raises ValueError when it is refused.
    ``command=False`` reads a line from the dock: strict JSON in strict UTF-8, without
    the limits of depth and value count that only command lines have."""
    text = line.decode("utf-8")  # strict: no overlong forms, surrogates or > U+10FFFF
    value = json.loads(
        text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_finite
    )
    _check(value, 0 if command else -100)
    if command and _count(value) > MAX_VALUES:
        raise Refused("more than %d values" % MAX_VALUES)
    return value


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b
