"""The client: `DataInteractionClient`; its async twin `AsyncDataInteractionClient` is `_async_client`'s.

Both are thin: all logic that does no I/O lives in `BaseClient` and the modules of ``_http/`` it
uses; these add sending, waiting between attempts and closing.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
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
from ._writer.engine import client_closed
from ._writer.options import WriterOptions
from ._writer.writers import Writer

if TYPE_CHECKING:  # the optional extras: only get_frame's annotations name them
    import pandas  # type: ignore[import-untyped,unused-ignore]
    import polars

__all__ = ["DataInteractionClient"]

_T = TypeVar("_T")


class DataInteractionClient(BaseClient[httpx.Client]):
    """The client connectors use to talk to the platform.

    It keeps one pool of HTTP connections: create it once, use it for the whole run, and close it
    (or use it as a context manager):

    ```python
    with DataInteractionClient("http://127.0.0.1:8000", token="...") as client:
        conn = client.connect("1")
        tags = client.create_tags(conn["tags"])
        tags[0].add_data(1530008100000000, 21.5)
        client.set_data(tags)
    ```

    Args:
        base_url: The platform's address, e.g. ``"http://127.0.0.1:8000"``.
        token: A bearer token, when the platform asks for one. It never appears in logs, errors or repr.
        timeout: Seconds, or an ``httpx.Timeout``, for each phase of each attempt (default: connect
            5 s, others 30 s).
        max_retries: Retries after a connection error, a timeout, HTTP 408, 429 or 5xx (default 2).
        max_points_per_request: ``set_data`` splits larger sends into requests of this many points.
        total_timeout: The deadline of one call, all its requests, attempts and waits included, in
            seconds (default 120), before ``min_throughput``. It holds while an answer is read too: a
            server that trickles its answer is cut off, and the call raises
            [`APITimeoutError`][data_interaction_client.APITimeoutError].
        min_throughput: Bytes per second (default 100 KiB/s): a call's deadline grows by one second
            for each this many bytes it sends or receives, so a large send on a slow link has the time
            it needs. ``None``: the deadline is ``total_timeout`` alone.
        max_response_bytes: The most decompressed bytes a ``get_data`` answer may have (default
            256 MiB, about 6 million points); connect and set_data answers may have at most 16 MiB.
            A larger answer (a gzip bomb, an answer that never ends) raises
            [`InvalidResponseError`][data_interaction_client.InvalidResponseError].
        headers: Extra headers sent with every request (str to str).
        compress: Gzip request bodies (``Content-Encoding: gzip``): less traffic on slow links for some
            CPU; the platform must accept gzip bodies.
        precision: The unit of integer timestamps given to the tags ``create_tags`` makes, to writers
            and to ``set_frame``: ``"s"``, ``"ms"``, ``"us"`` or ``"ns"`` (default: microseconds, with
            a warning for a timestamp so small it is likely in another unit).
        check_values: Check each value against its tag's ``smtTagValueTypeCode`` (default ``True``):
            a tag from ``create_tags`` (and, in frames and writers, any tag of that id) refuses a value
            of another type with [`InvalidPointError`][data_interaction_client.InvalidPointError].
        verify: TLS verification: ``True`` (default), ``False``, an ``ssl.SSLContext``, or the path of a
            CA bundle (checked when the client is made).
        proxy: A proxy URL for every request.
        http_client: An ``httpx.Client`` of your own to send with (its own settings apply; the client
            does not close it).
        transport: An httpx transport for the client's own ``httpx.Client`` (e.g. for tests).

    Every method that talks to the platform also takes ``timeout``, ``max_retries`` and
    ``total_timeout`` for that call. With an ``http_client`` of your own, the deadline is checked
    before each attempt and between the chunks of an answer, but a server that trickles the headers of
    its answer is cut off only by that client's own timeouts.

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
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
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
        self._use_http(http_client, httpx.Client, verify=verify, proxy=proxy, transport=transport)

    def close(self) -> None:
        """Close the connection pool (not an ``http_client`` given to the constructor).

        Its writers still open then take no more points and send nothing more (see
        [`Writer`][data_interaction_client.Writer]).
        """
        if self._owns_http:
            client_closed(self)
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _send(
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
                    response = http.send(request, **self._send_options)
                    try:
                        answer = attempts.answer(response)
                        if not response.is_stream_consumed:  # a mock transport's answer is read already
                            for chunk in response.iter_raw():
                                attempts.take(answer, chunk)
                    finally:
                        response.close()
                    return process(request, attempts.finish(response, answer))
                except Exception as exc:  # every failure becomes a package error, or is raised as it is
                    error, delay = attempts.failed(exc)
                if delay is None:
                    raise error
                time.sleep(delay)

    def connect(
        self,
        data_source_id: str,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> Connection:
        """Connect a data source: its attributes and the tags to feed.

        The [`Connection`][data_interaction_client.Connection] is also the list of those tags as ready
        [`Tag`][data_interaction_client.Tag] objects, made once with the client's ``precision`` and
        ``check_values``: ``conn[0].add_data(...)``, ``client.set_data(conn)``.

        Raises [`DataSourceNotActiveError`][data_interaction_client.DataSourceNotActiveError] when the data
        source is switched off and [`NotFoundError`][data_interaction_client.NotFoundError] when the platform
        has no such data source.
        """
        process = functools.partial(self._process_connect, data_source_id)
        body = self._connect_body(data_source_id)
        deadline = self._deadline(total_timeout)
        return self._send(
            wire.CONNECT_PATH, body, process, timeout=timeout, max_retries=max_retries, deadline=deadline
        )

    def set_data(
        self,
        tags: Tag | Sequence[Tag],
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> int:
        """Send the buffered points of one tag or of many; return how many points were sent.

        The points go in requests of at most ``max_points_per_request`` points, in order. A tag's
        points leave its buffer only once the platform has accepted them; on failure the error's
        ``points_sent`` says how many were accepted, and the rest stay buffered. Points given while
        the send is under way stay buffered for the next one. Raises
        [`NoDataToSendError`][data_interaction_client.NoDataToSendError] when no tag has a buffered point.
        """
        return self._set_data(tags, timeout, max_retries, total_timeout).total

    def _set_data(
        self,
        tags: Tag | Sequence[Tag],
        timeout: TimeoutLike | NotGiven,
        max_retries: int | NotGiven,
        total_timeout: float | NotGiven,
    ) -> RequestBodies:
        """The send of `set_data`: its request bodies, once each is accepted."""
        deadline = self._deadline(total_timeout)
        with RequestBodies(tags, self.max_points_per_request) as bodies:
            for body in bodies:
                try:
                    answer = self._send(
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
        return bodies

    def get_data(
        self,
        request_data: RequestData | None = None,
        *,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
        **fields: Unpack[RequestFields],
    ) -> list[TagHistory]:
        """Read history as ``request_data`` says: one `TagHistory` per requested tag.

        Give a [`RequestData`][data_interaction_client.RequestData], or its fields as keywords
        (``tag_id``, ``from_time``, ``to_time``, ``max_count``, ``time_step``, ``value``,
        ``format_param``, ``actual``; see `RequestData`), as the original client's 1.0.0 did (``None``
        is "not given"):

        ```python
        client.get_data(tag_id=["temperature"], from_time="2018-06-26 10:00:00", max_count=100)
        ```
        """
        request_data = self._request_of(request_data, fields)
        body = self._get_body(request_data)
        deadline = self._deadline(total_timeout)
        return self._send(
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
    ) -> Iterator[list[TagHistory]]:
        """Read every stored point of a long period in time windows, a page at a time.

        Each page is a list of [`TagHistory`][data_interaction_client.TagHistory], one per tag, of at most
        about ``page_size`` points in all, so memory stays bounded. ``request_data`` needs ``from_time``
        (``to_time`` defaults to now); windows start ``window`` long and adapt to the data; no point is missed
        or given twice. ``timeout``, ``max_retries`` and ``total_timeout`` apply to each page's request.
        Raises [`InvalidInputError`][data_interaction_client.InvalidInputError] at once for a request it
        cannot page (see the README):

        ```python
        for page in client.iter_history(req, window=timedelta(hours=1)):
            for history in page:
                export(history.tag_id, history.points)
        ```
        """
        pager = HistoryPager(request_data, window=window, page_size=page_size)

        def pages() -> Iterator[list[TagHistory]]:
            while (request := pager.next_request()) is not None:
                page = pager.take(
                    self.get_data(
                        request, timeout=timeout, max_retries=max_retries, total_timeout=total_timeout
                    )
                )
                if page:
                    yield page

        return pages()

    @overload
    def get_frame(
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
    def get_frame(
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
    def get_frame(
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
    def get_frame(
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
        """Read history of many tags into one pandas or polars frame, in one call.

        ``form="long"``: the columns ``tag, x, y, q``; ``form="wide"``: ``x`` and one column per tag,
        aligned on ``x``. ``x`` holds UTC datetimes, or integer microseconds with ``x_as="us"``.
        """
        check_options(form=form, backend=backend, x_as=x_as)
        histories = self.get_data(
            integer_request(request_data),
            timeout=timeout,
            max_retries=max_retries,
            total_timeout=total_timeout,
        )
        return histories_frame(histories, form=form, backend=backend, x_as=x_as)

    def set_frame(
        self,
        frame: Any,
        *,
        form: Form = "long",
        nan_quality: int | None = None,
        timeout: TimeoutLike | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        total_timeout: float | NotGiven = NOT_GIVEN,
    ) -> int:
        """Send the points of a pandas or polars frame, long or wide; return how many were sent.

        The frame is checked and sent in chunks of ``max_points_per_request`` rows; a bad row raises
        [`InvalidPointError`][data_interaction_client.InvalidPointError] naming its tag, its position in the
        frame and the field (the chunks before it were sent); a failed send's ``points_sent`` counts every
        point accepted. A NaN value is refused as everywhere, unless its row has a quality code other than 0
        (then it is ``y=null``, the missing value that quality explains), or ``nan_quality`` is given:
        then every NaN value is sent as ``y=null`` with that quality code (e.g. 102).
        """
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
                sent += self.set_data(
                    tags, timeout=timeout, max_retries=max_retries, total_timeout=total_timeout
                )
            except APIError as exc:
                exc.points_sent = sent + (exc.points_sent or 0)
                raise
        return sent

    def writer(self, spool: str | os.PathLike[str] | None = None, **options: Unpack[WriterOptions]) -> Writer:
        """A background writer that batches points and sends them, through a durable spool directory.

        The way for long-running connectors: ``with client.writer(spool="/var/lib/c/spool") as w:``;
        ``spool=None`` keeps pending points in memory only. See [`Writer`][data_interaction_client.Writer] for
        the options.
        """
        return Writer(self, spool, **options)
