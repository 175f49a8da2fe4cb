"""Defaults of the transport policy, in one place."""

from __future__ import annotations

import platform

import httpx

from ._version import __version__

#: Connect within 5 s; every other phase (write, read, pool) within 30 s.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
#: Seconds one call may take, all its requests and attempts included, before the bytes it moves
#: (see DEFAULT_MIN_THROUGHPUT): finite, so that no call can hang.
DEFAULT_TOTAL_TIMEOUT = 120.0
#: A call's deadline grows by one second per this many bytes it sends or receives (100 KiB/s), so a
#: large send on a slow link is not cut off while a small call that hangs is.
DEFAULT_MIN_THROUGHPUT = 100 * 1024
#: The most decompressed bytes a get_data answer may have (about 6 million points); read longer
#: periods in parts, or raise it per client.
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024**2
#: The most decompressed bytes a connect or set_data answer may have: they are small.
SMALL_ANSWER_LIMIT = 16 * 1024**2
#: Characters of an error answer's body kept on the error (PlatformError.body, InvalidResponseError.body).
ERROR_BODY_LIMIT = 16 * 1024
#: Retries after the first attempt, for connection errors, timeouts, 408, 429 and 5xx.
DEFAULT_MAX_RETRIES = 2
#: Backoff: 0.5 s, 1 s, 2 s, ... up to 8 s, each with up to 25 % jitter taken off.
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
#: A Retry-After longer than this is not waited for: the error is raised instead.
MAX_RETRY_AFTER = 60.0
#: set_data splits a send into requests of at most this many points.
DEFAULT_MAX_POINTS_PER_REQUEST = 100_000
#: Connection pool of the client's own httpx client.
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)
#: Who is asking, in every request's User-Agent header (headers= can replace it).
USER_AGENT = (
    f"data-interaction-client/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
)
#: The environment variables from_env() reads, as the command line does: the platform's address,
#: and its token, given as it is or in a file (read again for each request, so it may rotate).
URL_ENV_VAR = "DATA_INTERACTION_URL"
TOKEN_ENV_VAR = "DATA_INTERACTION_TOKEN"
TOKEN_FILE_ENV_VAR = "DATA_INTERACTION_TOKEN_FILE"
#: The environment variable that turns on the SDK's logging: "debug" or "info".
LOG_ENV_VAR = "DATA_INTERACTION_CLIENT_LOG"
#: Largest integer timestamp (microseconds) the contract allows: 2**53 - 1.
MAX_TIMESTAMP = 9_007_199_254_740_991
#: Integer timestamps below this (1970-04-27, in microseconds) are likely seconds or milliseconds.
SMALL_TIMESTAMP = 10**13
#: Bounds of a quality code (a 32-bit signed integer).
MIN_QUALITY = -(2**31)
MAX_QUALITY = 2**31 - 1

# The background writer (client.writer()).
#: Points per request, and at most per spool record.
WRITER_BATCH_POINTS = 5_000
#: Seconds a point may wait for more to join its request (the time-based batching).
WRITER_FLUSH_INTERVAL = 1.0
#: Seconds within which a written point is on disk.
WRITER_COMMIT_INTERVAL = 0.2
#: Seconds close() spends delivering what is pending before it keeps the rest on disk.
WRITER_CLOSE_TIMEOUT = 10.0
#: Bytes of points the spool may hold (about 25 million points of a number each).
WRITER_MAX_SPOOL_BYTES = 1 << 30
#: Points a memory-only writer may hold.
WRITER_MAX_PENDING_POINTS = 1_000_000
#: Seconds a write waits for room with overflow="block" before it raises.
WRITER_BLOCK_TIMEOUT = 60.0
#: Seconds after which the deadband keeps a point whatever its value (a heartbeat).
WRITER_MAX_INTERVAL = 600.0
#: The writer's own backoff between failed sends: from 1 s, doubling, up to this many seconds.
WRITER_INITIAL_RETRY_DELAY = 1.0
WRITER_MAX_RETRY_DELAY = 30.0
