"""How the writer lays points out in spool records, and makes request bodies of records.

A record holds the points of one or more tags, at most ``batch_points`` of them, in the layout of
``_spool/record_format.py``: each tag's points as record parts, JSON arrays with a header that names
their tags.

The points are the checked wire dicts, encoded once (orjson): by ``write_points`` on the caller's
thread (`encode_parts`: the intake then holds `EncodedPart` bytes, not dicts), or by the committer
for the points of ``write`` and ``write_tags`` (`encode_records`). A request body (`RequestBody`) is
made of records by joining their parts' bytes, so no point is encoded twice: the arrays of one tag
across the records become one ``{"tagId": ..., "data": [...]}`` item, in the records' order, and each
tag's points keep the order they were written in. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson

from .._spool.contract import NewRecord, QuarantineEntry, Record
from .._spool.record_format import RecordPart, join_parts, tight
from .._types import PointDict, TagId, tag_id_from

__all__ = ["EncodedPart", "RequestBody", "encode_parts", "encode_records"]


class EncodedPart(NamedTuple):
    """Checked points of one tag encoded as a record part, before its record: count, array, last ``x``."""

    points: int
    data: bytes
    last_x: bytes


def encode_parts(
    points: list[PointDict], batch_points: int
) -> tuple[list[EncodedPart], list[tuple[int, str]]]:
    """Encode checked points in arrays of at most ``batch_points``; also the points left out.

    The points left out are given as ``(index, why)``: only a dict changed by another thread while
    it was being checked can be one.
    """
    chunks: list[EncodedPart] = []
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
            chunks.append(EncodedPart(kept, tight(data), tight(orjson.dumps(chunk[last]["x"]))))
    return chunks, problems


class RequestBody:
    """The record parts sent in one request; ``source`` is the record the first part comes from.

    `join` makes the JSON of the ``set`` call of their bytes: no point is decoded or encoded again.
    """

    __slots__ = ("parts", "points", "source")

    def __init__(self, parts: list[RecordPart], source: Record) -> None:
        self.parts = parts
        self.source = source
        self.points = sum(part.points for part in parts)

    def join(self) -> bytes:
        """The body's bytes: one item per tag, its arrays joined in order (no point is re-encoded)."""
        by_tag: dict[bytes, list[bytes | memoryview]] = {}
        for part in self.parts:
            # The array without its brackets; ",".join glues the arrays of a tag into one.
            by_tag.setdefault(part.tag, []).append(part.data[1:-1])
        items = [
            b'{"tagId":' + tag + b',"data":[' + b",".join(arrays) + b"]}" for tag, arrays in by_tag.items()
        ]
        return b'{"data":[' + b",".join(items) + b"]}"

    def tag_ids(self) -> list[TagId]:
        """The tags of the body, in order, each once."""
        return [tag_id_from(orjson.loads(tag)) for tag in dict.fromkeys(part.tag for part in self.parts)]

    def split(self, *, points: bool) -> tuple[RequestBody, RequestBody] | None:
        """Two halves to send one after the other (the first holds the older points), or ``None``.

        Parts are split between the halves; with ``points``, a body of one part has its points split
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
            return RequestBody(parts[:cut], self.source), RequestBody(parts[cut:], self.source)
        (part,) = parts
        if not points or part.points < 2:
            return None
        decoded = orjson.loads(part.data)
        half = len(decoded) // 2
        first, second = orjson.dumps(decoded[:half]), orjson.dumps(decoded[half:])
        return (
            RequestBody([RecordPart(part.tag, half, first)], self.source),
            RequestBody([RecordPart(part.tag, len(decoded) - half, second)], self.source),
        )

    def quarantine_entry(self, error: str, status: int | None) -> QuarantineEntry:
        """The body's parts as a quarantine entry, in the record layout."""
        tags, data = join_parts(self.parts)
        return QuarantineEntry(
            record_id=self.source.id,
            created=self.source.created,
            points=self.points,
            tags=tags,
            data=data,
            error=error,
            status=status,
        )


def encode_records(
    by_tag: Sequence[tuple[str | dict[str, str], list[PointDict] | EncodedPart]], batch_points: int
) -> tuple[list[NewRecord], list[tuple[str | dict[str, str], int, str]]]:
    """Lay the points of each ``(tag id on the wire, points)`` out in records of at most ``batch_points``.

    ``points`` are wire dicts, or an `EncodedPart` array of at most ``batch_points`` (laid out as
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

    for wire, points in by_tag:
        if isinstance(points, EncodedPart):
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
