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
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from .._exceptions import (
    DataInteractionError,
    InvalidInputError,
    SpoolDiskFullError,
    WriterClosedError,
    WriterFullError,
)
from .._results import Connection
from .._tag import Tag
from .._types import TagId, Timestamp, datetime_to_micros, tag_id_from, timestamp_micros
from ._model import LINK_LOST, Source, reading_from, tags_of
from ._policy import ROOM_RETRY, refused, source_retry_delay
from ._settings import RunSettings

if TYPE_CHECKING:
    from ._metrics import Metrics

__all__ = [
    "EMIT_AFTER_STOP",
    "HOLD_CAP",
    "TICK_WAIT",
    "Core",
    "Gap",
    "Point",
    "Schedule",
    "TagChanges",
    "log",
    "now_us",
    "wall_us",
]

log = logging.getLogger("data_interaction_client.connector")

HOLD_CAP = 10_000
"""Readings of a tag held while its window is read again; past it they are left to that backfill."""
TICK_WAIT = 1.0
"""The longest wait of the hooks' loop: refused readings are said and windows retried this often."""
EMIT_AFTER_STOP = "emit(): the run is stopping; a reading emitted after the stop began is not kept"

Point = tuple[Any, Any, Any, int | None]
"""(tag, x, y, q) as handed to the writer."""
TagChanges = tuple[list[Tag], list[Tag], list[Tag]]


def wall_us() -> int:
    """The wall clock in integer microseconds."""
    return time.time_ns() // 1000


def now_us() -> int:
    """The wall clock in integer microseconds, as the drivers read it (`wall_us`, which tests may step)."""
    return wall_us()


