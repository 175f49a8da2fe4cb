"""How the writer lays points out in spool records, and makes request bodies of records.

A record holds the points of one or more tags, at most ``batch_points`` of them:

- ``tags``: the JSON text ``[[tag id as on the wire, points, bytes], ...]``;
- ``data``: for each tag of ``tags``, in that order, its points as one JSON array, one after the other.

The points are the checked wire dicts, encoded once (orjson): by ``write_points`` on the caller's
thread (`encode_chunks`: the intake then holds bytes, not dicts), or by the committer for the
points of ``write`` and ``write_tags``. A request body
is made of records by joining their bytes, so no point is encoded twice: the arrays of one tag across
the records become one ``{"tagId": ..., "data": [...]}`` item, in the records' order, and each tag's
points keep the order they were written in. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson

from .._spool.contract import NewRecord, QuarantineEntry, Record
from .._types import PointDict, TagId, tag_id_from

__all__ = [
    "Encoded",
    "Part",
    "Piece",
    "RecordError",
    "decode_points",
    "encode_chunks",
    "encode_records",
    "parts_of",
    "tight",
]


_TIGHT_BELOW = 4096


def tight(encoded: bytes) -> bytes:
    """``encoded``, in a block of memory of its own size.

    orjson's output keeps the buffer it was written into, at least 4 KiB: a point or a timestamp
    encoded alone holds 4 KiB for its few bytes, 400 MB for one point of each of 100,000 tags.
    """
    return bytes(memoryview(encoded)) if len(encoded) < _TIGHT_BELOW else encoded


class RecordError(ValueError):
    """A record's bytes are not the layout above (it was damaged, or written by something else)."""


class Encoded(NamedTuple):
    """Checked points of one tag already encoded: their count, their JSON array, the last one's ``x``."""

    points: int
    data: bytes
    last_x: bytes


def encode_chunks(points: list[PointDict], batch_points: int) -> tuple[list[Encoded], list[tuple[int, str]]]:
    """Encode checked points in arrays of at most ``batch_points``; also the points left out.

    The points left out are given as ``(index, why)``: only a dict changed by another thread while
    it was being checked can be one.
    """
    chunks: list[Encoded] = []
    problems: list[tuple[int, str]] = []
    size = len(points)
    for start in range(0, size, batch_points):
        chunk = points if start == 0 and size <= batch_points else points[start : start + batch_points]
        found: list[tuple[str | dict[str, str], int, str]] = []
        data, kept = _encode("", chunk, start, found)
        problems += [(index, why) for _, index, why in found]
        if kept:
            left_out = {index - start for _, index, _ in found}
            last = max(i for i in range(len(chunk)) if i not in left_out) if found else len(chunk) - 1
            chunks.append(Encoded(kept, tight(data), tight(orjson.dumps(chunk[last]["x"]))))
    return chunks, problems


class Part(NamedTuple):
    """The points of one tag in one record: the tag id as JSON and the points' JSON array."""

    tag: bytes
    points: int
    data: bytes | memoryview


