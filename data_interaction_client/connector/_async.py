"""The async driver: the connector's hooks on the event loop, with the async client and writer.

The twin of `_sync`: one task reads the data source from the platform (first with backoff,
then every ``refresh_interval``), the main task runs the schedule and the hooks; a hook that is not
``async def`` is called as it is. ``emit``, ``link_lost``, ``link_restored`` and ``reopen`` called
from another thread are queued and run on the loop, in the order they came.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._client import AsyncDataInteractionClient
from .._exceptions import (
    DataInteractionError,
    DataSourceNotActiveError,
    InvalidInputError,
    NotFoundError,
    WriterClosedError,
)
from .._tag import Tag
from .._types import Timestamp
from ._core import FIRST_RETRY_DELAY, MAX_RETRY_DELAY, Core, Schedule, TagChanges, log, transient
from ._errors import OpenError, SourceLinkLost, fatal_open_error
from ._sync import EMIT_AFTER_STOP, TICK_WAIT, now_us
from ._writing import watermark, writer_options

if TYPE_CHECKING:
    from .._writer.writers import AsyncWriter
    from ._connector import Connector

__all__ = ["AsyncDriver"]


async def _call(function: Any, *args: Any) -> Any:
    result = function(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _readings(result: Any) -> list[object] | None:
    """The readings of a hook's result: awaited, an async iterable collected, an iterable listed."""
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return None
    if isinstance(result, AsyncIterator) or hasattr(result, "__aiter__"):
        return [item async for item in result]
    return list(result)


