"""What the sync driver waits on and calls through: the threads' side of the drivers' primitives.

The names and meanings of `_async_primitives`, for a driver that runs the hooks on its own thread
while a second thread reads the data source from the platform. Calls from other threads (``emit``,
``link_lost``, ...) run at once on the caller's thread, under the core's locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["Background", "Flag", "Inbox", "call", "each", "readings"]


Flag = threading.Event
"""An event the driver sets and waits on, from any thread: ``wait(seconds)`` returns once it is set or
``seconds`` pass (``None``: no limit), as the async `Flag`'s does."""


class Inbox:
    """Calls from any thread: each runs at once, on the caller's thread."""

    def run(self, call: Callable[[], None]) -> None:
        """Run ``call`` now."""
        call()

    def drain(self) -> None:
        """Nothing is ever queued."""


class Background:
    """``function()`` run on a daemon thread beside the driver's loop."""

    def __init__(self, function: Callable[[], None], name: str) -> None:
        self._thread = threading.Thread(target=function, name=name, daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """Leave it to end by itself on the driver's stop: a call to a slow platform never delays a stop."""


def call(function: Callable[..., Any], *args: Any) -> Any:
    """Call a hook."""
    return function(*args)


def readings(result: Iterable[object] | None) -> list[object] | None:
    """The readings of a poll, a generator run to its end here (so that its errors are the poll's)."""
    return None if result is None else list(result)


def each(result: Iterable[object] | None) -> Iterator[object]:
    """The items of a hook's result one by one, as they come."""
    return iter(result or ())
