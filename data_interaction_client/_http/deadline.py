"""The time a call has: one `Deadline` for all its requests and attempts.

A call (``connect``, ``set_data``, ``get_data``) gets ``total_timeout`` seconds, plus one second for
every ``min_throughput`` bytes it moves (the bodies it sends and the answers it receives), so a large
send on a slow link is not cut off while a small call that hangs is. The call's deadline lives in a
context variable, so it follows the call into httpcore's threads of control (the calling thread, or the
task for asyncio), where the network backends (`backends.py`) read it with `clamp`.
"""

from __future__ import annotations

import contextvars
import time
from typing import Final

__all__ = ["Deadline", "clamp", "using"]

_current: Final[contextvars.ContextVar[Deadline | None]] = contextvars.ContextVar(
    "data_interaction_client_deadline", default=None
)


class Deadline:
    """The time a call has: ``seconds`` from now, plus one second per ``min_throughput`` bytes moved."""

    __slots__ = ("_per_byte", "_start", "min_throughput", "moved", "seconds")

    def __init__(self, seconds: float, min_throughput: float | None) -> None:
        self.seconds = seconds
        self.min_throughput = min_throughput
        self._per_byte = 1.0 / min_throughput if min_throughput else 0.0
        self._start = time.monotonic()
        self.moved = 0

    def add(self, size: int) -> None:
        """Count ``size`` more bytes sent or received: the deadline moves later accordingly."""
        self.moved += size

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self._start + self.seconds + self.moved * self._per_byte - time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self._start

    def describe(self) -> str:
        """The deadline in words, for error messages."""
        allowed = self.seconds + self.moved * self._per_byte
        text = f"{allowed:.1f} s: total_timeout={self.seconds:g} s"
        if self._per_byte and self.moved:
            text += f" plus {self.moved} bytes moved at min_throughput={self.min_throughput:g} bytes/s"
        return text


class using:  # lower case: it reads as a function, ``with using(deadline):``
    """Make ``deadline`` the current call's deadline for the block.

    A class rather than a generator-based context manager: it is entered for every request.
    """

    __slots__ = ("_deadline", "_token")

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline

    def __enter__(self) -> Deadline:
        self._token = _current.set(self._deadline)
        return self._deadline

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)


def clamp(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what the current call has left; ``expired`` when nothing is left."""
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise expired(f"the call's deadline of {deadline.describe()} has passed")
    return left if timeout is None else min(timeout, left)
