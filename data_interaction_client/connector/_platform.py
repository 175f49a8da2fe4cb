"""Whether the platform answers the runtime, and takes its requests: what ``/healthz`` says of it.

Fed by the refreshes of the data source (``connect``) and by the writer's callbacks (each
``set_data``): the platform is unreachable from the first failure until the next answer, said at
WARNING when that starts and ends; a request the platform refuses (`refused`: the token, the
address) is said at ERROR once and makes health critical until a request is taken again.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from . import _core
from ._policy import refused
from ._settings import RunSettings

if TYPE_CHECKING:
    from ._metrics import Metrics

__all__ = ["Reachability"]


class Reachability:
    """The platform's side of one run; the writer's callbacks take ``lock``, the core's."""

    def __init__(self, settings: RunSettings, lock: threading.Lock) -> None:
        self.metrics: Metrics | None = None
        self.reached = False  # the platform has answered once
        self.unreachable_since: float | None = None
        self.token_refused = False
        self._settings = settings
        self._lock = lock

    def unreachable_for(self, now: float) -> float:
        """Seconds since the platform last answered, while it does not (0 while it does)."""
        since = self.unreachable_since
        return 0.0 if since is None else now - since

    def answered(self, seconds: float) -> None:
        """A ``connect`` answered (core lock held)."""
        self.request("connect", "ok", seconds)
        self._reachable()

    def failed(self, error: BaseException, seconds: float) -> None:
        """A ``connect`` failed: said when the state changes (core lock held)."""
        self.request("connect", "error", seconds)
        refuses = refused(error)
        if refuses and not self.token_refused:
            _core.log.error(
                "the platform refuses the runtime's requests (%s): fix the token or the address; "
                "trying again",
                error,
            )
        self.token_refused = refuses
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()
            _core.log.warning(
                "the platform at %s does not answer (%s); trying again, with backoff",
                self._settings.shown_url,
                error,
            )

    def request(self, endpoint: str, outcome: str, seconds: float | None) -> None:
        """Count a request to the platform and time it."""
        if self.metrics is None:
            return
        self.metrics.requests.labels(endpoint, outcome).inc()
        if seconds is not None:
            self.metrics.request_seconds.labels(endpoint).observe(seconds)

    # --- the writer's callbacks (on its thread or loop) -----------------------------------------

    def accepted(self, event: Any) -> None:
        """The platform accepted a batch."""
        with self._lock:
            self.request("set_data", "accepted", event.seconds)
            if self.unreachable_since is not None or self.token_refused:
                self._reachable()

    def retrying(self, event: Any) -> None:
        """A batch failed and will be sent again."""
        with self._lock:
            self.request("set_data", "retry", event.seconds)
            if event.error is not None:
                self.token_refused = refused(event.error)
                if self.unreachable_since is None:
                    self.unreachable_since = time.monotonic()

    def quarantined(self, event: Any) -> None:
        """The platform refused a batch for good."""
        with self._lock:
            self.request("set_data", "quarantined", event.seconds)

    def _reachable(self) -> None:
        if self.unreachable_since is not None:
            _core.log.warning(
                "the platform answers again after %.1f s", time.monotonic() - self.unreachable_since
            )
        elif not self.reached:
            _core.log.info("connected to the platform at %s", self._settings.shown_url)
        self.reached = True
        self.unreachable_since = None
        self.token_refused = False
