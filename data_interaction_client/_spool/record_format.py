"""The bytes of a record: how the points of its tags are laid out in ``tags`` and ``data``.

A record holds the points of one or more tags, at most ``batch_points`` of them (the writer's
option), in two byte strings the spool stores as they are:

- ``tags``: the JSON text ``[[tag id as on the wire, points, bytes], ...]``, one entry per part;
- ``data``: for each entry of ``tags``, in that order, its points as one JSON array (``[...]``, the
  checked wire dicts ``{"x", "y", "q"}``), one after the other, with nothing between them.

A tag may have more than one part in a record; its points are the parts' arrays joined, in order.
The writer encodes records (``_writer/records.py``) and joins their parts into request bodies without
decoding them; the spool reads them only to give back the points of a file that cannot be opened as
a spool (``salvage``). Nothing here does I/O.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson

from .._types import PointDict, TagId, tag_id_from
from .contract import Record

__all__ = ["RecordError", "RecordPart", "decode_points", "join_parts", "parts_of", "tight"]

_TIGHT_BELOW = 4096


def tight(encoded: bytes) -> bytes:
    """``encoded``, in a block of memory of its own size.

    orjson's output keeps the buffer it was written into, at least 4 KiB: a point or a timestamp
    encoded alone holds 4 KiB for its few bytes, 400 MB for one point of each of 100,000 tags.
    """
    return bytes(memoryview(encoded)) if len(encoded) < _TIGHT_BELOW else encoded


class RecordError(ValueError):
    """A record's bytes are not the layout above (it was damaged, or written by something else)."""


class RecordPart(NamedTuple):
    """The points of one tag in one record: the tag id as JSON, how many points, their JSON array."""

    tag: bytes
    points: int
    data: bytes | memoryview


def join_parts(parts: list[RecordPart]) -> tuple[bytes, bytes]:
    """The ``tags`` and ``data`` of a record made of ``parts``, in their order."""
    header = [[orjson.loads(part.tag), part.points, len(part.data)] for part in parts]
    return orjson.dumps(header), b"".join(bytes(part.data) for part in parts)


def parts_of(record: Record) -> list[RecordPart]:
    """The parts of a record (its arrays not copied); `RecordError` when its bytes are not the layout."""
    try:
        header = orjson.loads(record.tags)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"its tag list is not JSON ({exc})") from None
    data = memoryview(record.data)
    parts = []
    offset = 0
    total = 0
    if not isinstance(header, list) or not header:
        raise RecordError("its tag list is not a non-empty list")
    for entry in header:
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and type(entry[1]) is int
            and type(entry[2]) is int
            and entry[1] > 0
            and entry[2] >= 2
        ):
            raise RecordError(f"its tag list holds {entry!r}, not [tag, points, bytes]")
        wire, points, size = entry
        try:
            tag_id_from(wire)
        except ValueError as exc:
            raise RecordError(f"its tag list names no valid tag ({exc})") from None
        chunk = data[offset : offset + size]
        if len(chunk) != size or chunk[0] != ord("[") or chunk[-1] != ord("]"):
            raise RecordError("its points do not match its tag list")
        parts.append(RecordPart(tight(orjson.dumps(wire)), points, chunk))
        offset += size
        total += points
    if offset != len(data) or total != record.points:
        raise RecordError("its size or point count does not match its tag list")
    return parts


def decode_points(tags: bytes, data: bytes) -> dict[TagId, list[PointDict]]:
    """The points of a record's bytes by tag (a tag's arrays joined); `RecordError` if damaged."""
    record = Record(0, 0.0, 0, tags, data)
    try:
        header = orjson.loads(tags)
        record = Record(0, 0.0, sum(entry[1] for entry in header), tags, data)
    except (orjson.JSONDecodeError, TypeError, IndexError, KeyError) as exc:
        raise RecordError(f"its tag list cannot be read ({exc})") from None
    result: dict[TagId, list[PointDict]] = {}
    for part in parts_of(record):
        try:
            points = orjson.loads(part.data)
        except orjson.JSONDecodeError as exc:
            raise RecordError(f"its points are not JSON ({exc})") from None
        result.setdefault(tag_id_from(orjson.loads(part.tag)), []).extend(points)
    return result
