"""The async client: `AsyncDataInteractionClient`, the twin of ``_client.py``'s `DataInteractionClient`.

The same methods, to be awaited, over the same `BaseClient`: only sending, waiting between attempts
and closing are its own.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, Unpack, overload

import httpx

from ._constants import (
    DEFAULT_MAX_POINTS_PER_REQUEST,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MIN_THROUGHPUT,
    DEFAULT_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
)
from ._exceptions import APIError
from ._frames import Backend, Form, XAs, check_options, frame_tags, histories_frame, integer_request
from ._http import wire
from ._http.answers import checked_payload, get_answer
from ._http.base_client import BaseClient, TimeoutLike, encode
from ._http.deadline import Deadline, using
from ._options import TokenLike
from ._paging import DEFAULT_PAGE_SIZE, DEFAULT_WINDOW, HistoryPager
from ._points import Precision
from ._request_bodies import RequestBodies
from ._request_data import RequestData, RequestFields
from ._results import Connection, TagHistory
from ._tag import Tag
from ._types import NOT_GIVEN, NotGiven
from ._writer.async_writer import AsyncWriter
from ._writer.engine import client_closed
from ._writer.options import WriterOptions

if TYPE_CHECKING:  # the optional extras: only get_frame's annotations name them
    import pandas  # type: ignore[import-untyped,unused-ignore]
    import polars

__all__ = ["AsyncDataInteractionClient"]

_T = TypeVar("_T")


async def _sleep(delay: float) -> None:
    """``asyncio.sleep``: asyncio is imported where it runs (loaded by then), not with the package."""
    import asyncio

    await asyncio.sleep(delay)


class AsyncDataInteractionClient(BaseClient[httpx.AsyncClient]):
    """The async twin of `DataInteractionClient`: the same methods, to be awaited.

    ```python
    async with AsyncDataInteractionClient("http://127.0.0.1:8000") as client:
        conn = await client.connect("1")
        tags = client.create_tags(conn["tags"])
        await client.set_data(tags)
    ```

    The arguments are those of [`DataInteractionClient`][data_interaction_client.DataInteractionClient], with
    an ``httpx.AsyncClient`` for ``http_client`` and an async transport for ``transport``.
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
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
        check_values: bool = True,
        verify: bool | str | ssl.SSLContext = True,
        proxy: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
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
        )
        self._use_http(http_client, httpx.AsyncClient, verify=verify, proxy=proxy, transport=transport)

    async def aclose(self) -> None:
        """Close the connection pool (not an ``http_client`` given to the constructor).

        Its writers still open then take no more points and send nothing more (see
        [`Writer`][data_interaction_client.Writer]).
        """
        if self._owns_http:
            client_closed(self)
            await self._http.aclose()

    async def close(self) -> None:
        """Close the connection pool: the same as `aclose`, named as on the sync client."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _send(
        self,
        path: str,
        body: bytes,
        process: Callable[[httpx.Request, httpx.Response], _T],
        *,
        timeout: TimeoutLike | NotGiven,
        max_retries: int | NotGiven,
        deadline: Deadline,
    ) -> _T:
        attempts = self._attempts(path, body, timeout, max_retries, deadline)
        request, http = attempts.request, self._http
        with using(deadline):
            while True:
                try:
                    attempts.start(http.is_closed)
                    response = await http.send(request, **self._send_options)
                    try:
                        answer = attempts.answer(response)
                        if not response.is_stream_consumed:  # a mock transport's answer is read already
                            async for chunk in response.aiter_raw():
                                attempts.take(answer, chunk)
                    finally:
                        await response.aclose()
                    return process(request, attempts.finish(response, answer))
                except Exception as exc:  # every failure becomes a package error, or is raised as it is
                    error, delay = attempts.failed(exc)
                if delay is None:
                    raise error
                await _sleep(delay)

    async def connect(
        self,
        data_source_id: str,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> Connection:
        """Connect a data source; see `DataInteractionClient.connect`."""
        process = functools.partial(self._process_connect, data_source_id)
        body = self._connect_body(data_source_id)
        deadline = self._deadline(total_timeout)
        return await self._send(
            wire.CONNECT_PATH, body, process, timeout=timeout, max_retries=max_retries, deadline=deadline
        )

    async def set_data(
        self,
        tags: Tag | Sequence[Tag],
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> int:
        """Send the buffered points of one tag or of many; see `DataInteractionClient.set_data`."""
        deadline = self._deadline(total_timeout)
        with RequestBodies(tags, self.max_points_per_request) as bodies:
            for body in bodies:
                try:
                    answer = await self._send(
                        wire.SET_DATA_PATH,
                        encode(body),
                        checked_payload,
                        timeout=timeout,
                        max_retries=max_retries,
                        deadline=deadline,
                    )
                except APIError as exc:
                    if not self._split(bodies, exc):
                        raise
                else:
                    bodies.accepted(answer)
        return bodies.total

    async def get_data(
        self,
        request_data: RequestData | None = None,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
        **fields: Unpack[RequestFields],
    ) -> list[TagHistory]:
        """Read history, from a `RequestData` or its keywords; see `DataInteractionClient.get_data`."""
        request_data = self._request_of(request_data, fields)
        body = self._get_body(request_data)
        deadline = self._deadline(total_timeout)
        return await self._send(
            wire.GET_DATA_PATH,
            body,
            get_answer,
            timeout=timeout,
            max_retries=max_retries,
            deadline=deadline,
        )

    # --- paging and data frames: the logic lives in _paging.py and _frames.py ------------------

    def iter_history(
        self,
        request_data: RequestData,
        *,
        window: timedelta | int = DEFAULT_WINDOW,
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[list[TagHistory]]:
        """Read a long period page by page (``async for``); see `DataInteractionClient.iter_history`."""
        pager = HistoryPager(request_data, window=window, page_size=page_size)

        async def pages() -> AsyncIterator[list[TagHistory]]:
            while (request := pager.next_request()) is not None:
                page = pager.take(
                    await self.get_data(
                        request, timeout=timeout, max_retries=max_retries, total_timeout=total_timeout
                    )
                )
                if page:
                    yield page

        return pages()

    @overload
    async def get_frame(
        self,
        request_data: RequestData,
        *,
        form: Form = "long",
        backend: Literal["pandas"] = "pandas",
        x_as: XAs = "datetime",
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> pandas.DataFrame: ...
    @overload
    async def get_frame(
        self,
        request_data: RequestData,
        *,
        form: Form = "long",
        backend: Literal["polars"],
        x_as: XAs = "datetime",
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> polars.DataFrame: ...
    @overload
    async def get_frame(
        self,
        request_data: RequestData,
        *,
        form: Form = "long",
        backend: Backend = "pandas",
        x_as: XAs = "datetime",
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> pandas.DataFrame | polars.DataFrame: ...
    async def get_frame(
        self,
        request_data: RequestData,
        *,
        form: Form = "long",
        backend: Backend = "pandas",
        x_as: XAs = "datetime",
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> pandas.DataFrame | polars.DataFrame:
        """Read history into one frame; see `DataInteractionClient.get_frame`."""
        check_options(form=form, backend=backend, x_as=x_as)
        request = integer_request(request_data)
        histories = await self.get_data(
            request, timeout=timeout, max_retries=max_retries, total_timeout=total_timeout
        )
        return histories_frame(histories, form=form, backend=backend, x_as=x_as)

    async def set_frame(
        self,
        frame: Any,
        *,
        form: Form = "long",
        nan_quality: int | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> int:
        """Send the points of a frame; see `DataInteractionClient.set_frame`."""
        sent = 0
        chunks = frame_tags(
            frame,
            form=form,
            chunk_size=self.max_points_per_request,
            make_tag=self._tag,
            nan_quality=nan_quality,
        )
        for tags in chunks:
            try:
                sent += await self.set_data(
                    tags, timeout=timeout, max_retries=max_retries, total_timeout=total_timeout
                )
            except APIError as exc:
                exc.points_sent = sent + (exc.points_sent or 0)
                raise
        return sent

    def writer(
        self, spool: str | os.PathLike[str] | None = None, **options: Unpack[WriterOptions]
    ) -> AsyncWriter:
        """The async background writer; call it in a coroutine: ``async with client.writer(...) as w:``.

        See [`AsyncWriter`][data_interaction_client.AsyncWriter] and
        [`Writer`][data_interaction_client.Writer] for the options.
        """
        return AsyncWriter(self, spool, **options)
