"""What bounds a call: its deadline, and the size of the answers it reads.

A call (``connect``, ``set_data``, ``get_data``) gets one `Deadline` for all its requests and
attempts: ``total_timeout`` seconds, plus one second for every ``min_throughput`` bytes it moves (the
bodies it sends and the answers it receives), so a large send on a slow link is not cut off while a
small call that hangs is. httpx's own timeouts bound each read, not a whole answer: a server that
trickles one byte at a time would never be cut off. So the client's connections (`_transport.py`) read
and write through `DeadlineBackend`, which shortens every socket operation's timeout to the time the
current call has left; the call's deadline lives in a context variable, so it follows the call into
httpcore's threads of control (the calling thread, or the task for asyncio).

An answer is read as a stream into an `AnswerBuffer`, which refuses more than a set number of
decompressed bytes, so a gzip bomb or an answer that never ends cannot exhaust memory.
"""

from __future__ import annotations

import contextvars
import ssl
import time
import zlib
from collections.abc import Iterable
from typing import Any, Final

import httpcore
import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "AnswerBuffer",
    "AnswerTooLargeError",
    "AsyncDeadlineBackend",
    "Deadline",
    "DeadlineBackend",
    "using",
]

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


def _clamp(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what the current call has left; ``expired`` when nothing is left."""
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise expired(f"the call's deadline of {deadline.describe()} has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    __slots__ = ("_inner",)

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return _Stream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncStream(httpcore.AsyncNetworkStream):
    __slots__ = ("_inner",)

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _AsyncStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """A network backend whose every socket operation ends by the current call's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    """The asyncio twin of `DeadlineBackend`."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _AsyncStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _AsyncStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class AnswerTooLargeError(Exception):
    """An answer grew past the limit set for it."""


ACCEPT_ENCODING: Final = "gzip, deflate"
"""The encodings the client asks for, and decodes itself so that an answer's size is bounded as it
inflates, not after (httpx's decoders inflate a whole network read at once: 64 KiB of a gzip bomb can
become 64 MiB)."""


class AnswerBuffer:
    """The body of one answer, gathered raw chunk by raw chunk up to ``limit`` decompressed bytes.

    ``content_encoding`` is the answer's ``Content-Encoding``: none, ``gzip`` or ``deflate``. A body
    that does not decode raises ``httpx.DecodingError``; one that passes the limit,
    `AnswerTooLargeError`, with at most ``limit`` bytes held.
    """

    __slots__ = ("_chunks", "_inflater", "limit", "size")

    def __init__(self, limit: int, content_encoding: str | None = None) -> None:
        self.limit = limit
        self.size = 0
        self._chunks: list[bytes] = []
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._inflater: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj()
        elif encoding == "identity":
            self._inflater = None
        else:
            raise httpx.DecodingError(f"unsupported Content-Encoding {encoding!r}")

    def add(self, raw: bytes) -> None:
        """Take the next chunk as it came over the network."""
        room = self.limit - self.size
        if self._inflater is None:
            chunk = raw
        else:
            try:
                # At most one byte past the room: enough to know the answer is too large.
                chunk = self._inflater.decompress(raw, room + 1)
            except zlib.error as exc:
                raise httpx.DecodingError(str(exc)) from exc
        if len(chunk) > room:
            self._chunks.clear()
            raise AnswerTooLargeError(self.limit)
        self.size += len(chunk)
        self._chunks.append(chunk)

    def content(self) -> bytes:
        """The whole body (the chunks are freed)."""
        if self._inflater is not None and self._chunks and not self._inflater.eof:
            raise httpx.DecodingError("the compressed body ended before its end")
        content = b"".join(self._chunks)
        self._chunks.clear()
        return content
