"""One failure classification and one backoff: the client's retries and the writer's follow the same table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from data_interaction_client import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    DataInteractionClient,
    InvalidResponseError,
    PlatformError,
)
from data_interaction_client._http.attempts import should_retry
from data_interaction_client._http.retry import Failure, backoff, classify

from .writer_helpers import FAST, Recorder, wait_until


def platform_error(status: int, retry_after: float | None = None) -> PlatformError:
    return PlatformError("x", method="POST", path="/p", status_code=status, retry_after=retry_after)


TABLE: list[tuple[Any, Failure]] = [
    (platform_error(400), Failure.PERMANENT),
    (platform_error(404), Failure.PERMANENT),
    (platform_error(409), Failure.PERMANENT),
    (platform_error(422), Failure.PERMANENT),
    (platform_error(413), Failure.SPLIT),
    (platform_error(408), Failure.RETRY),
    (platform_error(429), Failure.RETRY),
    (platform_error(500), Failure.RETRY),
    (platform_error(503), Failure.RETRY),
    (platform_error(401), Failure.REFUSED),
    (platform_error(403), Failure.REFUSED),
    (platform_error(307), Failure.REFUSED),
    (APIConnectionError("refused", method="POST", path="/p"), Failure.RETRY),
    (APITimeoutError("slow", method="POST", path="/p"), Failure.RETRY),
    (
        InvalidResponseError("html", method="POST", path="/p", status_code=200, body="<html>"),
        Failure.UNREADABLE,
    ),
    (ClientClosedError("closed"), Failure.REFUSED),
    (RuntimeError("a bug somewhere"), Failure.RETRY),
]


@pytest.mark.parametrize(("error", "failure"), TABLE, ids=[f"{type(e).__name__}-{f.value}" for e, f in TABLE])
def test_one_table(error: Any, failure: Failure) -> None:
    assert classify(error) is failure


def test_a_request_that_cannot_be_written_is_refused_not_transient() -> None:
    error = APIConnectionError("the request could not be written", method="POST", path="/p")
    error._transient = False
    assert classify(error) is Failure.REFUSED  # the client gives up; the writer keeps it, critical
    error._transient = True
    assert classify(error) is Failure.RETRY


@pytest.mark.parametrize(("error", "failure"), [row for row in TABLE if isinstance(row[0], PlatformError)])
def test_the_client_retries_exactly_what_the_table_calls_transient(error: Any, failure: Failure) -> None:
    assert should_retry(error) is (failure is Failure.RETRY)


def test_backoff_doubles_up_to_the_cap_and_follows_retry_after() -> None:
    error = platform_error(503)
    waits = [backoff(error, n, first=1.0, cap=8.0) for n in range(1, 7)]
    for n, wait in enumerate(waits, start=1):
        full = min(2.0 ** (n - 1), 8.0)
        assert 0.75 * full <= wait <= full  # up to 25 % jitter taken off
    assert backoff(platform_error(429, retry_after=3.0), 5, first=1.0, cap=8.0) == 3.0
    assert backoff(platform_error(429, retry_after=3600.0), 1, first=1.0, cap=8.0) <= 1.0  # too long: ignored


@pytest.mark.parametrize(("status", "health"), [(401, "critical"), (503, "degraded")])
def test_the_writer_keeps_retrying_and_its_health_follows_the_table(
    tmp_path: Any, status: int, health: str
) -> None:
    recorder = Recorder()
    recorder.down(status)
    with (
        DataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder)) as client,
        client.writer(spool=tmp_path / "s", **FAST) as w,
    ):
        w.write("a", 1_600_000_000_000_000, 1.0)
        wait_until(lambda: recorder.attempts >= 3, what="three attempts")
        stats = w.stats()
        assert stats.health == health
        assert stats.quarantined_batches == 0  # never set aside: retried
        recorder.up()
        w.flush(timeout=30)
    assert recorder.total == 1
