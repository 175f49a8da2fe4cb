"""The Starlette application: the contract's three endpoints, plus a small admin API for the faults."""

from __future__ import annotations

import asyncio
import functools
import gzip
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ._config import PlatformConfig, load_config, tag_key
from ._faults import FaultInjector, FaultKind, Faults
from ._history import HistoryQuery, compute
from ._json import dumps, loads
from ._store import Store
from ._timestamps import now_us
from ._validation import RequestError, check_schema, check_set_envelope, set_rows, timestamp_micros

logger = logging.getLogger("data_interaction_client.emulator")

_SUCCESS = {"id": 0, "message": ""}
_HTML_PAGE = (
    "<html><head><title>{status} Bad Gateway</title></head><body><center><h1>{status} Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>\n"
)
#: What uvicorn logs when an answer is cut short on purpose (a dropped connection).
DROP_LOG_MESSAGE = "ASGI callable returned without completing response."


class DropLogFilter(logging.Filter):
    """Hides uvicorn's error log line about an answer cut short, which a dropped connection causes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the one about an incomplete answer."""
        return record.getMessage() != DROP_LOG_MESSAGE


class NotFoundError(LookupError):
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


class PlatformState:
    """What the endpoints share: configuration, storage, token, faults and the clock."""

    def __init__(
        self,
        config: PlatformConfig,
        store: Store,
        token: str | None,
        faults: Faults | None,
        clock: Callable[[], int],
    ) -> None:
        self.config = config
        self.store = store
        self.token = token
        self.injector = FaultInjector(faults)
        self.clock = clock
        self.step_keys = config.step_keys()

    def authorized(self, request: Request) -> bool:
        """Whether the request carries the bearer token (always true when no token is configured)."""
        if self.token is None:
            return True
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode("utf-8", "surrogateescape"), self.token.encode("utf-8")
        )

    # The handlers below run in a worker thread: they parse, validate, then touch the database.

    def connect(self, body: Any) -> bytes:
        """Answer ``/smt/dataSources/connect``."""
        check_schema("ConnectRequest", body)
        source = self.config.data_sources.get(body["id"])
        if source is None:
            raise NotFoundError(f"Data source {dumps(body['id']).decode()} not found")
        tags = source.tags if source.active else []
        return dumps({"error": _SUCCESS, "attributes": source.attributes, "tags": tags})

    def set_data(self, body: Any) -> bytes:
        """Answer ``/smt/data/set``: validate everything, then store every point in one transaction."""
        items = check_set_envelope(body)
        batches = [
            (tag_key(item["tagId"]), set_rows(item["data"], index)) for index, item in enumerate(items)
        ]
        self.store.write(batches)
        return dumps({"error": _SUCCESS})

    def get_data(self, body: Any) -> bytes:
        """Answer ``/smt/data/get`` following the history rules."""
        check_schema("GetDataRequest", body)
        raw_value = body.get("value")
        values = None
        if "value" in body:
            values = tuple(raw_value) if isinstance(raw_value, list) else (raw_value,)
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
        now = self.clock()
        items = []
        for tag_id in tag_ids:
            key = tag_key(tag_id)
            points, exceed = compute(
                query,
                functools.partial(self.store.window, key),
                key in self.step_keys,
                now,
            )
            items.append(
                b'{"tagId":%b,"exceed":%b,"data":%b}'
                % (dumps(tag_id), b"true" if exceed else b"false", orjson.dumps(points))
            )
        return b'{"error":{"id":0,"message":""},"data":[%b]}' % b",".join(items)


def _handle(state: PlatformState, handler: Callable[[Any], bytes], raw: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise RequestError(f"body: not valid gzip ({exc})") from exc
    elif encoding not in ("", "identity"):
        raise RequestError(f"body: unsupported Content-Encoding {encoding!r} (gzip or none)")
    try:
        body = loads(raw)
    except ValueError as exc:
        raise RequestError(f"body: not valid JSON ({exc})") from exc
    return handler(body)


def _contract_endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state: PlatformState = request.app.state.platform
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
        if not state.authorized(request):
            return _envelope(401, "Missing or invalid bearer token")
        raw = await request.body()
        try:
            encoding = request.headers.get("content-encoding", "").strip().lower()
            answer = await run_in_threadpool(_handle, state, getattr(state, name), raw, encoding)
        except RequestError as exc:
            return _envelope(422, exc.message)
        except NotFoundError as exc:
            return _envelope(404, str(exc.args[0]))
        except Exception:
            logger.exception("the reference platform failed on %s", request.url.path)
            return _envelope(500, "Internal error")
        return Response(answer, media_type="application/json")

    return endpoint


async def _health(request: Request) -> Response:
    return _json({"error": _SUCCESS, "status": "ok"})


async def _faults(request: Request) -> Response:
    state: PlatformState = request.app.state.platform
    if not state.authorized(request):
        return _envelope(401, "Missing or invalid bearer token")
    if request.method == "POST":
        try:
            settings = loads(await request.body())
            if not isinstance(settings, dict):
                raise TypeError("the body must be a JSON object")
            state.injector.set(Faults.from_dict(settings))
        except (ValueError, TypeError) as exc:
            return _envelope(422, f"body: {exc}")
    return _json({"error": _SUCCESS, "faults": state.injector.faults.to_dict()})


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
) -> Starlette:
    """Build the reference platform's ASGI application.

    ``config``: a YAML/JSON file, a mapping, a :class:`PlatformConfig`, or None for the example one.
    ``db``: an SQLite file, ``":memory:"``, or an open :class:`Store`. ``token``: the bearer token to require,
    if any. ``faults``: faults to inject from the start. ``clock``: returns "now" in microseconds (tests).
    The state is at ``app.state.platform`` (a :class:`PlatformState`).
    """
    store = db if isinstance(db, Store) else Store(os.fspath(db))
    state = PlatformState(load_config(config), store, token, faults, clock or now_us)
    routes = [
        Route("/smt/dataSources/connect", _contract_endpoint("connect"), methods=["POST"]),
        Route("/smt/data/set", _contract_endpoint("set_data"), methods=["POST"]),
        Route("/smt/data/get", _contract_endpoint("get_data"), methods=["POST"]),
        Route("/_emulator/health", _health, methods=["GET"]),
        Route("/_emulator/faults", _faults, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.platform = state
    return app
