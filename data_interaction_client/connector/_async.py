"""The async driver: the connector's hooks on the event loop, with the async client and writer.

The twin of `_sync`: one task reads the data source from the platform (first with backoff,
then every ``refresh_interval``), the main task runs the schedule and the hooks; a hook that is not
``async def`` is called as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from .._client import AsyncDataInteractionClient
from .._exceptions import DataInteractionError, DataSourceNotActiveError, InvalidInputError, NotFoundError
from .._tag import Tag
from ._core import FIRST_RETRY_DELAY, MAX_RETRY_DELAY, Core, Point, Schedule, TagChanges, log, transient
from ._errors import OpenError, fatal_open_error
from ._sync import BACKFILL_CHUNK, now_us
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
        self._write_errors: set[str] = set()

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
            await self._backfill(self.core.poll_tags())
            await self._loop()
        finally:
            self.stop.set()
            if refresher is not None:
                refresher.cancel()
                await asyncio.gather(refresher, return_exceptions=True)
            await self._close(opened)

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

    async def _open(self) -> bool:
        delay = FIRST_RETRY_DELAY
        failing = False
        while not self.stop.is_set():
            source = self.core.source
            assert source is not None
            self.connector.source = source
            try:
                await _call(self.connector.open, source)
            except OSError as exc:
                if not failing:
                    log.warning("open() failed (%s); trying again, with backoff", exc)
                failing = True
                await self._sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)
                continue
            except Exception as exc:
                raise fatal_open_error(exc) from exc
            if failing:
                log.warning("open() worked")
            return True
        return False

    async def _backfill(self, tags: list[Tag]) -> None:
        backfill = getattr(self.connector, "backfill", None)
        if backfill is None:
            return
        assert self.writer is not None
        until = now_us()
        for tag in tags:
            if self.stop.is_set():
                return
            since = watermark(self.writer, tag.id)
            count = 0
            try:
                result = backfill(tag, since, until)
                if inspect.isawaitable(result):
                    result = await result
                if result is not None and hasattr(result, "__aiter__"):
                    chunk: list[object] = []
                    async for item in result:
                        chunk.append(item)
                        if len(chunk) >= BACKFILL_CHUNK:
                            count += self._write(self.core.points(chunk, None, "backfill"))
                            chunk = []
                    count += self._write(self.core.points(chunk, None, "backfill"))
                else:
                    items: Iterator[object] = iter(result or ())
                    while chunk := list(islice(items, BACKFILL_CHUNK)):
                        count += self._write(self.core.points(chunk, None, "backfill"))
            except Exception as exc:
                log.error(
                    "backfill() of %r failed after %d readings: %s: %s",
                    tag.id,
                    count,
                    type(exc).__name__,
                    exc,
                )
                continue
            if count:
                log.info("backfill() of %r gave %d readings since %r", tag.id, count, since)

    async def _loop(self) -> None:
        core = self.core
        while not self.stop.is_set():
            changes, self.changes = self.changes, []
            for added, removed, changed in changes:
                hook = getattr(self.connector, "tags_changed", None)
                if hook is not None:
                    await _call(hook, added, removed, changed)
                await self._backfill(added)
            with core.lock:
                active = core.active
                if active and core.schedule is None:
                    core.schedule = Schedule(core.settings.poll_interval, time.monotonic(), now_us())
                schedule = core.schedule
                tags = core.poll_tags()
            if not active or schedule is None:
                await self.wait(None)
                continue
            left = schedule.due() - time.monotonic()
            if left > 0:
                await self.wait(left)
                continue
            x = schedule.take()
            started = time.monotonic()
            try:
                points = core.points(await _readings(self.connector.poll(tags)), x, "poll")
            except Exception as exc:
                ended = time.monotonic()
                with core.lock:
                    points = core.poll_failed(exc, tags, x, ended - started, ended)
            else:
                ended = time.monotonic()
                with core.lock:
                    core.poll_done(ended - started, ended)
            self._write(points)

    def _write(self, points: list[Point]) -> int:
        writer = self.writer
        assert writer is not None
        for tag, x, y, q in points:
            try:
                writer.write(tag, x, y, q)
            except DataInteractionError as exc:
                kind = type(exc).__name__
                if kind not in self._write_errors:
                    self._write_errors.add(kind)
                    log.error("the writer refused a reading: %s", exc)
        return len(points)

    async def _close(self, opened: bool) -> None:
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
