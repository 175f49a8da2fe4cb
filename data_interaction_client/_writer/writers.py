"""The background writers: `Writer` (threads) and `AsyncWriter` (asyncio tasks).

Both are thin: each holds a `WriterEngine` (the state and every decision, no I/O) and adds the
commit loop and the send loop (two threads, or two tasks with the spool's I/O on one worker thread),
the waiting of ``sync``, ``flush`` and ``close``, the spool's calls and the one call that sends a
piece. The twins' loops have the same steps and shape: ask the engine for the next step, match on
it, wait or do its I/O, hand the outcome back. `BaseWriter` holds what they share: opening, and the
methods that neither wait nor depend on the loops.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, Unpack

from .._exceptions import InvalidInputError, SpoolError, WriterClosedError, WriterTimeoutError
from .._http.base_client import BaseClient
from .._spool.contract import MemorySpool, Spool
from .._tag import Tag
from .._types import NOT_GIVEN, NotGiven, TagId, TagIdLike
from .delivery import Delivery
from .engine import (
    Append,
    Commit,
    Pause,
    Send,
    Stop,
    Sweep,
    Wait,
    WriterEngine,
    ids_of,
    quarantined_batches,
    watch_client,
)
from .intake import Signal
from .options import QuarantinedBatch, Settings, WriterOptions, WriterStats, settings_from

if TYPE_CHECKING:
    # Imported where the async writer runs (in a running event loop, so asyncio is loaded by then),
    # not with the package: asyncio is a sixth of its import time, and threads' users never need it.
    import asyncio

    from .._client import AsyncDataInteractionClient, DataInteractionClient

__all__ = ["AsyncWriter", "BaseWriter", "Writer"]

log = logging.getLogger("data_interaction_client.writer")

_T = TypeVar("_T")
_CLOSE_COMMIT_TIME = 5.0
"""Seconds close() gives the last commit (local disk) even when close_timeout is shorter."""
_RESTART_DELAY = 1.0
"""Seconds before a loop that failed unexpectedly starts again."""


def _deadline(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise InvalidInputError(f"timeout must be a number of seconds >= 0, or None, not {timeout!r}")
    return time.monotonic() + timeout


def _disk_spool(settings: Settings) -> Spool:
    """The spool on disk; SQLite is imported only by a writer that uses it (not at import time)."""
    from .._spool.sqlite import SqliteSpool

    assert settings.spool is not None
    return SqliteSpool(settings.spool, fsync=settings.fsync, shared=settings.shared_spool)


class BaseWriter:
    """What `Writer` and ``AsyncWriter`` share: the engine they hold, and the calls that never wait."""

    def __init__(
        self,
        client: BaseClient[Any],
        spool: object,
        options: WriterOptions,
        *,
        signal: Signal,
        wait_for_room: Callable[[float], None] | None = None,
    ) -> None:
        settings = settings_from(spool, options, client)
        self._settings = settings
        self._link = client._writer_link(settings.timeout, settings.max_retries)
        self._spool: Spool = MemorySpool() if settings.spool is None else _disk_spool(settings)
        engine = WriterEngine(settings, self._link, self._spool, signal=signal, wait_for_room=wait_for_room)
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
        batches, points = self._spool.purge(ids_of(ids))
        self._engine.purged(batches, points)
        return batches

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
        return self._settings.spool

    @property
    def closed(self) -> bool:
        """Whether the writer is closed."""
        return self._engine.closed

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(spool={self._settings.spool!r}, pending_points={self._engine.pending_points()})"


class Writer(BaseWriter):
    """A background writer with a durable spool: the way long-running connectors send points.

    Made by ``client.writer(spool=...)``; use it as a context manager, or call `close`:

    ```python
    with client.writer(spool="/var/lib/my-connector/spool") as w:
        w.write(tag, x, y)              # a Tag or a tag id; never waits on the network
        w.write_points(tag, points)     # many: dicts, tuples or columns
        w.write_tags(tags)              # move the tags' buffered points into the writer
        w.sync()                        # returns once everything written so far is on disk
        w.flush()                       # returns once everything written so far is accepted
        print(w.stats())
    ```

    The two promises:

    1. A point written is on disk within ``commit_interval`` (default at most 0.2 s); ``sync()``
       returns once everything written so far is on disk (``synchronous=FULL`` or equivalent by
       default, so it also holds through power loss on disks that honour flush; an option may trade
       that for speed). The option is ``fsync=False``: it still holds through a crash of the process.
    2. A point on disk reaches the platform, through outages, ``kill -9`` and restarts, in write
       order per tag. A point may arrive more than once in exactly two cases, each copy identical
       (harmless: the platform keeps the last write per (tag, x)): a request that timed out, or
       whose answer was lost, after the platform stored it is sent again by the retries; and the
       request in flight when the process died (or when ``close`` gave up on it) is sent again
       by the next writer on the spool.

    Every point is checked when it is given ([`InvalidPointError`][data_interaction_client.InvalidPointError],
    as ``Tag.update``). Points are sent in requests of up to ``batch_points``, at least every
    ``flush_interval``, one request at a time, through the client's transport (its token, timeouts, typed
    errors and ``Retry-After``). After a failure the writer waits (doubling from 1 s up to
    ``max_retry_delay``, or as long as ``Retry-After`` says, up to 60 s) and tries again, forever: it never
    gives up on a point for a transient failure (connection errors, timeouts, 408, 429, 5xx), and it logs when
    the platform stops and starts accepting points, not every retry. A batch the platform refuses for good
    (400, 404, 409, 422) goes to the quarantine (`quarantined`), one tag's points at a time,
    without holding up the others; one too large (413) is split. A refused token (401, 403) is
    retried too (the points stay; fix the token and restart) and reported as ``health="critical"``.

    The arguments below are all keyword-only, given to ``client.writer``.

    Keyword Args:
        spool: A directory for the spool (created if need be; one writer per directory), or ``None``
            to keep pending points in memory only (lost if the process ends).
        batch_points: Points per request, at most (default 20,000; after a 413 the writer sends
            at most half of what was refused, and tries twice as many after ten minutes without one).
        flush_interval: Seconds a point may wait for others to join its request (default 1.0).
        commit_interval: Seconds within which a written point is on disk (default 0.2).
        close_timeout: Seconds `close` spends delivering what is pending (default 10); the rest
            stays in the spool for the next start.
        max_spool_bytes: Bytes of points the spool may hold (default 1 GiB); with a spool only.
        max_pending_points: Points a memory-only writer may hold (default 1,000,000).
        overflow: When full: ``"raise"`` (default:
            [`WriterFullError`][data_interaction_client.WriterFullError], the call's points are not kept),
            ``"block"`` (wait up to ``block_timeout`` seconds for room, then raise; not in the async writer)
            or ``"drop_oldest"`` (drop the oldest pending points, counted in ``stats().dropped_points`` and
            logged at WARNING).
        block_timeout: Seconds a write waits for room with ``overflow="block"`` (default 60).
        fsync: ``True`` (default) to flush each commit to the disk; see the first promise.
        shared_spool: ``True`` to take a spool directory that another user owns or that others may
            write into (refused by default: whoever can write into it could plant links there; files
            are never opened through a link either way). Default ``False``.
        scale: Multiply numeric values by the tag's ``smtTagValueScale`` (default ``False``).
        deadband: Drop points within the tag's ``smtTagMaxDev`` of the last one kept (default ``False``).
        max_interval: With ``deadband``, keep a point at least this many seconds (by timestamp) after
            the last kept, whatever its value (default 600; ``None``: never).
        max_retry_delay: The longest wait between failed attempts (default 30 s).
        timeout: The client's ``timeout`` for each request (default: the client's).
        max_retries: The client's quick retries within one attempt (default 0: the writer's own
            retries, forever and logged only when the state changes, are enough).
        on_accepted: Called after each request the platform accepted.
        on_retry: Called after each failed request whose points will be sent again (``retry_in``
            says when; 0 when the batch is split in two, sent at once).
        on_quarantined: Called when a batch is set aside in the quarantine.

    The callbacks take one [`WriteEvent`][data_interaction_client.WriteEvent] and run on the writer's sender
    thread (on the event loop for ``AsyncWriter``; plain functions in both): keep them short. An exception
    raised by a callback is logged once per callback, with its traceback, and otherwise ignored: it never
    stops delivery.

    ``set_policy(tag, ...)`` sets ``scale``, ``deadband`` and ``max_interval`` for one tag.

    Close the writer before its client. Once the client is closed, the writer takes no more points
    (``write`` and the others raise [`WriterClosedError`][data_interaction_client.WriterClosedError], saying
    that the client was closed) and sends nothing more; its pending points stay in the spool for the next
    writer (a memory-only writer loses them, logged at ERROR when it closes).

    """

    def __init__(
        self,
        client: DataInteractionClient,
        spool: str | os.PathLike[str] | None = None,
        **options: Unpack[WriterOptions],
    ) -> None:
        super().__init__(client, spool, options, signal=self._signal, wait_for_room=self._wait_for_room)
        self._commit_cv = threading.Condition(self._lock)
        self._send_cv = threading.Condition(self._lock)
        self._progress_cv = threading.Condition(self._lock)
        name = f"data-interaction-writer-{id(self):x}"
        self._commit_thread = threading.Thread(
            target=self._guard, args=(self._commit_loop,), name=f"{name}-commit", daemon=True
        )
        self._send_thread = threading.Thread(
            target=self._guard, args=(self._send_loop,), name=f"{name}-send", daemon=True
        )
        self._commit_thread.start()
        self._send_thread.start()
        _register(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- what the engine asks for --------------------------------------------------------------------

    def _signal(self, *, commit: bool = False, send: bool = False, progress: bool = False) -> None:
        if commit:
            self._commit_cv.notify()
        if send:
            self._send_cv.notify()
        if progress:
            self._progress_cv.notify_all()

    def _wait_for_room(self, seconds: float) -> None:
        self._progress_cv.wait(seconds)

    # --- the committer ---------------------------------------------------------------------------------

    def _guard(self, loop: Callable[[], None]) -> None:
        """Run a loop until it returns; an unexpected error is logged and the loop starts again."""
        while True:
            try:
                loop()
                return
            except Exception:
                log.exception(
                    "the writer's %s failed unexpectedly; starting it again", threading.current_thread().name
                )
                time.sleep(_RESTART_DELAY)

    def _commit_loop(self) -> None:
        engine = self._engine
        while True:
            with self._lock:
                step = engine.next_commit(time.monotonic())
                if isinstance(step, Wait):
                    self._commit_cv.wait(step.seconds)  # the lock held until then: no signal is missed
                    continue
            match step:
                case Stop():
                    return
                case Sweep():
                    self._sweep()
                case Commit():
                    self._commit(engine.encode(step))

    def _sweep(self) -> None:
        try:
            self._spool.sweep()
        except SpoolError as exc:
            self._engine.swept(exc)

    def _commit(self, append: Append) -> None:
        result = None
        if append.records:
            try:
                result = self._spool.append(append.records, **append.limits)
            except SpoolError as exc:
                self._engine.commit_failed(append, exc)
                return
        self._engine.committed(append, result)

    # --- the sender ------------------------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            with self._lock:
                step = self._engine.next_send(time.monotonic())
                if isinstance(step, Wait):
                    self._send_cv.wait(step.seconds)
                    continue
            match step:
                case Stop():
                    return
                case Send():
                    if not self._send(step):
                        return

    def _send(self, send: Send) -> bool:
        """Peek the oldest records, deliver them, settle them; ``False`` when the loop is to stop."""
        engine = self._engine
        try:
            records = self._spool.peek(send.max_points)
        except SpoolError as exc:
            return self._pause(engine.spool_failed(exc, "read"))
        delivery = engine.delivery(records)
        if delivery is None:
            return True
        if not self._deliver(delivery):
            return False
        try:
            self._spool.settle(delivery.through, delivery.quarantine)
        except SpoolError as exc:
            self._spool.release()
            return self._pause(engine.spool_failed(exc, "remove delivered points from"))
        engine.settled()
        return True

    def _deliver(self, delivery: Delivery) -> bool:
        """Send every piece until each is accepted or set aside; ``False`` when stopped first."""
        while (piece := delivery.next()) is not None:
            started = time.monotonic()
            error = None
            try:
                self._link.post(piece.body())
            except Exception as exc:
                error = exc
            if not self._pause(self._engine.sent(delivery, piece, time.monotonic() - started, error)):
                return False  # the records stay in the spool
        return True

    def _pause(self, step: Pause | Stop) -> bool:
        """Pause the send loop as the engine said; ``False`` when it is to stop."""
        if isinstance(step, Stop):
            return False
        with self._lock:
            while left := self._engine.pause_left(step):
                self._send_cv.wait(left)
        return left is not None

    # --- waiting ---------------------------------------------------------------------------------------

    def sync(self, timeout: float | None = None) -> None:
        """Return once everything written so far is on disk (in memory for a memory-only writer).

        Raises [`WriterTimeoutError`][data_interaction_client.WriterTimeoutError] after ``timeout`` seconds.
        While the spool refuses the points (a full disk), the writer tries again every second and ``sync``
        waits for it: it raises [`SpoolDiskFullError`][data_interaction_client.SpoolDiskFullError] (or
        [`SpoolError`][data_interaction_client.SpoolError]) when ``timeout`` ends and the spool still refuses
        them, or, without a ``timeout``, once a try made after the call failed. The points stay in memory
        meanwhile.

        It also checks that the spool's files are still where the next writer opens them: deleted or
        replaced under the writer, the spool is made again with what the writer holds (logged at
        ERROR), or, when it cannot be, ``sync`` raises [`SpoolError`][data_interaction_client.SpoolError].
        """
        self._sync(_deadline(timeout), timeout, "sync")
        try:
            self._spool.verify()
        finally:
            self._engine.count_lost()

    def _sync(
        self, deadline: float | None, timeout: float | None, what: str, disk_deadline: float | None = None
    ) -> None:
        engine = self._engine
        with self._lock:
            target = engine.ask_sync()
            while (wait := engine.sync_wait(target, deadline, timeout, what, disk_deadline)) != 0:
                self._progress_cv.wait(wait)

    def flush(self, timeout: float | None = None) -> None:
        """Return once everything written so far has been accepted by the platform (or set aside).

        Sends at once what is pending, without waiting for ``flush_interval``. Raises
        [`WriterTimeoutError`][data_interaction_client.WriterTimeoutError] after ``timeout`` seconds; the
        writer goes on either way. A batch the platform refuses for good is set aside in the quarantine, not
        waited for.
        """
        deadline = _deadline(timeout)
        self._sync(deadline, timeout, "flush")
        engine = self._engine
        with self._lock:
            through = engine.ask_flush()
            while (wait := engine.flush_wait(through, deadline, timeout)) != 0:
                self._progress_cv.wait(wait)

    def close(self) -> None:
        """Stop taking points, deliver for at most ``close_timeout`` seconds, keep the rest in the spool.

        It logs at once what is pending and how long it will try, and stops early when no
        connection to the platform can be made (refused, unknown host, connect timeout).

        Later calls do nothing. A memory-only writer loses what it could not deliver (logged at
        ERROR and counted as ``dropped_points["closed"]``). Interrupted (Ctrl-C), it stops
        delivering but still closes (the pending points stay in the spool) before the
        ``KeyboardInterrupt`` goes on.
        """
        self._close(self._settings.close_timeout)

    def _close(self, close_timeout: float) -> None:
        with self._lock:
            if not self._engine.begin_close(close_timeout):
                return
        started = time.monotonic()
        deadline = started + close_timeout
        try:
            try:
                # The intake goes to the spool (local disk) even when close_timeout is short; a
                # spool that refuses it (a full disk) is tried again until close_timeout.
                self._sync(max(deadline, started + _CLOSE_COMMIT_TIME), close_timeout, "close", deadline)
                self.flush(max(0.0, deadline - time.monotonic()))
            except (WriterTimeoutError, WriterClosedError, SpoolError):
                pass  # what is left is reported below
        except BaseException:
            self._finish_close(time.monotonic())  # interrupted (Ctrl-C): close without delivering
            raise
        self._finish_close(deadline)

    def _finish_close(self, deadline: float) -> None:
        """Stop the threads (the sender by ``deadline``), say what is left, close the spool."""
        with self._lock:
            self._engine.stop()
            self._commit_cv.notify_all()  # every waiter, not only the one a signal wakes
            self._send_cv.notify_all()
        self._commit_thread.join(_CLOSE_COMMIT_TIME)
        self._send_thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._engine.finish_close()
        self._spool.close()
        _unregister(self)


class _Signal:
    """Wakes the coroutines waiting on it; may be fired from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.get_ident()
        self._waiters: set[asyncio.Future[None]] = set()

    def fire(self) -> None:
        if threading.get_ident() == self._thread:
            self._wake()
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float | None) -> None:
        """Until fired or ``timeout`` seconds (``None``: until fired)."""
        import asyncio

        waiter = self._loop.create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait((waiter,), timeout=timeout)
        finally:
            self._waiters.discard(waiter)
            waiter.cancel()


