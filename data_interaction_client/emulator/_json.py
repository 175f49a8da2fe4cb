"""JSON encoding and decoding, with errors that say what is wrong and where.

Decoding uses msgspec: it keeps integers of any size exactly (JSON allows them), refuses NaN, Infinity and
numbers beyond a double's range (``1e400``) instead of storing them as something else, and names the
place of a bad number. Encoding uses orjson, with the standard library for what orjson refuses (integers
beyond 64 bits). A value nested deeper than [`MAX_DEPTH`][data_interaction_client.emulator.MAX_DEPTH] levels
is refused either way, so that no later step (encoding, comparing, quoting it in a message) can run out of
stack.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import orjson

MAX_DEPTH = 254
"""The deepest nesting of arrays and objects a stored value (or a ``value`` filter) may have; orjson's own
limit, so that whatever the SDK can encode, the platform can store."""

_DECODER = msgspec.json.Decoder()
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class JSONError(ValueError):
    """A body that is not JSON the platform can take; ``path`` is where, e.g. ``.data[0].data[3].y``."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.reason = reason
        self.path = path


def number_error(error: msgspec.ValidationError, data: bytes | bytearray | memoryview | str) -> JSONError:
    """The error of a number msgspec finds out of range (``1e400``), placed as precisely as it can be."""
    match = _AT.search(str(error))
    # msgspec writes [...] for object keys it does not know (untyped decoding): keep the path up to there.
    path = match.group("path").split("[...]")[0] if match else ""
    where = ""
    if not path:
        try:
            orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            where = f" at character {exc.pos}"
    return JSONError(f"a number is out of range{where} (JSON numbers here must be finite doubles)", path)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON text; raise `JSONError` when it is not JSON or holds an unusable number."""
    try:
        return _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        # Untyped decoding fails validation only on a number out of range, e.g. 1e400.
        raise number_error(exc, data) from None
    except msgspec.DecodeError as exc:
        raise JSONError(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise JSONError(f"nested too deeply (a value may nest at most {MAX_DEPTH} levels)") from None


def depth(value: Any) -> int:
    """How many levels of arrays and objects ``value`` nests (0 for a scalar), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, level = pop()
        if type(item) is list:
            children: Any = item
        elif type(item) is dict:
            children = item.values()
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        for child in children:
            if type(child) is list or type(child) is dict:
                push((child, level))
    return deepest


def value_problem(value: Any) -> str | None:
    """Why a JSON value cannot be stored or compared (too deep), or None."""
    if (type(value) is list or type(value) is dict) and depth(value) > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    return None


def dumps(value: Any) -> bytes:
    """Encode a value as compact JSON bytes."""
    try:
        return orjson.dumps(value)
    except TypeError:
        # orjson refuses integers beyond 64 bits (and values nested deeper than MAX_DEPTH, refused earlier).
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def dumps_text(value: Any) -> str:
    """Encode a value as compact JSON text."""
    return dumps(value).decode("utf-8")
