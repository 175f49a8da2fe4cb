"""The runtime judges a failed request as the client and the writer do (`_http.retry`), with their backoff."""

from __future__ import annotations

from typing import Any

import pytest

from data_interaction_client import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    InvalidInputError,
    InvalidResponseError,
    PlatformError,
)
from data_interaction_client.connector._policy import (
    ends_the_start,
    platform_retry_delay,
    refused,
    source_retry_delay,
)


def platform_error(status: int, retry_after: float | None = None) -> PlatformError:
    return PlatformError(
        "x", method="POST", path="/smt/dataSources/connect", status_code=status, retry_after=retry_after
    )


# (error, ends a run whose data source has not answered yet, makes health critical)
TABLE: list[tuple[Any, bool, bool]] = [
    (platform_error(400), True, False),
    (platform_error(404), True, False),
    (platform_error(409), True, False),
    (platform_error(422), True, False),
    (platform_error(413), True, False),
    (platform_error(408), False, False),
    (platform_error(429), False, False),
    (platform_error(503), False, False),
    (platform_error(401), False, True),
    (platform_error(403), False, True),
    (platform_error(407), False, True),
    (platform_error(307), False, True),
    (APIConnectionError("refused", method="POST", path="/p"), False, False),
    (APITimeoutError("slow", method="POST", path="/p"), False, False),
    (InvalidResponseError("html", method="POST", path="/p", status_code=200, body="<html>"), False, False),
    (ClientClosedError("closed"), False, True),
    (InvalidInputError("a source id the client refuses before sending"), True, False),
]


@pytest.mark.parametrize(
    ("error", "ends", "critical"),
    TABLE,
    ids=[f"{type(e).__name__}-{getattr(e, 'status_code', '')}" for e, _, _ in TABLE],
)
def test_what_a_failed_connect_calls_for(error: Any, ends: bool, critical: bool) -> None:
    assert ends_the_start(error) is ends
    assert refused(error) is critical


def test_the_waits_are_the_writers_backoff_with_the_platforms_retry_after() -> None:
    assert platform_retry_delay(platform_error(503, retry_after=7), 1) == 7.0
    for failures, cap in enumerate([1, 2, 4, 8, 16, 30, 30], start=1):  # doubling, less up to 25 %
        assert 0.75 * cap <= platform_retry_delay(platform_error(503), failures) <= cap
    # the data source's failures: the same doubling, up to open_retry_max
    assert 0.75 * 0.5 <= source_retry_delay(5, cap=0.5) <= 0.5
    assert 0.75 * 4 <= source_retry_delay(3, cap=30.0) <= 4
