"""One failure classification and one backoff, for the client's retries and the writer's.

Both ask the same question of a failed request, "what does this failure call for?", and get the same
answer from `classify`; they differ only in what they can afford. A call of the client has a
deadline and a caller waiting: it retries a `Failure.RETRY` a few times and raises anything else. The
writer holds points it must never lose: it retries a `RETRY` and an `UNREADABLE` forever, keeps trying
a `REFUSED` (the token or the address is wrong: health goes critical until someone fixes it), splits a
`SPLIT` and sets a `PERMANENT` refusal aside in the quarantine. `backoff` gives both their waits.
"""

from __future__ import annotations

import enum
import random

from .._constants import MAX_RETRY_AFTER
from .._exceptions import (
    ClientClosedError,
    DataInteractionError,
    InvalidResponseError,
    PlatformError,
)

__all__ = ["Failure", "backoff", "classify"]


class Failure(enum.Enum):
    """What a failed request calls for."""

    RETRY = "retry"
    """Transient (a connection error, a timeout, 408, 429, 5xx, a mangled answer): try again later."""
    REFUSED = "refused"
    """The platform refuses the caller itself (401, 403, 407, a redirect, a request that cannot be
    written, a closed client): trying again helps only once someone fixes the cause."""
    SPLIT = "split"
    """The request is too large (413): send its points in smaller requests."""
    PERMANENT = "permanent"
    """The platform refuses these points for good (400, 404, 409, 422, any other 4xx)."""
    UNREADABLE = "unreadable"
    """An answer that is not the contract's JSON (a proxy's page with HTTP 200, a truncated body):
    the client raises it at once for its caller to judge; the writer tries again."""


def classify(error: BaseException) -> Failure:
    """What ``error``, raised by a request, calls for; anything not the SDK's own is transient."""
    if isinstance(error, ClientClosedError):
        return Failure.REFUSED
    if isinstance(error, DataInteractionError):
        transient = getattr(error, "_transient", None)  # set where the class alone does not say
        if transient is not None:
            return Failure.RETRY if transient else Failure.REFUSED
    if isinstance(error, PlatformError):
        status = error.status_code
        if status == 413:
            return Failure.SPLIT
        if status in (408, 429) or status >= 500:
            return Failure.RETRY
        if status in (401, 403, 407) or 300 <= status < 400:
            return Failure.REFUSED
        return Failure.PERMANENT  # a 2xx with an error envelope too
    if isinstance(error, InvalidResponseError):
        return Failure.UNREADABLE
    # A connection error or a timeout; anything unexpected: the request itself is not at fault.
    return Failure.RETRY


def backoff(error: BaseException | None, failures: int, *, first: float, cap: float) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 for the first).

    ``Retry-After``, when the platform gave one of at most ``MAX_RETRY_AFTER`` seconds with ``error``
    (``None`` for a failure that is not a request's, as a data source's); otherwise
    ``first`` doubling with each failure up to ``cap``, less up to 25 % of jitter (so that many
    clients do not come back at once).
    """
    retry_after = error.retry_after if isinstance(error, PlatformError) else None
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
        return float(retry_after)
    delay: float = min(first * 2.0 ** min(failures - 1, 30), cap)
    return delay * (1 - 0.25 * random.random())
