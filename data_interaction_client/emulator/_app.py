"""The Starlette application: the contract's three endpoints, plus a small admin API.

The admin API: ``/_emulator/faults`` (the injected faults) and ``/_emulator/sources/{id}`` (a data
source's attributes and tags, changed at run time: switch it off and on, add or remove tags).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Literal, get_args

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._body import DEFAULT_MAX_BODY_SIZE, BodyError, BodyTooLarge, read_body
from ._config import ConfigError, PlatformConfig, load_config, tag_key
from ._faults import FaultInjector, FaultKind, Faults
from ._history import HistoryQuery, compute
from ._ingest import Unusual, fast_tag_rows
from ._json import JSONError, dumps, loads, value_problem
from ._store import Store, StoreClosed
from ._timestamps import now_us
from ._validation import RequestError, check_schema, check_set_envelope, iter_set_rows, timestamp_micros

PointForm = Literal["object", "array"]
"""How get_data answers points: ``{"x", "y", "q"}`` objects, or ``[y, x, q]`` arrays (the platform family's
documented form)."""
POINT_FORMS: tuple[str, ...] = get_args(PointForm)
"""Every [`PointForm`][data_interaction_client.emulator.PointForm]: the values ``point_form`` takes."""
_ADMIN_BODY_LIMIT = 64 * 1024
"""The largest body of the small admin API (``/_emulator/faults``)."""
_STOPPING = "Service unavailable: the platform is stopping; nothing of this request was stored"

logger = logging.getLogger("data_interaction_client.platform")

_SUCCESS = {"id": 0, "message": ""}
_HTML_PAGE = (
    "<html><head><title>{status} Bad Gateway</title></head><body><center><h1>{status} Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>\n"
)
DROP_LOG_MESSAGE = "ASGI callable returned without completing response."
"""What uvicorn logs when an answer is cut short on purpose (a dropped connection)."""


class DropLogFilter(logging.Filter):
    """Hides uvicorn's error log line about an answer cut short, which a dropped connection causes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the one about an incomplete answer."""
        return record.getMessage() != DROP_LOG_MESSAGE


class UnknownDataSourceError(LookupError):
    """A data source that the configuration does not have."""


