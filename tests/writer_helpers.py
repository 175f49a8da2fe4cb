"""What the writer's tests share: a recording platform behind httpx.MockTransport, and waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from data_interaction_client import AsyncDataInteractionClient, DataInteractionClient
from data_interaction_client._spool.sqlite import SqliteSpool, open_connection

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


class Twin:
    """One writer of either twin, driven from the test's thread with the same calls.

    ``kind="sync"``: a :class:`Writer`. ``kind="async"``: an :class:`AsyncWriter` on an event loop
    that runs in a thread of its own; ``sync``, ``flush`` and ``close`` wait there for the coroutine.
    Plain calls (``write``, ``stats``, ...) go straight to ``w`` from the test's thread, as a
    connector's other threads may call them.
    """

    def __init__(self, kind: str, handler: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.kind = kind
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.client: Any = None
        self.handler = handler
        self.writers: list[Any] = []
        self.shut_down = False

    def open(self, base_url: str = "http://platform.test", **client_options: Any) -> None:
        """Make the client (a MockTransport around the handler, when one was given)."""
        if self.handler is not None:
            client_options.setdefault("transport", httpx.MockTransport(self.handler))
        if self.kind == "sync":
            self.client = DataInteractionClient(base_url, **client_options)
            return
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="twin-loop", daemon=True)
        self.thread.start()
        self.client = AsyncDataInteractionClient(base_url, **client_options)

    def run(self, make: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
        """Run a coroutine on the twin's loop and return what it returns (or raise what it raises)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(_call(make), self.loop).result(timeout)

    def writer(self, spool: Any, **options: Any) -> Any:
        """A writer of this twin with the tests' fast settings (``options`` override them)."""
        merged = {**FAST, **options}
        if self.kind == "sync":
            made = self.client.writer(spool=spool, **merged)
        else:

            async def make() -> Any:
                return self.client.writer(spool=spool, **merged)

            made = self.run(make)
        self.writers.append(made)
        return made

    def sync(self, w: Any, timeout: float | None = None) -> None:
        if self.kind == "sync":
            w.sync(timeout)
        else:
            self.run(lambda: w.sync(timeout))

    def flush(self, w: Any, timeout: float | None = 30.0) -> None:
        if self.kind == "sync":
            w.flush(timeout)
        else:
            self.run(lambda: w.flush(timeout))

    def close(self, w: Any) -> None:
        if self.kind == "sync":
            w.close()
        else:
            self.run(w.close)

    def close_client(self) -> None:
        if self.kind == "sync":
            self.client.close()
        else:
            self.run(self.client.aclose)

    def shut(self) -> None:
        """Close every writer (without waiting for delivery), the client and the loop; once."""
        if self.shut_down:
            return
        self.shut_down = True
        for w in self.writers:
            if not w.closed:
                if self.kind == "sync":
                    w._close(0.0)
                else:
                    with contextlib.suppress(Exception):
                        self.run(lambda w=w: _close_now(w))
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.close_client()
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            assert self.thread is not None
            self.thread.join(10)
            self.loop.close()


async def _call(make: Callable[[], Awaitable[Any]]) -> Any:
    return await make()


async def _close_now(w: Any) -> None:
    """Close an async writer without waiting for delivery, as ``Writer._close(0.0)`` does.

    A close cancelled by a timeout stops delivering and closes at once (``AsyncWriter.close``).
    """
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(w.close(), 0.01)


class LogEvents(logging.Handler):
    """Records the writer's log messages in order, and sets an event when one contains a text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._seen_lock = threading.Lock()
        self.watch: dict[str, threading.Event] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        with self._seen_lock:
            self.messages.append(message)
            for text, event in self.watch.items():
                if text in message:
                    event.set()

    def event(self, text: str) -> threading.Event:
        """An event set once a message containing ``text`` is logged (from now on)."""
        with self._seen_lock:
            return self.watch.setdefault(text, threading.Event())

    def index(self, text: str) -> int:
        """The position of the first message containing ``text``."""
        with self._seen_lock:
            for i, message in enumerate(self.messages):
                if text in message:
                    return i
        raise AssertionError(f"no message contains {text!r}: {self.messages}")


class FillingDisk:
    """A disk that fills up, for `SqliteSpool`'s ``connect``: it caps the spool file at a number of pages.

    The spool's connections are SQLite's own; this keeps the last one made, and caps the file with
    ``PRAGMA max_page_count`` on it (SQLite then fails a write as on a full disk: ``SQLITE_FULL``).
    """

    def __init__(self) -> None:
        self.connection: sqlite3.Connection | None = None

    def __call__(self, path: str) -> sqlite3.Connection:
        self.connection = open_connection(path)
        return self.connection

    def pages(self) -> int:
        """The pages the spool file holds now."""
        assert self.connection is not None, "no spool was opened with this disk"
        return int(self.connection.execute("PRAGMA page_count").fetchone()[0])

    def limit(self, pages: int) -> None:
        """Cap the spool file at ``pages`` pages (a large number: space again)."""
        assert self.connection is not None, "no spool was opened with this disk"
        self.connection.execute(f"PRAGMA max_page_count = {int(pages)}")

    def fill(self) -> None:
        """No more room than the file takes now."""
        self.limit(self.pages())

    def spool(self, options: Any) -> SqliteSpool:
        """The spool a writer opens on this disk (in place of the writers' ``_disk_spool``)."""
        return SqliteSpool(
            options["spool"], fsync=options["fsync"], shared=options["shared_spool"], connect=self
        )


def mount_tmpfs(path: Path, size: str, *, remount: bool = False) -> bool:
    """Mount (or remount) a tmpfs of ``size`` at ``path``; ``False`` where this machine does not allow it."""
    if shutil.which("mount") is None:
        return False
    options = f"remount,size={size}" if remount else f"size={size}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, check=False
    )
    return done.returncode == 0
