"""What the writer's tests share: a recording platform behind httpx.MockTransport, and waiting."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from .conftest import OK, json_response

#: Fast settings: the tests wait for what the writer does, not for its default intervals.
FAST: dict[str, Any] = {
    "commit_interval": 0.01,
    "flush_interval": 0.02,
    "max_retry_delay": 0.05,
    "max_retries": 0,
    "close_timeout": 5.0,
}

Answer = httpx.Response | Exception | None


class Recorder:
    """A platform that stores every point it accepts, per tag in arrival order.

    ``answer(body)`` decides: ``None`` accepts, a response or an exception is returned or raised
    (nothing stored). ``delay`` slows every request, to let a second one overlap if it could.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.points: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.sizes: list[int] = []
        self.attempts = 0
        self.times: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0
        self.answer: Callable[[dict[str, Any]], Answer] = lambda body: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        with self.lock:
            self.attempts += 1
            self.times.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            answer = self.answer(body)
            if isinstance(answer, Exception):
                raise answer
            if answer is not None:
                return answer
            with self.lock:
                for item in body["data"]:
                    self.points[key(item["tagId"])].extend(item["data"])
                self.sizes.append(sum(len(item["data"]) for item in body["data"]))
            return json_response(OK)
        finally:
            with self.lock:
                self.in_flight -= 1

    @property
    def total(self) -> int:
        with self.lock:
            return sum(map(len, self.points.values()))

    def down(self, status: int = 503, **headers: str) -> None:
        """Answer every request with ``status`` (and the envelope)."""
        error = {"error": {"id": status, "message": "injected"}}
        self.answer = lambda body: json_response(error, status, **headers)

    def unreachable(self) -> None:
        """Refuse every connection."""
        self.answer = lambda body: httpx.ConnectError("connection refused")

    def up(self) -> None:
        self.answer = lambda body: None


def key(tag_id: Any) -> str:
    return tag_id if isinstance(tag_id, str) else f"{tag_id['parentObjectId']}/{tag_id['tagName']}"


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds (generous: the machine is shared)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def points(tag: int, start: int, count: int) -> list[dict[str, Any]]:
    """Deterministic points: x from ``start``, y a function of tag and index."""
    return [{"x": 1_600_000_000_000_000 + i, "y": i * 0.5 + tag, "q": 0} for i in range(start, start + count)]
