"""Everything the sync and async clients share: options, request bodies, answers, errors, retry policy.

The two clients add only the I/O: sending a request, sleeping between attempts and closing.
"""

from __future__ import annotations

import base64
import email.utils
import gzip
import html
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NamedTuple, Self, TypeVar

import attrs
import httpx
import orjson

from .._batch import RequestBodies
from .._constants import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    ERROR_BODY_LIMIT,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_DELAY,
    SMALL_ANSWER_LIMIT,
    USER_AGENT,
)
from .._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ClientClosedError,
    DataSourceNotActiveError,
    InvalidInputError,
    InvalidResponseError,
    RequestTooLargeError,
    platform_error,
    printable,
)
from .._options import (
    TokenAuth,
    TokenLike,
    check_headers,
    check_seconds,
    check_token,
    env_settings,
    redacted,
    ssl_context,
)
from .._points import Precision, check_precision
from .._request_data import RequestData, TagIds
from .._results import Connection, TagHistory, TagInfo
from .._tag import Tag, TagAttributes
from .._types import JsonValue, NotGiven, TagId, TimestampLike, check_text
from . import wire
from .answer_buffer import ACCEPT_ENCODING, AnswerBuffer, AnswerTooLargeError
from .deadline import Deadline
from .retry import Failure, backoff, classify
from .transport import AsyncDeadlineTransport, DeadlineTransport, ProxyChoice, choose_proxy

log = logging.getLogger("data_interaction_client.client")

HttpxClientT = TypeVar("HttpxClientT", httpx.Client, httpx.AsyncClient)
TimeoutLike = float | httpx.Timeout
"""Seconds for every phase of an attempt, or an ``httpx.Timeout`` for each phase."""

_READ = httpx.ByteStream(b"")  # the stream of every response once read
_EXCERPT = 300  # characters of an answer quoted in a message
_PAGE_HEAD = 64 * 1024  # bytes of an HTML page searched for its title
_TITLE_LENGTH = 120
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_FOREIGN = "a proxy or server in front of the platform answered"
# Headers of the body as it came (see _WholeResponse).
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class WriterLink(NamedTuple):
    """What a writer needs of its client, and all it uses of it: the one seam between the two."""

    post: Callable[[bytes], Any]
    """Send one set_data body within the client's deadline and retries, raising the client's errors
    (a coroutine function for the async client)."""
    tag: Callable[..., Tag]
    """A tag with the client's point options (``tag(tag_id, attributes=None)``)."""
    attributes: Callable[[TagId], TagAttributes | None]
    """The attributes ``create_tags`` was given for a tag id, if any."""
    precision: Precision | None
    check_values: bool


class _WholeResponse(httpx.Response):
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
            stream=_READ,
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


def _basic_authorization(url: httpx.URL) -> str | None:
    """The ``Authorization`` header value for the user name and password in ``url``, if it has any."""
    if not url.userinfo:
        return None
    userpass = f"{url.username}:{url.password}".encode()
    return "Basic " + base64.b64encode(userpass).decode("ascii")