def _envelope(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    body = dumps({"error": {"id": status, "message": message}})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _json(body: Any) -> Response:
    return Response(dumps(body), media_type="application/json")


class _DroppedResponse(Response):
    """Announces a body it never sends: the server then closes the connection mid-answer."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )


def check_platform_token(token: str | None) -> None:
    """Refuse a token that cannot travel in an HTTP header (the message never shows the token)."""
    if token is None:
        return
    if not isinstance(token, str) or not token:
        raise ValueError("the token must be a non-empty string")
    if not all("!" <= char <= "~" for char in token):
        raise ValueError(
            "the token must be visible ASCII characters without spaces or line breaks "
            "(it travels in the Authorization header)"
        )


class PlatformState:
    """What the endpoints share: configuration, storage, token, faults, the clock and the answer form.

    ``point_form`` and ``max_body_size`` may be changed at run time; they apply to the next request.
    """

    def __init__(
        self,
        config: PlatformConfig,
        store: Store,
        token: str | None,
        faults: Faults | None,
        clock: Callable[[], int],
        *,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        point_form: PointForm = "object",
    ) -> None:
        check_platform_token(token)
        if type(max_body_size) is not int or max_body_size < 1:
            raise ValueError(f"max_body_size must be a positive integer of bytes, not {max_body_size!r}")
        if point_form not in POINT_FORMS:
            raise ValueError(f"point_form must be one of {', '.join(POINT_FORMS)}, not {point_form!r}")
        self.config: PlatformConfig = config
        self.store = store
        self.token = token
        self.injector: FaultInjector = FaultInjector(faults)
        self.clock = clock
        self.step_keys: frozenset[str] = config.step_keys()
        self.max_body_size = max_body_size
        self.point_form: PointForm = point_form
        #: Set when the server begins to stop; requests cut short then answer 503 quietly.
        self.stopping: bool = False
        # Requests that hold nothing yet (waiting for latency or for their body): cancelled when the
        # platform stops, instead of being waited for.
        self._waiting: set[asyncio.Task[Any]] = set()

    def set_source(
        self,
        source_id: str,
        attributes: Mapping[str, Any] | None = None,
        tags: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Change a data source at run time, from the next connect on (a new id creates it).

        ``attributes`` are merged into its own (``{"smtActive": False}`` switches it off), ``tags``
        replace its tags. Raises [`ConfigError`][data_interaction_client.emulator.ConfigError] naming a bad
        field; returns the source.
        """
        old = self.config.data_sources.get(source_id)
        merged = {**(old.attributes if old is not None else {}), **(attributes or {})}
        new_tags = tags if tags is not None else (old.tags if old is not None else [])
        document = {
            "dataSources": {
                **{
                    key: {"attributes": s.attributes, "tags": s.tags}
                    for key, s in self.config.data_sources.items()
                },
                source_id: {"attributes": merged, "tags": new_tags},
            }
        }
        config = PlatformConfig.from_mapping(document)
        self.config = config  # one assignment: a request sees the old or the new configuration
        self.step_keys = config.step_keys()
        return {"id": source_id, "attributes": merged, "tags": config.data_sources[source_id].tags}

    def authorized(self, request: Request) -> bool:
        """Whether the request carries the bearer token (always true when no token is configured)."""
        if self.token is None:
            return True
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode("utf-8", "surrogateescape"), self.token.encode("utf-8")
        )

    def stop_requests(self) -> None:
        """Roll back the write in progress, end reads, and cut off requests still waiting (shutdown)."""
        self.stopping = True
        self.store.interrupt()
        for task in list(self._waiting):
            task.cancel()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Mark the current request as cancellable at shutdown for the duration of the block."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task under an ASGI server
            yield
            return
        self._waiting.add(task)
        try:
            yield
        finally:
            self._waiting.discard(task)

    # The handlers below run in a worker thread: they parse, validate, then touch the database.

    def connect(self, body: Any) -> bytes:
        """Answer ``/smt/dataSources/connect``."""
        check_schema("ConnectRequest", body)
        source = self.config.data_sources.get(body["id"])
        if source is None:
            raise UnknownDataSourceError(f"Data source {dumps(body['id']).decode()} not found")
        tags = source.tags if source.active else []
        return dumps({"error": _SUCCESS, "attributes": source.attributes, "tags": tags})

    def set_data(self, raw: bytes | bytearray) -> bytes:
        """Answer ``/smt/data/set``: check and store every point in one transaction (all or nothing).

        The fast path writes a plainly valid body straight from compact structs; anything else (or
        anything it doubts) goes through the exact checks, which name what is wrong.
        """
        try:
            tag_rows = fast_tag_rows(raw)
        except JSONError as exc:
            raise _request_error(exc) from None
        if tag_rows is not None:
            try:
                self.store.write(tag_rows)
            except Unusual:
                pass  # rolled back: let the exact checks decide
            else:
                return dumps({"error": _SUCCESS})
        body = _decode(raw)
        items = check_set_envelope(body)
        self.store.write(
            [(tag_key(item["tagId"]), iter_set_rows(item["data"], index)) for index, item in enumerate(items)]
        )
        return dumps({"error": _SUCCESS})

    def get_data(self, body: Any) -> bytes:
        """Answer ``/smt/data/get`` following the history rules."""
        check_schema("GetDataRequest", body)
        raw_value = body.get("value")
        values = None
        if "value" in body:
            # A list is a list of wanted values: each may nest as deep as a stored one.
            values = tuple(raw_value) if isinstance(raw_value, list) else (raw_value,)
            for number, wanted in enumerate(values):
                problem = value_problem(wanted)
                if problem is not None:
                    where = f"body.value[{number}]" if isinstance(raw_value, list) else "body.value"
                    raise RequestError(f"{where}: {problem}")
        query = HistoryQuery(
            start=timestamp_micros(body["from"], ["from"]) if "from" in body else None,
            end=timestamp_micros(body["to"], ["to"]) if "to" in body else None,
            max_count=int(body["maxCount"]) if "maxCount" in body else None,
            time_step=int(body["timeStep"]) if "timeStep" in body else None,
            actual=bool(body.get("actual", False)),
            iso=bool(body.get("format", False)),
            values=values,
        )
        tag_ids = body["tagId"] if isinstance(body["tagId"], list) else [body["tagId"]]
        arrays = self.point_form == "array"
        now = self.clock()
        items = []
        for tag_id in tag_ids:
            key = tag_key(tag_id)
            points, exceed = compute(
                query, functools.partial(self.store.window, key), key in self.step_keys, now, arrays=arrays
            )
            # As the platform family does: `exceed` only when the request had maxCount (absent means
            # false), but always when it is true, so that no answer hides that it was thinned.
            if query.max_count is not None or exceed:
                items.append(
                    b'{"tagId":%b,"exceed":%b,"data":%b}'
                    % (dumps(tag_id), b"true" if exceed else b"false", orjson.dumps(points))
                )
            else:
                items.append(b'{"tagId":%b,"data":%b}' % (dumps(tag_id), orjson.dumps(points)))
        return b'{"error":{"id":0,"message":""},"data":[%b]}' % b",".join(items)


