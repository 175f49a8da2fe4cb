"""Defaults of the transport policy, in one place."""

from __future__ import annotations

import platform

import httpx

from ._version import __version__

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""Connect within 5 s; every other phase (write, read, pool) within 30 s."""
DEFAULT_TOTAL_TIMEOUT = 120.0
"""Seconds one call may take, all its requests and attempts included, before the bytes it moves (see
``DEFAULT_MIN_THROUGHPUT``): finite, so that no call can hang."""
DEFAULT_MIN_THROUGHPUT = 100 * 1024
"""A call's deadline grows by one second per this many bytes it sends or receives (100 KiB/s), so a large
send on a slow link is not cut off while a small call that hangs is."""
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024**2
"""The most decompressed bytes a get_data answer may have (about 6 million points); read longer periods in
parts, or raise it per client."""
SMALL_ANSWER_LIMIT = 16 * 1024**2
"""The most decompressed bytes a connect or set_data answer may have: they are small."""
ERROR_BODY_LIMIT = 16 * 1024
"""Characters of an error answer's body kept on the error (PlatformError.body, InvalidResponseError.body)."""
DEFAULT_MAX_RETRIES = 2
"""Retries after the first attempt, for connection errors, timeouts, 408, 429 and 5xx."""
INITIAL_RETRY_DELAY = 0.5
"""Backoff: 0.5 s, 1 s, 2 s, ... up to 8 s, each with up to 25 % jitter taken off."""
MAX_RETRY_DELAY = 8.0
"""The longest backoff between two attempts of one call, in seconds."""
MAX_RETRY_AFTER = 60.0
"""A Retry-After longer than this is not waited for: the error is raised instead."""
DEFAULT_MAX_POINTS_PER_REQUEST = 100_000
"""set_data splits a send into requests of at most this many points."""
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)
"""Connection pool of the client's own httpx client."""
USER_AGENT = (
    f"data-interaction-client/{__version__} python/{platform.python_version()} httpx/{httpx.__version__}"
)
"""Who is asking, in every request's User-Agent header (headers= can replace it)."""
URL_ENV_VAR = "DATA_INTERACTION_URL"
"""The environment variable from_env() reads the platform's address from, as the command line does."""
TOKEN_ENV_VAR = "DATA_INTERACTION_TOKEN"
"""The environment variable from_env() reads the token from."""
TOKEN_FILE_ENV_VAR = "DATA_INTERACTION_TOKEN_FILE"
"""The environment variable naming a file that holds the token (read again for each request)."""
LOG_ENV_VAR = "DATA_INTERACTION_CLIENT_LOG"
"""The environment variable that turns on the SDK's logging: "debug" or "info"."""
MAX_TIMESTAMP = 9_007_199_254_740_991
"""Largest integer timestamp (microseconds) the contract allows: 2**53 - 1."""
SMALL_TIMESTAMP = 10**13
"""Integer timestamps below this (1970-04-27, in microseconds) are likely seconds or milliseconds."""
MIN_QUALITY = -(2**31)
"""Bounds of a quality code (a 32-bit signed integer)."""
MAX_QUALITY = 2**31 - 1

# The background writer (client.writer()).
WRITER_BATCH_POINTS = 20_000
"""Points per request, and at most per spool record."""
WRITER_FLUSH_INTERVAL = 1.0
"""Seconds a point may wait for more to join its request (the time-based batching)."""
WRITER_COMMIT_INTERVAL = 0.2
"""Seconds within which a written point is on disk."""
WRITER_CLOSE_TIMEOUT = 10.0
"""Seconds close() spends delivering what is pending before it keeps the rest on disk."""
WRITER_MAX_SPOOL_BYTES = 1 << 30
"""Bytes of points the spool may hold (about 25 million points of a number each)."""
WRITER_MAX_PENDING_POINTS = 1_000_000
"""Points a memory-only writer may hold."""
WRITER_BLOCK_TIMEOUT = 60.0
"""Seconds a write waits for room with overflow="block" before it raises."""
WRITER_MAX_INTERVAL = 600.0
"""Seconds after which the deadband keeps a point whatever its value (a heartbeat)."""
WRITER_INITIAL_RETRY_DELAY = 1.0
"""The writer's first wait after a failed send, in seconds; it doubles up to ``WRITER_MAX_RETRY_DELAY``."""
WRITER_MAX_RETRY_DELAY = 30.0
"""The longest wait between two failed sends of the writer, in seconds."""
