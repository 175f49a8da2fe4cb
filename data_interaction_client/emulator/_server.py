"""Serving the reference platform with uvicorn: stopping promptly, and in a background thread for tests.

Stopping (Ctrl-C, SIGTERM, or leaving [`run_platform`][data_interaction_client.emulator.run_platform]): the
server stops accepting connections and gives the requests in progress
[`STOP_GRACE`][data_interaction_client.emulator.STOP_GRACE] seconds to finish; then the write still running
rolls back (it answers 503: nothing of it was stored), reads end, and requests still waiting for their body or
for injected latency are cut off with a 503. No traceback, and a second Ctrl-C does all that at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from ._app import POINT_FORMS, DropLogFilter, PlatformState, PointForm, create_app
from ._body import DEFAULT_MAX_BODY_SIZE
from ._config import PlatformConfig, tag_key
from ._faults import Faults

STOP_GRACE = 2.0
"""Seconds the requests in progress get to finish when the platform stops; then they are rolled back."""
_BACKSTOP = 3.0
"""uvicorn's own limit on waiting for requests, past ours: only a client that reads no answer meets it."""


def install_log_filter() -> None:
    """Hide uvicorn's error line about answers cut short by the dropped-connection fault."""
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, DropLogFilter) for existing in uvicorn_logger.filters):
        uvicorn_logger.addFilter(DropLogFilter())


class PlatformServer(uvicorn.Server):
    """uvicorn's server, which stops the platform's requests promptly and leaves no traceback.

    Signals are handled as uvicorn does (the first stops gracefully, a second Ctrl-C at once) but not
    raised again once the server has stopped: the command line then closes the database and exits 0.
    """

    def __init__(self, config: uvicorn.Config, state: PlatformState, grace: float = STOP_GRACE) -> None:
        super().__init__(config)
        self.state = state
        self.grace = grace
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start serving; remember the loop, for the signal handler."""
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """On a signal: stop; on a second Ctrl-C, roll back and cut off every request at once."""
        super().handle_exit(sig, frame)
        if self.force_exit and self._loop is not None:
            self._loop.call_soon_threadsafe(self.state.stop_requests)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM while serving, then restore the previous handlers (and raise none)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop as uvicorn does, with the platform's requests stopped after the grace period."""
        self.state.stopping = True
        deadline = asyncio.get_running_loop().call_later(self.grace, self.state.stop_requests)
        try:
            await super().shutdown(sockets)
        finally:
            deadline.cancel()


def server_config(app: Starlette, **options: Any) -> uvicorn.Config:
    """The uvicorn settings of the platform (no websockets, no lifespan, a bounded graceful shutdown)."""
    return uvicorn.Config(
        app, ws="none", lifespan="off", timeout_graceful_shutdown=math.ceil(STOP_GRACE + _BACKSTOP), **options
    )


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0 picks a free port); ``OSError`` naming the address if it cannot."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class RunningPlatform:
    """A reference platform serving on ``url``: change its faults, look at what it stored."""

    def __init__(self, app: Starlette, server: uvicorn.Server, host: str, port: int) -> None:
        self.app = app
        self.server = server
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:53124``."""
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> PlatformState:
        """The application's shared state (configuration, store, faults)."""
        state: PlatformState = self.app.state.platform
        return state

    @property
    def faults(self) -> Faults:
        """The faults injected now."""
        return self.state.injector.faults

    def set_faults(self, faults: Faults | None) -> None:
        """Replace the injected faults (None turns them all off); takes effect on the next request."""
        self.state.injector.set(faults)

    def set_source(
        self,
        source_id: str,
        attributes: Mapping[str, Any] | None = None,
        tags: list[dict[str, Any]] | None = None,
    ) -> None:
        """Change a data source from the next connect on; see `PlatformState.set_source`.

        ``attributes`` are merged (``{"smtActive": False}`` switches it off), ``tags`` replaced.
        """
        self.state.set_source(source_id, attributes, tags)

    @property
    def point_form(self) -> PointForm:
        """How get_data answers points now: ``"object"`` (``{x, y, q}``) or ``"array"`` (``[y, x, q]``)."""
        return self.state.point_form

    def set_point_form(self, point_form: PointForm) -> None:
        """Answer get_data points as ``"object"`` or ``"array"`` from the next request on."""
        if point_form not in POINT_FORMS:
            raise ValueError(f"point_form must be one of {', '.join(POINT_FORMS)}, not {point_form!r}")
        self.state.point_form = point_form

    def stored_points(self, tag_id: str | Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every point stored for a tag, ``{"x": int, "y": value, "q": int | None}``, sorted by x."""
        return self.state.store.points(tag_key(tag_id))

    def clear(self) -> None:
        """Delete every stored point."""
        self.state.store.clear()


@contextlib.contextmanager
def run_platform(
    config: str | os.PathLike[str] | Mapping[str, Any] | PlatformConfig | None = None,
    db: str | os.PathLike[str] = ":memory:",
    token: str | None = None,
    faults: Faults | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    clock: Callable[[], int] | None = None,
    startup_timeout: float = 10.0,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    point_form: PointForm = "object",
) -> Iterator[RunningPlatform]:
    """Serve the reference platform in a background thread for the duration of a ``with`` block.

    ``port=0`` picks a free port. The block starts once the server accepts connections; on exit the
    server stops (within a few seconds, whatever runs: see the module's docstring) and the database is
    closed. See [`create_app`][data_interaction_client.emulator.create_app] for the other arguments.
    """
    app = create_app(
        config, db, token, faults, clock=clock, max_body_size=max_body_size, point_form=point_form
    )
    state: PlatformState = app.state.platform
    try:
        sock = listen(host, port)
    except BaseException:
        state.store.close()
        raise
    install_log_filter()
    server = PlatformServer(server_config(app, log_config=None, log_level="warning", access_log=False), state)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="reference-platform", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the reference platform did not start")
            time.sleep(0.01)
        yield RunningPlatform(app, server, host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_GRACE + _BACKSTOP + 5)
        sock.close()
        state.store.close()
