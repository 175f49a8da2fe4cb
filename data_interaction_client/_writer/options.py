"""The writer's options, checked, and the objects it reports with: stats and quarantined batches."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypedDict

import attrs

from .._constants import (
    WRITER_BATCH_POINTS,
    WRITER_BLOCK_TIMEOUT,
    WRITER_CLOSE_TIMEOUT,
    WRITER_COMMIT_INTERVAL,
    WRITER_FLUSH_INTERVAL,
    WRITER_MAX_INTERVAL,
    WRITER_MAX_PENDING_POINTS,
    WRITER_MAX_RETRY_DELAY,
    WRITER_MAX_SPOOL_BYTES,
)
from .._exceptions import InvalidInputError
from .._http.base_client import BaseClient, TimeoutLike, _as_timeout
from .._options import check_seconds
from .._types import NOT_GIVEN, NotGiven, PointDict, TagId

__all__ = [
    "Health",
    "Overflow",
    "QuarantinedBatch",
    "Settings",
    "WriteCallback",
    "WriteEvent",
    "WriterOptions",
    "WriterStats",
    "flag",
    "seconds",
    "settings_from",
]

Overflow = Literal["block", "drop_oldest", "raise"]
Health = Literal["ok", "degraded", "critical"]


@attrs.frozen
class WriteEvent:
    """What one request of a writer did, given to its callbacks (``on_accepted`` and the others).

    ``points``: the points of the request (of the batch set aside, for ``on_quarantined``); ``tags``:
    their tags, each once; ``seconds``: how long the request took (0 for a batch set aside without a
    request, such as a record damaged on disk); ``error``: why it failed (``None`` for ``on_accepted``);
    ``retry_in``: for ``on_retry``, seconds until the points are sent again (0 when the batch is split
    and its halves go at once), ``None`` otherwise:

    ```python
    def on_retry(event: WriteEvent) -> None:
        print(f"{event.points} points failed ({event.error}); again in {event.retry_in:.1f} s")

    w = client.writer(spool="/var/lib/c/spool", on_retry=on_retry)
    ```
    """

    points: int
    tags: tuple[TagId, ...]
    seconds: float
    error: Exception | None = None
    retry_in: float | None = None


WriteCallback = Callable[[WriteEvent], object]
"""A writer's callback: called with one [`WriteEvent`][data_interaction_client.WriteEvent]; what it returns
is ignored."""


class WriterOptions(TypedDict, total=False):
    """The options of ``client.writer(spool, **options)``; see `Writer` for each one."""

    batch_points: int
    flush_interval: float
    commit_interval: float
    close_timeout: float
    max_spool_bytes: int
    max_pending_points: int
    overflow: Overflow
    block_timeout: float
    fsync: bool
    shared_spool: bool
    scale: bool
    deadband: bool
    max_interval: float | None
    max_retry_delay: float
    timeout: TimeoutLike | NotGiven
    max_retries: int | NotGiven
    on_accepted: WriteCallback | None
    on_retry: WriteCallback | None
    on_quarantined: WriteCallback | None


@attrs.frozen
class WriterStats:
    """A snapshot of a writer, from ``w.stats()``.

    ``pending_points`` / ``pending_batches``: written but not yet accepted by the platform (batches:
    spool records); ``oldest_pending_age``: seconds the oldest of them has waited (``None`` when none);
    ``spool_bytes``: bytes of points in the spool; ``sent_points`` / ``sent_batches``: accepted by the
    platform since the writer started; ``dropped_points``: points the writer let go, by reason
    (``"overflow"``: the oldest, for room, with ``overflow="drop_oldest"``; ``"deadband"``: filtered by
    the deadband; ``"purged"``: purged from the quarantine; ``"closed"``: a memory-only writer closed
    before it could deliver them; ``"invalid"``: a point changed after it was given, so that it could
    not be encoded; ``"lost"``: pending in spool files deleted under the writer, which it could not
    read to carry over to the spool it made again); ``refused_points``: points of calls that raised
    because the writer was full or its disk was; ``quarantined_batches``: batches set aside (see
    ``w.quarantined()``); ``consecutive_failures``: failed attempts since the last accepted request;
    ``last_error``: the last failure (kept after recovery); ``health``: ``"ok"``; ``"degraded"`` while
    retrying or dropping the oldest points; ``"critical"`` while writes are refused: the platform
    refuses the writer (its token), the quarantine holds batches (until they are requeued or purged),
    the writer or its disk is full, or its spool's files were deleted and cannot be made again.
    """

    pending_points: int
    pending_batches: int
    oldest_pending_age: float | None
    spool_bytes: int
    sent_points: int
    sent_batches: int
    dropped_points: Mapping[str, int]
    refused_points: int
    quarantined_batches: int
    consecutive_failures: int
    last_error: str | None
    health: Health

    def to_dict(self) -> dict[str, Any]:
        """The snapshot as plain types (``dropped_points`` a ``dict``), ready for ``json.dumps``."""
        result = attrs.asdict(self, recurse=False)
        result["dropped_points"] = dict(self.dropped_points)
        return result


@attrs.frozen
class QuarantinedBatch:
    """A batch the platform refused for good (or damaged on disk), set aside by the writer.

    ``id`` names it for ``requeue_quarantined`` / ``purge_quarantined``; ``error`` says why;
    ``status_code`` is the HTTP status (``None`` for damage); ``time`` is when it was set aside and
    ``written`` when its points reached the spool (UTC); ``tags`` its tags; ``points`` how many points
    it holds; ``data`` the points by tag (empty when ``damaged``: its bytes cannot be read, and it
    cannot be requeued, only purged).
    """

    id: int
    error: str
    status_code: int | None
    time: datetime
    written: datetime
    tags: list[TagId]
    points: int
    data: dict[TagId, list[PointDict]]
    damaged: bool


class Settings(NamedTuple):
    """The options, checked, with the defaults filled in."""

    spool: str | None
    batch_points: int
    flush_interval: float
    commit_interval: float
    close_timeout: float
    max_spool_bytes: int
    max_pending_points: int
    overflow: Overflow
    block_timeout: float
    fsync: bool
    shared_spool: bool
    scale: bool
    deadband: bool
    max_interval: float | None
    max_retry_delay: float
    timeout: TimeoutLike | NotGiven
    max_retries: int | NotGiven
    on_accepted: WriteCallback | None
    on_retry: WriteCallback | None
    on_quarantined: WriteCallback | None


def settings_from(spool: object, options: Mapping[str, Any], client: BaseClient[Any]) -> Settings:
    """Check every option and fill in the defaults; an `InvalidInputError` names a bad one."""
    known = set(WriterOptions.__annotations__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInputError(
            f"unknown writer option {', '.join(map(repr, unknown))}; "
            f"the options are {', '.join(sorted(known))}"
        )
    if spool is not None and not isinstance(spool, str) and not hasattr(spool, "__fspath__"):
        raise InvalidInputError(f"spool must be a directory path or None, not {type(spool).__name__}")
    path = None if spool is None else str(spool.__fspath__() if hasattr(spool, "__fspath__") else spool)
    if path == "":
        raise InvalidInputError("spool must be a directory path (or None for memory only), not ''")
    for name in ("max_spool_bytes", "fsync", "shared_spool"):
        if path is None and name in options:
            raise InvalidInputError(f"{name} applies to a spool on disk: give spool='<directory>' too")
    if path is not None and "max_pending_points" in options:
        raise InvalidInputError(
            "max_pending_points bounds a memory-only writer (spool=None); with a spool, use max_spool_bytes"
        )
    overflow = options.get("overflow", "raise")
    if overflow not in ("block", "drop_oldest", "raise"):
        raise InvalidInputError(f"overflow must be 'block', 'drop_oldest' or 'raise', not {overflow!r}")
    max_interval = options.get("max_interval", WRITER_MAX_INTERVAL)
    if max_interval is not None:
        max_interval = seconds("max_interval", max_interval, zero_ok=False)
    timeout = options.get("timeout", NOT_GIVEN)
    if not isinstance(timeout, NotGiven):
        _as_timeout(timeout)
    # The writer retries by itself, forever, logging state changes only; the client's own retries
    # (each logged at WARNING) would only add noise within one attempt, so they are off by default.
    max_retries = options.get("max_retries", 0)
    client._retries(max_retries)
    return Settings(
        spool=path,
        batch_points=count("batch_points", options.get("batch_points", WRITER_BATCH_POINTS)),
        flush_interval=seconds("flush_interval", options.get("flush_interval", WRITER_FLUSH_INTERVAL)),
        commit_interval=seconds("commit_interval", options.get("commit_interval", WRITER_COMMIT_INTERVAL)),
        close_timeout=seconds("close_timeout", options.get("close_timeout", WRITER_CLOSE_TIMEOUT)),
        max_spool_bytes=count("max_spool_bytes", options.get("max_spool_bytes", WRITER_MAX_SPOOL_BYTES)),
        max_pending_points=count(
            "max_pending_points", options.get("max_pending_points", WRITER_MAX_PENDING_POINTS)
        ),
        overflow=overflow,
        block_timeout=seconds("block_timeout", options.get("block_timeout", WRITER_BLOCK_TIMEOUT)),
        fsync=flag("fsync", options.get("fsync", True)),
        shared_spool=flag("shared_spool", options.get("shared_spool", False)),
        scale=flag("scale", options.get("scale", False)),
        deadband=flag("deadband", options.get("deadband", False)),
        max_interval=max_interval,
        max_retry_delay=seconds(
            "max_retry_delay", options.get("max_retry_delay", WRITER_MAX_RETRY_DELAY), zero_ok=False
        ),
        timeout=timeout,
        max_retries=max_retries,
        on_accepted=callback("on_accepted", options.get("on_accepted")),
        on_retry=callback("on_retry", options.get("on_retry")),
        on_quarantined=callback("on_quarantined", options.get("on_quarantined")),
    )


def count(name: str, value: object) -> int:
    """An integer >= 1."""
    if type(value) is not int or value < 1:
        raise InvalidInputError(f"{name} must be an integer >= 1, not {value!r}")
    return value


def seconds(name: str, value: object, *, zero_ok: bool = True) -> float:
    """A finite number of seconds, > 0 (or >= 0 when ``zero_ok``)."""
    if not zero_ok:
        return check_seconds(name, value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number of seconds, not {value!r}")
    if value < 0:
        raise InvalidInputError(f"{name} must be >= 0 seconds, not {value!r}")
    return float(value)


def callback(name: str, value: object) -> WriteCallback | None:
    """A callable taking one [`WriteEvent`][data_interaction_client.WriteEvent], or ``None``."""
    if value is not None and not callable(value):
        raise InvalidInputError(
            f"{name} must be a callable taking one WriteEvent (or None), not {type(value).__name__}"
        )
    return value


def flag(name: str, value: object) -> bool:
    """True or False, nothing else."""
    if type(value) is not bool:
        raise InvalidInputError(f"{name} must be True or False, not {value!r}")
    return value