class BaseClient(Generic[HttpxClientT]):
    """Options and all the logic of the facade that does no I/O."""

    _http: HttpxClientT

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        token: TokenLike,
        auth: httpx.Auth | None,
        timeout: TimeoutLike,
        max_retries: int,
        max_points_per_request: int,
        total_timeout: float,
        min_throughput: float | None,
        max_response_bytes: int,
        headers: dict[str, str] | None,
        compress: bool,
        precision: Precision | None = None,
        check_values: bool = True,
    ) -> None:
        try:
            url = httpx.URL(str(base_url))
        except httpx.InvalidURL as exc:
            raise InvalidInputError(f"base_url is not a URL ({exc})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise InvalidInputError(f"base_url must be an http:// or https:// URL, not {redacted(url)!r}")
        if type(max_retries) is not int or max_retries < 0:
            raise InvalidInputError(f"max_retries must be an integer >= 0, not {max_retries!r}")
        if type(max_points_per_request) is not int or max_points_per_request < 1:
            raise InvalidInputError(
                f"max_points_per_request must be an integer >= 1, not {max_points_per_request!r}"
            )
        if min_throughput is not None:
            min_throughput = check_seconds("min_throughput (bytes per second)", min_throughput)
        if type(max_response_bytes) is not int or max_response_bytes < 1:
            raise InvalidInputError(f"max_response_bytes must be an integer >= 1, not {max_response_bytes!r}")
        self.base_url: str = redacted(url).rstrip("/")
        # Credentials in base_url are sent as a Basic Authorization header and kept out of every URL
        # built: httpx logs each request's URL ("HTTP Request: POST <url>") at INFO.
        basic = _basic_authorization(url)  # checked with token and auth below
        self._url = str(url.copy_with(userinfo=b"")).rstrip("/")
        self._urls: dict[str, httpx.URL] = {}  # the URL of each path requested, by path
        self.timeout: httpx.Timeout = _as_timeout(timeout)
        self.max_retries = max_retries
        self.max_points_per_request: int = max_points_per_request
        self.total_timeout: float = check_seconds("total_timeout", total_timeout)
        self.min_throughput = min_throughput
        self.max_response_bytes = max_response_bytes
        self.compress = compress
        self._headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._headers.update(check_headers(headers))
        self._send_options: dict[str, Any] = {"stream": True}
        self._authenticate(basic, token, auth)
        if compress:
            self._headers["Content-Encoding"] = "gzip"
        self._owns_http = True
        self._request_headers: httpx.Headers | None = None  # of the client's own httpx client, merged
        # How the tags this client makes check their points; the attributes of the tags it was given.
        self.precision: Precision | None = check_precision(precision)
        self.check_values: bool = bool(check_values)
        self._tag_attributes: dict[TagId, TagAttributes] = {}
        self._proxy: ProxyChoice | None = None  # the proxy of the client's own transport, if any

    def _authenticate(self, basic: str | None, token: TokenLike, auth: httpx.Auth | None) -> None:
        """Set how each request is authenticated.

        Credentials of base_url and a fixed token are a header; a token callable or an httpx.Auth runs
        for each request (without any, an http_client's own auth, if any).
        """
        if basic is not None:
            if token is not None or auth is not None:
                raise InvalidInputError(
                    "base_url has a user name or password, and token or auth is given too: give one of them"
                )
            self._headers["Authorization"] = basic
        elif auth is not None:
            if token is not None:
                raise InvalidInputError("give token or auth, not both")
            if not isinstance(auth, httpx.Auth):
                raise InvalidInputError(f"auth must be an httpx.Auth, not {type(auth).__name__}")
            self._send_options["auth"] = auth
        elif callable(token):
            self._send_options["auth"] = TokenAuth(token)
        else:
            checked_token = check_token(token)
            if checked_token is not None:
                self._headers["Authorization"] = f"Bearer {checked_token}"

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client for the platform the environment names, as the command line reads it.

        ``DATA_INTERACTION_URL`` is the platform's address; the token is ``DATA_INTERACTION_TOKEN``, or
        the file ``DATA_INTERACTION_TOKEN_FILE`` names (read again for each request, so that it may
        rotate), or none. ``options`` are the constructor's (a ``token`` or ``auth`` given wins):

        ```python
        with DataInteractionClient.from_env(timeout=10) as client:
            client.connect("1")
        ```
        """
        url, token = env_settings(os.environ)
        if "token" not in options and "auth" not in options:
            options["token"] = token
        return cls(url, **options)

    def __repr__(self) -> str:
        # The token stays out of repr, logs and errors; so do credentials in base_url.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _http_options(
        self, *, verify: object, proxy: str | None, transport: Any, asynchronous: bool
    ) -> dict[str, Any]:
        """Settings of the client's own httpx client.

        Without a ``transport`` of the user's, requests go through the client's own
        (`transport.py`): every socket operation ends by the current call's deadline; the proxy is
        ``proxy`` or the environment's for ``base_url``. Redirects are not followed: a redirected POST
        is reported (it usually means a wrong base_url), not silently turned into a GET.
        """
        context = ssl_context(verify)  # checked even with a transport of the user's
        if transport is None:
            self._proxy = choose_proxy(httpx.URL(self._url), proxy)
            kind = AsyncDeadlineTransport if asynchronous else DeadlineTransport
            transport = kind(
                ssl_context=httpx.create_ssl_context(verify=context),
                proxy=self._proxy,
                limits=DEFAULT_LIMITS,
            )
        elif proxy is not None:
            raise InvalidInputError(
                "give proxy or transport, not both: a transport of your own makes its connections"
            )
        return {
            "transport": transport,
            "follow_redirects": False,
            "timeout": DEFAULT_TIMEOUT,
            "trust_env": False,  # the environment's proxy is chosen above, for the platform's URL
        }

    # --- requests --------------------------------------------------------------------------------

    def _build_request(self, path: str, body: bytes, timeout: TimeoutLike | NotGiven) -> httpx.Request:
        chosen = self.timeout if isinstance(timeout, NotGiven) else _as_timeout(timeout)
        if self.compress:
            # Level 1: most of the size gain for a fraction of the CPU of the default level.
            body = gzip.compress(body, compresslevel=1)
        url = self._urls.get(path)
        if url is None:  # parsed once per path: parsing costs more than the rest of building a request
            url = self._urls[path] = httpx.URL(self._url + path)
        http = self._http
        if self._owns_http and not http.cookies:
            # The client's own httpx client has no base URL, parameters or cookies to merge in: the
            # request build_request would make, built directly, with the merged headers kept. Half
            # the cost of build_request, which merges the headers anew for every request.
            headers = self._request_headers
            if headers is None:
                headers = self._request_headers = httpx.Headers(http.headers)
                headers.update(self._headers)
            return httpx.Request(
                "POST", url, content=body, headers=headers, extensions={"timeout": chosen.as_dict()}
            )
        return http.build_request(
            "POST",
            url,
            content=body,
            headers=self._headers,
            timeout=chosen,
        )

    def _deadline(self, total_timeout: float | NotGiven) -> Deadline:
        """A new call's deadline: ``total_timeout`` (the client's unless given) plus the bytes it moves."""
        if isinstance(total_timeout, NotGiven):
            return Deadline(self.total_timeout, self.min_throughput)
        return Deadline(check_seconds("total_timeout", total_timeout), self.min_throughput)

    def _answer_limit(self, path: str) -> int:
        """The most decompressed bytes an answer to ``path`` may have."""
        if path == wire.GET_DATA_PATH:
            return self.max_response_bytes
        return min(self.max_response_bytes, SMALL_ANSWER_LIMIT)

    def _start_attempt(self, request: httpx.Request, phases: dict[str, Any], deadline: Deadline) -> None:
        """Before each attempt: refuse a closed client, count the body, fit the timeouts in the deadline."""
        if self._http.is_closed:
            raise ClientClosedError(
                f"{type(self).__name__} is closed: make a new client (or use it within its 'with' block)"
            )
        deadline.add(len(request.content))
        left = max(deadline.remaining(), 0.001)
        request.extensions["timeout"] = {
            phase: left if seconds is None else min(seconds, left) for phase, seconds in phases.items()
        }
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s: %d bytes", request.method, request.url.path, len(request.content))

    def _answer(self, request: httpx.Request, response: httpx.Response) -> AnswerBuffer:
        """Where the answer to ``request`` is read into, bounded by the limit for its path.

        A transport that hands over a response already read (a mock, say) has it decoded already.
        """
        limit = self._answer_limit(request.url.path)
        if response.is_stream_consumed:
            answer = AnswerBuffer(limit)
            answer.add(response.content)
            return answer
        return AnswerBuffer(limit, response.headers.get("content-encoding"))

    @staticmethod
    def _take(answer: AnswerBuffer, chunk: bytes, deadline: Deadline) -> None:
        """Add a raw chunk of the answer, within its size limit and the call's deadline."""
        answer.add(chunk)
        deadline.add(len(chunk))
        if deadline.remaining() <= 0:
            raise httpx.ReadTimeout("the call's deadline passed while the answer was read")

    @classmethod
    def _finish(cls, response: httpx.Response, answer: AnswerBuffer) -> httpx.Response:
        """A response with the whole body, read (and decoded) through ``answer``."""
        content = answer.content()
        log.debug("HTTP %d, %d bytes", response.status_code, len(content))
        whole = _WholeResponse(response, content)
        cls._unbind(response)
        return whole

    @staticmethod
    def _unbind(response: httpx.Response) -> httpx.Response:
        """Drop the stream of a response read in full.

        httpx binds a response and its stream to each other; that cycle keeps the request, and with
        it the request body, alive until the next garbage collection. Without it, a chunked send
        frees each body as soon as its request is done, so the bodies held stay bounded.
        """
        response.stream = _READ
        return response

    def _retries(self, max_retries: int | NotGiven) -> int:
        if isinstance(max_retries, NotGiven):
            return self.max_retries
        if type(max_retries) is not int or max_retries < 0:
            raise InvalidInputError(f"max_retries must be an integer >= 0, not {max_retries!r}")
        return max_retries

    def _error(self, exc: Exception, request: httpx.Request, deadline: Deadline) -> APIError:
        """The package error an attempt's failure stands for; anything unexpected is raised as it is."""
        method, path = request.method, request.url.path
        if isinstance(exc, APIError):
            return exc
        if isinstance(exc, AnswerTooLargeError):
            limit = self._answer_limit(path)
            error: APIError = InvalidResponseError(
                f"the answer is larger than {limit} bytes, the limit for {path}; "
                + (
                    "read a shorter period or fewer tags, or raise max_response_bytes"
                    if path == wire.GET_DATA_PATH
                    else "the platform (or a proxy) sent far more than the contract's answer"
                ),
                method=method,
                path=path,
                status_code=0,
                body="",
            )
        elif isinstance(exc, httpx.TimeoutException | httpx.NetworkError) and deadline.remaining() <= 0.01:
            error = APITimeoutError(
                f"no whole answer within the call's deadline of {deadline.describe()}; raise "
                "total_timeout (or lower min_throughput) if the platform is this slow",
                method=method,
                path=path,
            )
        elif isinstance(exc, httpx.DecodingError):
            encoding = request.headers.get("accept-encoding", "")
            error = InvalidResponseError(
                f"the answer's body could not be decompressed ({type(exc).__name__}; the client accepts "
                f"{encoding!r}): a proxy or a broken connection mangled it",
                method=method,
                path=path,
                status_code=0,
                body="",
            )
            error._transient = True
        elif isinstance(exc, httpx.LocalProtocolError):
            # Its message may quote a header value, and so a secret: name the kind only.
            error = APIConnectionError(
                f"the request could not be written ({type(exc).__name__}); check headers and base_url",
                method=method,
                path=path,
            )
            error._transient = False
        elif isinstance(exc, httpx.TransportError):
            error = self._transport_error(exc, request)
        elif isinstance(exc, httpx.HTTPError):
            error = APIConnectionError(
                f"the request failed ({type(exc).__name__}: {exc})", method=method, path=path
            )
        else:
            raise exc
        error.__cause__ = exc
        return error

    def _transport_error(self, exc: httpx.TransportError, request: httpx.Request) -> APIError:
        cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        through = f" through {self._proxy.describe()}" if self._proxy is not None else ""
        if isinstance(exc, httpx.TimeoutException):
            message = (
                f"no answer in time{through} ({cause}); "
                "raise the timeout if the platform is slow, or check the network"
            )
            error: APIError = APITimeoutError(message, method=request.method, path=request.url.path)
        else:
            if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.ProxyError):
                where = f"{request.url.scheme}://{request.url.netloc.decode()}"
                message = f"could not reach the platform at {where}{through} ({cause}); " + (
                    "check base_url and that the platform is running"
                    if self._proxy is None
                    else self._proxy.advice(request.url.host)
                )
            else:
                message = (
                    f"the connection broke before a whole answer came{through} ({cause}); check the network"
                )
            error = APIConnectionError(message, method=request.method, path=request.url.path)
        return error

    @staticmethod
    def _process_response(request: httpx.Request, response: httpx.Response) -> dict[str, Any]:
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

    @staticmethod
    def _shape_error(
        request: httpx.Request, response: httpx.Response, exc: Exception
    ) -> InvalidResponseError:
        error = InvalidResponseError(
            str(exc),
            method=request.method,
            path=request.url.path,
            status_code=response.status_code,
            body=_body_text(response),
        )
        error.__cause__ = exc
        return error

    # --- retry policy ----------------------------------------------------------------------------

    @staticmethod
    def _retry_delay(error: APIError, attempt: int, max_retries: int, deadline: Deadline) -> float | None:
        """Seconds to wait before trying again after ``error``, or ``None`` to give up."""
        if attempt >= max_retries or not _should_retry(error):
            return None
        delay = backoff(error, attempt + 1, first=INITIAL_RETRY_DELAY, cap=MAX_RETRY_DELAY)
        if delay >= deadline.remaining():
            return None
        log.warning(
            "%s %s failed (%s); retrying in %.2f s, retry %d of %d",
            error.method,
            error.path,
            error.args[0] if error.args else type(error).__name__,
            delay,
            attempt + 1,
            max_retries,
        )
        return delay

    def _split(self, bodies: RequestBodies, error: APIError) -> bool:
        """Whether a request body of ``set_data`` that failed with ``error`` is posted again in halves.

        So it is when the failure policy says the body was too large (HTTP 413) and it holds more than
        one point. The error says how many points were accepted before it, and how many it held.
        """
        error.points_sent = bodies.points_accepted
        if classify(error) is not Failure.SPLIT:
            return False
        if isinstance(error, RequestTooLargeError):  # what a SPLIT is: it names the body's size
            error.points = bodies.points_posted
            error.max_points_per_request = self.max_points_per_request
        if not bodies.split():
            return False
        log.warning("%s %s: %s; sending it again in two halves", error.method, error.path, error._message())
        return True

    # --- the facade's logic ----------------------------------------------------------------------

    @staticmethod
    def _connect_body(data_source_id: str) -> bytes:
        if type(data_source_id) is not str or not data_source_id:
            raise InvalidInputError(f"data_source_id must be a non-empty string, not {data_source_id!r}")
        check_text(data_source_id, "data_source_id")
        return encode(wire.connect_body(data_source_id))

    def _process_connect(
        self, data_source_id: str, request: httpx.Request, response: httpx.Response
    ) -> Connection:
        """The connection in a connect answer, with its tags made, or the error the answer stands for."""
        payload = self._process_response(request, response)
        try:
            connection = wire.parse_connect(data_source_id, payload)
        except wire.ResponseShapeError as exc:
            raise self._shape_error(request, response, exc) from exc
        if not connection.attributes.active:
            raise DataSourceNotActiveError(data_source_id)
        # The tags made once, with the client's options: conn[0] is the same Tag each time.
        ready = [self._tag(info.id, info.attributes) for info in connection.tags]
        return attrs.evolve(connection, ready=ready, error=payload["error"])

    def create_tags(self, tags_metadata: Connection | Sequence[TagInfo | dict[str, Any]]) -> list[Tag]:
        """Make a `Tag` of each tag the platform gave: ``conn["tags"]``, or ``conn`` itself.

        Accepts [`TagInfo`][data_interaction_client.TagInfo] objects or the platform's dicts
        ``{"id": ..., "attributes": {...}}``. The tags take the client's ``precision`` and ``check_values``;
        the client remembers their attributes, so that frames and writers check values against the same value
        types. Given a [`Connection`][data_interaction_client.Connection], it returns that connection's own
        tags (``list(conn)``): the same objects, so that a tag has one buffer.
        """
        if isinstance(tags_metadata, Connection):
            return list(tags_metadata)
        if isinstance(tags_metadata, str | bytes | dict):
            raise InvalidInputError("create_tags takes a list of tags, e.g. conn['tags']")
        tags = []
        for index, info in enumerate(tags_metadata):
            if isinstance(info, TagInfo):
                tags.append(self._tag(info.id, info.attributes))
                continue
            if not isinstance(info, dict) or "id" not in info:
                raise InvalidInputError(
                    f"tags_metadata[{index}] is not a tag: expected {{'id': ..., 'attributes': {{...}}}}, "
                    f"got {info!r}"
                )
            attributes = info.get("attributes") or {}
            if not isinstance(attributes, dict):
                raise InvalidInputError(f"tags_metadata[{index}]['attributes'] is not a dict")
            try:
                tags.append(self._tag(info["id"], attributes))
            except InvalidInputError as exc:
                raise InvalidInputError(f"tags_metadata[{index}]: {exc}") from None
        return tags

    def _writer_link(self, timeout: TimeoutLike | NotGiven, max_retries: int | NotGiven) -> WriterLink:
        """The seam a writer of this client uses (the sync and async clients give their own post)."""
        raise NotImplementedError

    def _link(self, post: Callable[[bytes], Any]) -> WriterLink:
        """The seam a writer of this client uses, around ``post``."""
        return WriterLink(post, self._tag, self._tag_attributes.get, self.precision, self.check_values)

    def _tag(self, tag_id: Any, attributes: Mapping[str, Any] | None = None) -> Tag:
        """A tag with the client's point options: the attributes given, or those it was given before."""
        tag = Tag(tag_id, attributes, precision=self.precision, check_values=self.check_values)
        if attributes:
            self._tag_attributes[tag.id] = tag.attributes
        elif tag.id in self._tag_attributes:
            known = self._tag_attributes[tag.id]
            tag = Tag(tag.id, known, precision=self.precision, check_values=self.check_values)
        return tag

    @staticmethod
    def create_request_data(
        tag_id: TagIds,
        from_time: TimestampLike | None = None,
        to_time: TimestampLike | None = None,
        max_count: int | None = None,
        time_step: int | timedelta | None = None,
        value: JsonValue = None,
        format_param: bool | None = None,
        actual: bool | None = None,
    ) -> RequestData:
        """A checked `RequestData` for `get_data`; see `RequestData` for the fields."""
        return RequestData(
            tag_id=tag_id,
            from_time=from_time,
            to_time=to_time,
            max_count=max_count,
            time_step=time_step,
            value=value,
            format_param=format_param,
            actual=actual,
        )

    @classmethod
    def _request_of(
        cls, request_data: RequestData | None, tag_id: TagIds | None, **fields: Any
    ) -> RequestData:
        """The request of a ``get_data`` call: ``request_data``, or the one its keywords give.

        The original client's 1.0.0 took the request's fields as keywords (``tag_id=..., from_time=...``);
        ``None`` is "not given", as in `RequestData`.
        """
        if request_data is None:
            if tag_id is None:
                raise InvalidInputError(
                    "get_data takes a RequestData, or tag_id=... and the other fields as keywords"
                )
            return cls.create_request_data(tag_id, **fields)
        if tag_id is not None or any(field is not None for field in fields.values()):
            raise InvalidInputError("get_data takes a RequestData or its fields as keywords, not both")
        return request_data

    @staticmethod
    def _get_body(request_data: RequestData) -> bytes:
        if not isinstance(request_data, RequestData):
            raise InvalidInputError(
                f"get_data takes a RequestData (see create_request_data), not {type(request_data).__name__}"
            )
        return encode(wire.get_body(request_data))

    @classmethod
    def _process_get(cls, request: httpx.Request, response: httpx.Response) -> list[TagHistory]:
        """The histories in a get_data answer, or the error the answer stands for."""
        problem = None
        if 200 <= response.status_code < 300:
            try:
                return wire.parse_get(response.content)
            except wire.ResponseShapeError as exc:
                problem = exc
        cls._process_response(request, response)  # raises for an error status, envelope or body
        assert problem is not None  # a 2xx success envelope that decoded, yet not as a get answer
        raise cls._shape_error(request, response, problem) from problem


def encode(body: Any) -> bytes:
    """A request body as JSON; a value that cannot be JSON is an `InvalidInputError`.

    The SDK checks values when they are given, so this is only a safety net: never a raw TypeError.
    """
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError as exc:
        raise InvalidInputError(f"the request cannot be written as JSON: {exc}") from exc


def _as_timeout(timeout: TimeoutLike) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        raise InvalidInputError("timeout must be finite: give seconds or an httpx.Timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InvalidInputError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return httpx.Timeout(float(timeout))


def _should_retry(error: APIError) -> bool:
    return classify(error) is Failure.RETRY


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
