"""The work of ``send``: points from files to the platform, a chunk at a time, every row checked.

Rows are read ``chunk`` at a time; each chunk's points are grouped by tag and checked by the SDK
([`Tag.extend`][data_interaction_client.Tag.extend]); a bad row is reported with its file, line and field and
left out, the rest of the chunk is sent. Memory holds one chunk, whatever the size of the file. Where the
points go is a `Sink`: `open_sink` is the one place that chooses it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

import orjson

from data_interaction_client import (
    DataInteractionClient,
    InvalidInputError,
    InvalidPointError,
    Tag,
    TagId,
    WriterError,
    WriterTimeoutError,
)

from ._files import tag_text
from ._input_files import BadRow, FilePoint, InputFile
from ._times import format_time

__all__ = ["ClientSink", "SendReport", "Sink", "WriterSink", "open_sink", "send_files"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


class Sink(Protocol):
    """Where checked points go."""

    def send(self, tags: list[Tag]) -> int:
        """Send the tags' buffered points; return how many were sent."""
        ...

    def close(self) -> None:
        """Flush and release whatever the sink holds."""
        ...


class ClientSink:
    """Points sent at once with ``client.set_data``."""

    def __init__(self, client: DataInteractionClient) -> None:
        self.client = client

    def send(self, tags: list[Tag]) -> int:
        """One ``set_data`` of the chunk's tags (split by ``max_points_per_request``)."""
        return self.client.set_data(tags)

    def close(self) -> None:
        """Nothing to flush: every send has returned."""


class WriterSink:
    """Points handed to the store-and-forward writer on a spool directory: on disk first, then sent.

    Closing it waits up to ``flush_timeout`` seconds for the platform to accept every point; what it
    has not accepted by then stays in the spool, and the next writer on that directory sends it.
    """

    def __init__(self, client: DataInteractionClient, spool: str, flush_timeout: float) -> None:
        self.spool = spool
        self.flush_timeout = flush_timeout
        self.writer = client.writer(spool=spool, close_timeout=0)
        #: Points an earlier run left in the spool, delivered by this one too.
        self.left = self.writer.stats().pending_points

    def send(self, tags: list[Tag]) -> int:
        """Move the chunk's points into the writer (synced to disk within its commit interval)."""
        return self.writer.write_tags(tags)

    def close(self) -> None:
        """Wait for the platform to accept what was written, then close the writer (the spool stays)."""
        try:
            self.writer.sync()
            try:
                self.writer.flush(self.flush_timeout)
            except WriterTimeoutError as exc:
                pending = self.writer.stats().pending_points
                raise WriterTimeoutError(
                    f"{exc}; the {pending} points not yet accepted are kept in the spool {self.spool!r}: "
                    "run send again with --spool (or any writer on that directory) to deliver them"
                ) from None
            quarantined = self.writer.quarantined()
            if quarantined:
                refused = sum(batch.points for batch in quarantined)
                raise WriterError(
                    f"the platform refused {refused} points for good ({quarantined[0].error}); they are "
                    f"set aside in the spool {self.spool!r} (writer.quarantined() lists them)"
                )
        finally:
            self.writer.close()


def open_sink(
    client: DataInteractionClient, *, spool: str | None = None, flush_timeout: float = 60.0
) -> Sink:
    """The sink for ``send``'s options: ``set_data`` at once, or the writer on ``spool``."""
    if spool is None:
        return ClientSink(client)
    return WriterSink(client, spool, flush_timeout)


@dataclass
class SendReport:
    """What a ``send`` did, for its summary."""

    rows: int = 0
    points: int = 0
    sent: int = 0
    bad: int = 0
    tags: set[TagId] = field(default_factory=set)
    empty: list[str] = field(default_factory=list)  # the files without a row
    first: int | None = None
    last: int | None = None
    seconds: float = 0.0

    def times(self, xs: Iterable[Any]) -> None:
        """Widen the time range by checked timestamps (integers, or ISO text the SDK accepted)."""
        micros = [x if type(x) is int else _micros(x) for x in xs]
        if micros:
            low, high = min(micros), max(micros)
            self.first = low if self.first is None else min(self.first, low)
            self.last = high if self.last is None else max(self.last, high)

    def summary(self, dry_run: bool) -> str:
        """One line: points, tags, time range, seconds."""
        span = (
            f", {format_time(self.first)} .. {format_time(self.last)}"
            if self.first is not None and self.last is not None
            else ""
        )
        bad = f", {_count(self.bad, 'bad row')} left out" if self.bad else ""
        tags = _count(len(self.tags), "tag")
        if dry_run:
            return (
                f"checked {_count(self.rows, 'row')}: {_count(self.points, 'good point')} for {tags}{span}"
                f"{bad}; nothing sent (--dry-run), {self.seconds:.2f} s"
            )
        rate = f", {self.sent / self.seconds:,.0f} points/s" if self.seconds > 0 else ""
        return f"sent {_count(self.sent, 'point')} to {tags}{span}{bad} in {self.seconds:.2f} s{rate}"


