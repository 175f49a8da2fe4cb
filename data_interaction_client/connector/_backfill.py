"""The backfill windows: the stretches of a tag that the runtime reads again through ``backfill``.

A tag has at most one window: every sample after its ``watermark``, the earliest asked for, so that
no stretch is skipped. A window opens at the start (from the spool's watermark) and for each tag
added, for ticks missed, for a link lost, and for readings the writer refused for want of room; it
closes once ``backfill`` has read it whole. While it is open the tag's new readings are held (up to
`HOLD_CAP`), so that the tag's watermark never passes a sample not read; they are written when it
closes. Only a connector that defines ``backfill`` has windows. Everything here is under the core's
flow lock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import attrs

from .._tag import Tag
from .._types import TagId, Timestamp
from . import _core
from ._core import TaggedPoint, earlier, tag_text
from ._policy import ROOM_RETRY, source_retry_delay

__all__ = ["HOLD_CAP", "BackfillWindow", "BackfillWindows"]

HOLD_CAP = 10_000
"""Readings of a tag held while its window is read again; past it they are left to that backfill."""

_REASONS = {
    "start": "the start's catch-up",
    "missed": "ticks missed",
    "link": "the link was lost",
    "refused": "readings the writer refused",
}


@attrs.define
class BackfillWindow:
    """A window of one tag to read again through ``backfill``: every sample after ``watermark``."""

    watermark: Timestamp | None
    reason: str
    retry_at: float = 0.0
    failures: int = 0


class BackfillWindows:
    """The open windows of a run, and the readings held meanwhile.

    ``watermarks`` is each tag's watermark as the writer took its readings (`Handover` keeps it): a
    window that opens, or is read in part, starts there.
    """

    def __init__(
        self, *, enabled: bool, open_retry_max: float, watermarks: Mapping[TagId, Timestamp]
    ) -> None:
        self.enabled = enabled  # the connector defines backfill()
        self._open_retry_max = open_retry_max
        self._watermarks = watermarks
        self._windows: dict[TagId, BackfillWindow] = {}
        self._held: dict[TagId, list[TaggedPoint]] = {}
        self._overflowed: set[TagId] = set()  # tags whose held readings passed HOLD_CAP

    def get(self, tag_id: TagId) -> BackfillWindow | None:
        """The open window of ``tag_id``, if any."""
        return self._windows.get(tag_id)

    def held(self) -> int:
        """How many readings are held, all tags together."""
        return sum(len(points) for points in self._held.values())

    def start(self, tag_id: TagId, watermark: Timestamp | None) -> None:
        """``tag_id`` is read from ``watermark``, the spool's (a start, or a tag added)."""
        if self.enabled:
            self._windows[tag_id] = BackfillWindow(watermark, "start")

    def open(self, tag_id: TagId, reason: str, retry_at: float = 0.0) -> None:
        """``tag_id`` must be read again after its watermark; the earliest watermark asked for wins."""
        if not self.enabled:
            return
        watermark = self._watermarks.get(tag_id)
        window = self._windows.get(tag_id)
        if window is None:
            self._windows[tag_id] = BackfillWindow(watermark, reason, retry_at)
        elif earlier(watermark, window.watermark):
            window.watermark = watermark

    def wait_for_room(self, tag_id: TagId, now: float) -> None:
        """The writer refused a reading of ``tag_id`` for want of room: read it again in a while."""
        self.open(tag_id, "refused", now + ROOM_RETRY)
        window = self._windows.get(tag_id)
        if window is not None:
            window.retry_at = max(window.retry_at, now + ROOM_RETRY)

    def hold(self, tag_id: TagId, point: TaggedPoint) -> bool:
        """Hold ``point`` while its tag's window is open; ``False`` (not held) when the tag has none."""
        if not self.enabled or tag_id not in self._windows:
            return False
        held = self._held.setdefault(tag_id, [])
        if len(held) < HOLD_CAP:
            held.append(point)
        else:  # past it, the window is read again up to a later time: it gives them
            self._overflowed.add(tag_id)
        return True

    def forget(self, tag_id: TagId) -> None:
        """``tag_id`` was removed: nothing of it is read again or held."""
        self._windows.pop(tag_id, None)
        self._held.pop(tag_id, None)
        self._overflowed.discard(tag_id)

    def due(
        self, now: float, tags: Mapping[TagId, Tag], lost: Collection[TagId]
    ) -> list[tuple[Tag, Timestamp | None]]:
        """The windows to read now (tag, watermark) of ``tags`` whose link is not ``lost``."""
        return [
            (tags[tag_id], window.watermark)
            for tag_id, window in self._windows.items()
            if tag_id in tags and tag_id not in lost and window.retry_at <= now
        ]

    def next_due_in(self, now: float, tags: Iterable[TagId]) -> float | None:
        """Seconds until a window of ``tags`` waiting (for room, after a failure) is due (``None``: none)."""
        known = set(tags)
        times = [window.retry_at for tag_id, window in self._windows.items() if tag_id in known]
        return None if not times else max(0.0, min(times) - now)

    def done(
        self,
        tag: Tag,
        watermark: Timestamp | None,
        until: int,
        given: int,
        error: BaseException | None,
        room: bool,
        now: float,
    ) -> list[TaggedPoint]:
        """A window's ``backfill`` (after ``watermark``, up to ``until``) ended; what to write now.

        Read whole, it closes and gives the readings held meanwhile. Read in part (a failure, no
        room, readings left out of the held ones), it stays open from the tag's watermark now: what
        was given is kept.
        """
        window = self._windows.get(tag.id)
        if window is None:
            return []
        if error is None and room and tag.id in self._overflowed:
            # readings were left out of the held ones meanwhile: read on from here, up to now
            self._overflowed.discard(tag.id)
            window.watermark = self._watermarks.get(tag.id, window.watermark)
            return []
        if error is None and room:
            del self._windows[tag.id]
            if given or window.reason != "start":
                _core.log.info(
                    "backfill() of %r gave %d readings after %r up to %r (%s)",
                    tag_text(tag.id),
                    given,
                    watermark,
                    until,
                    _REASONS.get(window.reason, window.reason),
                )
            return self._held.pop(tag.id, [])
        window.watermark = self._watermarks.get(tag.id, window.watermark)
        if error is None:
            window.retry_at = now + ROOM_RETRY
            return []
        window.failures += 1
        delay = source_retry_delay(window.failures, self._open_retry_max)
        window.retry_at = now + delay
        _core.log.error(
            "backfill() of %r failed after %d readings: %s: %s; reading it again from %r in %.2g s",
            tag_text(tag.id),
            given,
            type(error).__name__,
            error,
            window.watermark,
            delay,
        )
        return []
