# The source of _sync.py: scripts/unasync.py writes that twin from it (make twins).
"""A driver: it waits, and calls the platform and the connector's hooks; every decision is the core's.

A background task (a thread, in `_sync`) reads the data source from the platform, first with
backoff, then every ``refresh_interval``, so that a slow or unreachable platform never delays a tick
nor a stop; the driver's loop runs the schedule and the hooks. ``emit``, ``link_lost``,
``link_restored`` and ``reopen`` may come from any thread (`Inbox`).

Two drivers, one text. `_async` runs the hooks on the event loop with the async client and writer
(a hook that is not ``async def`` is called as it is); `_sync`, generated from `_async` by
``scripts/unasync.py`` (``async`` and ``await`` dropped, the sync client, writer and primitives
named instead of the async ones), runs them on the calling thread with the sync client and writer.
``make lint`` fails when `_sync` is not what the script writes from `_async`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._async_client import AsyncDataInteractionClient
from .._exceptions import (
    DataInteractionError,
    DataSourceNotActiveError,
    InvalidInputError,
    NotFoundError,
    WriterClosedError,
)
from .._tag import Tag
from .._types import Timestamp
from ._async_primitives import Background, Flag, Inbox, call, each, readings
from ._core import EMIT_AFTER_STOP, TICK_WAIT, Schedule, TagChanges, log, now_us
from ._errors import OpenError, SourceLinkLost, fatal_open_error
from ._policy import ends_the_start, platform_retry_delay, source_retry_delay
from ._state import Core
from ._writing import spool_watermark, writer_options

if TYPE_CHECKING:
    from .._writer.async_writer import AsyncWriter
    from ._connector import Connector

__all__ = ["AsyncDriver"]


class AsyncDriver:
    """Runs a connector until `request_stop`."""

    def __init__(self, connector: Connector, core: Core) -> None:
        self.connector = connector
        self.core = core
        self.stop = Flag()
        self.wake = Flag()
        self.inbox = Inbox()
        self.changes: list[TagChanges] = []
        self.fatal: BaseException | None = None
        self.client: AsyncDataInteractionClient | None = None
        self.writer: AsyncWriter | None = None
        self.stopping = False  # emit() refuses readings (set under the core's flow lock)

    def request_stop(self) -> None:
        """Stop: in `_async` from the loop's thread, in `_sync` from any thread."""
        self.stop.set()
        self.wake.set()

    async def wait(self, seconds: float | None) -> None:
        """Until woken (a stop, news from the platform) or ``seconds`` pass."""
        await self.wake.wait(seconds)
        self.wake.clear()

    async def run(self) -> None:
        """Run until stopped; `OpenError` when the connector cannot start."""
        settings = self.core.settings
        try:
            client = AsyncDataInteractionClient(settings.url, token=settings.token, **settings.client)
        except (InvalidInputError, TypeError) as exc:
            raise InvalidInputError(f"client: {exc}") from None
        self.client = client
        opened = False
        refresher: Background | None = None
        try:
            self.writer = client.writer(settings.spool, **writer_options(self.core, settings.writer))
            self.core.stats = self.writer.stats
            self.connector._runtime_writer = self.writer
            self.connector._runtime = self
            refresher = Background(self._refresh_loop, "data-interaction-refresh")
            while self.core.source is None and self.fatal is None and not self.stop.is_set():
                await self.wait(None)
            if self.fatal is not None:
                raise self.fatal
            if self.stop.is_set():
                return
            opened = await self._open()
            if not opened:
                return
            self.core.link.opened()
            self.core.start(self.core.poll_tags(), self._watermark)
            await self._subscribe()
            await self._loop()
        finally:
            self.stop.set()
            if refresher is not None:
                await refresher.finish()
            await self._close(opened)

    def _watermark(self, tag_id: Any) -> Timestamp | None:
        return spool_watermark(self.writer, tag_id)

    # --- what connectors call, from any thread ---------------------------------------------------------

    def emit(self, reading: object) -> None:
        """One reading to the writer now (`Connector.emit`)."""
        core = self.core
        point = core.handover.point_of(reading, 0, now_us(), "emit")
        with core.flow:  # the check and the handing over together: a stop cannot fall between them
            if self.stopping or self.stop.is_set():
                raise WriterClosedError(EMIT_AFTER_STOP)
            self.inbox.run(lambda: self._deliver([point]))

    def _deliver(self, points: list[Any]) -> None:
        self.core.handover.deliver(self.writer, points, "emit")

    def link_lost(self, error: object, tags: list[Tag] | None) -> None:
        """`Connector.link_lost`: the marks written now."""

        def lost() -> None:
            with self.core.flow:
                if not self.stopping:
                    self.core.handover.deliver(
                        self.writer, self.core.link_lost(error, tags), "link_lost", direct=True
                    )
            self.wake.set()

        self.inbox.run(lost)

    def link_restored(self, tags: list[Tag] | None) -> None:
        """`Connector.link_restored`: the windows lost are read again."""
        self.core.link.restored(tags)
        self.inbox.run(self.wake.set)

    def reopen(self) -> None:
        """`Connector.reopen`."""
        self.core.link.reopen_wanted("reopen() was called")
        self.inbox.run(self.wake.set)

    # --- the platform's side ------------------------------------------------------------------------

    async def _refresh_loop(self) -> None:
        client = self.client
        assert client is not None
        failures = 0  # in a row, before the data source first answered
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                connection = await client.connect(self.core.settings.source)
            except DataSourceNotActiveError:
                connection = None
            except DataInteractionError as exc:
                seconds = time.monotonic() - started
                if self.core.source is None and ends_the_start(exc):
                    self.fatal = exc if not isinstance(exc, NotFoundError) else OpenError(str(exc))
                    self.wake.set()
                    return
                with self.core.lock:
                    self.core.platform.failed(exc, seconds)
                failures += 1
                if self.core.platform.reached:  # known to work: asked again at the refresh's pace
                    await self.stop.wait(self.core.settings.refresh_interval)
                else:
                    await self.stop.wait(platform_retry_delay(exc, failures))
                continue
            seconds = time.monotonic() - started
            with self.core.lock:
                changes = self.core.connected(connection, seconds)
                if changes is not None:
                    self.changes.append(changes)
            self.wake.set()
            await self.stop.wait(self.core.settings.refresh_interval)

    # --- the connector's side ------------------------------------------------------------------------

    async def _open(self) -> bool:
        """Call ``open`` until it works (an ``OSError`` is tried again); ``False`` when stopped first."""
        core = self.core
        failures = 0
        while not self.stop.is_set():
            with core.lock:
                source = core.source
            assert source is not None
            self.connector.source = source
            try:
                await call(self.connector.open, source)
            except (OSError, SourceLinkLost) as exc:
                core.link.opening(exc)
                if not failures:
                    log.warning(
                        "open() failed (%s); trying again, with backoff up to %g s",
                        exc,
                        core.settings.open_retry_max,
                    )
                failures += 1
                await self.stop.wait(source_retry_delay(failures, core.settings.open_retry_max))
                continue
            except Exception as exc:
                raise fatal_open_error(exc) from exc
            if failures:
                log.warning("open() worked")
            return True
        return False

    async def _subscribe(self) -> bool:
        """Call ``subscribe`` with the tags now; ``False`` when it lost the link."""
        hook = getattr(self.connector, "subscribe", None)
        if hook is None:
            return True
        try:
            await call(hook, self.core.poll_tags())
        except (SourceLinkLost, OSError) as exc:
            self._lost(exc, "subscribe() failed")
            return False
        return True

    def _lost(self, error: BaseException, why: str) -> None:
        """A hook lost the link: its marks, and the connector opened again."""
        self.link_lost(error, None)
        self.core.link.reopen_wanted(f"{why}: {type(error).__name__}: {error}")

    async def _reopen(self) -> None:
        core = self.core
        why = core.link.begin_reopen()
        log.warning("opening the connector again (%s): close(), then open() with backoff", why)
        self.link_lost(why, None)
        core.link.opening(None)
        try:
            await call(self.connector.close)
        except Exception as exc:
            log.error("close() failed: %s: %s", type(exc).__name__, exc)
        if await self._open():
            core.link.reopened(await self._subscribe())

    async def _read_window(self, tag: Tag, watermark: Timestamp | None, until: int) -> None:
        """Read a tag's window again through ``backfill``: each reading to the writer as it comes."""
        core = self.core
        backfill = getattr(self.connector, "backfill")  # noqa: B009 (a hook the core knows it has)
        given = 0
        room = True
        error: BaseException | None = None
        try:
            async for item in each(backfill(tag, watermark, until)):
                if self.stop.is_set():
                    break
                point = core.handover.point_of(item, given, None, "backfill")
                if not core.handover.deliver(self.writer, [point], "backfill", direct=True):
                    room = False
                    break
                given += 1
            if self.stop.is_set():
                log.info("stopping during backfill() of %r: its %d readings so far are kept", tag.id, given)
                return
        except SourceLinkLost as exc:
            error = exc
            self._lost(exc, "backfill() lost the link")
        except Exception as exc:
            error = exc
        with core.flow:  # the window closed and what it held written at once: no reading between
            held = core.windows.done(tag, watermark, until, given, error, room, time.monotonic())
            if held:
                core.handover.deliver(self.writer, held, "poll" if core.polls else "emit", direct=True)

    async def _read_windows(self, until: int) -> None:
        for tag, watermark in self.core.windows_due(time.monotonic()):
            if self.stop.is_set() or self.core.link.reopen is not None:
                return
            await self._read_window(tag, watermark, until)

    async def _changes(self) -> None:
        core = self.core
        with core.lock:
            changes, self.changes = self.changes, []
        for added, removed, changed in changes:
            hook = getattr(self.connector, "tags_changed", None)
            if hook is not None:
                try:
                    await call(hook, added, removed, changed)
                except SourceLinkLost as exc:
                    self._lost(exc, "tags_changed() lost the link")
            core.start(added, self._watermark)
        if changes:
            await self._subscribe()

    async def _loop(self) -> None:
        core = self.core
        while not self.stop.is_set():
            await self._changes()
            if core.link.reopen_due(time.monotonic()):
                await self._reopen()
                continue
            with core.flow:
                core.handover.report_refused(time.monotonic())
            with core.lock:
                active = core.active
                if active and core.polls and core.schedule is None:
                    core.schedule = Schedule(core.settings.poll_interval, time.monotonic(), now_us())
                schedule = core.schedule
                tags = core.poll_tags()
            if not active:
                await self.wait(TICK_WAIT)
                continue
            if schedule is None:  # push-only: read the windows due, then wait for news
                await self._read_windows(now_us())
                wait = core.next_window_in(time.monotonic())
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
        # the windows not read, up to this tick: backfill catches up with the poll
        await self._read_windows(x)
        if self.stop.is_set():
            return
        if schedule.late(time.monotonic()):  # the backfill ran past the next tick: catch up first
            while schedule.late(time.monotonic()) and not self.stop.is_set() and core.link.reopen is None:
                with core.lock:
                    core.skip(time.monotonic())
                await self._read_windows(now_us())
            return
        started = time.monotonic()
        try:
            points = core.handover.points(await readings(self.connector.poll(tags)), x, "poll")
        except Exception as exc:
            ended = time.monotonic()
            with core.lock:
                marks = core.poll_failed(exc, tags, x, ended - started, ended)
            if isinstance(exc, SourceLinkLost):
                core.link.reopen_wanted(f"poll() lost the link: {exc}")
            core.handover.deliver(self.writer, marks, "link_lost", direct=True)
        else:
            ended = time.monotonic()
            with core.lock:
                core.poll_done(ended - started, ended)
            core.handover.deliver(self.writer, points, "poll")

    async def _close(self, opened: bool) -> None:
        core = self.core
        with core.flow:
            self.stopping = True
        self.inbox.drain()  # every reading emitted before the stop began goes to the writer before it closes
        with core.flow:
            held = core.windows.held()
            core.handover.report_refused(time.monotonic(), force=True)
        if held:
            log.warning(
                "stopped with %d readings held while their windows were read again: the next start's "
                "backfill reads them",
                held,
            )
        if opened:
            try:
                await call(self.connector.close)
            except Exception as exc:
                log.error("close() failed: %s: %s", type(exc).__name__, exc)
        if self.writer is not None:
            await self.writer.close()
            left = self.writer.stats().pending_points
            if left:
                log.warning("stopped with %d points in the spool: the next start delivers them", left)
        if self.client is not None:
            await self.client.aclose()
