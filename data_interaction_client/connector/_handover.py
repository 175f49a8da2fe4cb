"""What the runtime hands the writer: readings checked, each tag's watermark, the refusals said.

A reading a hook gave is checked once (`point_of`), then handed to the writer (`Handover.deliver`)
unless its tag's backfill window is open (then it is held, `BackfillWindows.hold`). The ``x`` of each
tag's last reading the writer took is its watermark, where a window that opens starts. A reading the
writer refuses is counted per tag and reason, said at ERROR at most once a second, and, when the
writer had no room, read again through ``backfill`` (a window opens). Under the core's flow lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    DataInteractionError,
    InvalidInputError,
    SpoolDiskFullError,
    WriterClosedError,
    WriterFullError,
)
from .._tag import Tag
from .._types import TagId, Timestamp
from . import _core
from ._backfill import BackfillWindows
from ._core import TaggedPoint, id_of, tag_text, wire_x
from ._model import reading_from

if TYPE_CHECKING:
    from ._metrics import Metrics

__all__ = ["Handover"]

_ROOM = ("disk_full", "spool_full")
"""The refusals for want of room: a window read again gives those readings once there is room."""


class Handover:
    """The readings of one run on their way to the writer.

    ``watermarks`` is each tag's watermark, which it keeps (the windows read it); ``tags`` gives the
    data source's tags now (a reading names one of them); ``flow`` is the core's lock of what flows
    to the writer.
    """

    def __init__(
        self,
        windows: BackfillWindows,
        watermarks: dict[TagId, Timestamp],
        tags: Callable[[], Mapping[TagId, Tag]],
        flow: threading.RLock,
    ) -> None:
        self.metrics: Metrics | None = None
        self.watermarks = watermarks  # the x of each tag's last reading the writer took
        self._windows = windows
        self._tags = tags
        self._flow = flow
        self._refusals: dict[str, dict[str, int]] = {}
        self._refusal_errors: dict[str, str] = {}
        self._read_again: set[str] = set()  # tags whose refused readings a window reads again
        self._refusals_said_at = 0.0

    def point_of(self, item: object, index: int, x: int | None, origin: str) -> TaggedPoint:
        """The point of one reading ``poll``, ``backfill`` or ``emit`` gave; ``x`` the default time.

        Raises [`InvalidInputError`][data_interaction_client.InvalidInputError] naming a bad reading.
        """
        reading = reading_from(item, index, self._tags())
        at = reading.x if reading.x is not None else x
        if at is None:
            raise InvalidInputError(f"{origin}() gave a reading of {reading.tag!r} without x")
        return (reading.tag, at, reading.y, reading.q)

    def points(self, items: Iterable[object] | None, x: int | None, origin: str) -> list[TaggedPoint]:
        """The points of what ``poll`` (or ``backfill``) gave; ``x`` the tick's, for readings without one.

        Raises [`InvalidInputError`][data_interaction_client.InvalidInputError] naming a bad reading.
        """
        if items is None:
            return []
        if isinstance(items, str | bytes | Mapping):
            raise InvalidInputError(
                f"poll() and backfill() give an iterable of readings, not {type(items).__name__}"
            )
        return [self.point_of(item, index, x, origin) for index, item in enumerate(items)]

    def deliver(self, writer: Any, points: list[TaggedPoint], origin: str, *, direct: bool = False) -> bool:
        """Hand ``points`` to the writer; ``False`` when it refused one for want of room.

        A point of a tag whose backfill window is open is held until that window is read, so that
        the tag's watermark never passes it; ``direct`` points (the window's own readings, the
        link's marks) go to the writer at once. Refused points are counted per tag and reason, said
        at ERROR (`report_refused`), and open a window when the connector can read them again.
        """
        now = time.monotonic()
        kept = 0
        room = True
        with self._flow:
            for point in points:
                tag_id = id_of(point[0])
                if not direct and self._windows.hold(tag_id, point):
                    continue
                try:
                    writer.write(*point)
                except DataInteractionError as exc:
                    if not self._refused(tag_id, exc, now):
                        room = False
                        if direct:
                            break
                    continue
                kept += 1
                if origin != "link_lost":
                    self.watermarks[tag_id] = wire_x(point[1])
            if self.metrics is not None and kept:
                self.metrics.readings.labels(origin).inc(kept)
            self.report_refused(now)
        return room

    def _refused(self, tag_id: TagId, error: DataInteractionError, now: float) -> bool:
        """Count a refused point; ``False`` when it was refused for want of room."""
        reason = _refusal_reason(error)
        if self.metrics is not None:
            self.metrics.readings_refused.labels(reason).inc()
        counts = self._refusals.setdefault(reason, {})
        text = tag_text(tag_id)
        counts[text] = counts.get(text, 0) + 1
        self._refusal_errors.setdefault(reason, str(error))
        if reason not in _ROOM:
            return True
        if self._windows.enabled:
            self._read_again.add(text)
            self._windows.wait_for_room(tag_id, now)
        return False

    def report_refused(self, now: float, *, force: bool = False) -> None:
        """Say the refused readings at ERROR, each counted once, at most once a second (flow lock held)."""
        if not self._refusals or (not force and now < self._refusals_said_at + 1.0):
            return
        for reason, counts in sorted(self._refusals.items()):
            total = sum(counts.values())
            per_tag = ", ".join(f"{tag}: {count}" for tag, count in sorted(counts.items()))
            again = [tag for tag in counts if tag in self._read_again]
            fate = (
                "read again through backfill() once there is room"
                if again
                else "lost: the connector has no backfill() to read them again"
                if reason in _ROOM
                else "lost"
            )
            _core.log.error(
                "the writer refused %d readings (%s; %s): %s; %s",
                total,
                reason.replace("_", " "),
                self._refusal_errors.get(reason, ""),
                per_tag,
                fate,
            )
        self._refusals = {}
        self._refusal_errors = {}
        self._read_again = set()
        self._refusals_said_at = now


def _refusal_reason(error: BaseException) -> str:
    if isinstance(error, SpoolDiskFullError):
        return "disk_full"
    if isinstance(error, WriterFullError):
        return "spool_full"
    if isinstance(error, WriterClosedError):
        return "closed"
    if isinstance(error, InvalidInputError):
        return "invalid"
    return "error"
