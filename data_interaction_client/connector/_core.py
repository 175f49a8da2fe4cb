"""The runtime's decisions, without I/O: the schedule, the source's state, the link, the tags, health.

The sync driver (`_sync`) and the async one (`_async`) do the waiting, the calls to the
platform and to the connector's hooks; every decision and every log line is made here, so both twins
behave alike.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._exceptions import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    PermissionDeniedError,
    RateLimitError,
)
from .._results import Connection
from .._tag import Tag
from .._types import TagId
from ._model import LINK_LOST, Source, readings_from, tags_of
from ._settings import RunSettings

if TYPE_CHECKING:
    from ._metrics import Metrics

__all__ = [
    "FIRST_RETRY_DELAY",
    "MAX_RETRY_DELAY",
    "Core",
    "Point",
    "Schedule",
    "TagChanges",
    "log",
    "transient",
]

log = logging.getLogger("data_interaction_client.connector")

FIRST_RETRY_DELAY = 1.0
"""The first and the longest wait between two tries to reach the platform before it first answered."""
MAX_RETRY_DELAY = 30.0

Point = tuple[Any, Any, Any, int | None]
"""(tag, x, y, q) as handed to the writer."""
TagChanges = tuple[list[Tag], list[Tag], list[Tag]]


def _tag_text(tag_id: TagId) -> str:
    return tag_id if isinstance(tag_id, str) else f"{tag_id.parent_object_id}/{tag_id.tag_name}"


class Schedule:
    """Ticks every ``interval`` seconds on the monotonic clock, at whole multiples of it in wall time.

    Fixed rate, no drift: tick ``n`` is due at ``start + n * interval``. A tick's ``x`` is its wall
    time in integer microseconds. A poll that runs past the next ticks skips them (counted).
    """

    def __init__(self, interval: float, monotonic: float, wall_us: int) -> None:
        self.interval_us = max(1, round(interval * 1_000_000))
        first = -(-wall_us // self.interval_us) * self.interval_us  # the next whole multiple
        self._x0 = first
        self._mono0 = monotonic + (first - wall_us) / 1_000_000
        self._n = 0

    def due(self) -> float:
        """The monotonic time the next tick is due."""
        return self._mono0 + self._n * self.interval_us / 1_000_000

    def take(self) -> int:
        """Take the due tick; return its ``x``."""
        x = self._x0 + self._n * self.interval_us
        self._n += 1
        return x

    def skip_missed(self, monotonic: float) -> int:
        """Skip the ticks due before ``monotonic`` (a poll ran past them); return how many."""
        passed = math.floor((monotonic - self._mono0) * 1_000_000 / self.interval_us) + 1
        skipped = max(0, passed - self._n)
        self._n += skipped
        return skipped


def transient(error: BaseException) -> bool:
    """Whether a failed call to the platform may succeed later by itself."""
    return isinstance(
        error,
        APIConnectionError
        | APITimeoutError
        | InternalServerError
        | RateLimitError
        | AuthenticationError
        | PermissionDeniedError,
    )


class Core:
    """The state of one run, shared by its threads under one lock."""

    def __init__(self, settings: RunSettings, metrics: Metrics | None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.lock = threading.Lock()
        self.tags: dict[TagId, Tag] = {}
        self.source: Source | None = None
        self.active: bool | None = None
        self.schedule: Schedule | None = None
        self.link_lost_since: float | None = None
        self.failed_polls = 0
        self.overruns = 0
        self.unreachable_since: float | None = None
        self.token_refused = False
        self.reached = False
        self.stats: Any = None  # the writer's stats(), once it exists

    # --- the platform -----------------------------------------------------------------------------

    def connected(self, connection: Connection | None, seconds: float) -> TagChanges | None:
        """A ``connect`` answered (``None``: the source is switched off); the tag changes, if any."""
        self._request("connect", "ok", seconds)
        self._reachable()
        if connection is None:
            if self.active is not False:
                log.warning(
                    "data source %r is switched off (smtActive is false): polling paused; "
                    "checking again every %g s",
                    self.settings.source,
                    self.settings.refresh_interval,
                )
            self._set_active(False)
            return None
        source = Source.from_connection(connection)
        if self.active is False:
            log.warning("data source %r is switched on again: polling resumes", self.settings.source)
            self.schedule = None  # a fresh start, not a run of overruns
        self._set_active(True)
        first = self.source is None
        self.source = source
        new = tags_of(source)
        old = self.tags
        added = [tag for tag_id, tag in new.items() if tag_id not in old]
        removed = [tag for tag_id, tag in old.items() if tag_id not in new]
        changed = [
            tag
            for tag_id, tag in new.items()
            if tag_id in old and dict(old[tag_id].attributes) != dict(tag.attributes)
        ]
        self.tags = new
        if self.metrics is not None:
            self.metrics.tags.set(len(new))
        if first:
            log.info(
                "data source %r: %d tags to poll every %g s", source.id, len(new), self.settings.poll_interval
            )
            return None
        if added or removed or changed:
            log.info(
                "data source %r: tags added %s, removed %s, changed %s",
                source.id,
                [_tag_text(tag.id) for tag in added],
                [_tag_text(tag.id) for tag in removed],
                [_tag_text(tag.id) for tag in changed],
            )
            return added, removed, changed
        return None

    def connect_failed(self, error: BaseException, seconds: float) -> None:
        """A ``connect`` failed: log it when the state changes."""
        self._request("connect", "error", seconds)
        refused = isinstance(error, AuthenticationError | PermissionDeniedError)
        if refused and not self.token_refused:
            log.error("the platform refuses the token (%s): fix it; trying again", error)
        self.token_refused = refused
        self._unreachable(error)

    def _set_active(self, active: bool) -> None:
        self.active = active
        if self.metrics is not None:
            self.metrics.source_active.set(1 if active else 0)

    def _reachable(self) -> None:
        if self.unreachable_since is not None:
            log.warning("the platform answers again after %.1f s", time.monotonic() - self.unreachable_since)
        elif not self.reached:
            log.info("connected to the platform at %s", self.settings.shown_url)
        self.reached = True
        self.unreachable_since = None
        self.token_refused = False

    def _unreachable(self, error: BaseException) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()
            log.warning(
                "the platform at %s does not answer (%s); trying again, with backoff",
                self.settings.shown_url,
                error,
            )

    def _request(self, endpoint: str, outcome: str, seconds: float | None) -> None:
        if self.metrics is None:
            return
        self.metrics.requests.labels(endpoint, outcome).inc()
        if seconds is not None:
            self.metrics.request_seconds.labels(endpoint).observe(seconds)

    # --- the writer's callbacks (on its thread or loop) -----------------------------------------

    def accepted(self, event: Any) -> None:
        """The platform accepted a batch."""
        with self.lock:
            self._request("set_data", "accepted", event.seconds)
            if self.unreachable_since is not None or self.token_refused:
                self._reachable()

    def retrying(self, event: Any) -> None:
        """A batch failed and will be sent again."""
        with self.lock:
            self._request("set_data", "retry", event.seconds)
            if event.error is not None:
                self.token_refused = isinstance(event.error, AuthenticationError | PermissionDeniedError)
                if self.unreachable_since is None:
                    self.unreachable_since = time.monotonic()

    def quarantined(self, event: Any) -> None:
        """The platform refused a batch for good."""
        with self.lock:
            self._request("set_data", "quarantined", event.seconds)

    # --- polling ------------------------------------------------------------------------------------

    def poll_tags(self) -> list[Tag]:
        """The tags to poll now."""
        return list(self.tags.values())

    def points(self, items: Iterable[object] | None, x: int | None, origin: str) -> list[Point]:
        """The points of what ``poll`` (or ``backfill``) gave; ``x`` the tick's, for readings without one.

        Raises [`InvalidInputError`][data_interaction_client.InvalidInputError] naming a bad reading.
        """
        readings = readings_from(items, self.tags)
        result: list[Point] = []
        for reading in readings:
            at = reading.x if reading.x is not None else x
            if at is None:
                from .._exceptions import InvalidInputError

                raise InvalidInputError(f"backfill() gave a reading of {reading.tag!r} without x")
            result.append((reading.tag, at, reading.y, reading.q))
        if self.metrics is not None and result:
            self.metrics.readings.labels(origin).inc(len(result))
        return result

    def poll_done(self, seconds: float, monotonic: float) -> None:
        """A poll returned: time it, and skip the ticks it ran past."""
        if self.metrics is not None:
            self.metrics.poll_seconds.observe(seconds)
        if self.link_lost_since is not None:
            log.warning(
                "poll() works again after %d failed polls (%.1f s): values resume",
                self.failed_polls,
                time.monotonic() - self.link_lost_since,
            )
            self.link_lost_since = None
            self.failed_polls = 0
        self._skip(monotonic)

    def poll_failed(
        self, error: BaseException, tags: list[Tag], x: int, seconds: float, monotonic: float
    ) -> list[Point]:
        """A poll raised: every tag polled gets ``y=None, q=102`` at the tick; logged at the start only."""
        if self.metrics is not None:
            self.metrics.poll_seconds.observe(seconds)
            self.metrics.poll_errors.inc()
            self.metrics.readings.labels("link_lost").inc(len(tags))
        self.failed_polls += 1
        if self.link_lost_since is None:
            self.link_lost_since = time.monotonic()
            log.error(
                "poll() failed: %s: %s; its %d tags get q=%d (link to the data source lost) "
                "until it works again",
                type(error).__name__,
                error,
                len(tags),
                LINK_LOST,
            )
        self._skip(monotonic)
        return [(tag, x, None, LINK_LOST) for tag in tags]

    def _skip(self, monotonic: float) -> None:
        if self.schedule is None:
            return
        skipped = self.schedule.skip_missed(monotonic)
        if skipped:
            self.overruns += skipped
            if self.metrics is not None:
                self.metrics.poll_overruns.inc(skipped)
            log.debug("poll() ran past %d ticks: skipped", skipped)

    # --- health ---------------------------------------------------------------------------------------

    def writer_stats(self) -> Any:
        """The writer's stats now."""
        return self.stats()

    def state(self) -> dict[str, Any]:
        """The figures /metrics shows beside the writer's."""
        since = self.unreachable_since
        return {"unreachable_for": 0.0 if since is None else time.monotonic() - since}

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether the run is healthy (``/healthz`` 200) and the report it shows."""
        stats = self.stats() if self.stats is not None else None
        since = self.unreachable_since
        unreachable_for = 0.0 if since is None else time.monotonic() - since
        health = stats.health if stats is not None else "ok"
        if self.token_refused:
            health = "critical"
        report: dict[str, Any] = {
            "health": health,
            "source": self.settings.source,
            "source_active": self.active,
            "tags": len(self.tags),
            "platform_unreachable_seconds": round(unreachable_for, 3),
            "polling": self.link_lost_since is None,
        }
        if stats is not None:
            report.update(
                pending_points=stats.pending_points,
                oldest_pending_age=stats.oldest_pending_age,
                sent_points=stats.sent_points,
                quarantined_batches=stats.quarantined_batches,
                last_error=stats.last_error,
            )
        ok = health != "critical" and unreachable_for <= self.settings.unhealthy_after
        return ok, report
