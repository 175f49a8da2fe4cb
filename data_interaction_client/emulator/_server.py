"""Running the reference platform with uvicorn in a background thread, for tests and demos."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import uvicorn
from starlette.applications import Starlette

from ._app import DropLogFilter, PlatformState, create_app
from ._config import PlatformConfig, tag_key
from ._faults import Faults


def install_log_filter() -> None:
    """Hide uvicorn's error line about answers cut short by the dropped-connection fault."""
    uvicorn_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, DropLogFilter) for existing in uvicorn_logger.filters):
        uvicorn_logger.addFilter(DropLogFilter())


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
) -> Iterator[RunningPlatform]:
    """Serve the reference platform in a background thread for the duration of a ``with`` block.

    ``port=0`` picks a free port. The block starts once the server accepts connections; on exit the
    server stops and the database is closed. See :func:`create_app` for the other arguments.
    """
    app = create_app(config, db, token, faults, clock=clock)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    install_log_filter()
    config_ = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        ws="none",
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config_)
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
        thread.join(timeout=10)
        sock.close()
        app.state.platform.store.close()
