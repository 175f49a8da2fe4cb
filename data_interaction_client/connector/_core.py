"""The runtime's shared vocabulary: its logger and clocks, the point it hands the writer, the schedule.

The run's state is `_state.Core`, composed of one object per role, each in its module and each with
a few public methods: `_platform.Reachability` (does the platform answer, is the token taken),
`_link.SourceLink` (the link to the data source, its ``q=102`` marks, reopens),
`_backfill.BackfillWindows` (the windows read again through ``backfill``) and `_handover.Handover`
(what goes to the writer: each tag's watermark, the readings refused). The drivers (`_async`, and
`_sync` generated from it) wait and call; every decision and every log line is made in those
modules, so both twins behave alike. The roles log through this module's `log` (``_core.log``), the
connector runtime's logger, and read the wall clock through `wall_us`, which tests may step.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

from .._tag import Tag
from .._types import TagId, Timestamp, datetime_to_micros, tag_id_from, timestamp_micros

__all__ = [
    "EMIT_AFTER_STOP",
    "TICK_WAIT",
    "Schedule",
    "TagChanges",
    "TaggedPoint",
    "earlier",
    "error_text",
    "id_of",
    "iso",
    "log",
    "micros",
    "now_us",
    "tag_text",
    "wall_us",
    "wire_x",
]

log = logging.getLogger("data_interaction_client.connector")

TICK_WAIT = 1.0
"""The longest wait of the hooks' loop: refused readings are said and windows retried this often."""
EMIT_AFTER_STOP = "emit(): the run is stopping; a reading emitted after the stop began is not kept"

TaggedPoint = tuple[Any, Any, Any, int | None]
"""(tag, x, y, q) as handed to the writer."""
TagChanges = tuple[list[Tag], list[Tag], list[Tag]]
"""The tags added, removed and changed by a refresh of the data source."""


def wall_us() -> int:
    """The wall clock in integer microseconds."""
    return time.time_ns() // 1000


def now_us() -> int:
    """The wall clock in integer microseconds, as the runtime reads it (`wall_us`, which tests may step)."""
    return wall_us()


class Schedule:
    """Ticks every ``interval`` seconds on the monotonic clock, first at a whole multiple of it in wall time.

    Fixed rate, no drift: tick ``n`` is due at ``start + n * interval`` on the monotonic clock. A
    tick's ``x`` is the wall clock when it is taken, rounded to the nearest whole multiple of the
    interval, so that a stepped wall clock (NTP correcting a wrong boot clock) stamps the next tick
    right. A poll that runs past the next ticks skips them (counted).
    """

    def __init__(self, interval: float, monotonic: float, wall_us: int) -> None:
        self.interval_us = max(1, round(interval * 1_000_000))
        first = -(-wall_us // self.interval_us) * self.interval_us  # the next whole multiple
        self._mono0 = monotonic + (first - wall_us) / 1_000_000
        self._n = 0

    def due(self) -> float:
        """The monotonic time the next tick is due."""
        return self._mono0 + self._n * self.interval_us / 1_000_000

    def take(self, wall_us: int) -> int:
        """Take the due tick at wall time ``wall_us``; return its ``x``."""
        self._n += 1
        step = self.interval_us
        return (wall_us + step // 2) // step * step

    def late(self, monotonic: float) -> bool:
        """Whether the next tick is already due (the one taken last is a whole interval late)."""
        return monotonic >= self.due()

    def skip_missed(self, monotonic: float) -> int:
        """Skip the ticks due before ``monotonic`` (a poll ran past them); return how many."""
        passed = math.floor((monotonic - self._mono0) * 1_000_000 / self.interval_us) + 1
        skipped = max(0, passed - self._n)
        self._n += skipped
        return skipped


def tag_text(tag_id: TagId) -> str:
    """A tag's id as the log lines show it."""
    return tag_id if isinstance(tag_id, str) else f"{tag_id.parent_object_id}/{tag_id.tag_name}"


def id_of(tag: object) -> TagId:
    """The id of a point's tag (a `Tag`, or anything a tag id is made from)."""
    return tag.id if isinstance(tag, Tag) else tag_id_from(tag)


def wire_x(x: object) -> Timestamp:
    """A reading's ``x`` as the writer's watermark gives it (integer microseconds, or the string)."""
    if isinstance(x, datetime):
        return datetime_to_micros(x)
    if isinstance(x, int | str):
        return x
    return str(x)


def micros(x: Timestamp | None) -> int | None:
    """``x`` in integer microseconds; ``None`` when it is ``None`` or not a time."""
    if x is None:
        return None
    try:
        return timestamp_micros(x)
    except (ValueError, TypeError):
        return None


def earlier(a: Timestamp | None, b: Timestamp | None) -> bool:
    """Whether ``a`` is before ``b`` (``None``: before everything)."""
    if a is None:
        return b is not None
    if b is None:
        return False
    ma, mb = micros(a), micros(b)
    return ma is not None and mb is not None and ma < mb


def error_text(error: object) -> str:
    """An error as the log lines and the health report show it."""
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return str(error)


def iso(wall: int | None) -> str | None:
    """A wall time in microseconds as ISO 8601 in UTC, to the millisecond."""
    if wall is None:
        return None
    return (
        datetime.fromtimestamp(wall / 1_000_000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
