"""The thread writer, `Writer`: a commit thread and a send thread around a `WriterEngine`.

The thread twin of `AsyncWriter` (``async_writer``): the loops
ask the engine for the next step, match on it, wait on a condition of the engine's lock or do the
spool's call or the post, and hand the outcome back. Writers still open when the interpreter exits are
closed by ``atexit``.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self, Unpack

from .._exceptions import SpoolError, WriterClosedError, WriterTimeoutError
from .base import CLOSE_COMMIT_TIME, RESTART_DELAY, BaseWriter, deadline_of, log
from .delivery import Delivery
from .options import WriterOptions
from .steps import Append, Commit, Pause, Send, Stop, Sweep, Wait

if TYPE_CHECKING:
    import httpx

    from .._http.base_client import BaseClient

__all__ = ["Writer"]


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

    Args:
        client: The client the writer sends through, with its transport, token, timeouts and typed
            errors: a [`DataInteractionClient`][data_interaction_client.DataInteractionClient]
            (``client.writer`` passes itself).

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
        client: BaseClient[httpx.Client],
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
                time.sleep(RESTART_DELAY)

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
        """Send every request body until each is accepted or set aside; ``False`` when stopped first."""
        while (body := delivery.next()) is not None:
            started = time.monotonic()
            error = None
            try:
                self._link.post(body.join())
            except Exception as exc:
                error = exc
            if not self._pause(self._engine.sent(delivery, body, time.monotonic() - started, error)):
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
        self._sync(deadline_of(timeout), timeout, "sync")
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
        deadline = deadline_of(timeout)
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
        self._close(self._options["close_timeout"])

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
                self._sync(max(deadline, started + CLOSE_COMMIT_TIME), close_timeout, "close", deadline)
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
        self._commit_thread.join(CLOSE_COMMIT_TIME)
        self._send_thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._engine.finish_close()
        self._spool.close()
        _unregister(self)


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
