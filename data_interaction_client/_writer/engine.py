"""The writer's engine: every decision of the sync and async writers, under one lock; no I/O.

`WriterEngine` composes the roles and owns the lock they share. The two writers (`Writer` in
``writers``, `AsyncWriter` in ``async_writer``) hold an engine and add only the I/O and the waiting:
a thread or an asyncio task that commits, another that sends, the spool's calls, the one ``post`` of
a request body, and how a caller waits for ``sync`` and ``flush``. Their loops ask the engine for
the next step (the small frozen classes of ``steps``), match on it, do it and hand the outcome back:

- the commit loop: `WriterEngine.next_commit` gives `Wait`, `Stop`, `Commit` or `Sweep`; a
  `Commit` is encoded by `WriterEngine.encode` (an `Append`), appended to the spool, and its
  outcome given to `WriterEngine.committed` or `WriterEngine.commit_failed`; a sweep's to
  `WriterEngine.swept`.
- the send loop: `WriterEngine.next_send` gives `Wait`, `Stop` or `Send`; the records the spool
  gives for a `Send` become a `Delivery` (`WriterEngine.delivery`), each request body of it is posted and
  its outcome given to `WriterEngine.sent`, which answers `Pause` (how long before the next post)
  or `Stop`; `WriterEngine.settled` once the spool removed what was delivered.

The roles, each in its module and testable alone:

- `Intake` (``intake``): ``write*`` on the caller's thread, the points waiting for the committer,
  admission within the `Room` the engine sets (overflow, the intake's cap).
- `Committer` (``committer``): the intake taken, encoded in records and appended to the spool
  (with each tag's watermark); refusals of the spool (a full disk) and its tidying.
- `Sender` (``sender``): when to send, what each request's outcome means (accepted, retried with
  backoff, split, set aside), the health of delivery and the callbacks.
- `Accounts` (``accounts``): what was sent, dropped and refused; what a close left.
- `Life` (``life``): open, closing, stopping, closed, its client closed; what a close leaves behind.

The engine holds what joins them: the lock, the room, ``sync`` and ``flush``, ``stats`` and the
watermarks.

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
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from .._exceptions import (
    ClientClosedError,
    InvalidInputError,
    SpoolError,
    WriterClosedError,
    WriterTimeoutError,
)
from .._http.base_client import WriterLink
from .._spool.contract import AppendResult, QuarantineEntry, Record, Spool
from .._spool.record_format import RecordError, decode_points
from .._tag import Tag
from .._types import PointDict, TagId, TagIdLike, tag_id_from
from .accounts import Accounts, Pending
from .committer import _STORE_RETRY_DELAY, Committer
from .delivery import Delivery, describe, unreachable
from .intake import Intake, Room, Signal, limit_of
from .life import Life
from .options import CheckedOptions, QuarantinedBatch, WriterStats
from .records import RequestBody
from .sender import Sender
from .steps import STOP, SWEEP, Append, Commit, Pause, Send, Stop, Sweep, SyncTarget, Wait

__all__ = [
    "INTAKE_BYTES",
    "INTAKE_CAP",
    "WriterEngine",
    "client_closed",
    "ids_of",
    "quarantined_batches",
    "remaining",
    "watch_client",
]

log = logging.getLogger("data_interaction_client.writer")

INTAKE_CAP = 20_000
"""Points the intake may hold before a sync writer's write waits for the committer to take them: a thread
writing flat out (a million points a second) outruns encoding and the disk, and without this bound the
points pending would pile up in memory instead of on disk."""
INTAKE_BYTES = 8 * 1024 * 1024
"""Bytes of points encoded by ``write_points`` the intake may hold before a sync writer's ``write_points``
waits for the committer: enough for the committer to take large bites (one commit per disk flush), little
next to the points a caller gives at once."""


def _cannot_wait(seconds: float) -> None:  # pragma: no cover - only a writer that can wait blocks
    raise AssertionError("this writer's writes never wait for room")


class WriterEngine:
    """The writer's state and every decision that does no I/O; `Writer` and ``AsyncWriter`` hold one.

    ``spool`` is read for its counters only (the writers call it). ``signal(commit=, send=,
    progress=)`` wakes the commit loop, the send loop or those waiting for progress (called with the
    lock held). ``wait_for_room(seconds)``, when given, lets a write wait (the lock held, released
    meanwhile) for the committer or the sender to make room: for ``overflow="block"``, and for the
    intake's own cap (`INTAKE_CAP`, `INTAKE_BYTES`), which applies to such a writer only.

    ``lock`` is the one lock: the methods documented "the lock held" are called inside
    ``with engine.lock`` (the writers wait on conditions of it there); the others take it.
    """

    def __init__(
        self,
        options: CheckedOptions,
        link: WriterLink,
        spool: Spool,
        *,
        signal: Signal,
        wait_for_room: Callable[[float], None] | None = None,
    ) -> None:
        self.options = options
        self.lock = threading.Lock()
        self._signal = signal
        self._spool = spool
        self._life = Life(options["spool"])
        self._accounts = Accounts()
        if wait_for_room is None:
            self.room = Room()
        else:
            self.room = Room(cap=INTAKE_CAP, bytes_cap=INTAKE_BYTES)
        self.intake = Intake(
            options,
            link,
            self.lock,
            self._accounts,
            self.room,
            signal=signal,
            wait_for_room=wait_for_room or _cannot_wait,
            gate=self._gate,
            pending=self.pending_points,
        )
        self._commits = Committer(options, self.intake, self.lock, self._accounts, spool.watermarks())
        self._sends = Sender(options, spool, self._accounts, self.pending_points)
        with self.lock:
            self._update_room()
        if spool.records:
            log.info(
                "spool %s holds %d points in %d batches from before: sending them first",
                options["spool"],
                spool.points,
                spool.records,
            )

    @property
    def closing(self) -> bool:
        """Whether the writer has begun closing (it takes no more points)."""
        return self._life.closing

    @property
    def closed(self) -> bool:
        """Whether the writer is closed."""
        return self._life.closed

    # --- room ------------------------------------------------------------------------------------------

    def _gate(self, count: int) -> None:
        """Raise when the writer takes no points at all: closed, its client closed, its disk refusing them."""
        self._life.check_taking(self.pending_points())
        refusal = self._commits.refusal
        if refusal is not None:
            self._accounts.refuse(count)
            raise type(refusal)(
                f"{refusal.args[0]} ({count} points of this call were not kept)", path=refusal.path
            )

    def _update_room(self) -> None:
        """Set the room: the points the writer takes before the overflow policy applies (the lock held)."""
        commits = self._commits
        points, capacity = commits.room(self._spool)
        if not self._life.taking or commits.refusal is not None:
            self.room.set(None, capacity)
            return
        self.room.set(points, capacity)
        if self.intake.count < points:
            self._accounts.room_again(self.pending_points())

    # --- the commit loop ---------------------------------------------------------------------------------

    def next_commit(self, now: float) -> Wait | Stop | Commit | Sweep:
        """What the commit loop does next (the lock held).

        A commit due goes first, stopping or not (the committer stores the intake before it stops);
        an idle committer tidies the spool.
        """
        commits = self._commits
        life = self._life
        wait = commits.due_in(now, life.closing)
        if wait == 0:
            return Commit(commits.take())
        if life.stopping:
            return STOP
        if commits.sweep_due(self._spool.needs_sweep, now):
            return SWEEP
        return Wait(wait)

    def encode(self, commit: Commit) -> Append:
        """The records of a commit, and what to append with them (the records refused before, the limits).

        Encoding is the CPU part of a commit: done without the lock (the async writer does it on its
        worker thread).
        """
        new = self._commits.encode(commit.take)
        with self.lock:
            records, limits = self._commits.to_append(new)
        return Append(commit.take, new, records, limits)

    def committed(self, append: Append, result: AppendResult | None) -> None:
        """The spool took ``append.records`` (``result``; ``None``: there were none to append)."""
        now = time.monotonic()
        with self.lock:
            dropped = self._commits.stored(append.take, append.records, result)
            lost = self._spool.take_lost()  # files deleted under the spool, made again before the append
            if lost:
                self._accounts.drop("lost", lost)
            if result is not None:
                self._sends.appended(result.last, now)
            self._accounts.overflowed(dropped, limit_of(self.options), now)
            self._update_room()
            self._signal(send=True, progress=True)

    def commit_failed(self, append: Append, error: SpoolError) -> None:
        """The spool refused ``append.records``: they are kept and tried again a second later."""
        now = time.monotonic()
        with self.lock:
            self._commits.store_failed(append.take, append.new, error, now)
            self._update_room()
            self._signal(progress=True)

    def swept(self, error: SpoolError | None = None) -> None:
        """The outcome of tidying the spool (``error``: it could not)."""
        if error is not None:
            with self.lock:
                self._commits.sweep_failed(error, time.monotonic())

    def count_lost(self) -> None:
        """Count the points the spool lost to files deleted under it (it said so at ERROR)."""
        lost = self._spool.take_lost()
        if lost:
            with self.lock:
                self._accounts.drop("lost", lost)

    # --- the send loop -----------------------------------------------------------------------------------

    def next_send(self, now: float) -> Wait | Stop | Send:
        """What the send loop does next (the lock held)."""
        life = self._life
        if life.stopping:
            return STOP
        wait = None if life.client_closed else self._sends.due_in(now, life.closing)
        return Send(self._sends.request_points) if wait == 0 else Wait(wait)

    def delivery(self, records: list[Record]) -> Delivery | None:
        """The delivery of the records a `Send` took (``None``: nothing to send); says what was set aside.

        Calls ``on_quarantined`` for damaged records: without the lock.
        """
        self._sends.tell_set_aside()
        return self._sends.delivery(records) if records else None

    def sent(
        self, delivery: Delivery, body: RequestBody, took: float, error: Exception | None
    ) -> Pause | Stop:
        """What a ``post`` of ``body`` did, and how long the send loop pauses before the next one.

        ``error`` is what the post raised (``None``: accepted); ``took``: its seconds. Stops when the
        writer is stopping, its client was closed, or it is closing and the platform cannot be
        reached (the records stay in the spool). Calls the callbacks after the lock is released.
        """
        if self._life.stopping:
            return STOP
        sends = self._sends
        now = time.monotonic()
        with self.lock:
            if error is None:
                sends.accepted(delivery, body, now)
                pause = Pause(now, self._life.closing)
            elif isinstance(error, ClientClosedError):
                self._lose_client()
                return STOP
            elif self._life.closing and unreachable(error):
                self._give_up(error)
                return STOP
            else:
                delay, verdict = sends.failed(delivery, body, error, now)
                pause = Pause(now + (delay or 0.0), self._life.closing)
        if error is None:
            sends.report_accepted(body, took)
        else:
            sends.report_failed(body, took, error, delay, verdict)
        return pause

    def spool_failed(self, error: SpoolError, doing: str) -> Pause | Stop:
        """The send loop could not ``doing`` the spool: it pauses, then tries again; or it stops."""
        if self._life.stopping:
            return STOP
        log.error("the writer could not %s its spool (%s); trying again", doing, error)
        with self.lock:
            return Pause(time.monotonic() + _STORE_RETRY_DELAY, self._life.closing)

    def pause_left(self, pause: Pause) -> float | None:
        """Seconds a pause still lasts (the lock held): 0.0 when over, ``None`` when the loop is to stop.

        A pause ends early when closing begins meanwhile: the send is tried once more at once.
        """
        if self._life.stopping:
            return None
        left = pause.until - time.monotonic()
        return 0.0 if left <= 0 or self._life.closing != pause.closing else left

    def settled(self) -> None:
        """The spool removed what was delivered."""
        with self.lock:
            self._update_room()
            self._signal(progress=True)

    # --- sync() and flush(): the lock held ----------------------------------------------------------------

    def ask_sync(self) -> SyncTarget:
        """Ask for a commit now; what ``sync`` waits for (see `sync_wait`)."""
        self._life.check_open()
        target = self.intake.written
        if self._commits.committed < target:
            self.intake.commit_now = True
            self._signal(commit=True)
        return SyncTarget(target, self._commits.refusals)

    def sync_wait(
        self,
        target: SyncTarget,
        deadline: float | None,
        timeout: float | None,
        what: str,
        disk_deadline: float | None = None,
    ) -> float | None:
        """Seconds ``sync`` may wait for progress (``None``: until there is some); 0.0 when it is done.

        ``target`` is `ask_sync`'s. While the spool refuses the points, the wait goes on until
        ``deadline`` (``disk_deadline`` when given), as the committer tries again, and then raises
        the spool's error; without a deadline, it raises once a try made after the call has failed.
        Otherwise [`WriterTimeoutError`][data_interaction_client.WriterTimeoutError] at ``deadline``.
        """
        if self._commits.committed >= target.points:
            return 0.0
        now = time.monotonic()
        refusal = self._commits.refusal
        if refusal is not None:
            limit = deadline if disk_deadline is None else disk_deadline
            if (self._commits.refusals > target.refusals) if limit is None else now >= limit:
                raise type(refusal)(
                    f"{refusal.args[0]} (points written before this call are kept in memory, not on "
                    "disk; the writer tries again every second)",
                    path=refusal.path,
                )
            if limit is not None and deadline is not None:
                deadline = min(deadline, limit)
        return remaining(deadline, what, timeout, self.pending_points(), now)

    def ask_flush(self) -> int:
        """After ``sync``: ask for a send now; the record id ``flush`` waits for (0: nothing pending)."""
        if not self._spool.records:
            return 0
        if self._life.client_closed:
            raise WriterClosedError(self._life.client_closed_message(self.pending_points()))
        self._signal(send=True)
        return self._sends.flush()

    def flush_wait(self, through: int, deadline: float | None, timeout: float | None) -> float | None:
        """Seconds ``flush`` may wait for progress (``None``: until there is some); 0.0 when it is done.

        ``through`` is `ask_flush`'s. Raises [`WriterClosedError`][data_interaction_client.WriterClosedError]
        when nothing more will be sent, [`WriterTimeoutError`][data_interaction_client.WriterTimeoutError]
        at ``deadline``.
        """
        head = self._spool.head
        if head is None or head > through:
            return 0.0
        self._life.check_sending(self.pending_points())
        return remaining(deadline, "flush", timeout, self.pending_points())

    # --- the client closed under the writer ----------------------------------------------------------

    def client_gone(self) -> None:
        """The client was closed: take no more points, send nothing more (the pending stay in the spool)."""
        with self.lock:
            self._lose_client()

    def _lose_client(self) -> None:
        if self._life.lose_client(self.pending_points()):
            self._sends.health = "critical"
            self._sends.last_error = "the writer's client was closed"
            self._update_room()
            self._signal(send=True, progress=True)

    # --- closing: the lock held ---------------------------------------------------------------------

    def begin_close(self, timeout: float) -> bool:
        """Stop the intake, say what is pending; ``False`` when already closing."""
        sends = self._sends
        if not self._life.begin_close(
            self.pending_points(), timeout, None if sends.health == "ok" else sends.last_error
        ):
            return False
        self._update_room()
        self._signal(commit=True, send=True, progress=True)
        return True

    def stop(self) -> None:
        """The loops are to return: the committer once it has stored the intake, the sender at once."""
        self._life.stopping = True
        self._signal(commit=True, send=True, progress=True)

    def finish_close(self) -> None:
        """The loops have returned (or were given up on): say what was left behind; the writer is closed."""
        self._accounts.closed(self._pending(), self.options["spool"])
        self._life.closed = True

    def _give_up(self, error: BaseException) -> None:
        """Closing, and the platform cannot be reached: stop trying now (the lock held)."""
        self._sends.last_error = describe(error)
        self._signal(progress=True)
        self._life.give_up(self._sends.last_error, self.pending_points())

    # --- the quarantine's outcomes -------------------------------------------------------------------

    def requeued(self, moved: int) -> None:
        """The spool moved ``moved`` quarantined records back to the queue."""
        with self.lock:
            if moved:
                self._sends.appended(self._spool.last_id, time.monotonic())
            self._update_room()
            self._signal(send=True)

    def purged(self, records: int, points: int) -> None:
        """The spool deleted ``records`` quarantined records of ``points`` points: they are lost."""
        if points:
            with self.lock:
                self._accounts.drop("purged", points)
            log.warning("purged %d quarantined batches (%d points)", records, points)

    # --- stats -------------------------------------------------------------------------------------

    def _pending(self) -> Pending:
        return Pending(self.intake.count, self._commits.held, self._spool.points)

    def pending_points(self) -> int:
        """The points the writer holds: in the intake, being committed, in the spool."""
        return self._pending().total

    def stats(self) -> WriterStats:
        """A snapshot of the writer (`Writer.stats`)."""
        with self.lock:
            spool = self._spool
            intake = self.intake
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
                quarantined=spool.quarantined_records,
            )
            return self._accounts.stats(
                pending=self._pending(),
                records=spool.records,
                oldest_age=max(ages) if ages else None,
                spool_bytes=spool.bytes,
                quarantined=spool.quarantined_records,
                failures=sends.failures,
                last_error=sends.last_error,
                health=health,
            )

    def watermark(self, tag: Tag | TagIdLike) -> int | str | None:
        """The timestamp of the last point of ``tag`` stored (`Writer.watermark`), or ``None``."""
        tag_id = tag.id if isinstance(tag, Tag) else tag_id_from(tag)
        with self.lock:
            return self._commits.watermarks.of(tag_id)

    def watermarks(self) -> dict[TagId, int | str]:
        """Every tag's watermark."""
        with self.lock:
            return self._commits.watermarks.all()


