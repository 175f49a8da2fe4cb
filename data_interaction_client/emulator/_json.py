"""JSON encoding and decoding: orjson, with the standard library for what orjson refuses (big integers)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Decode JSON text; raise ``ValueError`` when it is not JSON (NaN and Infinity are not)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits, which JSON allows; the standard library takes them.
        return json.loads(data, parse_constant=_reject_constant)


def dumps(value: Any) -> bytes:
    """Encode a value as compact JSON bytes."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def dumps_text(value: Any) -> str:
    """Encode a value as compact JSON text."""
    return dumps(value).decode("utf-8")
