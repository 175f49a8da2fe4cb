"""The runtime's failure policy: the client's and the writer's (`_http.retry`), as the runtime applies it.

A failed request is judged by `classify`, as the writer judges a failed send, and waited for with
`backoff` and the writer's numbers (1 s doubling up to 30 s, less up to 25 % of jitter, or the
platform's ``Retry-After``): a run holds readings it must not lose, as the writer does, so it keeps
trying whatever can pass by itself or be fixed while it waits (`Failure.RETRY`, `Failure.UNREADABLE`;
`Failure.REFUSED`, the token, said at ERROR and making health critical). Only before the data source
first answered does a refusal for good (`Failure.PERMANENT`, `Failure.SPLIT`) end the run: the
address or the source is wrong, and nothing was read yet.

The data source's own failures (``open``, a reopen, a ``backfill``) wait with the same `backoff`, up
to ``open_retry_max``.
"""

from __future__ import annotations

from .._constants import WRITER_INITIAL_RETRY_DELAY, WRITER_MAX_RETRY_DELAY
from .._exceptions import APIError, ClientClosedError
from .._http.retry import Failure, backoff, classify

__all__ = ["ROOM_RETRY", "ends_the_start", "platform_retry_delay", "refused", "source_retry_delay"]

ROOM_RETRY = 1.0
"""Seconds between two tries to read again a window whose readings the writer refused (no room).

Not a failure's backoff: room comes back as the writer delivers, and a try costs one reading."""


def refused(error: BaseException) -> bool:
    """Whether the platform refuses the runtime itself (the token, the address): health goes critical."""
    return classify(error) is Failure.REFUSED


def ends_the_start(error: BaseException) -> bool:
    """Whether a ``connect`` that failed before the data source first answered ends the run.

    A refusal for good (400, 404, 409, 422, 413), or an error that is not a request's (the client
    refused the input before sending it); everything else is tried again.
    """
    if not isinstance(error, APIError | ClientClosedError):
        return True
    return classify(error) in (Failure.PERMANENT, Failure.SPLIT)


def platform_retry_delay(error: BaseException, failures: int) -> float:
    """Seconds to wait after the ``failures``-th failed request in a row (1 for the first)."""
    return backoff(error, failures, first=WRITER_INITIAL_RETRY_DELAY, cap=WRITER_MAX_RETRY_DELAY)


def source_retry_delay(failures: int, cap: float) -> float:
    """Seconds to wait after the data source's ``failures``-th failure in a row, at most ``cap``."""
    return backoff(None, failures, first=WRITER_INITIAL_RETRY_DELAY, cap=cap)
