"""What the async driver waits on and calls through: the event loop's side of the drivers' primitives.

`_sync_primitives` gives the same names, with the same meaning, for threads. The sync driver is
generated from the async one (``scripts/unasync.py``, ``make twins``) by dropping ``async`` and
``await`` and importing that module instead of this one: whatever waits or calls differently in the
two twins lives here, so that the drivers themselves are one text.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

__all__ = ["Background", "Flag", "Inbox", "call", "each", "readings"]


class Flag:
    """An event the driver sets and waits on (on the loop's thread)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        """Set it: a waiter returns."""
        self._event.set()

    def clear(self) -> None:
        """Clear it."""
        self._event.clear()

    def is_set(self) -> bool:
        """Whether it is set."""
        return self._event.is_set()

    async def wait(self, seconds: float | None) -> None:
        """Until it is set, or ``seconds`` pass (``None``: no limit)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


class Inbox:
    """Calls from any thread, run on the loop's thread in the order they came (made on the loop)."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._calls: deque[Callable[[], None]] = deque()

    def run(self, call: Callable[[], None]) -> None:
        """Run ``call`` now on the loop's thread, or queue it there from another thread."""
        if threading.get_ident() == self._thread:
            call()
            return
        self._calls.append(call)
        self._loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:
        """Run the calls queued so far (on the loop's thread)."""
        while self._calls:
            self._calls.popleft()()


class Background:
    """``function()`` run as a task beside the driver's loop."""

    def __init__(self, function: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._task = asyncio.create_task(function(), name=name)

    async def finish(self) -> None:
        """Cancel it, and wait until it has ended."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def call(function: Callable[..., Any], *args: Any) -> Any:
    """Call a hook: awaited when it is ``async def``, called as it is otherwise."""
    result = function(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def readings(result: Any) -> list[object] | None:
    """The readings of a hook's result: awaited, an async iterable collected, an iterable listed."""
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return None
    if isinstance(result, AsyncIterator) or hasattr(result, "__aiter__"):
        return [item async for item in result]
    return list(result)


async def each(result: Any) -> AsyncIterator[object]:
    """The items of a hook's result one by one, as they come: awaited, an async iterable or an iterable."""
    if inspect.isawaitable(result):
        result = await result
    if result is not None and hasattr(result, "__aiter__"):
        async for item in result:
            yield item
        return
    for item in result or ():
        yield item
