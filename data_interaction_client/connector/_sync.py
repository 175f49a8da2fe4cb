"""The sync driver: the connector's hooks on the calling thread, the platform's state on another.

The calling thread runs the schedule and calls ``open``, ``backfill``, ``poll``, ``tags_changed`` and
``close``; a helper thread reads the data source from the platform (first with backoff, then every
``refresh_interval``), so that a slow or unreachable platform never delays a tick nor a stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING

from .._client import DataInteractionClient
from .._exceptions import DataInteractionError, DataSourceNotActiveError, InvalidInputError, NotFoundError
from .._tag import Tag
from ._core import FIRST_RETRY_DELAY, MAX_RETRY_DELAY, Core, Point, Schedule, TagChanges, log, transient
from ._errors import OpenError, fatal_open_error
from ._writing import watermark, writer_options

if TYPE_CHECKING:
    from .._writer.writers import Writer
    from ._connector import Connector

__all__ = ["SyncDriver"]

BACKFILL_CHUNK = 10_000
"""Readings of a backfill written together."""


def now_us() -> int:
    """The wall clock in integer microseconds."""
    return time.time_ns() // 1000


class SyncDriver:
    """Runs a sync connector until ``stop`` is set."""

    def __init__(self, connector: Connector, core: Core, stop: threading.Event) -> None:
        self.connector = connector
        self.core = core
        self.stop = stop
        self.wake = threading.Event()
        self.changes: list[TagChanges] = []
        self.fatal: BaseException | None = None
        self.client: DataInteractionClient | None = None
        self.writer: Writer | None = None
        self._write_errors: set[str] = set()

    def wait(self, seconds: float | None) -> None:
        """Until woken (a stop, news from the platform) or ``seconds`` pass."""
        self.wake.wait(seconds)
        self.wake.clear()

    def run(self) -> None:
        """Run until stopped; `OpenError` when the connector cannot start."""
        settings = self.core.settings
        try:
            client = DataInteractionClient(settings.url, token=settings.token, **settings.client)
        except (InvalidInputError, TypeError) as exc:
            raise InvalidInputError(f"client: {exc}") from None
        self.client = client
        opened = False
        try:
            self.writer = client.writer(settings.spool, **writer_options(self.core, settings.writer))
            self.core.stats = self.writer.stats
            self.connector._runtime_writer = self.writer
            refresher = threading.Thread(
                target=self._refresh_loop, name="data-interaction-refresh", daemon=True
            )
            refresher.start()
            while self.core.source is None and self.fatal is None and not self.stop.is_set():
                self.wait(None)
            if self.fatal is not None:
                raise self.fatal
            if self.stop.is_set():
                return
            opened = self._open()
            if not opened:
                return
            self._backfill(self.core.poll_tags())
            self._loop()
        finally:
            self.stop.set()
            self._close(opened)

    # --- the platform's side ------------------------------------------------------------------------

    def _refresh_loop(self) -> None:
        client = self.client
        assert client is not None
        delay = FIRST_RETRY_DELAY
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                connection = client.connect(self.core.settings.source)
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
                self.stop.wait(wait)
                continue
            seconds = time.monotonic() - started
            with self.core.lock:
                changes = self.core.connected(connection, seconds)
                if changes is not None:
                    self.changes.append(changes)
            self.wake.set()
            self.stop.wait(self.core.settings.refresh_interval)

    # --- the connector's side ------------------------------------------------------------------------

    def _open(self) -> bool:
        """Call ``open`` until it works (an ``OSError`` is tried again); ``False`` when stopped first."""
        delay = FIRST_RETRY_DELAY
        failing = False
        while not self.stop.is_set():
            with self.core.lock:
                source = self.core.source
            assert source is not None
            self.connector.source = source
            try:
                self.connector.open(source)
            except OSError as exc:
                if not failing:
                    log.warning("open() failed (%s); trying again, with backoff", exc)
                failing = True
                self.stop.wait(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)
                continue
            except Exception as exc:
                raise fatal_open_error(exc) from exc
            if failing:
                log.warning("open() worked")
            return True
        return False

    def _backfill(self, tags: list[Tag]) -> None:
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
                items: Iterator[object] = iter(backfill(tag, since, until) or ())
                while chunk := list(islice(items, BACKFILL_CHUNK)):
                    points = self.core.points(chunk, None, "backfill")
                    self._write(points)
                    count += len(points)
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

    def _loop(self) -> None:
        core = self.core
        while not self.stop.is_set():
            with core.lock:
                changes, self.changes = self.changes, []
            for added, removed, changed in changes:
                hook = getattr(self.connector, "tags_changed", None)
                if hook is not None:
                    hook(added, removed, changed)
                self._backfill(added)
            with core.lock:
                active = core.active
                if active and core.schedule is None:
                    core.schedule = Schedule(core.settings.poll_interval, time.monotonic(), now_us())
                schedule = core.schedule
                tags = core.poll_tags()
            if not active or schedule is None:
                self.wait(None)
                continue
            left = schedule.due() - time.monotonic()
            if left > 0:
                self.wait(left)
                continue
            x = schedule.take()
            started = time.monotonic()
            try:
                points = core.points(_realize(self.connector.poll(tags)), x, "poll")
            except Exception as exc:
                ended = time.monotonic()
                with core.lock:
                    points = core.poll_failed(exc, tags, x, ended - started, ended)
            else:
                ended = time.monotonic()
                with core.lock:
                    core.poll_done(ended - started, ended)
            self._write(points)

    def _write(self, points: list[Point]) -> None:
        writer = self.writer
        assert writer is not None
        for tag, x, y, q in points:
            try:
                writer.write(tag, x, y, q)
            except DataInteractionError as exc:
                kind = type(exc).__name__
                if kind not in self._write_errors:  # once per kind: a full disk says it every tick
                    self._write_errors.add(kind)
                    log.error("the writer refused a reading: %s", exc)

    def _close(self, opened: bool) -> None:
        if opened:
            try:
                self.connector.close()
            except Exception as exc:
                log.error("close() failed: %s: %s", type(exc).__name__, exc)
        if self.writer is not None:
            self.writer.close()
            left = self.writer.stats().pending_points
            if left:
                log.warning("stopped with %d points in the spool: the next start delivers them", left)
        if self.client is not None:
            self.client.close()


def _realize(items: Iterable[object] | None) -> list[object] | None:
    """The readings of a poll, a generator run to its end here (so its errors are the poll's)."""
    return None if items is None else list(items)
