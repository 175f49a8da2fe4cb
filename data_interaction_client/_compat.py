"""The original client's class, for code written against it: its calls return the platform's JSON.

``from DataInteractionClient import DataInteractionClient`` gives this class. It is the package's
client in every way but three: ``connect``, ``set_data`` and ``get_data`` return the platform's answers
as plain dicts and lists, as the original client did, after the same checks. Every version of the
original runs: ``connect`` returns a `ConnectAnswer`, at once the first README's answer dict and
1.0.0's list of tags; ``get_data(request_data)`` the whole answer, as the first README used it, and
``get_data(tag_id=..., from_time=...)`` the answer's ``data``, as 1.0.0 did.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable, ItemsView, KeysView, Sequence, ValuesView
from datetime import timedelta
from typing import Any, SupportsIndex, Unpack, overload

import httpx
import orjson

from ._client import DataInteractionClient as _Client
from ._constants import (
    DEFAULT_MAX_POINTS_PER_REQUEST,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MIN_THROUGHPUT,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
)
from ._exceptions import InvalidInputError
from ._http import wire
from ._http.answers import get_answer
from ._http.base_client import TimeoutLike
from ._options import TokenLike
from ._points import Precision
from ._request_data import RequestData, RequestFields, TagIds
from ._results import Connection
from ._tag import Tag
from ._types import NOT_GIVEN, JsonValue, NotGiven, TimestampLike

__all__ = ["ConnectAnswer", "DataInteractionClient"]


class ConnectAnswer(list[Tag]):
    """What the original client's ``connect`` returns: the tags to feed, and the platform's answer.

    It is the list of ready [`Tag`][data_interaction_client.Tag] objects, as the original's later
    versions and 1.0.0 returned it, and reads as the answer dict the first README used:

    ```python
    tags = client.connect("1")
    tags[0].add_data("2018-06-26 17:16:00", 5555, 1)   # len(tags), for tag in tags: the same Tags
    client.set_data(tags)
    conn = client.connect("1")
    conn["tags"], conn["attributes"]["smtActive"], conn["error"]   # the answer's plain JSON
    client.create_tags(conn["tags"])                  # new Tags, as the first README made them
    ```

    A string key reads the answer (``get``, ``keys``, ``items`` and ``values`` too, and ``"tags" in
    conn``); it equals the answer dict, and a list of its tags. ``connection`` is the typed
    [`Connection`][data_interaction_client.Connection].
    """

    __slots__ = ("_answer", "connection")

    def __init__(self, connection: Connection, answer: dict[str, Any]) -> None:
        super().__init__(connection)
        self.connection = connection
        self._answer = answer

    @overload
    def __getitem__(self, key: SupportsIndex) -> Tag: ...
    @overload
    def __getitem__(self, key: slice) -> list[Tag]: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...
    def __getitem__(self, key: SupportsIndex | slice | str) -> Any:
        """A tag by position (``tags[0]``), or a key of the answer (``conn["tags"]``)."""
        if isinstance(key, str):
            return self._answer[key]
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """A key of the platform's answer, or ``default``."""
        return self._answer.get(key, default)

    def keys(self) -> KeysView[str]:
        """The keys of the platform's answer (``error``, ``attributes``, ``tags``)."""
        return self._answer.keys()

    def values(self) -> ValuesView[Any]:
        """The values of the platform's answer."""
        return self._answer.values()

    def items(self) -> ItemsView[str, Any]:
        """The platform's answer as pairs."""
        return self._answer.items()

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._answer
        return super().__contains__(item)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return self._answer == other
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __repr__(self) -> str:
        return f"ConnectAnswer({list(self)!r}, answer={self._answer!r})"