def _request_error(error: JSONError) -> RequestError:
    return RequestError(f"body{error.path}: {error.reason}" if error.path else f"body: {error.reason}")


def _decode(raw: bytes | bytearray) -> Any:
    try:
        return loads(raw)
    except JSONError as exc:
        raise _request_error(exc) from None


def _handle(state: PlatformState, name: str, raw: bytearray) -> bytes:
    try:
        if name == "set_data":
            return state.set_data(raw)
        body = _decode(raw)
        handler: Callable[[Any], bytes] = getattr(state, name)
        return handler(body)
    except RecursionError:
        # Checking or quoting a deeply nested body; MAX_DEPTH keeps stored values far from this.
        raise RequestError("body: nested too deeply") from None


async def _read_body(request: Request, limit: int) -> bytearray:
    headers = request.headers
    return await read_body(
        request.stream(), headers.get("content-length"), headers.get("content-encoding", ""), limit
    )


def _contract_endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state: PlatformState = request.app.state.platform
        # The token first: a caller without it learns nothing, not even the injected faults.
        if not state.authorized(request):
            return _envelope(401, "Missing or invalid bearer token")
        with state.waiting():
            kind, faults = state.injector.draw()
            if faults.latency:
                await asyncio.sleep(faults.latency)
            if kind is FaultKind.DROP:
                return _DroppedResponse()
            if kind is FaultKind.ERROR:
                retry_after = faults.retry_after_header
                headers = {"Retry-After": retry_after} if retry_after is not None else None
                return _envelope(faults.error_status, "Service unavailable (injected fault)", headers)
            if kind is FaultKind.HTML:
                page = _HTML_PAGE.format(status=faults.html_status)
                return Response(page, status_code=faults.html_status, media_type="text/html")
            try:
                raw = await _read_body(request, state.max_body_size)
            except BodyTooLarge as exc:
                return _envelope(413, exc.message, {"Connection": "close"})
            except BodyError as exc:
                return _envelope(422, exc.message)
            except ClientDisconnect:
                return _envelope(400, "body: the connection closed before the whole body came")
        try:
            answer = await run_in_threadpool(_handle, state, name, raw)
        except RequestError as exc:
            return _envelope(422, exc.message)
        except UnknownDataSourceError as exc:
            return _envelope(404, str(exc.args[0]))
        except StoreClosed:
            return _envelope(503, _STOPPING, {"Connection": "close"})
        except Exception:
            logger.exception("the reference platform failed on %s", request.url.path)
            return _envelope(500, "Internal error")
        return Response(answer, media_type="application/json")

    return endpoint


