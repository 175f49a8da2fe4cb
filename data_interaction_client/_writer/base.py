"""What the two writers share: `BaseWriter`, the engine it holds and the calls that never wait.

`Writer` (``writers``, threads) and `AsyncWriter` (``async_writer``, asyncio tasks) are thin: each
holds a `WriterEngine` (the state and every decision, no I/O) and adds the commit loop and the send
loop (two threads, or two tasks with the spool's I/O on one worker thread), the waiting of ``sync``,
``flush`` and ``close``, the spool's calls and the one call that posts a request body. The twins'
loops have the same steps and shape: ask the engine for the next step, match on it, wait or do its
I/O, hand the outcome back. `BaseWriter` holds what they share: opening, and the methods that neither
wait nor depend on the loops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from .._exceptions import InvalidInputError
from .._http.base_client import BaseClient
from .._spool.contract import MemorySpool, Spool
from .._tag import Tag
from .._types import NOT_GIVEN, NotGiven, TagId, TagIdLike
from .engine import WriterEngine, ids_of, quarantined_batches, watch_client
from .intake import Signal
from .options import CheckedOptions, QuarantinedBatch, WriterOptions, WriterStats, check_options

__all__ = ["CLOSE_COMMIT_TIME", "RESTART_DELAY", "BaseWriter", "deadline_of", "log"]

log = logging.getLogger("data_interaction_client.writer")

CLOSE_COMMIT_TIME = 5.0
"""Seconds close() gives the last commit (local disk) even when close_timeout is shorter."""
RESTART_DELAY = 1.0
"""Seconds before a loop that failed unexpectedly starts again."""


def deadline_of(timeout: float | None) -> float | None:
    """The monotonic time ``timeout`` seconds from now (``None``: no deadline); a bad timeout raises."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise InvalidInputError(f"timeout must be a number of seconds >= 0, or None, not {timeout!r}")
    return time.monotonic() + timeout


def _disk_spool(options: CheckedOptions) -> Spool:
    """The spool on disk; SQLite is imported only by a writer that uses it (not at import time)."""
    from .._spool.sqlite import SqliteSpool

    assert options["spool"] is not None
    return SqliteSpool(options["spool"], fsync=options["fsync"], shared=options["shared_spool"])


