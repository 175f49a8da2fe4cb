"""The writer's engine: the roles the sync and async writers share, composed under one lock; no I/O.

The two writers (`writers`) add only the I/O and the waiting: a thread or an asyncio task that
commits, another that sends, and how a caller waits for ``sync`` and ``flush``. Their loops ask
`WriterCore._next_commit` and `WriterCore._next_send` what to do (a `Step`), do it (the spool's
calls, the one ``post`` of a piece) and hand the outcome back.

The roles, each in its module and testable alone:

- `Intake` (``intake``): ``write*`` on the caller's thread, the points waiting for the
  committer, admission and the room rules (overflow, the intake's cap).
- `Committer` (``committer``): the intake taken, encoded in records and appended to the
  spool (with each tag's watermark); refusals of the spool (a full disk) and its tidying.
- `Sender` (``sender``): when to send, what each request's outcome means (accepted,
  retried with backoff, split, set aside), the health of delivery and the callbacks.
- `Accounts` (``accounts``): what was sent, dropped and refused; what a close left.

This class holds what joins them: the lock, the writer's life (open, closing, its client closed,
closed), the room the spool leaves to the intake, ``sync`` and ``flush``, the quarantine, ``stats``
and the watermarks.

How points flow: ``write*`` checks each point on the caller's thread and appends it to the tag's
intake (no I/O). The committer takes the intake at least every ``commit_interval`` (sooner once
``batch_points`` are waiting, or when asked), lays it out in records of at most ``batch_points``
points and appends them to the spool in one transaction. The sender takes the oldest records (up to
``batch_points`` points, fewer after a request refused as too large; once ``batch_points`` are
pending, once the oldest has waited ``flush_interval``, or when asked), joins them into one request,
and settles them with the spool: accepted records leave it in one transaction; refused parts go to
the quarantine in the same one.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import orjson

from .._base_client import BaseClient
from .._exceptions import (
    ClientClosedError,
    InvalidInputError,
    SpoolError,
    WriterClosedError,
    WriterTimeoutError,
)
from .._spool.contract import AppendResult, MemorySpool, NewRecord, Record, Spool
from .._tag import Tag
from .._types import NOT_GIVEN, NotGiven, PointDict, TagId, TagIdLike, tag_id_from, tag_id_to_wire
from .accounts import Accounts, Pending
from .committer import _STORE_RETRY_DELAY, Committer, state_key, watermark_value
from .delivery import Delivery, describe, unreachable
from .intake import Intake, Take, limit_of
from .options import QuarantinedBatch, Settings, WriterStats, settings_from
from .records import Piece, RecordError, decode_points
from .sender import Sender

__all__ = ["INTAKE_BYTES", "INTAKE_CAP", "Step", "WriterCore", "client_closed", "remaining"]

log = logging.getLogger("data_interaction_client.writer")

INTAKE_CAP = 20_000
"""Points the intake may hold before a sync writer's write waits for the committer to take them: a thread
writing flat out (a million points a second) outruns encoding and the disk, and without this bound the
points pending would pile up in memory instead of on disk."""
INTAKE_BYTES = 8 * 1024 * 1024
"""Bytes of points encoded by ``write_points`` the intake may hold before a sync writer's ``write_points``
waits for the committer: enough for the committer to take large bites (one commit per disk flush), little
next to the points a caller gives at once."""


# The writers of each client, told when it is closed (a weak map: neither is kept alive by it).
_writers_of: weakref.WeakKeyDictionary[object, weakref.WeakSet[WriterCore]] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def client_closed(client: object) -> None:
    """Tell the writers made by ``client`` that it was closed: they take no more points, send nothing."""
    with _writers_lock:
        writers = list(_writers_of.pop(client, ()))
    for writer in writers:
        writer._client_gone()


class Step(NamedTuple):
    """What a loop does next: `WriterCore._next_commit` and `WriterCore._next_send` decide, the loops do it.

    ``action`` is ``"wait"`` (for ``wait`` seconds, ``None``: until woken, then ask again),
    ``"stop"`` (the writer is closing: the loop returns), ``"commit"`` (append ``take`` to the
    spool; ``None``: only the records the spool refused before), ``"sweep"`` (tidy the spool) or
    ``"send"`` (peek the spool and deliver what it gives).
    """

    action: Literal["wait", "stop", "commit", "sweep", "send"]
    wait: float | None = None
    take: Take | None = None


class Pause(NamedTuple):
    """A pause of the send loop: until when (monotonic), and whether the writer was closing then."""

    until: float
    closing: bool


STOP = Step("stop")
SWEEP = Step("sweep")
SEND = Step("send")


class WriterCore:
    """The writer's state and every step that does no I/O; `Writer` and ``AsyncWriter`` add the I/O."""

    def __init__(self, client: BaseClient[Any], spool: object, options: Mapping[str, Any]) -> None:
        settings = settings_from(spool, options, client)
        self._client = client  # for client_closed() only: everything else goes through the link
        self._settings = settings
        self._link = client._writer_link(settings.timeout, settings.max_retries)
        self._lock = threading.Lock()
        self._closing = False
        self._closed = False
        self._stop = False  # the loops are to return (set by the writers when closing)
        self._client_closed = False  # the client was closed: nothing more is taken or sent
        self._gave_up = False  # closing, the platform could not be reached: nothing more is sent
        self._spool: Spool = MemorySpool() if settings.spool is None else _disk_spool(settings)
        self._accounts = Accounts()
        self._intake = Intake(
            settings,
            self._link,
            self._lock,
            self._accounts,
            signal=self._signal,
            wait_for_room=self._wait_for_room,
            gate=self._gate,
            pending=self._pending_points,
        )
        # write() is the per-point cost a live loop pays: the instance calls the intake's own, one
        # call less than through the method below (which documents it).
        self.write = self._intake.write  # type: ignore[method-assign]
        self._commits = Committer(settings, self._intake, self._lock, self._accounts, self._spool.states())
        self._sends = Sender(settings, self._spool, self._accounts, self._pending_points)
        self._update_room()
        self._opened(client)

    def _opened(self, client: BaseClient[Any]) -> None:
        """Register with the client (which closes its writers' intake when it closes); say what is left."""
        with _writers_lock:
            _writers_of.setdefault(client, weakref.WeakSet()).add(self)
        if self._spool.batches:
            log.info(
                "spool %s holds %d points in %d batches from before: sending them first",
                self._settings.spool,
                self._spool.points,
                self._spool.batches,
            )

    # --- what the sync and async writers provide --------------------------------------------------

    def _signal(self, *, commit: bool = False, send: bool = False, progress: bool = False) -> None:
        """Wake the committer, the sender, or those waiting for progress (called under the lock)."""
        raise NotImplementedError

    def _wait_for_room(self, seconds: float) -> None:
        """Wait (the lock held, released while waiting) until room may have been made."""
        raise NotImplementedError

    # --- intake: the caller's thread, no I/O (the Intake role) -----------------------------------------

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
        self._intake.write(tag, x, y, q)

    def write_points(self, tag: Tag | TagIdLike, points: Any) -> int:
        """Take many points for ``tag``; return how many were kept (the deadband may drop some).

        ``points`` is what [`Tag.update`][data_interaction_client.Tag.update] takes (dicts ``{"x", "y", "q"}``
        or tuples ``(x, y[, q])``), a [`Columns`][data_interaction_client.Columns] ``(x, y, q)``, or a pandas
        ``DataFrame`` with the columns ``x``, ``y`` and optionally ``q``. Every point is checked first: on a
        bad one ([`InvalidPointError`][data_interaction_client.InvalidPointError], naming its index) none is
        kept. Otherwise as `write`, all the points or none.
        """
        return self._intake.write_points(tag, points)

    def write_tags(self, tags: Tag | Iterable[Tag]) -> int:
        """Move the points buffered in ``tags`` into the writer (their buffers are emptied); return how many.

        The points were checked when they were given to the tags. Raises
        [`TagBusyError`][data_interaction_client.TagBusyError] if a tag is being sent by ``set_data``; when
        the writer refuses the points (full, disk full, closed) they stay in their tags.
        """
        return self._intake.write_tags(tags)

    def write_frame(self, frame: Any, *, form: Literal["long", "wide"] = "long") -> int:
        """Take the points of a pandas or polars frame; return how many were taken.

        ``form="long"``: the columns ``tag``, ``x``, ``y`` and optionally ``q``; ``form="wide"``: ``x``
        and one column per tag, as
        [`DataInteractionClient.set_frame`][data_interaction_client.DataInteractionClient.set_frame] takes
        them. Every row is checked first ([`InvalidPointError`][data_interaction_client.InvalidPointError]
        names its tag, its position and the field): on a bad one none is taken. Otherwise as `write_tags`.
        """
        return self._intake.write_frame(frame, form=form)

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
        self._intake.set_policy(tag, scale=scale, deadband=deadband, max_interval=max_interval)

    def _gate(self, count: int) -> None:
        """Raise when the writer takes no points at all: closed, its client closed, its disk refusing them."""
        if self._client_closed:
            raise WriterClosedError(self._client_closed_message())
        if self._closing:
            raise WriterClosedError("the writer is closed: it takes no more points")
        refusal = self._commits.refusal
        if refusal is not None:
            self._accounts.refuse(count)
            raise type(refusal)(
                f"{refusal.args[0]} ({count} points of this call were not kept)", path=refusal.path
            )

    def _update_room(self) -> None:
        """Tell the intake how many more points it may take before the overflow policy applies (lock held)."""
        settings = self._settings
        commits = self._commits
        spool = self._spool
        if settings.spool is None:
            capacity = settings.max_pending_points
        else:
            capacity = settings.max_spool_bytes // commits.bytes_per_point
        if self._closing or self._client_closed or commits.refusal is not None:
            self._intake.set_room(None, capacity)
            return
        if settings.overflow == "drop_oldest":
            room = sys.maxsize
        elif settings.spool is None:
            room = settings.max_pending_points - (spool.points + commits.held)
        else:
            free = settings.max_spool_bytes - spool.bytes - commits.unsaved_bytes()
            room = free // commits.bytes_per_point - commits.committing
        self._intake.set_room(room, capacity)

    # --- the commit loop's steps -------------------------------------------------------------------------

    def _next_commit(self, now: float) -> Step:
        """What the commit loop does next (the lock held): commit, sweep, wait or stop.

        A commit due goes first, closing or not (the committer stores the intake before it stops);
        an idle committer tidies the spool.
        """
        commits = self._commits
        wait = commits.due_in(now, self._closing)
        if wait == 0:
            return Step("commit", take=commits.take())
        if self._stop:
            return STOP
        if commits.sweep_due(self._spool.needs_sweep, now):
            return SWEEP
        return Step("wait", wait)

    def _append_args(self, take: Take | None) -> tuple[list[NewRecord], list[NewRecord], dict[str, Any]]:
        """The records of ``take``; what to append (with the records refused before) and the limit.

        Encoding is the CPU part of a commit: done without the lock (the async writer does it on its
        worker thread).
        """
        records = self._commits.encode(take)
        with self._lock:
            batch, limit = self._commits.batch(records)
        return records, batch, limit

    def _appended(
        self,
        take: Take | None,
        records: list[NewRecord],
        batch: list[NewRecord],
        result: AppendResult | None,
        error: SpoolError | None,
    ) -> None:
        """A commit's outcome: the spool took ``batch`` (``result``; ``None``: nothing to append), or not."""
        now = time.monotonic()
        with self._lock:
            if error is not None:
                self._commits.store_failed(take, records, error, now)
                self._update_room()
                self._signal(progress=True)
                return
            dropped = self._commits.stored(take, batch, result)
            lost = self._spool.take_lost()  # files deleted under the spool, made again before the append
            if lost:
                self._accounts.drop("lost", lost)
            if result is not None:
                self._sends.appended(result.last, now)
            self._accounts.overflowed(dropped, limit_of(self._settings), now)
            self._update_room()
            self._signal(send=True, progress=True)

    def _count_lost(self) -> None:
        """Count the points the spool lost to files deleted under it (it said so at ERROR)."""
        lost = self._spool.take_lost()
        if lost:
            with self._lock:
                self._accounts.drop("lost", lost)

    def _swept(self, error: SpoolError | None) -> None:
        """The outcome of tidying the spool."""
        if error is not None:
            with self._lock:
                self._commits.sweep_failed(error, time.monotonic())

    # --- the send loop's steps ---------------------------------------------------------------------------

    def _next_send(self, now: float) -> Step:
        """What the send loop does next (the lock held): send, wait or stop."""
        if self._stop:
            return STOP
        wait = None if self._client_closed else self._sends.due_in(now, self._closing)
        return SEND if wait == 0 else Step("wait", wait)

    def _delivery(self, records: list[Record]) -> Delivery | None:
        """The delivery of peeked records (``None``: nothing to send); says what the peek set aside.

        Calls ``on_quarantined`` for damaged records: without the lock.
        """
        self._sends.tell_set_aside()
        return self._sends.delivery(records) if records else None

    def _outcome(
        self, delivery: Delivery, piece: Piece, took: float, error: Exception | None
    ) -> float | None:
        """What a ``post`` of ``piece`` did: seconds to pause before the next one (0: none); ``None``: stop.

        ``error`` is what the post raised (``None``: accepted). Stops when the writer is stopping,
        its client was closed, or it is closing and the platform cannot be reached (the records stay
        in the spool). Calls the callbacks after the lock is released.
        """
        if self._stop:
            return None
        sends = self._sends
        now = time.monotonic()
        with self._lock:
            if error is None:
                sends.accepted(delivery, piece, now)
            elif isinstance(error, ClientClosedError):
                self._client_gone_locked()
                return None
            elif self._closing and unreachable(error):
                self._give_up(error)
                return None
            else:
                delay, verdict = sends.failed(delivery, piece, error, now)
        if error is None:
            sends.report_accepted(piece, took)
            return 0.0
        sends.report_failed(piece, took, error, delay, verdict)
        return delay or 0.0

    def _spool_failed(self, error: SpoolError, doing: str) -> float | None:
        """The send loop could not ``doing`` the spool: seconds to pause, then try again; ``None``: stop."""
        if self._stop:
            return None
        log.error("the writer could not %s its spool (%s); trying again", doing, error)
        return _STORE_RETRY_DELAY

    def _pause_of(self, seconds: float | None) -> Pause | None:
        """A pause of the send loop of ``seconds`` from now (``None``: the loop stops); the lock held."""
        return None if seconds is None else Pause(time.monotonic() + seconds, self._closing)

    def _pause_left(self, pause: Pause | None) -> float | None:
        """Seconds a pause still lasts (the lock held): 0.0 when over, ``None`` when the loop is to stop.

        A pause ends early when closing begins meanwhile: the send is tried once more at once.
        """
        if pause is None or self._stop:
            return None
        left = pause.until - time.monotonic()
        return 0.0 if left <= 0 or self._closing != pause.closing else left

    def _settled(self) -> None:
        """The spool removed what was delivered."""
        with self._lock:
            self._update_room()
            self._signal(progress=True)

    # --- waiting for sync() and flush(): the lock held ---------------------------------------------

    def _ask_sync(self) -> tuple[int, int]:
        """Ask for a commit now; the count of points that must be in the spool for ``sync`` to return.

        Also the count of refusals of the spool so far (see `_sync_wait`).
        """
        if self._closed:
            raise WriterClosedError(
                "the writer is closed: what it held is in its spool (or was reported lost)"
            )
        target = self._intake.written
        if self._commits.committed < target:
            self._intake.commit_now = True
            self._signal(commit=True)
        return target, self._commits.refusals

    def _sync_wait(
        self,
        target: int,
        refusals: int,
        deadline: float | None,
        timeout: float | None,
        what: str,
        disk_deadline: float | None = None,
    ) -> float | None:
        """Seconds ``sync`` may wait for progress (``None``: until there is some); 0.0 when it is done.

        ``target`` and ``refusals`` are `_ask_sync`'s. While the spool refuses the points, the
        wait goes on until ``deadline`` (``disk_deadline`` when given), as the committer tries again,
        and then raises the spool's error; without a deadline, it raises once a try made after the
        call has failed. Otherwise [`WriterTimeoutError`][data_interaction_client.WriterTimeoutError] at
        ``deadline``. The lock held.
        """
        if self._commits.committed >= target:
            return 0.0
        now = time.monotonic()
        refusal = self._commits.refusal
        if refusal is not None:
            limit = deadline if disk_deadline is None else disk_deadline
            if (self._commits.refusals > refusals) if limit is None else now >= limit:
                raise type(refusal)(
                    f"{refusal.args[0]} (points written before this call are kept in memory, not on "
                    "disk; the writer tries again every second)",
                    path=refusal.path,
                )
            if limit is not None and deadline is not None:
                deadline = min(deadline, limit)
        left = remaining(deadline, what, timeout, self._pending_points(), now)
        return left if left is None else max(left, 1e-6)

    def _ask_flush(self) -> int:
        """After ``sync``: ask for a send now; the record id ``flush`` waits for (0: nothing pending)."""
        if not self._spool.batches:
            return 0
        if self._client_closed:
            raise WriterClosedError(self._client_closed_message())
        self._signal(send=True)
        return self._sends.flush()

    def _flush_wait(self, through: int, deadline: float | None, timeout: float | None) -> float | None:
        """Seconds ``flush`` may wait for progress (``None``: until there is some); 0.0 when it is done.

        ``through`` is `_ask_flush`'s. Raises [`WriterClosedError`][data_interaction_client.WriterClosedError]
        when nothing more will be sent, [`WriterTimeoutError`][data_interaction_client.WriterTimeoutError]
        at ``deadline``. The lock held.
        """
        head = self._spool.head
        if head is None or head > through:
            return 0.0
        if self._client_closed:
            raise WriterClosedError(self._client_closed_message())
        if self._gave_up:
            raise WriterClosedError("the writer is closing and cannot reach the platform")
        left = remaining(deadline, "flush", timeout, self._pending_points())
        return left if left is None else max(left, 1e-6)

    # --- the client closed under the writer ----------------------------------------------------------

    def _client_gone(self) -> None:
        """The client was closed: take no more points, send nothing more (the pending stay in the spool)."""
        with self._lock:
            self._client_gone_locked()

    def _client_gone_locked(self) -> None:
        if self._client_closed or self._closed:
            return
        self._client_closed = True
        self._sends.health = "critical"
        self._sends.last_error = "the writer's client was closed"
        self._update_room()
        self._signal(send=True, progress=True)
        where = (
            "are lost when the writer closes (a memory-only writer)"
            if self._settings.spool is None
            else f"stay in the spool {self._settings.spool} and are sent when a writer opens it again"
        )
        log.warning(
            "the client of a writer was closed before the writer: the writer takes no more points and "
            "sends nothing more; its %d pending points %s",
            self._pending_points(),
            where,
        )

    def _client_closed_message(self) -> str:
        where = (
            "a memory-only writer loses them"
            if self._settings.spool is None
            else f"they stay in the spool {self._settings.spool} for the next writer"
        )
        return (
            "the writer's client was closed: the writer takes no more points and sends nothing more "
            f"({self._pending_points()} points pending: {where}); close the writer before its client"
        )

    # --- closing ----------------------------------------------------------------------------------

    def _begin_close(self, timeout: float) -> bool:
        """Stop the intake, say what is pending; ``False`` when already closing (the lock held)."""
        if self._closing:
            return False
        self._closing = True
        self._update_room()
        self._signal(commit=True, send=True, progress=True)
        pending = self._pending_points()
        if pending and not self._client_closed:
            failing = self._sends.health != "ok"
            log.log(
                logging.WARNING if failing else logging.INFO,
                "closing the writer with %d points pending%s: delivering them for at most %g s "
                "(close_timeout), then %s",
                pending,
                f" while the platform does not accept points ({self._sends.last_error})" if failing else "",
                timeout,
                self._left_behind(),
            )
        return True

    def _left_behind(self, *, rest: bool = True) -> str:
        """What becomes of the points a closing writer could not deliver ("the rest ..." or "they ...")."""
        if self._settings.spool is None:
            return ("the rest is" if rest else "they are") + " lost (a memory-only writer)"
        stay = "the rest stays" if rest else "they stay"
        return f"{stay} in the spool {self._settings.spool} for the next writer"

    def _give_up(self, error: BaseException) -> None:
        """Closing, and the platform cannot be reached: stop trying now (the lock held)."""
        self._gave_up = True
        self._sends.last_error = describe(error)
        self._signal(progress=True)
        log.warning(
            "the writer is closing and no connection to the platform can be made (%s): it stops "
            "trying; %d points pending: %s",
            self._sends.last_error,
            self._pending_points(),
            self._left_behind(rest=False),
        )

    def _report_close(self) -> None:
        """Say what was left behind (the lock held)."""
        self._accounts.closed(self._pending(), self._settings.spool)

    # --- the quarantine (spool I/O, small; from the caller's thread) -------------------------------

    def quarantined(self) -> list[QuarantinedBatch]:
        """The batches set aside, oldest first: the platform refused them for good, or they were damaged."""
        result = []
        for entry in self._spool.quarantined():
            damaged = entry.damaged
            data: dict[TagId, list[PointDict]] = {}
            if not damaged:
                try:
                    data = decode_points(entry.tags, entry.data)
                except RecordError:
                    damaged = True
            result.append(
                QuarantinedBatch(
                    id=entry.id,
                    error=entry.error,
                    status_code=entry.status,
                    time=datetime.fromtimestamp(entry.quarantined, UTC),
                    written=datetime.fromtimestamp(entry.created, UTC),
                    tags=list(data),
                    points=entry.points,
                    data=data,
                    damaged=damaged,
                )
            )
        return result

    def requeue_quarantined(self, ids: Iterable[int] | None = None) -> int:
        """Send quarantined batches again (all, or those of ``ids``), after what is pending; return how many.

        Do it once the cause is fixed (on the platform, or in the connector). A requeued point
        overwrites one written since with the same tag and timestamp. Damaged batches stay.
        """
        ids = _ids(ids)
        moved = self._spool.requeue(ids)
        with self._lock:
            if moved:
                self._sends.appended(self._spool.last_id, time.monotonic())
            self._update_room()
            self._signal(send=True)
        return moved

    def purge_quarantined(self, ids: Iterable[int] | None = None) -> int:
        """Delete quarantined batches (all, or those of ``ids``); return how many. Their points are lost."""
        ids = _ids(ids)
        batches, points = self._spool.purge(ids)
        if points:
            with self._lock:
                self._accounts.drop("purged", points)
            log.warning("purged %d quarantined batches (%d points)", batches, points)
        return batches

    # --- stats -------------------------------------------------------------------------------------

    def _pending(self) -> Pending:
        return Pending(self._intake.count, self._commits.held, self._spool.points)

    def _pending_points(self) -> int:
        return self._pending().total

    def stats(self) -> WriterStats:
        """A snapshot of the writer: what is pending, sent, dropped, set aside, and its health."""
        with self._lock:
            spool = self._spool
            intake = self._intake
            sends = self._sends
            now = time.monotonic()
            ages = []
            if spool.head is not None:
                ages.append(max(0.0, now - sends.head_since(spool.head, now)))
            if intake.count or self._commits.held:
                ages.append(now - min(intake.since, intake.last_take))
            health = self._accounts.health(
                send=sends.health,
                # The spool's files deleted under it and not made again: nothing is safe on disk.
                disk_refusing=self._commits.refusal is not None or spool.trouble is not None,
                quarantined=spool.quarantined_batches,
            )
            return self._accounts.stats(
                pending=self._pending(),
                batches=spool.batches,
                oldest_age=max(ages) if ages else None,
                spool_bytes=spool.bytes,
                quarantined=spool.quarantined_batches,
                failures=sends.failures,
                last_error=sends.last_error,
                health=health,
            )

    def watermark(self, tag: Tag | TagIdLike) -> int | str | None:
        """The timestamp ``x`` of the last point of ``tag`` the writer has stored, or ``None``.

        "Stored" means in the spool (after ``sync()``, or the commit that follows each write): the
        watermark is committed in the same transaction as the points it follows, so it never names a
        point the spool did not take, and it stays after the points are delivered and across restarts
        (``kill -9`` included). "Last" is in the order the points were written. ``x`` is in wire form:
        integer microseconds, or the timestamp string as given. A connector resumes reading its source
        from there. A memory-only writer keeps them for its own life only.
        """
        key = state_key(tag_id_to_wire(tag.id if isinstance(tag, Tag) else tag_id_from(tag)))
        with self._lock:
            raw = self._commits.watermarks.stored.get(key)
        return None if raw is None else watermark_value(raw)

    def watermarks(self) -> dict[TagId, int | str]:
        """Every tag's watermark (see `watermark`)."""
        with self._lock:
            items = list(self._commits.watermarks.stored.items())
        return {tag_id_from(orjson.loads(key)): watermark_value(raw) for key, raw in items}

    @property
    def spool(self) -> str | None:
        """The spool directory, or ``None`` for a memory-only writer."""
        return self._settings.spool

    @property
    def closed(self) -> bool:
        """Whether the writer is closed."""
        return self._closed

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(spool={self._settings.spool!r}, pending_points={self._pending_points()})"


def remaining(
    deadline: float | None, what: str, timeout: float | None, pending: int, now: float | None = None
) -> float | None:
    """Seconds left before ``deadline``; `WriterTimeoutError` once it has passed."""
    if deadline is None:
        return None
    left = deadline - (time.monotonic() if now is None else now)
    if left <= 0:
        raise WriterTimeoutError(
            f"{what}() did not finish within {timeout:g} s ({pending} points pending); nothing is lost: "
            "the writer goes on"
        )
    return left


def _ids(ids: Iterable[int] | None) -> list[int] | None:
    if ids is None:
        return None
    if isinstance(ids, int):
        ids = [ids]
    result = list(ids)
    for value in result:
        if type(value) is not int:
            raise InvalidInputError(f"quarantine ids are integers (QuarantinedBatch.id), not {value!r}")
    return result


def _disk_spool(settings: Settings) -> Spool:
    """The spool on disk; SQLite is imported only by a writer that uses it (not at import time)."""
    from .._spool.sqlite import SqliteSpool

    assert settings.spool is not None
    return SqliteSpool(settings.spool, fsync=settings.fsync, shared=settings.shared_spool)