# The engines of each client's writers, told when it is closed (a weak map: neither is kept alive by it).
_engines_of: weakref.WeakKeyDictionary[object, weakref.WeakSet[WriterEngine]] = weakref.WeakKeyDictionary()
_engines_lock = threading.Lock()


def watch_client(client: object, engine: WriterEngine) -> None:
    """Have `client_closed` tell ``engine`` when ``client`` closes."""
    with _engines_lock:
        _engines_of.setdefault(client, weakref.WeakSet()).add(engine)


def client_closed(client: object) -> None:
    """Tell the writers made by ``client`` that it was closed: they take no more points, send nothing."""
    with _engines_lock:
        engines = list(_engines_of.pop(client, ()))
    for engine in engines:
        engine.client_gone()


def quarantined_batches(entries: Iterable[QuarantineEntry]) -> list[QuarantinedBatch]:
    """The quarantine's entries as the writers give them: decoded, or marked damaged."""
    result = []
    for entry in entries:
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


def remaining(
    deadline: float | None, what: str, timeout: float | None, pending: int, now: float | None = None
) -> float | None:
    """Seconds left before ``deadline`` (never 0.0, which means done); `WriterTimeoutError` once it passed."""
    if deadline is None:
        return None
    left = deadline - (time.monotonic() if now is None else now)
    if left <= 0:
        raise WriterTimeoutError(
            f"{what}() did not finish within {timeout:g} s ({pending} points pending); nothing is lost: "
            "the writer goes on"
        )
    return max(left, 1e-6)


def ids_of(ids: Iterable[int] | None) -> list[int] | None:
    """The quarantine ids given to ``requeue_quarantined`` and ``purge_quarantined``, checked."""
    if ids is None:
        return None
    if isinstance(ids, int):
        ids = [ids]
    result = list(ids)
    for value in result:
        if type(value) is not int:
            raise InvalidInputError(f"quarantine ids are integers (QuarantinedBatch.id), not {value!r}")
    return result
