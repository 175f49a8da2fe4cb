"""Request validation against the contract's schemas, with a fast path for the bulk of a write.

The envelopes of every request are validated by jsonschema with the schemas of openapi.yaml. The points
of a write (possibly a million of them) are checked by `point_error`, a hand-written equivalent of
the ``Point`` schema that the test suite proves equivalent to jsonschema on generated examples. Then the
semantics the schema cannot express are checked: an ISO string must be a real instant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from jsonschema import ValidationError  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

from ._json import dumps_text, value_problem
from ._spec import integer_bounds, load_spec, schema_pattern, schema_validator
from ._timestamps import MAX_X, MIN_X, TimestampError, to_micros

TIMESTAMP_PATTERN = re.compile(schema_pattern("Timestamp"))
"""The contract's pattern of an ISO 8601 Timestamp."""
QUALITY_BOUNDS = integer_bounds("Quality")
"""The contract's bounds of a quality code."""
_Q_MIN, _Q_MAX = QUALITY_BOUNDS
_POINT_KEYS = frozenset(load_spec()["components"]["schemas"]["Point"]["properties"])
_MAX_MESSAGE = 300


class RequestError(ValueError):
    """A request body that breaks the contract; ``message`` names the field, e.g. ``body.data[0].x: ...``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def field_path(parts: Iterable[str | int]) -> str:
    """Render a path inside the body as ``body.data[0].data[3].x``."""
    text = "body"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def describe(error: ValidationError) -> str:
    """Turn a jsonschema error into a message that names the offending field."""
    path: list[str | int] = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [key for key in error.validator_value if key not in instance]
        return f"{field_path([*path, missing[0]])}: required property is missing"
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        extra = sorted(str(key) for key in instance if key not in known)
        return f"{field_path([*path, extra[0]])}: unexpected property"
    return f"{field_path(path)}: {_shorten(error.message)}"


def check_schema(name: str, body: Any, prefix: Sequence[str | int] = ()) -> None:
    """Raise `RequestError` when ``body`` does not follow ``#/components/schemas/<name>``."""
    try:
        error = best_match(schema_validator(name).iter_errors(body))
        message = None if error is None else describe(error)
    except RecursionError:  # quoting a deeply nested value in the message
        message = "body: nested too deeply"
    if message is not None:
        if prefix:
            message = field_path(prefix) + message[len("body") :]
        raise RequestError(message)


def _is_integer(value: Any) -> bool:
    # jsonschema's "integer": an int that is not a bool, or a float with no fraction.
    if isinstance(value, int):
        return not isinstance(value, bool)
    return isinstance(value, float) and value.is_integer()


def timestamp_error(value: Any) -> str | None:
    """Return why ``value`` is not a contract Timestamp (schema only), or None when it is one."""
    if isinstance(value, str):
        if TIMESTAMP_PATTERN.search(value) is None:
            return f"{_shorten(repr(value))} is not an ISO 8601 date and time"
        return None
    if _is_integer(value):
        if MIN_X <= value <= MAX_X:
            return None
        return f"{value!r} is out of range [{MIN_X}, {MAX_X}]"
    return f"{_shorten(repr(value))} is neither integer microseconds nor an ISO 8601 string"


def point_error(point: Any) -> tuple[str, str] | None:
    """Check one point against the ``Point`` schema; return ``(field, reason)`` or None when valid.

    ``field`` is the key at fault ("" for the point itself). Equivalent to jsonschema on ``Point``.
    """
    if not isinstance(point, dict):
        return "", f"{_shorten(repr(point))} is not an object"
    if "x" not in point:
        return "x", "required property is missing"
    if "y" not in point:
        return "y", "required property is missing"
    if len(point) > 2 and not _POINT_KEYS.issuperset(point):
        extra = sorted(str(key) for key in point if key not in _POINT_KEYS)
        return extra[0], "unexpected property"
    reason = timestamp_error(point["x"])
    if reason is not None:
        return "x", reason
    quality = point.get("q")
    if quality is not None:
        if not _is_integer(quality):
            return "q", f"{_shorten(repr(quality))} is not an integer or null"
        if not _Q_MIN <= quality <= _Q_MAX:
            return "q", f"{quality!r} is out of range [{_Q_MIN}, {_Q_MAX}]"
    return None