class AsyncWriter(BaseWriter):
    """The async twin of `Writer`: the same options and promises, for ``asyncio``.

    Made by ``AsyncDataInteractionClient.writer(spool=...)`` inside a running event loop:

    ```python
    async with client.writer(spool="/var/lib/my-connector/spool") as w:
        w.write(tag, x, y)            # plain calls: they never wait
        await w.sync()
        await w.flush()
    ```

    ``write``, ``write_points``, ``write_tags``, ``stats`` and the quarantine's methods are plain
    calls; ``sync``, ``flush`` and ``close`` (also ``aclose``) are awaited. The spool is read and
    written on one worker thread, so the event loop never waits on the disk (but for opening the
    spool, in the constructor). ``overflow="block"`` is not offered: a plain call cannot wait
    without blocking the event loop.
    """

    def __init__(
        self,
        client: AsyncDataInteractionClient,
        spool: str | os.PathLike[str] | None = None,
        **options: Unpack[WriterOptions],
    ) -> None:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise InvalidInputError(
                "the async writer runs tasks on the event loop: make it inside a coroutine "
                "(async with client.writer(...) as w:)"
            ) from None
        if options.get("overflow") == "block":
            raise InvalidInputError(
                "overflow='block' would block the event loop in a plain write() call: use 'raise' "
                "(and await w.flush() when WriterFullError comes) or 'drop_oldest'"
            )
        self._loop = loop
        self._commit_signal = _Signal(loop)
        self._send_signal = _Signal(loop)
        self._progress_signal = _Signal(loop)
        super().__init__(client, spool, options, signal=self._signal)
        from concurrent.futures import ThreadPoolExecutor  # only an async writer needs it

        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="data-interaction-writer-io")
        self._closer: asyncio.Task[None] | None = None  # closing, once begun (kept from the GC)
        self._tasks = [
            loop.create_task(self._guard(self._commit_loop), name="data-interaction-writer-commit"),
            loop.create_task(self._guard(self._send_loop), name="data-interaction-writer-send"),
        ]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- what the engine asks for --------------------------------------------------------------------

    def _signal(self, *, commit: bool = False, send: bool = False, progress: bool = False) -> None:
        if commit:
            self._commit_signal.fire()
        if send:
            self._send_signal.fire()
        if progress:
            self._progress_signal.fire()

    async def _io_call(self, function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a spool call on the writer's worker thread."""
        return await self._loop.run_in_executor(self._io, functools.partial(function, *args, **kwargs))

    # --- the committer ---------------------------------------------------------------------------------

    async def _guard(self, loop: Callable[[], Awaitable[None]]) -> None:
        import asyncio

        while True:
            try:
                await loop()
                return
            except Exception:
                log.exception("the async writer's loop failed unexpectedly; starting it again")
                await asyncio.sleep(_RESTART_DELAY)

    async def _commit_loop(self) -> None:
        engine = self._engine
        while True:
            with self._lock:
                step = engine.next_commit(time.monotonic())
            match step:
                case Wait():
                    await self._commit_signal.wait(step.seconds)
                case Stop():
                    return
                case Sweep():
                    await self._sweep()
                case Commit():
                    await self._commit(await self._io_call(engine.encode, step))

    async def _sweep(self) -> None:
        try:
            await self._io_call(self._spool.sweep)
        except SpoolError as exc:
            self._engine.swept(exc)

    async def _commit(self, append: Append) -> None:
        result = None
        if append.records:
            try:
                result = await self._io_call(self._spool.append, append.records, **append.limits)
            except SpoolError as exc:
                self._engine.commit_failed(append, exc)
                return
        self._engine.committed(append, result)

    # --- the sender ------------------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            with self._lock:
                step = self._engine.next_send(time.monotonic())
            match step:
                case Wait():
                    await self._send_signal.wait(step.seconds)
                case Stop():
                    return
                case Send():
                    if not await self._send(step):
                        return

    async def _send(self, send: Send) -> bool:
        """Peek the oldest records, deliver them, settle them; ``False`` when the loop is to stop."""
        engine = self._engine
        try:
            records = await self._io_call(self._spool.peek, send.max_points)
        except SpoolError as exc:
            return await self._pause(engine.spool_failed(exc, "read"))
        delivery = engine.delivery(records)
        if delivery is None:
            return True
        if not await self._deliver(delivery):
            return False
        try:
            await self._io_call(self._spool.settle, delivery.through, delivery.quarantine)
        except SpoolError as exc:
            await self._io_call(self._spool.release)
            return await self._pause(engine.spool_failed(exc, "remove delivered points from"))
        engine.settled()
        return True

    async def _deliver(self, delivery: Delivery) -> bool:
        while (piece := delivery.next()) is not None:
            started = time.monotonic()
            error = None
            try:
                await self._link.post(piece.body())
            except Exception as exc:
                error = exc
            step = self._engine.sent(delivery, piece, time.monotonic() - started, error)
            if not await self._pause(step):
                return False  # the records stay in the spool
        return True

    async def _pause(self, step: Pause | Stop) -> bool:
        """Pause the send loop as the engine said; ``False`` when it is to stop."""
        if isinstance(step, Stop):
            return False
        with self._lock:
            left = self._engine.pause_left(step)
        while left:
            await self._send_signal.wait(left)
            with self._lock:
                left = self._engine.pause_left(step)
        return left is not None

    # --- waiting ---------------------------------------------------------------------------------------

    async def sync(self, timeout: float | None = None) -> None:
        """Return once everything written so far is on disk; see `Writer.sync`."""
        await self._sync(_deadline(timeout), timeout, "sync")
        try:
            await self._io_call(self._spool.verify)
        finally:
            self._engine.count_lost()

    async def _sync(
        self, deadline: float | None, timeout: float | None, what: str, disk_deadline: float | None = None
    ) -> None:
        engine = self._engine
        with self._lock:
            target = engine.ask_sync()
        while True:
            with self._lock:
                wait = engine.sync_wait(target, deadline, timeout, what, disk_deadline)
            if wait == 0:
                return
            await self._progress_signal.wait(wait)

    async def flush(self, timeout: float | None = None) -> None:
        """Return once everything written so far has been accepted; see `Writer.flush`."""
        deadline = _deadline(timeout)
        await self._sync(deadline, timeout, "flush")
        with self._lock:
            through = self._engine.ask_flush()
        while True:
            with self._lock:
                wait = self._engine.flush_wait(through, deadline, timeout)
            if wait == 0:
                return
            await self._progress_signal.wait(wait)

    async def close(self) -> None:
        """Stop taking points, deliver for at most ``close_timeout`` seconds; see `Writer.close`.

        Cancelling it (a task cancelled, a timeout around it) stops delivering at once, but the
        writer still closes before the `asyncio.CancelledError` goes on: the intake is stored
        in the spool, the tasks end, the spool is closed (a new writer may open it) and what was not
        delivered stays there. Later calls return at once.
        """
        import asyncio

        with self._lock:
            if not self._engine.begin_close(self._settings.close_timeout):
                return
        started = time.monotonic()
        deadline = started + self._settings.close_timeout
        try:
            try:
                await self._sync(
                    max(deadline, started + _CLOSE_COMMIT_TIME),
                    self._settings.close_timeout,
                    "close",
                    deadline,
                )
                await self.flush(max(0.0, deadline - time.monotonic()))
            except (WriterTimeoutError, WriterClosedError, SpoolError):
                pass  # what is left is reported below
        except BaseException:
            # Cancelled (or interrupted): close at once, without waiting for the platform. The
            # closing runs in a task of its own, so that a second cancellation cannot stop it.
            self._closer = self._loop.create_task(self._finish_close(time.monotonic()))
            await asyncio.shield(self._closer)
            raise
        self._closer = self._loop.create_task(self._finish_close(deadline))
        await asyncio.shield(self._closer)

    async def _finish_close(self, deadline: float) -> None:
        """Stop the tasks (the sender by ``deadline``), say what is left, close the spool."""
        import asyncio

        with self._lock:
            self._engine.stop()
        committer, sender = self._tasks
        # The committer stores the intake (local disk) and returns; the sender gets what is left.
        await asyncio.wait([committer], timeout=_CLOSE_COMMIT_TIME)
        await asyncio.wait([sender], timeout=max(0.0, deadline - time.monotonic()))
        for task in self._tasks:
            task.cancel()  # a request still in flight: its records stay in the spool
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with self._lock:
            self._engine.finish_close()
        await self._io_call(self._spool.close)
        self._io.shutdown(wait=False)

    aclose = close
    """The same call as [`close`][data_interaction_client.AsyncWriter.close], by the name
    ``contextlib.aclosing`` calls."""


# Writers still open when the interpreter exits write what they hold to their spool (no flush:
# exiting must not wait on the network), as OpenTelemetry's SDK does at shutdown.
_open_writers: weakref.WeakSet[Writer] = weakref.WeakSet()
_registry_lock = threading.Lock()


def _register(writer: Writer) -> None:
    with _registry_lock:
        if not _open_writers:
            atexit.unregister(_close_all)  # registered once, whatever came before
            atexit.register(_close_all)
        _open_writers.add(writer)


def _unregister(writer: Writer) -> None:
    with _registry_lock:
        _open_writers.discard(writer)


def _close_all() -> None:
    for writer in list(_open_writers):
        try:
            writer._close(0.0)
        except Exception:  # pragma: no cover - exiting anyway
            log.exception("closing a writer at exit failed")
