"""The asyncio writer, `AsyncWriter`: a commit task and a send task around a `WriterEngine`.

The async twin of `Writer` (``writers``), with the same steps and shape: the loops ask the engine
for the next step, match on it, wait on a `_Signal` or do the spool's call (on the writer's one
worker thread, so that the event loop never waits on the disk) or the post, and hand the outcome
back.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

from .._exceptions import InvalidInputError, SpoolError, WriterClosedError, WriterTimeoutError
from .base import CLOSE_COMMIT_TIME, RESTART_DELAY, BaseWriter, deadline_of, log
from .delivery import Delivery
from .options import WriterOptions
from .steps import Append, Commit, Pause, Send, Stop, Sweep, Wait

if TYPE_CHECKING:
    # Imported where the async writer runs (in a running event loop, so asyncio is loaded by then),
    # not with the package: asyncio is a sixth of its import time, and threads' users never need it.
    import asyncio

    import httpx

    from .._http.base_client import BaseClient

__all__ = ["AsyncWriter"]

_T = TypeVar("_T")


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

    Args:
        client: The client the writer sends through: an
            [`AsyncDataInteractionClient`][data_interaction_client.AsyncDataInteractionClient]
            (``client.writer`` passes itself).

    """

    def __init__(
        self,
        client: BaseClient[httpx.AsyncClient],
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
                await asyncio.sleep(RESTART_DELAY)

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
        while (body := delivery.next()) is not None:
            started = time.monotonic()
            error = None
            try:
                await self._link.post(body.join())
            except Exception as exc:
                error = exc
            step = self._engine.sent(delivery, body, time.monotonic() - started, error)
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
        await self._sync(deadline_of(timeout), timeout, "sync")
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
        deadline = deadline_of(timeout)
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
            if not self._engine.begin_close(self._options["close_timeout"]):
                return
        started = time.monotonic()
        deadline = started + self._options["close_timeout"]
        try:
            try:
                await self._sync(
                    max(deadline, started + CLOSE_COMMIT_TIME),
                    self._options["close_timeout"],
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
        await asyncio.wait([committer], timeout=CLOSE_COMMIT_TIME)
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
