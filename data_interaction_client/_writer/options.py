"""The writer's options, each declared once with its default and its check; what the writer reports with.

`WriterOptions` is what ``client.writer(spool, **options)`` takes (its keyword arguments' types);
`check_options` checks what was given and fills in the defaults, as `CheckedOptions`. `WriterStats`,
`QuarantinedBatch` and `WriteEvent` are what the writer reports.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypedDict, cast, get_type_hints

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
from .._http.base_client import TimeoutLike, as_timeout
from .._options import check_seconds
from .._types import NOT_GIVEN, NotGiven, PointDict, TagId

__all__ = [
    "CheckedOptions",
    "Health",
    "Option",
    "Overflow",
    "QuarantinedBatch",
    "WriteCallback",
    "WriteEvent",
    "WriterOptions",
    "WriterStats",
    "check_options",
    "flag",
    "seconds",
    "seconds_or_none",
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


def count(name: str, value: object) -> int:
    """An integer >= 1."""
    if type(value) is not int or value < 1:
        raise InvalidInputError(f"{name} must be an integer >= 1, not {value!r}")
    return value


def seconds(name: str, value: object) -> float:
    """A finite number of seconds, >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number of seconds, not {value!r}")
    if value < 0:
        raise InvalidInputError(f"{name} must be >= 0 seconds, not {value!r}")
    return float(value)


def seconds_or_none(name: str, value: object) -> float | None:
    """A positive, finite number of seconds, or ``None``."""
    return None if value is None else check_seconds(name, value)


def overflow_policy(name: str, value: object) -> Overflow:
    """One of the overflow policies."""
    if value not in ("block", "drop_oldest", "raise"):
        raise InvalidInputError(f"{name} must be 'block', 'drop_oldest' or 'raise', not {value!r}")
    return value


def request_timeout(name: str, value: object) -> TimeoutLike | NotGiven:
    """A request timeout as the client takes it (checked by the client's rule), or `NOT_GIVEN`."""
    if not isinstance(value, NotGiven):
        as_timeout(cast("TimeoutLike", value))
    return cast("TimeoutLike | NotGiven", value)


def retry_count(name: str, value: object) -> int | NotGiven:
    """An integer >= 0, or `NOT_GIVEN` (the client's own)."""
    if isinstance(value, NotGiven):
        return value
    if type(value) is not int or value < 0:
        raise InvalidInputError(f"{name} must be an integer >= 0, not {value!r}")
    return value


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


@attrs.frozen
class Option:
    """How an option of `WriterOptions` is filled in and checked.

    ``default`` is its value when not given; ``check(name, value)`` returns the value checked, or
    raises an `InvalidInputError` that names the option.
    """

    default: object
    check: Callable[[str, Any], object]


class WriterOptions(TypedDict, total=False):
    """The options of ``client.writer(spool, **options)``; see `Writer` for each one.

    Each option is declared here only: its type, and (in ``Annotated``) its `Option`, which
    `check_options` applies.
    """

    batch_points: Annotated[int, Option(WRITER_BATCH_POINTS, count)]
    flush_interval: Annotated[float, Option(WRITER_FLUSH_INTERVAL, seconds)]
    commit_interval: Annotated[float, Option(WRITER_COMMIT_INTERVAL, seconds)]
    close_timeout: Annotated[float, Option(WRITER_CLOSE_TIMEOUT, seconds)]
    max_spool_bytes: Annotated[int, Option(WRITER_MAX_SPOOL_BYTES, count)]
    max_pending_points: Annotated[int, Option(WRITER_MAX_PENDING_POINTS, count)]
    overflow: Annotated[Overflow, Option("raise", overflow_policy)]
    block_timeout: Annotated[float, Option(WRITER_BLOCK_TIMEOUT, seconds)]
    fsync: Annotated[bool, Option(True, flag)]
    shared_spool: Annotated[bool, Option(False, flag)]
    scale: Annotated[bool, Option(False, flag)]
    deadband: Annotated[bool, Option(False, flag)]
    max_interval: Annotated[float | None, Option(WRITER_MAX_INTERVAL, seconds_or_none)]
    max_retry_delay: Annotated[float, Option(WRITER_MAX_RETRY_DELAY, check_seconds)]
    timeout: Annotated[TimeoutLike | NotGiven, Option(NOT_GIVEN, request_timeout)]
    # The writer retries by itself, forever, logging state changes only; the client's own retries
    # (each logged at WARNING) would only add noise within one attempt, so they are off by default.
    max_retries: Annotated[int | NotGiven, Option(0, retry_count)]
    on_accepted: Annotated[WriteCallback | None, Option(None, callback)]
    on_retry: Annotated[WriteCallback | None, Option(None, callback)]
    on_quarantined: Annotated[WriteCallback | None, Option(None, callback)]


class CheckedOptions(WriterOptions):
    """The options checked by `check_options`: every one present (the defaults filled in), and the spool.

    ``spool`` is the spool's directory as a string, or ``None`` for a memory-only writer.
    """

    spool: str | None


@functools.cache
def _declared() -> dict[str, Option]:
    """Each option's `Option`, read from the annotations of `WriterOptions` (once)."""
    hints = get_type_hints(WriterOptions, include_extras=True)
    return {
        name: next(meta for meta in hint.__metadata__ if isinstance(meta, Option))
        for name, hint in hints.items()
    }


def check_options(spool: object, options: Mapping[str, Any]) -> CheckedOptions:
    """Check every option and fill in the defaults; an `InvalidInputError` names a bad one."""
    declared = _declared()
    unknown = sorted(set(options) - set(declared))
    if unknown:
        raise InvalidInputError(
            f"unknown writer option {', '.join(map(repr, unknown))}; "
            f"the options are {', '.join(sorted(declared))}"
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
    checked = {
        name: option.check(name, options.get(name, option.default)) for name, option in declared.items()
    }
    checked["spool"] = path
    return cast("CheckedOptions", checked)


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