def _tag_text(tag_id: TagId) -> str:
    return tag_id if isinstance(tag_id, str) else f"{tag_id.parent_object_id}/{tag_id.tag_name}"


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
        self.overruns = 0
        self.unreachable_since: float | None = None
        self.token_refused = False
        self.reached = False
        self.stats: Any = None  # the writer's stats(), once it exists
        # What flows to the writer, under its own lock (taken by the hooks' thread and emit()'s
        # callers, never by the writer's callbacks, so that writing under it cannot deadlock).
        self.flow = threading.RLock()
        self.backfills = False  # the connector defines backfill(): windows not read are read again
        self.every_tick = False  # link_lost_marks = "every_tick"
        self.polls = True  # the connector defines poll() (else it is push-only)
        self.last: dict[TagId, Timestamp] = {}  # the x of each tag's last reading the writer took
        self.gaps: dict[TagId, Gap] = {}
        self.held: dict[TagId, list[Point]] = {}
        self.lost: set[TagId] = set()  # the tags whose link is lost
        self.link = "opening"
        self.link_since: int | None = wall_us()
        self.link_since_mono = time.monotonic()
        self.link_error: str | None = None
        self.failing_polls = 0
        self.reopen: str | None = None  # why the connector is to be opened again
        self._reopens = 0  # in a row: each waits longer, until the link is back
        self._reopen_not_before = 0.0
        self._overflowed: set[TagId] = set()  # tags whose held readings passed HOLD_CAP
        self._refusals: dict[str, dict[str, int]] = {}
        self._refusal_errors: dict[str, str] = {}
        self._refused_gaps: set[str] = set()
        self._refusals_said_at = 0.0

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
        with self.flow:
            for tag in removed:  # nothing of a tag removed is read again, held, or lost
                self.gaps.pop(tag.id, None)
                self.held.pop(tag.id, None)
                self.lost.discard(tag.id)
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
        refuses = refused(error)
        if refuses and not self.token_refused:
            log.error(
                "the platform refuses the runtime's requests (%s): fix the token or the address; "
                "trying again",
                error,
            )
        self.token_refused = refuses
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
                self.token_refused = refused(event.error)
                if self.unreachable_since is None:
                    self.unreachable_since = time.monotonic()

    def quarantined(self, event: Any) -> None:
        """The platform refused a batch for good."""
        with self.lock:
            self._request("set_data", "quarantined", event.seconds)

    # --- readings: to the writer, refused, held while a window is read again ----------------------

    def point_of(self, item: object, index: int, x: int | None, origin: str) -> Point:
        """The point of one reading ``poll``, ``backfill`` or ``emit`` gave; ``x`` the default time.

        Raises [`InvalidInputError`][data_interaction_client.InvalidInputError] naming a bad reading.
        """
        reading = reading_from(item, index, self.tags)
        at = reading.x if reading.x is not None else x
        if at is None:
            raise InvalidInputError(f"{origin}() gave a reading of {reading.tag!r} without x")
        return (reading.tag, at, reading.y, reading.q)

    def points(self, items: Iterable[object] | None, x: int | None, origin: str) -> list[Point]:
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

    def deliver(self, writer: Any, points: list[Point], origin: str, *, direct: bool = False) -> bool:
        """Hand ``points`` to the writer; ``False`` when it refused one for want of room.

        A point of a tag with a window to read again (a gap) is held until that window is read,
        so that the tag's watermark never passes it; ``direct`` points (the window's own
        readings, the link's marks) go to the writer at once. Refused points are counted per tag
        and reason, said at ERROR (`report_refused`), and open a gap when the connector can
        read them again.
        """
        now = time.monotonic()
        kept = 0
        room = True
        with self.flow:
            for point in points:
                tag_id = _id_of(point[0])
                if not direct and self.backfills and tag_id in self.gaps:
                    held = self.held.setdefault(tag_id, [])
                    if len(held) < HOLD_CAP:
                        held.append(point)
                    else:  # past it, the window is read again up to a later time: it gives them
                        self._overflowed.add(tag_id)
                    continue
                try:
                    writer.write(*point)
                except DataInteractionError as exc:
                    if not self._refused(tag_id, point, exc, now):
                        room = False
                        if direct:
                            break
                    continue
                kept += 1
                if origin != "link_lost":
                    self.last[tag_id] = _wire_x(point[1])
            if self.metrics is not None and kept:
                self.metrics.readings.labels(origin).inc(kept)
            self.report_refused(now)
        return room

    def _refused(self, tag_id: TagId, point: Point, error: DataInteractionError, now: float) -> bool:
        """Count a refused point (flow lock held); ``False`` when it was refused for want of room."""
        reason = _refusal_reason(error)
        if self.metrics is not None:
            self.metrics.readings_refused.labels(reason).inc()
        counts = self._refusals.setdefault(reason, {})
        text = _tag_text(tag_id)
        counts[text] = counts.get(text, 0) + 1
        self._refusal_errors.setdefault(reason, str(error))
        full = reason in ("disk_full", "spool_full")
        if full and self.backfills:
            self._refused_gaps.add(text)
            self.open_gap(tag_id, self.last.get(tag_id), "refused", now + ROOM_RETRY)
            gap = self.gaps.get(tag_id)
            if gap is not None:
                gap.retry_at = max(gap.retry_at, now + ROOM_RETRY)
        return not full

    def report_refused(self, now: float, *, force: bool = False) -> None:
        """Say the refused readings at ERROR, each counted once, at most once a second (flow lock held)."""
        if not self._refusals or (not force and now < self._refusals_said_at + 1.0):
            return
        for reason, counts in sorted(self._refusals.items()):
            total = sum(counts.values())
            per_tag = ", ".join(f"{tag}: {count}" for tag, count in sorted(counts.items()))
            again = [tag for tag in counts if tag in self._refused_gaps]
            fate = (
                "read again through backfill() once there is room"
                if again
                else "lost: the connector has no backfill() to read them again"
                if reason in ("disk_full", "spool_full")
                else "lost"
            )
            log.error(
                "the writer refused %d readings (%s; %s): %s; %s",
                total,
                reason.replace("_", " "),
                self._refusal_errors.get(reason, ""),
                per_tag,
                fate,
            )
        self._refusals = {}
        self._refusal_errors = {}
        self._refused_gaps = set()
        self._refusals_said_at = now

    # --- windows read again through backfill ------------------------------------------------------

    def open_gap(self, tag_id: TagId, since: Timestamp | None, reason: str, retry_at: float = 0.0) -> None:
        """The source must be read again for ``tag_id`` after ``since`` (flow lock held; backfill only).

        A tag has at most one gap: the earliest ``since`` wins, so that no window is skipped.
        """
        if not self.backfills:
            return
        gap = self.gaps.get(tag_id)
        if gap is None:
            self.gaps[tag_id] = Gap(since, reason, retry_at)
            return
        if _earlier(since, gap.since):
            gap.since = since

    def start_gaps(self, tags: Iterable[Tag], watermark: Any) -> None:
        """Every tag of ``tags`` is read from its watermark (a start, or tags added)."""
        with self.flow:
            for tag in tags:
                since = watermark(tag.id)
                if since is not None:
                    self.last[tag.id] = since
                if self.backfills:
                    self.gaps[tag.id] = Gap(since, "start")

    def missed(self, skipped: int) -> None:
        """``skipped`` ticks were not polled: every tag is read again from its last reading."""
        if not skipped or not self.backfills:
            return
        with self.flow:
            for tag_id in self.tags:
                self.open_gap(tag_id, self.last.get(tag_id), "missed")

    def repairs_due(self, now: float) -> list[tuple[Tag, Timestamp | None]]:
        """The windows to read now (tag, since): none while the source's link is down."""
        if not self.backfills or self.link != "ok":
            return []
        with self.flow:
            return [
                (self.tags[tag_id], gap.since)
                for tag_id, gap in self.gaps.items()
                if tag_id in self.tags and tag_id not in self.lost and gap.retry_at <= now
            ]

    def next_repair_in(self, now: float) -> float | None:
        """Seconds until a window waiting (for room, after a failure) is due, ``None`` when none waits."""
        with self.flow:
            times = [gap.retry_at for tag_id, gap in self.gaps.items() if tag_id in self.tags]
        return None if not times else max(0.0, min(times) - now)

    def repair_done(
        self,
        tag: Tag,
        since: Timestamp | None,
        until: int,
        given: int,
        error: BaseException | None,
        room: bool,
    ) -> list[Point]:
        """A window's backfill ended; the points held meanwhile to write now (it was read whole)."""
        now = time.monotonic()
        with self.flow:
            gap = self.gaps.get(tag.id)
            if gap is None:
                return []
            if error is None and room and tag.id in self._overflowed:
                # readings were left out of the held ones meanwhile: read on from here, up to now
                self._overflowed.discard(tag.id)
                gap.since = self.last.get(tag.id, gap.since)
                return []
            if error is None and room:
                reason = gap.reason
                del self.gaps[tag.id]
                held = self.held.pop(tag.id, [])
                if given or reason != "start":
                    log.info(
                        "backfill() of %r gave %d readings after %r up to %r (%s)",
                        _tag_text(tag.id),
                        given,
                        since,
                        until,
                        _GAP_REASONS.get(reason, reason),
                    )
                return held
            gap.since = self.last.get(tag.id, gap.since)  # what was given is kept: go on from there
            if error is not None:
                gap.failures += 1
                delay = source_retry_delay(gap.failures, self.settings.open_retry_max)
                gap.retry_at = now + delay
                log.error(
                    "backfill() of %r failed after %d readings: %s: %s; reading it again from %r in %.2g s",
                    _tag_text(tag.id),
                    given,
                    type(error).__name__,
                    error,
                    gap.since,
                    delay,
                )
            else:
                gap.retry_at = now + ROOM_RETRY
            return []

    # --- the source's link ----------------------------------------------------------------------------

    def opening(self, error: BaseException | None) -> None:
        """``open`` is being tried (again): the link shows "opening", with the last error."""
        if self.link != "opening":
            self._set_link("opening")
        if self.link == "opening" and self.metrics is not None:
            self.metrics.source_link_up.set(0)
        if error is not None:
            self.link_error = f"{type(error).__name__}: {error}"

    def opened(self) -> None:
        """``open`` worked: the link is up (unless a tag's link was said lost since)."""
        with self.flow:
            self.lost.clear()
            self.failing_polls = 0
            self._set_link("ok")

    def reopen_due(self, now: float) -> bool:
        """Whether to close and open the connector now (asked, and the last reopen's backoff over)."""
        return self.reopen is not None and now >= self._reopen_not_before

    def reopened(self, subscribed: bool) -> None:
        """A reopen's ``open`` (and ``subscribe``) worked.

        A push source's link is back; a polled one's when a poll works. The next reopen waits
        longer, until the link is back.
        """
        self._reopens += 1
        self._reopen_not_before = time.monotonic() + source_retry_delay(
            self._reopens, self.settings.open_retry_max
        )
        if not self.polls and subscribed:
            self.link_restored(None)
        elif self.link == "opening":
            self._set_link("lost")

    def reopen_wanted(self, why: str) -> None:
        """Close and open the connector again (from any thread): a hook's `SourceLinkLost`, ``reopen()``."""
        with self.flow:
            if self.reopen is None:
                self.reopen = why

    def link_lost(self, error: object, tags: Iterable[Tag] | None, x: int | None = None) -> list[Point]:
        """The link to ``tags`` (all: ``None``) is lost: the ``q=102`` marks to write (flow lock taken).

        One mark per tag when its link goes, just after its last reading (so that its watermark
        never passes a sample not read), unless ``link_lost_marks = "every_tick"`` asks for one
        per failed tick at ``x``.
        """
        with self.flow:
            affected = list(self.tags.values()) if tags is None else list(tags)
            newly = [tag for tag in affected if tag.id not in self.lost]
            every_tick = self.every_tick and x is not None
            marks: list[Point] = []
            for tag in affected if every_tick else newly:
                if every_tick:
                    at = x
                else:
                    last = _micros(self.last.get(tag.id))
                    at = last + 1 if last is not None else wall_us()
                marks.append((tag, at, None, LINK_LOST))
            for tag in newly:
                self.open_gap(tag.id, self.last.get(tag.id), "link")
                self.lost.add(tag.id)
            text = None if error is None else _error_text(error)
            if text is not None:
                self.link_error = text
            if self.link != "lost" and (newly or tags is None):
                self._set_link("lost")
                log.error(
                    "the link to the data source is lost%s; %d tags get q=%d%s",
                    f" ({text})" if text else "",
                    len(affected),
                    LINK_LOST,
                    " at each failed tick until a poll works"
                    if self.every_tick
                    else (
                        ", and are read again through backfill() once it is back" if self.backfills else ""
                    ),
                )
            return marks

    def link_restored(self, tags: Iterable[Tag] | None) -> None:
        """The link to ``tags`` (all: ``None``) works again (flow lock taken)."""
        with self.flow:
            if tags is None:
                self.lost.clear()
            else:
                self.lost.difference_update(tag.id for tag in tags)
            # After a reopen the link shows "opening" until the source is back: a push source says so here.
            if self.link in ("lost", "opening") and not self.lost:
                log.warning(
                    "the link to the data source works again after %.1f s%s",
                    time.monotonic() - self.link_since_mono,
                    f" ({self.failing_polls} failed polls)" if self.failing_polls else "",
                )
                self._set_link("ok")
            self.failing_polls = 0
            if self.link == "ok":
                self._reopens = 0

    def _set_link(self, link: str) -> None:
        if (link == "ok") != (self.link == "ok") or self.link_since is None:
            self.link_since_mono = time.monotonic()  # lost and opening are one outage
            self.link_since = wall_us()
        self.link = link
        if link == "ok":
            self.link_error = None
        if self.metrics is not None:
            self.metrics.source_link_up.set(1 if link == "ok" else 0)

    # --- polling ------------------------------------------------------------------------------------

    def poll_tags(self) -> list[Tag]:
        """The tags to poll now."""
        return list(self.tags.values())

    def poll_done(self, seconds: float, monotonic: float) -> None:
        """A poll returned: time it, say the link works again, and skip the ticks it ran past."""
        if self.metrics is not None:
            self.metrics.poll_seconds.observe(seconds)
        if self.failing_polls or self.link == "lost":
            self.link_restored(None)
        self.skip(monotonic)

    def poll_failed(
        self, error: BaseException, tags: list[Tag], x: int, seconds: float, monotonic: float
    ) -> list[Point]:
        """A poll raised: the link is lost (its marks to write); logged when it starts only."""
        if self.metrics is not None:
            self.metrics.poll_seconds.observe(seconds)
            self.metrics.poll_errors.inc()
        self.failing_polls += 1
        marks = self.link_lost(error, tags, x)
        after = self.settings.reopen_after
        if after and self.failing_polls % after == 0:
            self.reopen_wanted(f"{self.failing_polls} polls failed in a row")
        self.skip(monotonic)
        return marks

    def skip(self, monotonic: float) -> None:
        """Skip the ticks due before ``monotonic``: counted, and read again through backfill."""
        if self.schedule is None:
            return
        skipped = self.schedule.skip_missed(monotonic)
        if skipped:
            self.overruns += skipped
            if self.metrics is not None:
                self.metrics.poll_overruns.inc(skipped)
            log.debug("poll() ran past %d ticks: skipped", skipped)
            self.missed(skipped)

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
        link_down_for = 0.0 if self.link == "ok" else time.monotonic() - self.link_since_mono
        if self.link != "ok" and health == "ok":
            health = "degraded"
        if self.token_refused:
            health = "critical"
        report: dict[str, Any] = {
            "health": health,
            "source": {
                "id": self.settings.source,
                "link": self.link,
                "since": _iso(self.link_since),
                "last_error": self.link_error,
            },
            "source_active": self.active,
            "tags": len(self.tags),
            "platform_unreachable_seconds": round(unreachable_for, 3),
            "polling": self.failing_polls == 0,
        }
        if stats is not None:
            report.update(
                pending_points=stats.pending_points,
                oldest_pending_age=stats.oldest_pending_age,
                sent_points=stats.sent_points,
                quarantined_batches=stats.quarantined_batches,
                last_error=stats.last_error,
            )
        ok = (
            health != "critical"
            and unreachable_for <= self.settings.unhealthy_after
            and link_down_for <= self.settings.source_unhealthy_after
        )
        return ok, report


