"""The original client's class, for code written against it: its calls return the platform's JSON.

``from DataInteractionClient import DataInteractionClient`` gives this class. It is the package's
client in every way but three: ``connect``, ``set_data`` and ``get_data`` return the platform's answers
as plain dicts and lists, as the original client did, after the same checks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from . import _wire
from ._base_client import TimeoutLike
from ._client import DataInteractionClient as _Client
from ._request_data import RequestData
from ._tag import Tag
from ._types import NOT_GIVEN, NotGiven

__all__ = ["DataInteractionClient"]


class DataInteractionClient(_Client):
    """The original client, whose calls return the platform's answers as plain dicts.

    It is the package's client, but ``connect``, ``set_data`` and ``get_data`` return what the original
    client returned::

        conn = client.connect("1")               # {"error": ..., "attributes": ..., "tags": [...]}
        client.set_data(tags)                    # {"error": {"id": 0, "message": ""}}
        client.get_data(req)["data"][0]["data"]  # [{"x": ..., "y": ..., "q": ...}, ...]

    New code should import :mod:`data_interaction_client`, whose client returns typed results.
    """

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
        request_data: RequestData,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> dict[str, Any]:
        """Read history; return the platform's whole answer: ``{"error": ..., "data": [...]}``."""
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