class DataInteractionClient(_Client):
    """The original client, whose calls return the platform's answers as plain dicts.

    It is the package's client, but ``connect``, ``set_data`` and ``get_data`` return what the original
    client returned:

    ```python
    tags = client.connect("1")               # the Tags, and the answer: tags["tags"], tags["attributes"]
    client.set_data(tags)                    # {"error": {"id": 0, "message": ""}}
    client.get_data(req)["data"][0]["data"]  # [{"x": ..., "y": ..., "q": ...}, ...]
    client.get_data(tag_id="temperature", from_time="100")[0]["data"]   # 1.0.0's form: the answer's data
    ```

    New code should import [`data_interaction_client`][data_interaction_client], whose client returns typed
    results. The options are those of
    [`data_interaction_client.DataInteractionClient`][data_interaction_client.DataInteractionClient], but
    values are not checked against the tags' value types here unless ``check_values=True`` is given: the
    original client did not check them, and its code runs as it was written. ``synchronous`` is the
    original's option of one version: its calls blocked either way, and so do these.
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        synchronous: bool = True,
        token: TokenLike = None,
        auth: httpx.Auth | None = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_points_per_request: int = DEFAULT_MAX_POINTS_PER_REQUEST,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        min_throughput: float | None = DEFAULT_MIN_THROUGHPUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        headers: dict[str, str] | None = None,
        compress: bool = False,
        precision: Precision | None = None,
        check_values: bool = False,
        verify: bool | str | ssl.SSLContext = True,
        proxy: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if type(synchronous) is not bool:
            raise InvalidInputError(f"synchronous must be True or False, not {synchronous!r}")
        super().__init__(
            base_url,
            token=token,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            max_points_per_request=max_points_per_request,
            total_timeout=total_timeout,
            min_throughput=min_throughput,
            max_response_bytes=max_response_bytes,
            headers=headers,
            compress=compress,
            precision=precision,
            check_values=check_values,
            verify=verify,
            proxy=proxy,
            http_client=http_client,
            transport=transport,
        )

    def connect(  # type: ignore[override]
        self,
        data_source_id: str,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> ConnectAnswer:
        """Connect a data source; return its tags, readable as the platform's answer (`ConnectAnswer`)."""
        process = functools.partial(self._process_connect, data_source_id)

        def answer(request: httpx.Request, response: httpx.Response) -> ConnectAnswer:
            connection = process(request, response)
            return ConnectAnswer(connection, orjson.loads(response.content))

        body = self._connect_body(data_source_id)
        return self._send(
            wire.CONNECT_PATH,
            body,
            answer,
            timeout=timeout,
            max_retries=max_retries,
            deadline=self._deadline(total_timeout),
        )

    def set_data(  # type: ignore[override]
        self,
        tags: Tag | Sequence[Tag],
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> dict[str, Any]:
        """Send the buffered points of one tag or of many; return the platform's (last) answer."""
        return self._set_data(tags, timeout, max_retries, total_timeout).answer

    @overload  # type: ignore[override]
    def get_data(
        self,
        request_data: RequestData,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> dict[str, Any]: ...
    @overload
    def get_data(
        self,
        request_data: None = None,
        *,
        tag_id: TagIds,
        from_time: TimestampLike | None = None,
        to_time: TimestampLike | None = None,
        max_count: int | None = None,
        time_step: int | timedelta | None = None,
        value: JsonValue = None,
        format_param: bool | None = None,
        actual: bool | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> list[dict[str, Any]]: ...
    def get_data(
        self,
        request_data: RequestData | None = None,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
        **fields: Unpack[RequestFields],
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Read history: the platform's whole answer for a `RequestData`, its ``data`` for keywords.

        ``get_data(request_data)`` returns ``{"error": ..., "data": [...]}``, as the first README used it;
        the request's fields as keywords return the answer's ``data``, the list of per-tag dicts, as the
        original client's 1.0.0 did:

        ```python
        for item in client.get_data(tag_id=["temperature"], from_time="100", to_time=1000000):
            print(item["tagId"], item["data"])
        ```
        """
        whole = request_data is not None
        request_data = self._request_of(request_data, fields)
        body = self._get_body(request_data)
        answer = self._send(
            wire.GET_DATA_PATH,
            body,
            functools.partial(_checked_json, get_answer),
            timeout=timeout,
            max_retries=max_retries,
            deadline=self._deadline(total_timeout),
        )
        if whole:
            return answer
        data: list[dict[str, Any]] = answer["data"]
        return data


def _checked_json(
    check: Callable[[httpx.Request, httpx.Response], object], request: httpx.Request, response: httpx.Response
) -> dict[str, Any]:
    """The answer as plain JSON, once ``check`` (the typed client's parsing) has found it sound."""
    check(request, response)
    payload: dict[str, Any] = orjson.loads(response.content)
    return payload
