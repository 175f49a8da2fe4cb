"""The original client's class, for code written against it: its calls return the platform's JSON.

``from DataInteractionClient import DataInteractionClient`` gives this class. It is the package's
client in every way but three: ``connect``, ``set_data`` and ``get_data`` return the platform's answers
as plain dicts and lists, as the original client did, after the same checks. ``get_data`` also takes
the request's fields as keywords (``tag_id=..., from_time=...``), as the original client's 1.0.0 did;
``connect`` returns the README's answer dict, not 1.0.0's list of tags.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
import orjson

from . import _wire
from ._base_client import TimeoutLike
from ._client import DataInteractionClient as _Client
from ._exceptions import InvalidInputError
from ._request_data import RequestData, TagIds
from ._tag import Tag
from ._types import NOT_GIVEN, JsonValue, NotGiven, TimestampLike

__all__ = ["DataInteractionClient"]


class DataInteractionClient(_Client):
    """The original client, whose calls return the platform's answers as plain dicts.

    It is the package's client, but ``connect``, ``set_data`` and ``get_data`` return what the original
    client returned:

    ```python
    conn = client.connect("1")               # {"error": ..., "attributes": ..., "tags": [...]}
    client.set_data(tags)                    # {"error": {"id": 0, "message": ""}}
    client.get_data(req)["data"][0]["data"]  # [{"x": ..., "y": ..., "q": ...}, ...]
    ```

    New code should import [`data_interaction_client`][data_interaction_client], whose client returns typed
    results. Values are not checked against the tags' value types here unless ``check_values=True`` is given:
    the original client did not check them, and its code runs as it was written.
    """

    def __init__(self, base_url: str | httpx.URL, *, check_values: bool = False, **options: Any) -> None:
        super().__init__(base_url, check_values=check_values, **options)

    def connect(  # type: ignore[override]
        self,
        data_source_id: str,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> dict[str, Any]:
        """Connect a data source; return the platform's answer: ``error``, ``attributes``, ``tags``."""
        check = functools.partial(self._process_connect, data_source_id)
        body = self._connect_body(data_source_id)
        return self._send(
            _wire.CONNECT_PATH,
            body,
            functools.partial(_checked_json, check),
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
        return self._set_data(tags, timeout, max_retries, total_timeout)[1]

    def get_data(  # type: ignore[override]
        self,
        request_data: RequestData | None = None,
        *,
        tag_id: TagIds | None = None,
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
    ) -> dict[str, Any]:
        """Read history; return the platform's whole answer: ``{"error": ..., "data": [...]}``.

        Give a [`RequestData`][data_interaction_client.RequestData], or its fields as keywords, as the
        original client's 1.0.0 did:

        ```python
        client.get_data(tag_id=["temperature"], from_time=..., to_time=..., max_count=100)
        ```
        """
        fields = {
            "from_time": from_time,
            "to_time": to_time,
            "max_count": max_count,
            "time_step": time_step,
            "value": value,
            "format_param": format_param,
            "actual": actual,
        }
        if request_data is None:
            if tag_id is None:
                raise InvalidInputError("get_data takes a RequestData, or tag_id=... and the other fields")
            request_data = self.create_request_data(tag_id, **fields)  # type: ignore[arg-type]
        elif tag_id is not None or any(field is not None for field in fields.values()):
            raise InvalidInputError("get_data takes a RequestData or its fields as keywords, not both")
        body = self._get_body(request_data)
        return self._send(
            _wire.GET_DATA_PATH,
            body,
            functools.partial(_checked_json, self._process_get),
            timeout=timeout,
            max_retries=max_retries,
            deadline=self._deadline(total_timeout),
        )


def _checked_json(
    check: Callable[[httpx.Request, httpx.Response], object], request: httpx.Request, response: httpx.Response
) -> dict[str, Any]:
    """The answer as plain JSON, once ``check`` (the typed client's parsing) has found it sound."""
    check(request, response)
    payload: dict[str, Any] = orjson.loads(response.content)
    return payload
