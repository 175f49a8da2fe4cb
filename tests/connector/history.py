"""A source that keeps its history (a data logger, a historian) and its connectors, sync and async twins.

The source has a sample every ``STEP`` microseconds from ``t0`` on, valued `sample.value`. ``poll``
reads what its short live buffer holds (the samples since its last poll, at most ``BUFFER`` seconds
back: a PLC's ring buffer), so a window the runtime did not poll is gone from it; ``backfill``
reads the whole history, ``serve`` seconds per sample. Knobs the tests turn while a run goes on:
``failing`` (poll raises), ``block`` (the next poll hangs that many seconds, as a process stopped).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import pydantic

from data_interaction_client import Tag, TagId
from data_interaction_client.connector import Connector, Source

from .sample import value

STEP = 4_000
"""Microseconds between two samples of the source."""


def now_us() -> int:
    return time.time_ns() // 1000


def samples(tag: Tag, after: int, until: int, t0: int) -> Iterator[tuple[Tag, int, float]]:
    """The source's samples of ``tag`` after ``after`` up to ``until``."""
    first = max(after + 1, t0)
    x = -(-first // STEP) * STEP
    while x <= until:
        yield tag, x, value(tag.id, x)
        x += STEP


class Knobs:
    """What a test sets on a connector class while it runs, shared by the twins."""

    t0: ClassVar[int] = 0
    serve: ClassVar[float] = 0.0  # seconds per sample a backfill takes
    buffer: ClassVar[float] = 0.1  # seconds of samples the live buffer holds
    failing: ClassVar[threading.Event]
    block: ClassVar[list[float]]
    instances: ClassVar[list[Any]]
    backfills: ClassVar[list[tuple[Any, Any, int]]]


class _Logic:
    """The twins' shared logic (no waiting)."""

    last: dict[TagId, int]

    def live(self, tags: list[Tag], knobs: type[Knobs]) -> list[tuple[Tag, int, float]]:
        now = now_us()
        readings: list[tuple[Tag, int, float]] = []
        for tag in tags:
            after = max(self.last.get(tag.id, 0), now - int(knobs.buffer * 1_000_000))
            readings.extend(samples(tag, after, now, knobs.t0))
            self.last[tag.id] = now  # read from the buffer: gone from it
        if knobs.failing.is_set():
            raise ConnectionResetError("the logger hung up")
        return readings


class HistorySync(_Logic, Connector, Knobs):
    """The sync connector of the source."""

    poll_interval = 0.05

    def open(self, source: Source) -> None:
        self.last = {}
        type(self).instances.append(self)

    def poll(self, tags: list[Tag]) -> list[tuple[Tag, int, float]]:
        knobs = type(self)
        if knobs.block:
            time.sleep(knobs.block.pop())
        return self.live(tags, knobs)

    def backfill(self, tag: Tag, since_x: int | None, until_x: int) -> Iterator[tuple[Tag, int, float]]:
        knobs = type(self)
        knobs.backfills.append((tag.id, since_x, until_x))
        for reading in samples(tag, knobs.t0 - 1 if since_x is None else int(since_x), until_x, knobs.t0):
            if knobs.serve:
                time.sleep(knobs.serve)
            yield reading


class HistoryAsync(_Logic, Connector, Knobs):
    """The async twin: every hook ``async def``, the backfill an async generator."""

    poll_interval = 0.05

    async def open(self, source: Source) -> None:
        self.last = {}
        type(self).instances.append(self)

    async def poll(self, tags: list[Tag]) -> list[tuple[Tag, int, float]]:
        knobs = type(self)
        if knobs.block:
            time.sleep(knobs.block.pop())  # the whole loop stopped, as a process is by SIGSTOP
        return self.live(tags, knobs)

    async def backfill(
        self, tag: Tag, since_x: int | None, until_x: int
    ) -> AsyncIterator[tuple[Tag, int, float]]:
        knobs = type(self)
        knobs.backfills.append((tag.id, since_x, until_x))
        for reading in samples(tag, knobs.t0 - 1 if since_x is None else int(since_x), until_x, knobs.t0):
            if knobs.serve:
                await asyncio.sleep(knobs.serve)
            yield reading


def reset(cls: type[Knobs], t0: int) -> None:
    """Fresh knobs for a test."""
    cls.t0 = t0
    cls.serve = 0.0
    cls.buffer = 0.1
    cls.failing = threading.Event()
    cls.block = []
    cls.instances = []
    cls.backfills = []


class PushSettings(pydantic.BaseModel):
    t0: int  # the first sample of the source's timeline
    backfill: bool = True


class Pushed(Connector[PushSettings]):
    """A push source (a subscription): a thread emits each sample as the source takes it.

    ``backfill`` reads the source's history: run as ``tests.connector.history:Pushed`` with
    ``settings: {t0: ...}``, it loses nothing through ``kill -9``.
    """

    Settings = PushSettings
    emitted: ClassVar[list[tuple[Any, int]]] = []  # what emit() took, in this process
    refusals: ClassVar[list[BaseException]] = []  # what emit() refused
    instances: ClassVar[list[Any]] = []

    def open(self, source: Source) -> None:
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        type(self).instances.append(self)

    def subscribe(self, tags: list[Tag]) -> None:
        self._unsubscribe()
        self.done = threading.Event()
        # the subscription is live when subscribe() returns: it pushes every sample after now
        self.thread = threading.Thread(target=self._push, args=(tags, self.done, now_us()), daemon=True)
        self.thread.start()
        self.log.info("subscribed to %d tags", len(tags))

    def _push(self, tags: list[Tag], done: threading.Event, last: int) -> None:
        while not done.wait(0.01):
            now = now_us()
            for tag in tags:
                for reading in samples(tag, last, now, self.settings.t0):
                    try:
                        self.emit(reading)
                    except Exception as exc:  # a stop began: the refusal is the clear error
                        type(self).refusals.append(exc)
                        return
                    type(self).emitted.append((tag.id, reading[1]))
            last = now

    def backfill(self, tag: Tag, since_x: int | None, until_x: int) -> Iterator[tuple[Tag, int, float]]:
        after = self.settings.t0 - 1 if since_x is None else int(since_x)
        return samples(tag, after, until_x, self.settings.t0) if self.settings.backfill else iter(())

    def _unsubscribe(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(5)

    def close(self) -> None:
        self._unsubscribe()
        self._emit_at_close()

    def _emit_at_close(self) -> None:
        try:  # the stop began before close(): refused with a clear error
            self.emit((self.source.tags[0], now_us(), 0.0))
        except Exception as exc:
            type(self).refusals.append(exc)


class PushedNoHistory(Pushed):
    """The push source without a backfill: emit() alone."""

    backfill = None  # type: ignore[assignment]


class AsyncPushed(Pushed):
    """The async twin: the first tag emitted by a task on the event loop, the others by a thread."""

    async def subscribe(self, tags: list[Tag]) -> None:  # type: ignore[override]
        self._unsubscribe()
        self.done = threading.Event()
        now = now_us()
        self.thread = threading.Thread(target=self._push, args=(tags[1:], self.done, now), daemon=True)
        self.thread.start()
        self.task = asyncio.create_task(self._push_on_loop(tags[:1], self.done, now))

    async def _push_on_loop(self, tags: list[Tag], done: threading.Event, last: int) -> None:
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = now_us()
            for tag in tags:
                for reading in samples(tag, last, now, self.settings.t0):
                    try:
                        self.emit(reading)
                    except Exception as exc:
                        type(self).refusals.append(exc)
                        return
                    type(self).emitted.append((tag.id, reading[1]))
            last = now

    async def close(self) -> None:  # type: ignore[override]
        self._unsubscribe()
        self._emit_at_close()
