"""What the runtime tells operators: Prometheus metrics on ``/metrics`` and the health on ``/healthz``.

The metrics live in a registry of their own (not prometheus_client's global one), so that two runs
in one process do not clash; the writer's figures are read from ``w.stats()`` when scraped.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .._writer.options import WriterStats

__all__ = ["PREFIX", "HealthServer", "Metrics"]

PREFIX = "data_interaction"
"""The prefix of every metric's name."""
_HEALTHS = ("ok", "degraded", "critical")


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise ImportError(
            "--metrics needs the 'connector' extra: pip install 'data-interaction-client[connector]'"
        ) from exc
    return prometheus_client


class Metrics:
    """The runtime's metrics, in their own registry; ``stats`` gives the writer's figures when asked."""

    def __init__(self, stats: Callable[[], WriterStats], state: Callable[[], dict[str, Any]]) -> None:
        prometheus = _prometheus()
        self.registry = prometheus.CollectorRegistry(auto_describe=True)
        self._stats = stats
        self._state = state
        make = {"registry": self.registry, "namespace": PREFIX}
        self.requests = prometheus.Counter(
            "requests_total",
            "Requests to the platform, by endpoint and outcome.",
            ["endpoint", "outcome"],
            **make,
        )
        self.request_seconds = prometheus.Histogram(
            "request_duration_seconds", "Duration of the requests to the platform.", ["endpoint"], **make
        )
        self.poll_seconds = prometheus.Histogram("poll_duration_seconds", "Duration of each poll().", **make)
        self.poll_overruns = prometheus.Counter(
            "poll_overruns_total", "Ticks skipped because a poll() ran past them.", **make
        )
        self.poll_errors = prometheus.Counter("poll_errors_total", "Polls that raised.", **make)
        self.readings = prometheus.Counter(
            "readings_total",
            "Readings the writer took, by origin (poll, backfill, emit, link_lost).",
            ["origin"],
            **make,
        )
        self.readings_refused = prometheus.Counter(
            "readings_refused",
            "Readings the writer refused, by reason (disk_full, spool_full, invalid, closed).",
            ["reason"],
            **make,
        )
        self.source_link_up = prometheus.Gauge(
            "source_link_up",
            "1 while the link to the data source works, 0 while lost or opening.",
            **make,
        )
        self.source_reopens = prometheus.Counter(
            "source_reopens", "Times the connector was closed and opened again to restore the link.", **make
        )
        self.source_active = prometheus.Gauge(
            "source_active", "1 while the data source is switched on, 0 while it is off.", **make
        )
        self.tags = prometheus.Gauge("tags", "Tags of the data source being polled.", **make)
        self.registry.register(_WriterCollector(self))

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in the Prometheus text format, and its content type."""
        prometheus = _prometheus()
        return prometheus.generate_latest(self.registry), prometheus.CONTENT_TYPE_LATEST


class _WriterCollector:
    """The writer's stats and the platform's reachability, read at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats = self._metrics._stats()
        state = self._metrics._state()
        name = f"{PREFIX}_writer_"
        yield GaugeMetricFamily(
            f"{name}pending_points", "Points written but not yet accepted.", stats.pending_points
        )
        yield GaugeMetricFamily(
            f"{name}oldest_pending_age_seconds",
            "Seconds the oldest pending point has waited (0 when none).",
            stats.oldest_pending_age or 0.0,
        )
        yield GaugeMetricFamily(f"{name}spool_bytes", "Bytes of points in the spool.", stats.spool_bytes)
        yield CounterMetricFamily(f"{name}sent_points", "Points the platform accepted.", stats.sent_points)
        dropped = CounterMetricFamily(
            f"{name}dropped_points", "Points the writer let go, by reason.", labels=["reason"]
        )
        for reason, count in sorted(stats.dropped_points.items()):
            dropped.add_metric([reason], count)
        yield dropped
        yield GaugeMetricFamily(
            f"{name}quarantined_batches", "Batches the platform refused for good.", stats.quarantined_batches
        )
        health = GaugeMetricFamily(f"{name}health", "1 for the writer's health now.", labels=["health"])
        for value in _HEALTHS:
            health.add_metric([value], 1.0 if stats.health == value else 0.0)
        yield health
        yield GaugeMetricFamily(
            f"{PREFIX}_platform_unreachable_seconds",
            "Seconds since the platform last answered, while it does not (0 while it does).",
            state["unreachable_for"],
        )


class HealthServer:
    """``/metrics`` and ``/healthz`` over HTTP, on a thread of their own."""

    def __init__(
        self,
        address: tuple[str, int],
        metrics: Metrics | None,
        health: Callable[[], tuple[bool, dict[str, Any]]],
    ) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics" and outer.metrics is not None:
                    body, content_type = outer.metrics.exposition()
                    self._answer(200, body, content_type)
                elif path == "/healthz":
                    ok, report = outer.health()
                    self._answer(200 if ok else 503, orjson.dumps(report), "application/json")
                else:
                    self._answer(404, b"not found: /metrics or /healthz\n", "text/plain")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # scrapes every few seconds would flood the log

        self.metrics = metrics
        self.health = health
        try:
            self._server = http.server.ThreadingHTTPServer(address, Handler)
        except OSError as exc:
            raise OSError(
                f"cannot serve the metrics on {address[0]}:{address[1]}: {exc.strerror or exc}"
            ) from None
        self._server.daemon_threads = True
        self.address: tuple[str, int] = self._server.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="data-interaction-metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
