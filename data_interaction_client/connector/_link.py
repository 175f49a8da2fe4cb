"""The link to the data source: ok, opening or lost; its ``q=102`` marks; when to open it again.

The link is lost when a poll raises, when a hook raises `SourceLinkLost` or calls ``link_lost``;
each tag whose link goes gets one mark just after its last reading (or one per failed tick with
``link_lost_marks = "every_tick"``), and a backfill window from its watermark. It is back when a
poll works, when ``link_restored`` is called, or when a push source's reopen worked. A reopen
(close, then open) is asked for by a hook or after ``reopen_after`` failed polls, and waits longer
each time it does not bring the link back (`source_retry_delay`). Under the core's flow lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .._tag import Tag
from .._types import TagId, Timestamp
from . import _core
from ._backfill import BackfillWindows
from ._core import TaggedPoint, error_text, micros
from ._model import LINK_LOST
from ._policy import source_retry_delay
from ._settings import RunSettings

if TYPE_CHECKING:
    from ._metrics import Metrics

__all__ = ["SourceLink"]


class SourceLink:
    """The state of the link to the data source, shared by the hooks' thread and ``link_lost``'s callers.

    ``every_tick``: ``link_lost_marks = "every_tick"``; ``polls``: the connector defines ``poll``
    (else a reopen that subscribed again brings the link back).
    """

    def __init__(
        self,
        settings: RunSettings,
        flow: threading.RLock,
        windows: BackfillWindows,
        watermarks: Mapping[TagId, Timestamp],
        *,
        every_tick: bool,
        polls: bool,
    ) -> None:
        self.metrics: Metrics | None = None
        self.state = "opening"
        self.since: int | None = _core.wall_us()
        self.since_mono = time.monotonic()
        self.error: str | None = None
        self.failing_polls = 0
        self.lost: set[TagId] = set()  # the tags whose link is lost
        self.reopen: str | None = None  # why the connector is to be opened again
        self.every_tick = every_tick
        self._polls = polls
        self._settings = settings
        self._flow = flow
        self._windows = windows
        self._watermarks = watermarks
        self._reopens = 0  # in a row: each waits longer, until the link is back
        self._reopen_not_before = 0.0

    def down_for(self, now: float) -> float:
        """Seconds the link has been lost or opening (0 while it is ok)."""
        return 0.0 if self.state == "ok" else now - self.since_mono

    def opening(self, error: BaseException | None) -> None:
        """``open`` is being tried (again): the link shows "opening", with the last error."""
        if self.state != "opening":
            self._set("opening")
        if self.state == "opening" and self.metrics is not None:
            self.metrics.source_link_up.set(0)
        if error is not None:
            self.error = error_text(error)

    def opened(self) -> None:
        """``open`` worked: the link is up (unless a tag's link was said lost since)."""
        with self._flow:
            self.lost.clear()
            self.failing_polls = 0
            self._set("ok")

    def reopen_due(self, now: float) -> bool:
        """Whether to close and open the connector now (asked, and the last reopen's backoff over)."""
        return self.reopen is not None and now >= self._reopen_not_before

    def reopen_wanted(self, why: str) -> None:
        """Close and open the connector again (from any thread): a hook's `SourceLinkLost`, ``reopen()``."""
        with self._flow:
            if self.reopen is None:
                self.reopen = why

    def begin_reopen(self) -> str:
        """A reopen begins: why it was asked (a new ask from now on is a new reopen); counted."""
        with self._flow:
            why, self.reopen = self.reopen or "asked", None
        if self.metrics is not None:
            self.metrics.source_reopens.inc()
        return why

    def reopened(self, subscribed: bool) -> None:
        """A reopen's ``open`` (and ``subscribe``) worked.

        A push source's link is back; a polled one's when a poll works. The next reopen waits
        longer, until the link is back.
        """
        self._reopens += 1
        self._reopen_not_before = time.monotonic() + source_retry_delay(
            self._reopens, self._settings.open_retry_max
        )
        if not self._polls and subscribed:
            self.restored(None)
        elif self.state == "opening":
            self._set("lost")

    def lose(
        self, error: object, affected: list[Tag], everything: bool, x: int | None = None
    ) -> list[TaggedPoint]:
        """The link to ``affected`` (``everything``: to every tag) is lost: the ``q=102`` marks to write.

        One mark per tag when its link goes, just after its last reading (so that its watermark
        never passes a sample not read), unless ``every_tick`` asks for one per failed tick at ``x``.
        """
        with self._flow:
            newly = [tag for tag in affected if tag.id not in self.lost]
            every_tick = self.every_tick and x is not None
            marks: list[TaggedPoint] = []
            for tag in affected if every_tick else newly:
                if every_tick:
                    at = x
                else:
                    last = micros(self._watermarks.get(tag.id))
                    at = last + 1 if last is not None else _core.wall_us()
                marks.append((tag, at, None, LINK_LOST))
            for tag in newly:
                self._windows.open(tag.id, "link")
                self.lost.add(tag.id)
            text = None if error is None else error_text(error)
            if text is not None:
                self.error = text
            if self.state != "lost" and (newly or everything):
                self._set("lost")
                _core.log.error(
                    "the link to the data source is lost%s; %d tags get q=%d%s",
                    f" ({text})" if text else "",
                    len(affected),
                    LINK_LOST,
                    " at each failed tick until a poll works"
                    if self.every_tick
                    else (
                        ", and are read again through backfill() once it is back"
                        if self._windows.enabled
                        else ""
                    ),
                )
            return marks

    def restored(self, tags: Iterable[Tag] | None) -> None:
        """The link to ``tags`` (all: ``None``) works again."""
        with self._flow:
            if tags is None:
                self.lost.clear()
            else:
                self.lost.difference_update(tag.id for tag in tags)
            # After a reopen the link shows "opening" until the source is back: a push source says so here.
            if self.state in ("lost", "opening") and not self.lost:
                _core.log.warning(
                    "the link to the data source works again after %.1f s%s",
                    time.monotonic() - self.since_mono,
                    f" ({self.failing_polls} failed polls)" if self.failing_polls else "",
                )
                self._set("ok")
            self.failing_polls = 0
            if self.state == "ok":
                self._reopens = 0

    def poll_worked(self) -> None:
        """A poll returned: the link works again, if it was lost."""
        if self.failing_polls or self.state == "lost":
            self.restored(None)

    def poll_failed(self, error: BaseException, tags: list[Tag], x: int) -> list[TaggedPoint]:
        """A poll of ``tags`` at tick ``x`` raised: the link is lost (its marks); a reopen after a few."""
        self.failing_polls += 1
        marks = self.lose(error, tags, everything=False, x=x)
        after = self._settings.reopen_after
        if after and self.failing_polls % after == 0:
            self.reopen_wanted(f"{self.failing_polls} polls failed in a row")
        return marks

    def _set(self, state: str) -> None:
        if (state == "ok") != (self.state == "ok") or self.since is None:
            self.since_mono = time.monotonic()  # lost and opening are one outage
            self.since = _core.wall_us()
        self.state = state
        if state == "ok":
            self.error = None
        if self.metrics is not None:
            self.metrics.source_link_up.set(1 if state == "ok" else 0)
