"""The answer buffer: an answer is read as a stream into an `AnswerBuffer`.

It refuses more than a set number of decompressed bytes, so a gzip bomb or an answer that never ends
cannot exhaust memory.
"""

from __future__ import annotations

import zlib
from typing import Any, Final

import httpx

__all__ = ["ACCEPT_ENCODING", "AnswerBuffer", "AnswerTooLargeError"]


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
