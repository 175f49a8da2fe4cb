"""The state of one run, composed of its roles: the platform, the source's link, the windows, the handover.

`Core` holds what the roles share (the settings, the data source and its tags, the schedule, the
two locks) and the decisions that span them: a refresh that changes the tags, a poll that worked or
failed, the start's windows, the health report. Each role is one object with a few public methods,
which the drivers call directly: ``core.platform`` (`Reachability`), ``core.link`` (`SourceLink`),
``core.windows`` (`BackfillWindows`) and ``core.handover`` (`Handover`).

Two locks: ``lock`` guards the platform's side and the tags (the refresh's task or thread, the
writer's callbacks); ``flow`` guards what flows to the writer (the hooks' thread and ``emit()``'s
callers, never the writer's callbacks, so that writing under it cannot deadlock). A refresh that
removes tags takes ``flow`` while it holds ``lock``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._results import Connection
from .._tag import Tag
from .._types import TagId, Timestamp
from . import _core
from ._backfill import BackfillWindows
from ._core import Schedule, TagChanges, TaggedPoint, iso, tag_text
from ._handover import Handover
from ._link import SourceLink
from ._model import Source, tags_of
from ._platform import Reachability
from ._settings import RunSettings

if TYPE_CHECKING:
    from ._metrics import Metrics

__all__ = ["Core"]


class Core:
    """The state of one run, shared by its threads under two locks.

    ``backfills``: the connector defines ``backfill`` (windows not read are read again);
    ``every_tick``: ``link_lost_marks = "every_tick"``; ``polls``: it defines ``poll`` (else it is
    push-only).
    """

    def __init__(
        self,
        settings: RunSettings,
        metrics: Metrics | None,
        *,
        backfills: bool = False,
        every_tick: bool = False,
        polls: bool = True,
    ) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.flow = threading.RLock()
        self.polls = polls
        self.tags: dict[TagId, Tag] = {}
        self.source: Source | None = None
        self.active: bool | None = None
        self.schedule: Schedule | None = None
        self.overruns = 0
        self.stats: Any = None  # the writer's stats(), once it exists
        watermarks: dict[TagId, Timestamp] = {}
        self.windows = BackfillWindows(
            enabled=backfills, open_retry_max=settings.open_retry_max, watermarks=watermarks
        )
        self.handover = Handover(self.windows, watermarks, lambda: self.tags, self.flow)
        self.link = SourceLink(
            settings, self.flow, self.windows, watermarks, every_tick=every_tick, polls=polls
        )
        self.platform = Reachability(settings, self.lock)
        self.metrics = metrics

    @property
    def metrics(self) -> Metrics | None:
        """The run's Prometheus metrics, when prometheus_client is installed; the roles' too."""
        return self._metrics

    @metrics.setter
    def metrics(self, metrics: Metrics | None) -> None:
        self._metrics = metrics
        self.handover.metrics = self.link.metrics = self.platform.metrics = metrics

    # --- the data source, as the platform describes it ---------------------------------------------

    def connected(self, connection: Connection | None, seconds: float) -> TagChanges | None:
        """A ``connect`` answered (``None``: the source is switched off); the tag changes, if any."""
        self.platform.answered(seconds)
        if connection is None:
            if self.active is not False:
                _core.log.warning(
                    "data source %r is switched off (smtActive is false): polling paused; "
                    "checking again every %g s",
                    self.settings.source,
                    self.settings.refresh_interval,
                )
            self._set_active(False)
            return None
        source = Source.from_connection(connection)
        if self.active is False:
            _core.log.warning("data source %r is switched on again: polling resumes", self.settings.source)
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
                self.windows.forget(tag.id)
                self.link.lost.discard(tag.id)
        if self.metrics is not None:
            self.metrics.tags.set(len(new))
        if first:
            _core.log.info(
                "data source %r: %d tags to poll every %g s", source.id, len(new), self.settings.poll_interval
            )
            return None
        if added or removed or changed:
            _core.log.info(
                "data source %r: tags added %s, removed %s, changed %s",
                source.id,
                [tag_text(tag.id) for tag in added],
                [tag_text(tag.id) for tag in removed],
                [tag_text(tag.id) for tag in changed],
            )
            return added, removed, changed
        return None

    def _set_active(self, active: bool) -> None:
        self.active = active
        if self.metrics is not None:
            self.metrics.source_active.set(1 if active else 0)

    def start(self, tags: Iterable[Tag], watermark: Callable[[TagId], Timestamp | None]) -> None:
        """Every tag of ``tags`` is read from its watermark in the spool (a start, or tags added)."""
        with self.flow:
            for tag in tags:
                mark = watermark(tag.id)
                if mark is not None:
                    self.handover.watermarks[tag.id] = mark
                self.windows.start(tag.id, mark)

    def windows_due(self, now: float) -> list[tuple[Tag, Timestamp | None]]:
        """The backfill windows to read now (tag, watermark): none while the source's link is down."""
        if not self.windows.enabled or self.link.state != "ok":
            return []
        with self.flow:
            return self.windows.due(now, self.tags, self.link.lost)

    def next_window_in(self, now: float) -> float | None:
        """Seconds until a window waiting (for room, after a failure) is due, ``None`` when none waits."""
        with self.flow:
            return self.windows.next_due_in(now, self.tags)

    def link_lost(self, error: object, tags: Iterable[Tag] | None) -> list[TaggedPoint]:
        """The link to ``tags`` (all: ``None``) is lost: the ``q=102`` marks to write."""
        with self.flow:
            affected = list(self.tags.values()) if tags is None else list(tags)
            return self.link.lose(error, affected, everything=tags is None)

    # --- polling ------------------------------------------------------------------------------------

    def poll_tags(self) -> list[Tag]:
        """The tags to poll now."""
        return list(self.tags.values())

    def poll_done(self, seconds: float, monotonic: float) -> None:
        """A poll returned: time it, say the link works again, and skip the ticks it ran past."""
        if self.metrics is not None:
            self.metrics.poll_seconds.observe(seconds)
        self.link.poll_worked()
        self.skip(monotonic)

    def poll_failed(
        self, error: BaseException, tags: list[Tag], x: int, seconds: float, monotonic: float
    ) -> list[TaggedPoint]:
        """A poll raised: the link is lost (its marks to write); logged when it starts only."""
        if self.metrics is not None:
            self.metrics.poll_seconds.observe(seconds)
            self.metrics.poll_errors.inc()
        marks = self.link.poll_failed(error, tags, x)
        self.skip(monotonic)
        return marks

    def skip(self, monotonic: float) -> None:
        """Skip the ticks due before ``monotonic``: counted, and read again through backfill."""
        if self.schedule is None:
            return
        skipped = self.schedule.skip_missed(monotonic)
        if not skipped:
            return
        self.overruns += skipped
        if self.metrics is not None:
            self.metrics.poll_overruns.inc(skipped)
        _core.log.debug("poll() ran past %d ticks: skipped", skipped)
        if self.windows.enabled:  # every tag is read again from its watermark
            with self.flow:
                for tag_id in self.tags:
                    self.windows.open(tag_id, "missed")

    # --- health ---------------------------------------------------------------------------------------

    def writer_stats(self) -> Any:
        """The writer's stats now."""
        return self.stats()

    def state(self) -> dict[str, Any]:
        """The figures /metrics shows beside the writer's."""
        return {"unreachable_for": self.platform.unreachable_for(time.monotonic())}

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether the run is healthy (``/healthz`` 200) and the report it shows."""
        now = time.monotonic()
        stats = self.stats() if self.stats is not None else None
        unreachable_for = self.platform.unreachable_for(now)
        link = self.link
        health = stats.health if stats is not None else "ok"
        if link.state != "ok" and health == "ok":
            health = "degraded"
        if self.platform.token_refused:
            health = "critical"
        report: dict[str, Any] = {
            "health": health,
            "source": {
                "id": self.settings.source,
                "link": link.state,
                "since": iso(link.since),
                "last_error": link.error,
            },
            "source_active": self.active,
            "tags": len(self.tags),
            "platform_unreachable_seconds": round(unreachable_for, 3),
            "polling": link.failing_polls == 0,
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
            and link.down_for(now) <= self.settings.source_unhealthy_after
        )
        return ok, report
