"""Hypothesis strategies for command lines: JSON text, broken JSON, and bytes.

``lines()`` mixes four sources, each aimed at a different way a parser goes wrong:
JSON values written by CPython in many styles (NaN and lone surrogates included),
those texts mutated byte by byte, soups of JSON tokens, and arbitrary bytes.
``commands()`` builds command objects with every argument of any type, written and
sometimes mutated. The example count is ``POGODOCK_PROPERTY_EXAMPLES`` (default 150):
``make test`` stays quick, a longer hunt raises it.
"""

from __future__ import annotations

import json
import os

from dockfw import protocol
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("POGODOCK_PROPERTY_EXAMPLES", "150"))

# Every code point, lone surrogates included: the encoder must survive all of them.
any_char = st.characters(exclude_categories=())
texts = st.text(any_char, max_size=12)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def written(draw, value=values):
    """A value written as JSON text, as CPython writes it in one of many styles, as bytes."""
    v = draw(value)
    ascii_only = draw(st.booleans())
    indent = draw(st.sampled_from([None, None, 0, 1, "\t"]))
    seps = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]))
    text = json.dumps(v, ensure_ascii=ascii_only, indent=indent, separators=seps)
    # A lone surrogate written raw becomes bytes that are not UTF-8: the parser must refuse.
    return text.encode("utf-8", "surrogatepass")


_PIECES = [
    b"{", b"}", b"[", b"]", b":", b",", b'"', b"\\", b"\\u", b"d800", b"dc00", b"00e9",
    b"0", b"1", b"-", b"+", b".", b"e", b"E", b"true", b"false", b"null", b"NaN",
    b"Infinity", b" ", b"\t", b"\r", b"\n", b'"id"', b'"cmd"', b'"set"', b"1e400",
    b"\xc3\xa9", b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xff", b"\x00", b"\x1f",
    b"\x7f", b"'", b"/", b"//", b"/*", b"\xef\xbb\xbf",
]  # fmt: skip


@st.composite
def mutated(draw, source=None):
    """A text with a few bytes inserted, deleted or replaced."""
    data = bytearray(draw(source if source is not None else written()))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(_PIECES) | st.binary(min_size=1, max_size=2))
        if op == "insert" or not data:
            data[at:at] = piece
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 3))]
        else:
            data[at : at + len(piece)] = piece
    return bytes(data)


token_soup = st.lists(st.sampled_from(_PIECES), max_size=24).map(b"".join)


def lines():
    """Bytes worth handing a parser: JSON, nearly JSON, token soup and noise."""
    return (
        written()
        | mutated()
        | token_soup
        | st.binary(max_size=300)
        | written(st.lists(values, max_size=3))
    )


_ARG_KEYS = ["key", "value", "on", "pins", "id", "cmd", "pad", "Key"]


@st.composite
def command_object(draw):
    """A command object: a real or made-up command, arguments of any type."""
    obj = {}
    if draw(st.booleans()):
        obj["cmd"] = draw(st.sampled_from(protocol.COMMANDS) | scalars)
    if draw(st.booleans()):
        obj["id"] = draw(st.integers() | texts | scalars)
    for key in draw(st.lists(st.sampled_from(_ARG_KEYS), max_size=3)):
        obj[key] = draw(
            st.sampled_from(sorted(protocol.SETTINGS))
            | st.sampled_from(["VBUS1", "GND1", "GND2", "VBUS2"])
            | st.lists(st.sampled_from(["VBUS1", "GND2", "nope"]), max_size=3)
            | st.integers(-10, 30000)
            | st.floats(-10, 30000)
            | values
        )
    return obj


def commands():
    """Command lines as a host might send them, good and bad, under and over length."""
    objects = command_object()
    return written(objects) | mutated(written(objects)) | lines()
