"""The writer's own measures: ``write()`` per point, and memory while the platform is down.

``python -m bench._writer write-cost URL CALLS`` times ``write()`` with the spool on and the sender
delivering to ``URL`` in the background: calls are timed in blocks of 1,000 (a clock read per call
would cost more than the call) and the median of the blocks' means is the cost per point.

``python -m bench._writer outage-memory POINTS`` writes POINTS points while the platform cannot be
reached (a port that refuses connections), syncs them to the spool, and reports how far the resident
set rose over its size just before the writer was opened (``VmHWM`` reset with /proc/self/clear_refs),
and what ``write()`` cost meanwhile (blocks of 1,000 calls: the budget is a median under 100 us and a
99th percentile under 5 ms, against 0.5 s and more for the client's retries).
``python -m bench._writer tag-memory TAGS`` connects a source of TAGS tags (a stand-in platform
in the process) and makes a `Tag` of each, as the connector runtime does, then writes one point per
tag three times through a writer with the platform down and syncs: how far the resident set rose
per tag for each, and its peak.
Each prints one JSON object.
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from data_interaction_client import DataInteractionClient, Tag

from ._memory import _reset_high_water_mark

BASE_X = 1_600_000_000_000_000
BLOCK = 1_000


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def write_cost(url: str, calls: int) -> dict[str, Any]:
    """Median microseconds per ``write()`` over ``calls`` calls (100 tags, one point each in turn)."""
    tags = [Tag(f"w{t}") for t in range(100)]
    with (
        tempfile.TemporaryDirectory(prefix="bench-spool-") as spool,
        DataInteractionClient(url) as client,
        client.writer(spool=spool) as writer,
    ):
        write = writer.write
        perf = time.perf_counter
        means = []
        for block in range(calls // BLOCK):
            base = BASE_X + block * BLOCK
            started = perf()
            for i in range(BLOCK):
                write(tags[i % 100], base + i, 0.5)
            means.append((perf() - started) / BLOCK)
        writer.flush()
    means.sort()
    return {
        "calls": len(means) * BLOCK,
        "median_us": statistics.median(means) * 1e6,
        "p99_block_us": means[int(len(means) * 0.99)] * 1e6,
    }


def outage_memory(points: int) -> dict[str, Any]:
    """How far the process grows with ``points`` points pending while the platform is down."""
    with socket.socket() as closed:  # bound, not listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        tags = [Tag(f"o{t}") for t in range(100)]
        with (
            tempfile.TemporaryDirectory(prefix="bench-spool-") as spool,
            DataInteractionClient(url) as client,
        ):
            before = _status_kib("VmRSS")
            reset = _reset_high_water_mark()
            started = time.perf_counter()
            writer = client.writer(spool=spool, max_retry_delay=1.0)
            write = writer.write
            perf = time.perf_counter
            means = []  # write() while down, per point, in blocks of BLOCK calls
            for first in range(0, points, BLOCK):
                block_started = perf()
                for i in range(first, min(points, first + BLOCK)):
                    write(tags[i % 100], BASE_X + i, i * 0.5)
                means.append((perf() - block_started) / BLOCK)
            writer.sync()
            seconds = time.perf_counter() - started
            stats = writer.stats()
            high = _status_kib("VmHWM")
            after = _status_kib("VmRSS")
            writer._close(0.0)
    step = None if not reset or high is None or before is None else high - before
    return {
        "points": points,
        "pending_points": stats.pending_points,
        "spool_bytes": stats.spool_bytes,
        "bytes_per_point": stats.spool_bytes / max(1, stats.pending_points),
        "step_kib": step,
        "rss_after_kib": None if after is None or before is None else after - before,
        "seconds": seconds,
        "write_median_us": statistics.median(means) * 1e6,
        "write_p99_block_us": sorted(means)[int(len(means) * 0.99)] * 1e6,
    }


def _connect_answer(count: int) -> bytes:
    tags = [
        {
            "id": f"plant.area{i // 1000}.unit{i % 1000}.temperature",
            "attributes": {
                "smtTagValueTypeCode": 1,
                "smtTagValueScale": 1,
                "smtTagMaxDev": 0.5,
                "smtTagSource": f'{{"register": {i}}}',
            },
        }
        for i in range(count)
    ]
    return orjson.dumps({"error": {"id": 0, "message": ""}, "attributes": {"smtActive": True}, "tags": tags})


def tag_memory(count: int) -> dict[str, Any]:
    """Bytes of resident set per tag: connected and made a `Tag`; then known to a writer."""
    answer = _connect_answer(count)

    def platform(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/connect"):
            return httpx.Response(200, content=answer)
        return httpx.Response(503)  # the platform does not take points: they stay pending

    with (
        tempfile.TemporaryDirectory(prefix="bench-spool-") as spool,
        DataInteractionClient(
            "http://platform.test", transport=httpx.MockTransport(platform), max_response_bytes=2**30
        ) as client,
    ):
        before = _status_kib("VmRSS")
        reset = _reset_high_water_mark()
        connection = client.connect("1")
        tags = [Tag(info.id, info.attributes) for info in connection.tags]
        connected = _status_kib("VmRSS")
        writer = client.writer(spool=spool, max_retry_delay=1.0)
        for tick in range(3):
            for tag in tags:
                writer.write(tag, BASE_X + tick, 0.5)
            writer.sync()
        written = _status_kib("VmRSS")
        high = _status_kib("VmHWM")
        pending = writer.stats().pending_points
        writer._close(0.0)
    if before is None or connected is None or written is None:
        return {"tags": count, "connect_bytes_per_tag": None, "writer_bytes_per_tag": None, "peak_kib": None}
    return {
        "tags": count,
        "connect_bytes_per_tag": (connected - before) * 1024 / count,
        "writer_bytes_per_tag": (written - connected) * 1024 / count,
        "pending_points": pending,
        "step_kib": None if not reset or high is None else high - before,
        "rss_kib": written,
    }


def main() -> None:
    """Run one measure and print it as JSON."""
    what = sys.argv[1]
    if what == "write-cost":
        result = write_cost(sys.argv[2], int(sys.argv[3]))
    elif what == "tag-memory":
        result = tag_memory(int(sys.argv[2]))
    else:
        result = outage_memory(int(sys.argv[2]))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