def _count(number: int, noun: str) -> str:
    """``1 point``, ``2 points``."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def _micros(x: Any) -> int:
    """ISO text the SDK accepted, in microseconds (no zone means UTC)."""
    value = datetime.fromisoformat(str(x))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


class _Checker:
    """Turns the points read from a file into checked tags; reports each bad row once.

    ``allowed`` maps the tags of the data source given to their attributes (``None``: any tag, its
    values unchecked against a type); ``check_values=False`` takes any JSON value even then.
    """

    def __init__(
        self,
        file: InputFile,
        report: Callable[[str], None],
        allowed: Mapping[TagId, Mapping[str, Any]] | None,
        where: str,
        check_values: bool = True,
    ) -> None:
        self.file = file
        self.report = report
        self.allowed = allowed
        self.where = where
        self.check_values = check_values
        self.ids: dict[Any, TagId | InvalidInputError] = {}
        self.bad = 0
        self._pending: list[tuple[int, str]] = []

    def _bad(self, line: int, field_name: str | None, problem: str) -> None:
        self.bad += 1
        place = f"{self.file.path} row {line}" if self.file.kind == "parquet" else f"{self.file.path}:{line}"
        column = f", field {field_name!r}" if field_name else ""
        self._pending.append((line, f"{place}{column}: {problem}"))

    def _flush(self) -> None:
        """Report the chunk's bad rows in the order of the file."""
        for _, text in sorted(self._pending, key=lambda item: item[0]):
            self.report(text)
        self._pending.clear()

    def tag_id(self, file_point: FilePoint) -> TagId | None:
        key = file_point.tag if not isinstance(file_point.tag, dict) else repr(sorted(file_point.tag.items()))
        known = self.ids.get(key)
        if known is None:
            try:
                tag = file_point.tag
                if type(tag) is str and tag.startswith("{"):
                    try:
                        tag = orjson.loads(tag)
                    except orjson.JSONDecodeError:
                        raise InvalidInputError(
                            f"{tag!r} starts with '{{' but is not a tag path's JSON"
                        ) from None
                known = Tag(tag).id
                if self.allowed is not None and known not in self.allowed:
                    raise InvalidInputError(f"{_name(known)} is not a tag of {self.where}")
            except InvalidInputError as exc:
                known = exc
            self.ids[key] = known
        if isinstance(known, InvalidInputError):
            self._bad(file_point.line, "tag" if not self.file.wide else None, str(known))
            return None
        return known

    def tags(self, read_points: list[FilePoint], bad: list[BadRow]) -> list[Tag]:
        """The chunk's good points in one tag per tag id; every bad row reported."""
        for row in bad:
            self._bad(row.line, row.field, row.problem)
        groups: dict[TagId, tuple[list[dict[str, Any]], list[int]]] = {}
        for file_point in read_points:
            tag_id = self.tag_id(file_point)
            if tag_id is None:
                continue
            points, lines = groups.setdefault(tag_id, ([], []))
            point = {"x": file_point.x, "y": file_point.y}
            if file_point.q is not None:
                point["q"] = file_point.q
            points.append(point)
            lines.append(file_point.line)
        tags = []
        for tag_id, (points, lines) in groups.items():
            tag = self._tag(tag_id)
            try:
                tag.extend(points)
            except InvalidPointError:
                tag.extend(self._good(tag_id, points, lines))
            if len(tag):
                tags.append(tag)
        self._flush()
        return tags

    def _good(self, tag_id: TagId, points: list[dict[str, Any]], lines: list[int]) -> list[dict[str, Any]]:
        """The good points of a tag whose points hold a bad one; each bad one reported."""
        good = []
        probe = self._tag(tag_id)
        for point, line in zip(points, lines, strict=True):
            try:
                probe.update([point])
            except InvalidPointError as exc:
                field_name = exc.field
                if self.file.wide and field_name == "y":
                    field_name = _name(tag_id)
                self._bad(line, field_name, exc.problem.replace("check_values=False", "--no-check-values"))
            else:
                good.append(point)
        return good

    def _tag(self, tag_id: TagId) -> Tag:
        """A tag to check points with: the data source's attributes give its value type."""
        attributes = None if self.allowed is None else self.allowed.get(tag_id)
        return Tag(tag_id, attributes, check_values=self.check_values)


def _name(tag_id: TagId) -> str:
    return repr(tag_text(tag_id))


def send_files(
    files: list[InputFile],
    sink: Sink | None,
    *,
    chunk: int,
    report: Callable[[str], None],
    progress: Callable[[InputFile, int, int], None],
    tick: Callable[[InputFile, int], None] | None = None,
    allowed: Mapping[TagId, Mapping[str, Any]] | None = None,
    where: str = "",
    check_values: bool = True,
    result: SendReport | None = None,
) -> SendReport:
    """Read, check and (unless ``sink`` is ``None``: a dry run) send every file; return what was done.

    ``report`` gets one line per bad row; ``progress`` gets (file, position in it, points so far)
    after each chunk, ``tick`` (file, position) as the chunk is read. ``allowed`` maps the tags of a
    data source to their attributes: any other tag is a bad row, and values are checked against
    the tag's value type unless ``check_values`` is false. ``result`` (a new one by default) is kept
    up to date as chunks are sent, so that it says what was done even when a send fails: tags and
    times count once their points are sent.
    """
    result = SendReport() if result is None else result
    started = time.perf_counter()
    try:
        for file in files:
            checker = _Checker(file, report, allowed, where, check_values)
            ticks = None if tick is None else functools.partial(tick, file)
            before_rows = result.rows
            for read_points, bad, position, rows in file.chunks(chunk, ticks):
                result.rows += rows
                before = checker.bad
                tags = checker.tags(read_points, bad)
                result.bad += checker.bad - before
                result.points += sum(len(tag) for tag in tags)
                sent = [(tag.id, [point["x"] for point in tag.points]) for tag in tags]
                if sink is not None and tags:
                    result.sent += sink.send(tags)
                for tag_id, xs in sent:
                    result.tags.add(tag_id)
                    result.times(xs)
                progress(file, position, result.sent if sink is not None else result.points)
            if result.rows == before_rows:
                result.empty.append(file.path)
    finally:
        result.seconds = time.perf_counter() - started
    return result
