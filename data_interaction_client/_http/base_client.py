"""Everything the sync and async clients share: their options, their requests and the facade's logic.

The two clients add only the I/O: sending a request, sleeping between attempts and closing. What
the send loop does between the I/O is `attempts.Attempts`'s; what an answer means is ``answers.py``'s;
which points go in which ``set_data`` request is `RequestBodies`'s.
"""

from __future__ import annotations

import base64
import gzip
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Generic, NamedTuple, Self, TypeVar

import attrs
import httpx
import orjson

from .._constants import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    SMALL_ANSWER_LIMIT,
    USER_AGENT,
)
from .._exceptions import (
    APIError,
    DataSourceNotActiveError,
    InvalidInputError,
    RequestTooLargeError,
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
from .._request_bodies import RequestBodies
from .._request_data import RequestData, RequestFields, TagIds, check_field_names
from .._results import Connection, TagInfo
from .._tag import Tag, TagAttributes
from .._types import NOT_GIVEN, JsonValue, NotGiven, TagId, TimestampLike, check_text
from . import wire
from .answer_buffer import ACCEPT_ENCODING
from .answers import checked_payload, shape_error
from .attempts import Attempts
from .deadline import Deadline
from .retry import Failure, classify
from .transport import AsyncDeadlineTransport, DeadlineTransport, ProxyChoice, choose_proxy

log = logging.getLogger("data_interaction_client.client")

HttpxClientT = TypeVar("HttpxClientT", httpx.Client, httpx.AsyncClient)
TimeoutLike = float | httpx.Timeout
"""Seconds for every phase of an attempt, or an ``httpx.Timeout`` for each phase."""


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
        self.timeout: httpx.Timeout = as_timeout(timeout)
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

    def _use_http(
        self,
        given: HttpxClientT | None,
        kind: type[HttpxClientT],
        *,
        verify: object,
        proxy: str | None,
        transport: Any,
    ) -> None:
        """Send with ``given``, the user's httpx client (theirs to close), or a new ``kind`` of its own."""
        if given is not None:
            self._http = given
            self._owns_http = False
        else:
            asynchronous = kind is httpx.AsyncClient
            self._http = kind(
                **self._http_options(
                    verify=verify, proxy=proxy, transport=transport, asynchronous=asynchronous
                )
            )

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
        chosen = self.timeout if isinstance(timeout, NotGiven) else as_timeout(timeout)
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

    def _attempts(
        self,
        path: str,
        body: bytes,
        timeout: TimeoutLike | NotGiven,
        max_retries: int | NotGiven,
        deadline: Deadline,
    ) -> Attempts:
        """The attempts of a request of ``body`` to ``path``: what the send loop drives."""
        return Attempts(
            self._build_request(path, body, timeout),
            retries=self._retries(max_retries),
            deadline=deadline,
            answer_limit=self._answer_limit(path),
            proxy=self._proxy,
            client=type(self).__name__,
        )

    def _answer_limit(self, path: str) -> int:
        """The most decompressed bytes an answer to ``path`` may have."""
        if path == wire.GET_DATA_PATH:
            return self.max_response_bytes
        return min(self.max_response_bytes, SMALL_ANSWER_LIMIT)

    def _retries(self, max_retries: int | NotGiven) -> int:
        if isinstance(max_retries, NotGiven):
            return self.max_retries
        if type(max_retries) is not int or max_retries < 0:
            raise InvalidInputError(f"max_retries must be an integer >= 0, not {max_retries!r}")
        return max_retries

    # --- set_data's request bodies ----------------------------------------------------------------

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
        payload = checked_payload(request, response)
        try:
            connection = wire.parse_connect(data_source_id, payload)
        except wire.ResponseShapeError as exc:
            raise shape_error(request, response, exc) from exc
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

    def _send(
        self,
        path: str,
        body: bytes,
        process: Callable[[httpx.Request, httpx.Response], Any],
        *,
        timeout: TimeoutLike | NotGiven,
        max_retries: int | NotGiven,
        deadline: Deadline,
    ) -> Any:
        """Post ``body`` to ``path`` and give what ``process`` makes of the answer: the I/O of each client.

        The sync client's returns it; the async client's is a coroutine.
        """
        raise NotImplementedError

    def _writer_link(self, timeout: TimeoutLike | NotGiven, max_retries: int | NotGiven) -> WriterLink:
        """The seam of a writer: its posts go through this client's transport, retries and errors."""

        def post(body: bytes) -> Any:  # a coroutine with the async client, which its writer awaits
            return self._send(
                wire.SET_DATA_PATH,
                body,
                checked_payload,
                timeout=timeout,
                max_retries=max_retries,
                deadline=self._deadline(NOT_GIVEN),  # each post within the client's total_timeout
            )

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
    def _request_of(cls, request_data: RequestData | None, fields: RequestFields) -> RequestData:
        """The request of a ``get_data`` call: ``request_data``, or the one its keywords give.

        The original client's 1.0.0 took the request's fields as keywords (``tag_id=..., from_time=...``);
        ``None`` is "not given", as in `RequestData`.
        """
        check_field_names(dict(fields), "get_data")
        given: dict[str, Any] = {name: field for name, field in fields.items() if field is not None}
        if request_data is None:
            if "tag_id" not in given:
                raise InvalidInputError(
                    "get_data takes a RequestData, or tag_id=... and the other fields as keywords"
                )
            return RequestData(**given)
        if given:
            raise InvalidInputError("get_data takes a RequestData or its fields as keywords, not both")
        return request_data

    @staticmethod
    def _get_body(request_data: RequestData) -> bytes:
        if not isinstance(request_data, RequestData):
            raise InvalidInputError(
                f"get_data takes a RequestData (see create_request_data), not {type(request_data).__name__}"
            )
        return encode(wire.get_body(request_data))


def encode(body: Any) -> bytes:
    """A request body as JSON; a value that cannot be JSON is an `InvalidInputError`.

    The SDK checks values when they are given, so this is only a safety net: never a raw TypeError.
    """
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError as exc:
        raise InvalidInputError(f"the request cannot be written as JSON: {exc}") from exc


def as_timeout(timeout: TimeoutLike) -> httpx.Timeout:
    """``timeout`` as an `httpx.Timeout`, checked: finite and positive seconds, or a `Timeout` as given."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        raise InvalidInputError("timeout must be finite: give seconds or an httpx.Timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InvalidInputError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return httpx.Timeout(float(timeout))
