"""A ``set_data`` body turned into stored rows, in little memory: a typed fast path, the exact checks behind.

The body is decoded by msgspec straight into small structs (about 40 bytes a point plus its values,
where a dict per point costs over 180), checked and encoded point by point while the store writes
them, so a valid body peaks at a small multiple of its size (see ``tests/emulator/test_limits.py``).
Anything the fast path does not take as it is (a missing field, an unknown key, ``x: 1.0``, a value
out of range, a date that does not exist...) makes it give up: what it wrote is rolled back and the
exact checks of `_validation` run on the same bytes, to store the body or name what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import orjson

from ._config import tag_key
from ._json import dumps_text, number_error, value_problem
from ._timestamps import MAX_X, MIN_X, TimestampError, parse_iso
from ._validation import QUALITY_BOUNDS, TIMESTAMP_PATTERN

Row = tuple[int, str, int | None]


class _BodyPoint(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    x: int | str
    y: Any
    q: int | None = None


class _BodyTagPath(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    tagName: str
    parentObjectId: str


class _BodyItem(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    tagId: str | _BodyTagPath
    data: list[_BodyPoint]


class _Body(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    data: list[_BodyItem]


_DECODER = msgspec.json.Decoder(_Body)


class Unusual(Exception):
    """The fast path met something it leaves to the exact checks."""


def _rows(points: list[_BodyPoint]) -> Iterator[Row]:
    low, high = MIN_X, MAX_X
    q_low, q_high = QUALITY_BOUNDS
    dumps = orjson.dumps
    pattern = TIMESTAMP_PATTERN.search
    for point in points:
        x: Any = point.x
        if type(x) is int:
            if not low <= x <= high:
                raise Unusual
        else:
            if pattern(x) is None:
                raise Unusual
            try:
                x = parse_iso(x)
            except TimestampError:
                raise Unusual from None
        q = point.q
        if q is not None and not q_low <= q <= q_high:
            raise Unusual
        y = point.y
        kind = type(y)
        if (kind is list or kind is dict) and value_problem(y) is not None:
            raise Unusual
        try:
            text = dumps(y).decode()
        except TypeError:  # orjson refuses integers beyond 64 bits
            text = dumps_text(y)
        yield (x, text, q)


def fast_tag_rows(raw: bytes | bytearray) -> list[tuple[str, Iterator[Row]]] | None:
    """The ``(tag key, rows)`` of a plainly valid body, rows made lazily (they may raise `Unusual`).

    None when the body is not one the fast path takes as it is: leave it to the exact checks.
    `JSONError` for a number out of range (such as ``1e400``), which no check would take.
    """
    try:
        body = _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        if str(exc).startswith("Number out of range"):
            raise number_error(exc, raw) from None  # 1e400: no path takes it; this one names the point
        return None
    except (msgspec.DecodeError, RecursionError):
        return None
    if not body.data:
        return None
    tag_rows = []
    for item in body.data:
        tag = item.tagId
        if isinstance(tag, str):
            if not tag:
                return None
            key = tag_key(tag)
        else:
            if not (tag.tagName and tag.parentObjectId):
                return None
            key = tag_key({"tagName": tag.tagName, "parentObjectId": tag.parentObjectId})
        tag_rows.append((key, _rows(item.data)))
    return tag_rows