class BaseWriter:
    """What `Writer` and ``AsyncWriter`` share: the engine they hold, and the calls that never wait."""

    def __init__(
        self,
        client: BaseClient[Any],
        spool: object,
        given: WriterOptions,
        *,
        signal: Signal,
        wait_for_room: Callable[[float], None] | None = None,
    ) -> None:
        options = check_options(spool, given)
        self._options = options
        self._link = client._writer_link(options["timeout"], options["max_retries"])
        self._spool: Spool = MemorySpool() if options["spool"] is None else _disk_spool(options)
        engine = WriterEngine(options, self._link, self._spool, signal=signal, wait_for_room=wait_for_room)
        self._engine = engine
        self._lock = engine.lock
        # write() is the per-point cost a live loop pays: one call from the method to the intake's own.
        self._write = engine.intake.write
        watch_client(client, engine)

    def write(self, tag: Tag | TagIdLike, x: Any, y: Any, q: int | None = None) -> None:
        """Take one point: ``tag`` (a `Tag` or a tag id), timestamp ``x``, value ``y``, quality ``q``.

        Without ``q`` the point has no quality code (``null``, a good value), as everywhere in the SDK.

        The point is checked now ([`InvalidPointError`][data_interaction_client.InvalidPointError] if bad) and
        never waits on the network. Raises [`WriterFullError`][data_interaction_client.WriterFullError] when
        the writer is full (``overflow="raise"``, or ``"block"`` after ``block_timeout``),
        [`SpoolDiskFullError`][data_interaction_client.SpoolDiskFullError] while the disk is full and
        [`WriterClosedError`][data_interaction_client.WriterClosedError] once closed; then the point was not
        kept.
        """
        self._write(tag, x, y, q)

    def write_points(self, tag: Tag | TagIdLike, points: Any) -> int:
        """Take many points for ``tag``; return how many were kept (the deadband may drop some).

        ``points`` is what [`Tag.update`][data_interaction_client.Tag.update] takes (dicts ``{"x", "y", "q"}``
        or tuples ``(x, y[, q])``), a [`Columns`][data_interaction_client.Columns] ``(x, y, q)``, or a pandas
        ``DataFrame`` with the columns ``x``, ``y`` and optionally ``q``. Every point is checked first: on a
        bad one ([`InvalidPointError`][data_interaction_client.InvalidPointError], naming its index) none is
        kept. Otherwise as `write`, all the points or none.
        """
        return self._engine.intake.write_points(tag, points)

    def write_tags(self, tags: Tag | Iterable[Tag]) -> int:
        """Move the points buffered in ``tags`` into the writer (their buffers are emptied); return how many.

        The points were checked when they were given to the tags. Raises
        [`TagBusyError`][data_interaction_client.TagBusyError] if a tag is being sent by ``set_data``; when
        the writer refuses the points (full, disk full, closed) they stay in their tags.
        """
        return self._engine.intake.write_tags(tags)

    def write_frame(self, frame: Any, *, form: Literal["long", "wide"] = "long") -> int:
        """Take the points of a pandas or polars frame; return how many were taken.

        ``form="long"``: the columns ``tag``, ``x``, ``y`` and optionally ``q``; ``form="wide"``: ``x``
        and one column per tag, as
        [`DataInteractionClient.set_frame`][data_interaction_client.DataInteractionClient.set_frame] takes
        them. Every row is checked first ([`InvalidPointError`][data_interaction_client.InvalidPointError]
        names its tag, its position and the field): on a bad one none is taken. Otherwise as `write_tags`.
        """
        return self._engine.intake.write_frame(frame, form=form)

    def set_policy(
        self,
        tag: Tag | TagIdLike,
        *,
        scale: bool | NotGiven = NOT_GIVEN,
        deadband: bool | NotGiven = NOT_GIVEN,
        max_interval: float | NotGiven | None = NOT_GIVEN,
    ) -> None:
        """Set the tag policies of one tag, overriding the writer's ``scale``, ``deadband``, ``max_interval``.

        The policies use the tag's attributes, so give a [`Tag`][data_interaction_client.Tag] from
        ``create_tags`` (a tag id alone has none, and nothing is applied). The deadband starts afresh.
        """
        self._engine.intake.set_policy(tag, scale=scale, deadband=deadband, max_interval=max_interval)

    # --- the quarantine (spool I/O, small; from the caller's thread) -------------------------------

    def quarantined(self) -> list[QuarantinedBatch]:
        """The batches set aside, oldest first: the platform refused them for good, or they were damaged."""
        return quarantined_batches(self._spool.quarantined())

    def requeue_quarantined(self, ids: Iterable[int] | None = None) -> int:
        """Send quarantined batches again (all, or those of ``ids``), after what is pending; return how many.

        Do it once the cause is fixed (on the platform, or in the connector). A requeued point
        overwrites one written since with the same tag and timestamp. Damaged batches stay.
        """
        moved = self._spool.requeue(ids_of(ids))
        self._engine.requeued(moved)
        return moved

    def purge_quarantined(self, ids: Iterable[int] | None = None) -> int:
        """Delete quarantined batches (all, or those of ``ids``); return how many. Their points are lost."""
        records, points = self._spool.purge(ids_of(ids))
        self._engine.purged(records, points)
        return records

    # --- stats -------------------------------------------------------------------------------------

    def stats(self) -> WriterStats:
        """A snapshot of the writer: what is pending, sent, dropped, set aside, and its health."""
        return self._engine.stats()

    def watermark(self, tag: Tag | TagIdLike) -> int | str | None:
        """The timestamp ``x`` of the last point of ``tag`` the writer has stored, or ``None``.

        "Stored" means in the spool (after ``sync()``, or the commit that follows each write): the
        watermark is committed in the same transaction as the points it follows, so it never names a
        point the spool did not take, and it stays after the points are delivered and across restarts
        (``kill -9`` included). "Last" is in the order the points were written. ``x`` is in wire form:
        integer microseconds, or the timestamp string as given. A connector resumes reading its source
        from there. A memory-only writer keeps them for its own life only.
        """
        return self._engine.watermark(tag)

    def watermarks(self) -> dict[TagId, int | str]:
        """Every tag's watermark (see `watermark`)."""
        return self._engine.watermarks()

    @property
    def spool(self) -> str | None:
        """The spool directory, or ``None`` for a memory-only writer."""
        return self._options["spool"]

    @property
    def closed(self) -> bool:
        """Whether the writer is closed."""
        return self._engine.closed

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(spool={self._options['spool']!r}, pending_points={self._engine.pending_points()})"
