"""The platform's answers and what the client makes of them: a payload, a result, or the error they stand for.

An answer is read whole by the send loop (``attempts.py``) into a `WholeResponse`; the functions here
turn it into the decoded JSON of a success (`checked_payload`), a get_data answer's histories
(`get_answer`), or raise the package error it stands for, described in words when it is not the
platform's own (a proxy's HTML page, a plain text, an empty answer).
"""

from __future__ import annotations

import email.utils
import html
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from .._constants import ERROR_BODY_LIMIT
from .._exceptions import InvalidResponseError, platform_error, printable
from .._results import TagHistory
from . import wire

__all__ = ["READ", "WholeResponse", "checked_payload", "get_answer", "shape_error"]

READ = httpx.ByteStream(b"")
"""The stream of every response once read."""
_EXCERPT = 300  # characters of an answer quoted in a message
_PAGE_HEAD = 64 * 1024  # bytes of an HTML page searched for its title
_TITLE_LENGTH = 120
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_FOREIGN = "a proxy or server in front of the platform answered"
# Headers of the body as it came (see WholeResponse).
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class WholeResponse(httpx.Response):
    """An answer whose body was read whole (and decoded) by the client: ``content`` is that body.

    httpx would read a body given to a new response through its streaming and decoding machinery,
    which costs more than the rest of a small call's answer; this one holds the body as it is.
    """

    def __init__(self, response: httpx.Response, content: bytes) -> None:
        super().__init__(
            response.status_code,
            # Headers of the body as it came go: the body handed on is decoded and whole.
            headers=[
                (name, value) for name, value in response.headers.multi_items() if name not in _BODY_HEADERS
            ],
            stream=READ,
            request=response.request,
            extensions=response.extensions,
        )
        self._body = content

    @property
    def content(self) -> bytes:
        """The whole body, decoded."""
        return self._body

    def read(self) -> bytes:
        """The whole body (already read)."""
        return self._body

    async def aread(self) -> bytes:
        """The whole body (already read)."""
        return self._body

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body in chunks of ``chunk_size`` bytes (one chunk by default)."""
        body = self._body
        size = chunk_size or len(body) or 1
        for start in range(0, len(body), size):
            yield body[start : start + size]

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks of ``chunk_size`` bytes (one chunk by default)."""
        for chunk in self.iter_bytes(chunk_size):
            yield chunk


def checked_payload(request: httpx.Request, response: httpx.Response) -> dict[str, Any]:
    """The decoded answer when it is a success; otherwise raise the error it stands for."""
    method, path, status = request.method, request.url.path, response.status_code
    content = response.content
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        payload = None
    error_id, error_message = _envelope(payload)
    if not 200 <= status < 300:
        detail = None
        if error_id is None:
            detail = f"{_FOREIGN}, not the platform's JSON error: {_describe_body(response)}"
            if content:
                detail += "; the whole answer is on the error's body"
            if 300 <= status < 400:
                detail += f"; redirect to {response.headers.get('location')!r}: check base_url"
        raise platform_error(
            method=method,
            path=path,
            status_code=status,
            error_id=error_id,
            error_message=error_message,
            retry_after=_retry_after(response.headers),
            detail=detail,
            body=_body_text(response),
            request_bytes=len(request.content),
        )
    if error_id is None or not isinstance(payload, dict):
        what = _describe_body(response)
        raise InvalidResponseError(
            f"the answer is not the JSON the contract promises (HTTP {status}, {what})"
            + (f": {_FOREIGN}" if what.startswith("an HTML page") else ""),
            method=method,
            path=path,
            status_code=status,
            body=_body_text(response),
        )
    if error_id != 0:
        raise platform_error(
            method=method, path=path, status_code=status, error_id=error_id, error_message=error_message
        )
    return payload


def shape_error(request: httpx.Request, response: httpx.Response, exc: Exception) -> InvalidResponseError:
    """The error of a success answer whose JSON is not shaped as the contract says (``exc`` says how)."""
    error = InvalidResponseError(
        str(exc),
        method=request.method,
        path=request.url.path,
        status_code=response.status_code,
        body=_body_text(response),
    )
    error.__cause__ = exc
    return error


def get_answer(request: httpx.Request, response: httpx.Response) -> list[TagHistory]:
    """The histories in a get_data answer, or the error the answer stands for."""
    problem = None
    if 200 <= response.status_code < 300:
        try:
            return wire.parse_get(response.content)
        except wire.ResponseShapeError as exc:
            problem = exc
    checked_payload(request, response)  # raises for an error status, envelope or body
    assert problem is not None  # a 2xx success envelope that decoded, yet not as a get answer
    raise shape_error(request, response, problem) from problem


def _envelope(payload: object) -> tuple[int | None, str | None]:
    """The envelope's ``(error.id, error.message)``, or ``(None, None)`` when there is none."""
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    if not isinstance(error, dict) or type(error.get("id")) is not int:
        return None, None
    message = error.get("message")
    return error["id"], message if isinstance(message, str) else None


def _retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (given as seconds or as an HTTP date), or ``None``."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe_body(response: httpx.Response) -> str:
    """The answer's body in words: its kind (an HTML page and its title), content type and size."""
    content = response.content
    content_type = printable(response.headers.get("content-type", "no content type"))
    if not content:
        return f"an empty answer ({content_type})"
    size = f"{content_type}, {len(content)} bytes"
    head = content[:_PAGE_HEAD].decode("utf-8", "replace")
    if "html" in content_type.lower() or head.lstrip()[:1] == "<":
        title = _TITLE.search(head)
        if title:
            return f"an HTML page titled {_excerpt(title.group(1), _TITLE_LENGTH)!r} ({size})"
        text = _excerpt(_TAG.sub(" ", _SCRIPT.sub(" ", head)), _EXCERPT)
        return f"an HTML page without a title ({size})" + (f": {text}" if text else "")
    more = "..." if len(content) > _EXCERPT else ""
    text = _excerpt(content[:_EXCERPT].decode("utf-8", "replace"), _EXCERPT + 3, page=False)
    return f"a {content_type} answer of {len(content)} bytes: {text}{more}"


def _excerpt(text: str, length: int, *, page: bool = True) -> str:
    """``text`` on one line, unprintable characters escaped (a page's entities decoded), cut at ``length``."""
    text = printable(" ".join((html.unescape(text) if page else text).split()))
    return text if len(text) <= length else text[: length - 3] + "..."


def _body_text(response: httpx.Response) -> str:
    """The start of the answer's body as text, kept on the error for whoever wants it."""
    return response.content[:ERROR_BODY_LIMIT].decode("utf-8", "replace")
