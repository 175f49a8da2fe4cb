"""Reading a request body within a size limit, inflating gzip as it arrives under the same limit.

A ``Content-Length`` over the limit is refused before anything is read; a chunked body is counted while
it is read; a gzip body is inflated chunk by chunk, never past the limit, so a small body that inflates
to gigabytes (a gzip bomb) costs no more than the limit. The body is kept in one buffer, not as a list
of chunks joined at the end (which would hold it twice).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024
"""The default largest body, before and after decompression. A set_data request of the SDK's default
100,000 points takes about 5 MiB (integer timestamps and float values) to 7 MiB (ISO timestamps); 64 MiB
leaves room for ten times that, or 670 bytes a point, and keeps a request's memory bounded."""

_GZIP = 16 + zlib.MAX_WBITS  # a gzip header and trailer, not a bare zlib stream
_STEP = 1 << 20


class BodyTooLarge(Exception):
    """The body, or the body once decompressed, is over the limit (answered 413)."""

    def __init__(self, limit: int, inflated: bool) -> None:
        what = "once decompressed, larger" if inflated else "larger"
        super().__init__(
            f"body: {what} than the limit of {limit} bytes; send fewer points per request "
            "(the limit is the platform's max_body_size, --max-body-size on its command line)"
        )
        self.message = str(self)


class BodyError(Exception):
    """A body that cannot be read as declared (bad gzip, unknown encoding); answered 422."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def declared_too_large(content_length: str | None, limit: int) -> int | None:
    """The declared length when it is over ``limit`` (refused before a byte is read), else None."""
    if content_length is not None and content_length.strip().isdigit() and int(content_length) > limit:
        return int(content_length)
    return None


class _Inflater:
    """Inflates gzip members (one or more, as ``gzip.decompress`` does) without passing ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inflater = zlib.decompressobj(_GZIP)
        self.started = False

    def feed(self, out: bytearray, data: bytes) -> None:
        while data:
            if self.inflater.eof:
                # Another gzip member follows; bytes after the last one must be a member too.
                self.inflater = zlib.decompressobj(_GZIP)
            self.started = True
            try:
                # In steps of at most _STEP bytes: no temporary copy as large as the body.
                out += self.inflater.decompress(data, min(self.limit - len(out) + 1, _STEP))
            except zlib.error as exc:
                raise BodyError(f"body: not valid gzip ({exc})") from None
            if len(out) > self.limit:
                raise BodyTooLarge(self.limit, inflated=True)
            data = self.inflater.unconsumed_tail or self.inflater.unused_data

    def finish(self) -> None:
        if not self.started or not self.inflater.eof:
            raise BodyError("body: not valid gzip (the compressed data ends early)")


async def _read(chunks: AsyncIterator[bytes], encoding: str, limit: int) -> bytearray:
    encoding = encoding.strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise BodyError(f"body: unsupported Content-Encoding {encoding!r} (gzip or none)")
    inflater = _Inflater(limit) if encoding == "gzip" else None
    out = bytearray()
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(limit, inflated=False)
        if inflater is None:
            out += chunk
        else:
            inflater.feed(out, chunk)
    if inflater is not None:
        inflater.finish()
    return out


async def _drain(chunks: AsyncIterator[bytes], budget: int) -> None:
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > budget:
            return


async def read_body(
    chunks: AsyncIterator[bytes], content_length: str | None, encoding: str, limit: int
) -> bytearray:
    """Read ``chunks`` into one buffer of at most ``limit`` bytes, inflated when ``encoding`` is gzip.

    Raise `BodyTooLarge` over the limit (at once for a declared ``Content-Length`` over it), and
    `BodyError` for a body that cannot be read. Before raising either, what remains of a body of
    at most twice the limit is read and dropped (in constant memory): an ordinary client sends its
    whole body before it reads the answer, and would otherwise see the connection reset instead of the
    413 or 422 (and might send the same body again).
    """
    declared = declared_too_large(content_length, limit)
    try:
        if declared is not None:
            raise BodyTooLarge(limit, inflated=False)
        return await _read(chunks, encoding, limit)
    except (BodyTooLarge, BodyError):
        if declared is None or declared <= 2 * limit:
            await _drain(chunks, limit)
        raise