@attrs.define
class Gap:
    """A window of one tag to read again through ``backfill``: every sample after ``since``."""

    since: Timestamp | None
    reason: str
    retry_at: float = 0.0
    failures: int = 0


_GAP_REASONS = {
    "start": "the start's catch-up",
    "missed": "ticks missed",
    "link": "the link was lost",
    "refused": "readings the writer refused",
}


def _id_of(tag: object) -> TagId:
    return tag.id if isinstance(tag, Tag) else tag_id_from(tag)


def _wire_x(x: object) -> Timestamp:
    """A reading's ``x`` as the writer's watermark gives it (integer microseconds, or the string)."""
    if isinstance(x, datetime):
        return datetime_to_micros(x)
    if isinstance(x, int | str):
        return x
    return str(x)


def _micros(x: Timestamp | None) -> int | None:
    if x is None:
        return None
    try:
        return timestamp_micros(x)
    except (ValueError, TypeError):
        return None


def _earlier(a: Timestamp | None, b: Timestamp | None) -> bool:
    """Whether ``a`` is before ``b`` (``None``: before everything)."""
    if a is None:
        return b is not None
    if b is None:
        return False
    ma, mb = _micros(a), _micros(b)
    return ma is not None and mb is not None and ma < mb


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


def _error_text(error: object) -> str:
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return str(error)


def _iso(wall: int | None) -> str | None:
    if wall is None:
        return None
    return (
        datetime.fromtimestamp(wall / 1_000_000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