class AsyncDriver:
    """Runs a connector with async hooks until `request_stop`."""

    def __init__(self, connector: Connector, core: Core) -> None:
        self.connector = connector
        self.core = core
        self.stop = asyncio.Event()
        self.wake = asyncio.Event()
        self.changes: list[TagChanges] = []
        self.fatal: BaseException | None = None
        self.client: AsyncDataInteractionClient | None = None
        self.writer: AsyncWriter | None = None
        self.stopping = False  # emit() refuses readings (set under the core's flow lock)
        self.loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._inbox: deque[Callable[[], None]] = deque()  # calls from other threads, run on the loop

    def request_stop(self) -> None:
        """Stop (on the loop's thread)."""
        self.stop.set()
        self.wake.set()

    async def wait(self, seconds: float | None) -> None:
        """Until woken or ``seconds`` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)
        self.wake.clear()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def run(self) -> None:
        """Run until stopped; `OpenError` when the connector cannot start."""
        settings = self.core.settings
        try:
            client = AsyncDataInteractionClient(settings.url, token=settings.token, **settings.client)
        except (InvalidInputError, TypeError) as exc:
            raise InvalidInputError(f"client: {exc}") from None
        self.client = client
        opened = False
        refresher: asyncio.Task[None] | None = None
        try:
            self.writer = client.writer(settings.spool, **writer_options(self.core, settings.writer))
            self.core.stats = self.writer.stats
            self.connector._runtime_writer = self.writer
            self.connector._runtime = self
            refresher = asyncio.create_task(self._refresh_loop(), name="data-interaction-refresh")
            while self.core.source is None and self.fatal is None and not self.stop.is_set():
                await self.wait(None)
            if self.fatal is not None:
                raise self.fatal
            if self.stop.is_set():
                return
            opened = await self._open()
            if not opened:
                return
            self.core.opened()
            self.core.start_gaps(self.core.poll_tags(), self._watermark)
            await self._subscribe()
            await self._loop()
        finally:
            self.stop.set()
            if refresher is not None:
                refresher.cancel()
                await asyncio.gather(refresher, return_exceptions=True)
            await self._close(opened)

    def _watermark(self, tag_id: Any) -> Timestamp | None:
        return watermark(self.writer, tag_id)

    # --- what connectors call, from the loop or any thread --------------------------------------------

    def _on_loop(self, call: Callable[[], None]) -> None:
        """Run ``call`` now on the loop's thread, or queue it there from another thread."""
        if threading.get_ident() == self._loop_thread:
            call()
            return
        self._inbox.append(call)
        self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        while self._inbox:
            self._inbox.popleft()()

    def emit(self, reading: object) -> None:
        """One reading to the writer now (`Connector.emit`)."""
        core = self.core
        point = core.point_of(reading, 0, now_us(), "emit")
        with core.flow:  # the check and the queueing together: a stop cannot fall between them
            if self.stopping or self.stop.is_set():
                raise WriterClosedError(EMIT_AFTER_STOP)
            self._on_loop(lambda: self._deliver([point]))

    def _deliver(self, points: list[Any]) -> None:
        self.core.deliver(self.writer, points, "emit")

    def link_lost(self, error: object, tags: list[Tag] | None) -> None:
        """`Connector.link_lost`: the marks written now."""

        def lost() -> None:
            if not self.stopping:
                self.core.deliver(self.writer, self.core.link_lost(error, tags), "link_lost", direct=True)
            self.wake.set()

        self._on_loop(lost)

    def link_restored(self, tags: list[Tag] | None) -> None:
        """`Connector.link_restored`: the windows lost are read again."""
        self.core.link_restored(tags)
        self._on_loop(self.wake.set)

    def reopen(self) -> None:
        """`Connector.reopen`."""
        self.core.reopen_wanted("reopen() was called")
        self._on_loop(self.wake.set)

    # --- the platform's side ------------------------------------------------------------------------

    async def _refresh_loop(self) -> None:
        client = self.client
        assert client is not None
        delay = FIRST_RETRY_DELAY
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                connection = await client.connect(self.core.settings.source)
            except DataSourceNotActiveError:
                connection = None
            except DataInteractionError as exc:
                seconds = time.monotonic() - started
                if self.core.source is None and not transient(exc):
                    self.fatal = exc if not isinstance(exc, NotFoundError) else OpenError(str(exc))
                    self.wake.set()
                    return
                with self.core.lock:
                    self.core.connect_failed(exc, seconds)
                wait = delay if not self.core.reached else self.core.settings.refresh_interval
                delay = min(delay * 2, MAX_RETRY_DELAY)
                await self._sleep(wait)
                continue
            seconds = time.monotonic() - started
            with self.core.lock:
                changes = self.core.connected(connection, seconds)
                if changes is not None:
                    self.changes.append(changes)
            self.wake.set()
            await self._sleep(self.core.settings.refresh_interval)

    # --- the connector's side ------------------------------------------------------------------------

    async def _open(self) -> bool:
        core = self.core
        delay = FIRST_RETRY_DELAY
        failing = False
        while not self.stop.is_set():
            source = core.source
            assert source is not None
            self.connector.source = source
            try:
                await _call(self.connector.open, source)
            except (OSError, SourceLinkLost) as exc:
                core.opening(exc)
                if not failing:
                    log.warning(
                        "open() failed (%s); trying again, with backoff up to %g s",
                        exc,
                        core.settings.open_retry_max,
                    )
                failing = True
                await self._sleep(delay)
                delay = min(delay * 2, core.settings.open_retry_max)
                continue
            except Exception as exc:
                raise fatal_open_error(exc) from exc
            if failing:
                log.warning("open() worked")
            return True
        return False

    async def _subscribe(self) -> bool:
        """Call ``subscribe`` with the tags now; ``False`` when it lost the link."""
        hook = getattr(self.connector, "subscribe", None)
        if hook is None:
            return True
        try:
            await _call(hook, self.core.poll_tags())
        except (SourceLinkLost, OSError) as exc:
            self._lost(exc, "subscribe() failed")
            return False
        return True

    def _lost(self, error: BaseException, why: str) -> None:
        self.link_lost(error, None)
        self.core.reopen_wanted(f"{why}: {type(error).__name__}: {error}")

    async def _reopen(self) -> None:
        core = self.core
        why, core.reopen = core.reopen, None
        log.warning("opening the connector again (%s): close(), then open() with backoff", why)
        if core.metrics is not None:
            core.metrics.source_reopens.inc()
        self.link_lost(why, None)
        core.opening(None)
        try:
            await _call(self.connector.close)
        except Exception as exc:
            log.error("close() failed: %s: %s", type(exc).__name__, exc)
        if await self._open():
            core.reopened(await self._subscribe())

    async def _window(self, tag: Tag, since: Timestamp | None, until: int) -> None:
        """Read a tag's window again through ``backfill``: each reading to the writer as it comes."""
        core = self.core
        backfill = getattr(self.connector, "backfill")  # noqa: B009 (a hook the core knows it has)
        given = 0
        room = True
        error: BaseException | None = None

        def take(item: object) -> bool:
            nonlocal given, room
            point = core.point_of(item, given, None, "backfill")
            if not core.deliver(self.writer, [point], "backfill", direct=True):
                room = False
                return False
            given += 1
            return True

        try:
            result = backfill(tag, since, until)
            if inspect.isawaitable(result):
                result = await result
            if result is not None and hasattr(result, "__aiter__"):
                async for item in result:
                    if self.stop.is_set():
                        break
                    if not take(item):
                        break
            else:
                items: Iterator[object] = iter(result or ())
                for item in items:
                    if self.stop.is_set() or not take(item):
                        break
            if self.stop.is_set():
                log.info("stopping in backfill() of %r: its %d readings so far are kept", tag.id, given)
                return
        except SourceLinkLost as exc:
            error = exc
            self._lost(exc, "backfill() lost the link")
        except Exception as exc:
            error = exc
        with core.flow:  # the window closed and what it held written at once: no reading between
            held = core.repair_done(tag, since, until, given, error, room)
            if held:
                core.deliver(self.writer, held, "poll" if core.polls else "emit", direct=True)

    async def _repairs(self, until: int) -> None:
        for tag, since in self.core.repairs_due(time.monotonic()):
            if self.stop.is_set() or self.core.reopen is not None:
                return
            await self._window(tag, since, until)

    async def _changes(self) -> None:
        core = self.core
        changes, self.changes = self.changes, []
        for added, removed, changed in changes:
            hook = getattr(self.connector, "tags_changed", None)
            if hook is not None:
                try:
                    await _call(hook, added, removed, changed)
                except SourceLinkLost as exc:
                    self._lost(exc, "tags_changed() lost the link")
            core.start_gaps(added, self._watermark)
        if changes:
            await self._subscribe()

    async def _loop(self) -> None:
        core = self.core
        while not self.stop.is_set():
            await self._changes()
            if core.reopen_due(time.monotonic()):
                await self._reopen()
                continue
            with core.flow:
                core.report_refused(time.monotonic())
            active = core.active
            if active and core.polls and core.schedule is None:
                core.schedule = Schedule(core.settings.poll_interval, time.monotonic(), now_us())
            schedule = core.schedule
            tags = core.poll_tags()
            if not active:
                await self.wait(TICK_WAIT)
                continue
            if schedule is None:  # push-only: read the windows due, then wait for news
                await self._repairs(now_us())
                wait = core.next_repair_in(time.monotonic())
                await self.wait(TICK_WAIT if wait is None else min(wait, TICK_WAIT))
                continue
            left = schedule.due() - time.monotonic()
            if left > 0:
                await self.wait(min(left, TICK_WAIT))
                continue
            await self._tick(schedule, tags)

    async def _tick(self, schedule: Schedule, tags: list[Tag]) -> None:
        """The due tick: the windows not read up to it, then the poll (unless that ran late)."""
        core = self.core
        x = schedule.take(now_us())
        await self._repairs(x)  # the windows not read, up to this tick: backfill catches up with the poll
        if self.stop.is_set():
            return
        if schedule.late(time.monotonic()):  # the backfill ran past the next tick: catch up first
            while schedule.late(time.monotonic()) and not self.stop.is_set() and core.reopen is None:
                core.skip(time.monotonic())
                await self._repairs(now_us())
            return
        started = time.monotonic()
        try:
            points = core.points(await _readings(self.connector.poll(tags)), x, "poll")
        except Exception as exc:
            ended = time.monotonic()
            marks = core.poll_failed(exc, tags, x, ended - started, ended)
            if isinstance(exc, SourceLinkLost):
                core.reopen_wanted(f"poll() lost the link: {exc}")
            core.deliver(self.writer, marks, "link_lost", direct=True)
        else:
            ended = time.monotonic()
            core.poll_done(ended - started, ended)
            core.deliver(self.writer, points, "poll")

    async def _close(self, opened: bool) -> None:
        core = self.core
        with core.flow:
            self.stopping = True
        self._drain()  # every reading emitted before the stop began goes to the writer before it closes
        with core.flow:
            held = sum(len(points) for points in core.held.values())
            core.report_refused(time.monotonic(), force=True)
        if held:
            log.warning(
                "stopped with %d readings held while their windows were read again: the next start's "
                "backfill reads them",
                held,
            )
        if opened:
            try:
                await _call(self.connector.close)
            except Exception as exc:
                log.error("close() failed: %s: %s", type(exc).__name__, exc)
        if self.writer is not None:
            await self.writer.close()
            left = self.writer.stats().pending_points
            if left:
                log.warning("stopped with %d points in the spool: the next start delivers them", left)
        if self.client is not None:
            await self.client.aclose()
