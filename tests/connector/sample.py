"""Connectors the tests run, in this process or as `data-interaction-client run tests.connector.sample:X`."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pydantic

from data_interaction_client import Tag, TagId
from data_interaction_client.connector import Connector, Reading, Source

#: The source's samples: one every STEP microseconds, from T0 on.
STEP = 20_000


def value(tag_id: Any, x: int) -> float:
    """The deterministic value of a tag's sample at x."""
    name = tag_id if isinstance(tag_id, str) else getattr(tag_id, "tag_name", None) or tag_id["tagName"]
    return (x // STEP) % 1000 + len(name) / 10


def now_us() -> int:
    return time.time_ns() // 1000


class Buffered(Connector):
    """A source that keeps its history (like a PLC buffer): poll gives the samples since the last one."""

    poll_interval = 0.05

    class Settings(pydantic.BaseModel):
        t0: int  # the first sample of the source's timeline

    def open(self, source: Source) -> None:
        self.last: dict[TagId, int] = {}

    def _samples(self, tag: Tag, after: int, until: int) -> Iterator[tuple[Tag, int, float]]:
        first = max(after + 1, self.settings.t0)
        x = -(-first // STEP) * STEP
        while x <= until:
            yield tag, x, value(tag.id, x)
            x += STEP

    def backfill(self, tag: Tag, since_x: int | None, until_x: int) -> Iterator[tuple[Tag, int, float]]:
        self.last[tag.id] = until_x
        return self._samples(tag, self.settings.t0 - 1 if since_x is None else since_x, until_x)

    def poll(self, tags: list[Tag]) -> Iterator[tuple[Tag, int, float]]:
        now = now_us()
        for tag in tags:
            yield from self._samples(tag, self.last.get(tag.id, now - 1), now)
            self.last[tag.id] = now


class Live(Connector):
    """Reads a value per tag; the poll raises while the file FLAKY_FLAG (an env var) names exists."""

    poll_interval = 0.05
    instances: ClassVar[list[Live]] = []

    def open(self, source: Source) -> None:
        self.polled: list[list[TagId]] = []
        self.changes: list[tuple[list[TagId], list[TagId], list[TagId]]] = []
        self.polls = threading.Event()
        self.changed = threading.Event()
        type(self).instances.append(self)

    def poll(self, tags: list[Tag]) -> list[Any]:
        self.polled.append([tag.id for tag in tags])
        self.polls.set()
        flag = os.environ.get("FLAKY_FLAG")
        if flag and Path(flag).exists():
            raise ConnectionResetError("the equipment hung up")
        return [(tag, 1.5) if i % 2 else Reading(tag.id, 2) for i, tag in enumerate(tags)]

    def tags_changed(self, added: list[Tag], removed: list[Tag], changed: list[Tag]) -> None:
        self.changes.append(([t.id for t in added], [t.id for t in removed], [t.id for t in changed]))
        self.changed.set()


class AsyncLive(Connector):
    """The async twin of a simple Live: every hook async."""

    poll_interval = 0.05
    instances: ClassVar[list[AsyncLive]] = []

    async def open(self, source: Source) -> None:
        self.polls = 0
        self.closed = False
        type(self).instances.append(self)

    async def poll(self, tags: list[Tag]) -> Any:
        self.polls += 1
        for tag in tags:
            yield tag, float(self.polls)

    async def close(self) -> None:
        self.closed = True


class Broken(Connector):
    """open() fails for good."""

    def open(self, source: Source) -> None:
        raise ValueError("register map missing")

    def poll(self, tags: list[Tag]) -> list[Any]:
        return []