class _QuietStop:
    """Ends a request that the stopping server cancels with a 503, instead of a logged traceback."""

    def __init__(self, app: ASGIApp, state: PlatformState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            if not self.state.stopping:
                raise
            if not started and scope["type"] == "http":
                with contextlib.suppress(Exception):
                    await _envelope(503, _STOPPING, {"Connection": "close"})(scope, receive, send)


async def _health(request: Request) -> Response:
    return _json({"error": _SUCCESS, "status": "ok"})


async def _faults(request: Request) -> Response:
    state: PlatformState = request.app.state.platform
    if not state.authorized(request):
        return _envelope(401, "Missing or invalid bearer token")
    if request.method == "POST":
        try:
            raw = await _read_body(request, _ADMIN_BODY_LIMIT)
        except BodyTooLarge as exc:
            return _envelope(413, exc.message, {"Connection": "close"})
        except (BodyError, ClientDisconnect) as exc:
            return _envelope(422, str(exc))
        try:
            settings = loads(raw)
            if not isinstance(settings, dict):
                raise TypeError("the body must be a JSON object")
            state.injector.set(Faults.from_dict(settings))
        except (ValueError, TypeError) as exc:
            return _envelope(422, f"body: {exc}")
    return _json({"error": _SUCCESS, "faults": state.injector.faults.to_dict()})


async def _sources(request: Request) -> Response:
    state: PlatformState = request.app.state.platform
    if not state.authorized(request):
        return _envelope(401, "Missing or invalid bearer token")
    source_id = request.path_params["source_id"]
    if request.method == "GET":
        source = state.config.data_sources.get(source_id)
        if source is None:
            return _envelope(404, f"Data source {dumps(source_id).decode()} not found")
        return _json({"error": _SUCCESS, "attributes": source.attributes, "tags": source.tags})
    try:
        raw = await _read_body(request, _ADMIN_BODY_LIMIT)
    except BodyTooLarge as exc:
        return _envelope(413, exc.message, {"Connection": "close"})
    except (BodyError, ClientDisconnect) as exc:
        return _envelope(422, str(exc))
    try:
        change = loads(raw)
        if not isinstance(change, dict):
            raise TypeError("the body must be a JSON object")
        unknown = sorted(set(change) - {"attributes", "tags"})
        if unknown:
            raise ValueError(f"unknown keys {', '.join(unknown)}: give attributes and/or tags")
        if not isinstance(change.get("attributes", {}), dict):
            raise TypeError("attributes must be a JSON object")
        if not isinstance(change.get("tags", []), list):
            raise TypeError("tags must be a JSON array")
        changed = state.set_source(source_id, change.get("attributes"), change.get("tags"))
    except (ConfigError, ValueError, TypeError) as exc:
        return _envelope(422, f"body: {exc}")
    return _json({"error": _SUCCESS, "attributes": changed["attributes"], "tags": changed["tags"]})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _envelope(exc.status_code, exc.detail, exc.headers)


def create_app(
    config: str | os.PathLike[str] | Mapping[str, Any] | PlatformConfig | None = None,
    db: str | os.PathLike[str] | Store = ":memory:",
    token: str | None = None,
    faults: Faults | None = None,
    *,
    clock: Callable[[], int] | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    point_form: PointForm = "object",
) -> Starlette:
    """Build the reference platform's ASGI application.

    ``config``: a YAML/JSON file, a mapping, a
    [`PlatformConfig`][data_interaction_client.emulator.PlatformConfig], or None for the example one. ``db``:
    an SQLite file, ``":memory:"``, or an open [`Store`][data_interaction_client.emulator.Store]. ``token``:
    the bearer token to require, if any. ``faults``: faults to inject from the start. ``clock``: returns "now"
    in microseconds (tests). ``max_body_size``: the largest request body in bytes, before and after gzip
    decompression (413 above; default
    [`DEFAULT_MAX_BODY_SIZE`][data_interaction_client.emulator.DEFAULT_MAX_BODY_SIZE]). ``point_form``:
    ``"object"`` answers get_data points as ``{"x", "y", "q"}``, ``"array"`` as ``[y, x, q]`` (the platform
    family's documented form). The state is at ``app.state.platform`` (a
    [`PlatformState`][data_interaction_client.emulator.PlatformState]).
    """
    loaded = load_config(config)
    owned = not isinstance(db, Store)
    store = Store(os.fspath(db)) if not isinstance(db, Store) else db
    try:
        state = PlatformState(
            loaded,
            store,
            token,
            faults,
            clock or now_us,
            max_body_size=max_body_size,
            point_form=point_form,
        )
    except BaseException:
        if owned:
            store.close()
        raise
    routes = [
        Route("/smt/dataSources/connect", _contract_endpoint("connect"), methods=["POST"]),
        Route("/smt/data/set", _contract_endpoint("set_data"), methods=["POST"]),
        Route("/smt/data/get", _contract_endpoint("get_data"), methods=["POST"]),
        Route("/_emulator/health", _health, methods=["GET"]),
        Route("/_emulator/faults", _faults, methods=["GET", "POST"]),
        Route("/_emulator/sources/{source_id}", _sources, methods=["GET", "POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error},
        middleware=[Middleware(_QuietStop, state=state)],
    )
    app.state.platform = state
    return app