class Piece:
    """Parts sent in one request; ``source`` is the record the first part comes from."""

    __slots__ = ("parts", "points", "source")

    def __init__(self, parts: list[Part], source: Record) -> None:
        self.parts = parts
        self.source = source
        self.points = sum(part.points for part in parts)

    def body(self) -> bytes:
        """The request body: one item per tag, its arrays joined in order (no point is re-encoded)."""
        groups: dict[bytes, list[bytes | memoryview]] = {}
        for part in self.parts:
            # The array without its brackets; ",".join glues the arrays of a tag into one.
            groups.setdefault(part.tag, []).append(part.data[1:-1])
        items = [
            b'{"tagId":' + tag + b',"data":[' + b",".join(chunks) + b"]}" for tag, chunks in groups.items()
        ]
        return b'{"data":[' + b",".join(items) + b"]}"

    def tag_ids(self) -> list[TagId]:
        """The tags of the piece, in order, each once."""
        return [tag_id_from(orjson.loads(tag)) for tag in dict.fromkeys(part.tag for part in self.parts)]

    def split(self, *, points: bool) -> tuple[Piece, Piece] | None:
        """Two halves to send one after the other (the first holds the older points), or ``None``.

        Parts are split between the halves; with ``points``, a piece of one part has its points split
        (decoded and encoded again: for a request the platform found too large); one point cannot be
        split.
        """
        parts = self.parts
        if len(parts) > 1:
            total = 0
            cut = 1
            for cut, part in enumerate(parts[:-1], start=1):  # noqa: B007 - cut is used after the loop
                total += part.points
                if total * 2 >= self.points:
                    break
            return Piece(parts[:cut], self.source), Piece(parts[cut:], self.source)
        (part,) = parts
        if not points or part.points < 2:
            return None
        decoded = orjson.loads(part.data)
        half = len(decoded) // 2
        first, second = orjson.dumps(decoded[:half]), orjson.dumps(decoded[half:])
        return (
            Piece([Part(part.tag, half, first)], self.source),
            Piece([Part(part.tag, len(decoded) - half, second)], self.source),
        )

    def quarantine_entry(self, error: str, status: int | None) -> QuarantineEntry:
        """The piece as a quarantine entry, in the record layout."""
        header = [[orjson.loads(part.tag), part.points, len(part.data)] for part in self.parts]
        return QuarantineEntry(
            record_id=self.source.id,
            created=self.source.created,
            points=self.points,
            tags=orjson.dumps(header),
            data=b"".join(self.parts_data()),
            error=error,
            status=status,
        )

    def parts_data(self) -> list[bytes]:
        """Each part's array as bytes."""
        return [bytes(part.data) for part in self.parts]


def encode_records(
    groups: Sequence[tuple[str | dict[str, str], list[PointDict] | Encoded]], batch_points: int
) -> tuple[list[NewRecord], list[tuple[str | dict[str, str], int, str]]]:
    """Lay the points of each ``(tag id on the wire, points)`` out in records of at most ``batch_points``.

    ``points`` are wire dicts, or an `Encoded` array of at most ``batch_points`` (laid out as
    it is: a record that could not hold it all is closed first). Returns the records and the points
    that could not be encoded as ``(tag, index, why)``: only a dict changed after it was given can
    be one (every point is checked when it is given); it is left out, the other points go on.
    """
    records: list[NewRecord] = []
    problems: list[tuple[str | dict[str, str], int, str]] = []
    header: list[list[Any]] = []
    chunks: list[bytes] = []
    count = 0

    def close_record() -> None:
        nonlocal header, chunks, count
        if count:
            records.append(NewRecord(count, orjson.dumps(header), b"".join(chunks)))
        header, chunks, count = [], [], 0

    for wire, points in groups:
        if isinstance(points, Encoded):
            if count + points.points > batch_points:
                close_record()
            header.append([wire, points.points, len(points.data)])
            chunks.append(points.data)
            count += points.points
            if count >= batch_points:
                close_record()
            continue
        start = 0
        size = len(points)
        while start < size:
            take = min(size - start, batch_points - count)
            chunk = points if start == 0 and take == size else points[start : start + take]
            encoded, kept = _encode(wire, chunk, start, problems)
            if kept:
                header.append([wire, kept, len(encoded)])
                chunks.append(encoded)
                count += kept
            start += take
            if count >= batch_points:
                close_record()
    close_record()
    return records, problems


def _encode(
    wire: str | dict[str, str],
    points: list[PointDict],
    offset: int,
    problems: list[tuple[str | dict[str, str], int, str]],
) -> tuple[bytes, int]:
    """``points`` as one JSON array and how many it holds; points that cannot be encoded left out."""
    try:
        return tight(orjson.dumps(points)), len(points)
    except orjson.JSONEncodeError:
        pass
    good: list[bytes] = []
    for index, point in enumerate(points):
        try:
            good.append(orjson.dumps(point))
        except orjson.JSONEncodeError as exc:
            problems.append((wire, offset + index, str(exc)))
    return b"[" + b",".join(good) + b"]", len(good)


def parts_of(record: Record) -> list[Part]:
    """The parts of a record; `RecordError` when its bytes are not the layout."""
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
        parts.append(Part(tight(orjson.dumps(wire)), points, chunk))
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