def check_set_envelope(body: Any) -> list[Any]:
    """Validate a ``SetDataRequest`` without its points (jsonschema); return its items.

    The points are left to `point_error` (or the fast path of `set_rows`).
    """
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        stripped = dict(body)
        stripped["data"] = [
            {**item, "data": []} if isinstance(item, dict) and isinstance(item.get("data"), list) else item
            for item in body["data"]
        ]
        check_schema("SetDataRequest", stripped)
        items: list[Any] = body["data"]
        return items
    check_schema("SetDataRequest", body)
    raise AssertionError("unreachable: a body that is no object with a data array breaks the schema")


def point_problem(point: Any, index: int, number: int) -> RequestError:
    """The error of a point that `point_error` or the conversion of its timestamp rejects."""
    problem = point_error(point)
    if problem is not None:
        field, reason = problem
        parts: list[str | int] = ["data", index, "data", number]
        if field:
            parts.append(field)
        return RequestError(f"{field_path(parts)}: {reason}")
    try:
        to_micros(point["x"])
    except TimestampError as exc:
        return RequestError(f"{field_path(['data', index, 'data', number, 'x'])}: {exc}")
    raise AssertionError("unreachable: the point is valid")


def encode_value(value: Any) -> str:
    """A point's ``y`` as JSON text; ``ValueError`` saying why it cannot be stored (nested too deeply)."""
    kind = type(value)
    if kind is list or kind is dict:
        problem = value_problem(value)
        if problem is not None:
            raise ValueError(problem)
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson refuses integers beyond 64 bits
        return dumps_text(value)


def iter_set_rows(points: list[Any], index: int) -> Iterator[tuple[int, str, int | None]]:
    """Validate the points of ``body.data[index]`` one by one and yield rows ``(x, y JSON text, q)``.

    The common point (integer x in range, optional integer q) is checked inline; any other goes through
    `point_error`, the equivalent of the ``Point`` schema, then the timestamp's conversion. Lazy,
    so that a million points never sit in memory twice: the store writes each row as it comes, and a
    bad point raises `RequestError` mid-write, which rolls the whole write back.
    """
    dumps = orjson.dumps
    low, high, q_low, q_high = MIN_X, MAX_X, _Q_MIN, _Q_MAX
    for number, point in enumerate(points):
        x: Any = None
        quality: Any = point
        if type(point) is dict and "y" in point:
            x = point.get("x")
            size = len(point)
            if size == 3:
                quality = point.get("q", point)
            elif size == 2:
                quality = None
        if not (
            type(x) is int
            and low <= x <= high
            and (quality is None or (type(quality) is int and q_low <= quality <= q_high))
        ):
            # The slow path: anything but the common point, valid or not.
            if point_error(point) is not None:
                raise point_problem(point, index, number)
            try:
                x = to_micros(point["x"])
            except TimestampError:
                raise point_problem(point, index, number) from None
            quality = point.get("q")
            quality = None if quality is None else int(quality)
        value = point["y"]
        kind = type(value)
        if kind is list or kind is dict:
            try:
                y = encode_value(value)
            except ValueError as exc:
                raise RequestError(f"{field_path(['data', index, 'data', number, 'y'])}: {exc}") from None
        else:
            try:
                y = dumps(value).decode()
            except TypeError:  # orjson refuses integers beyond 64 bits
                y = dumps_text(value)
        yield (x, y, quality)


def set_rows(points: list[Any], index: int) -> list[tuple[int, str, int | None]]:
    """All the rows of `iter_set_rows` at once (for tests and small bodies)."""
    return list(iter_set_rows(points, index))


def timestamp_micros(value: Any, parts: Sequence[str | int]) -> int:
    """Convert a schema-valid Timestamp to microseconds; a string that is no real instant raises 422."""
    try:
        return to_micros(value)
    except TimestampError as exc:
        raise RequestError(f"{field_path(parts)}: {exc}") from exc
