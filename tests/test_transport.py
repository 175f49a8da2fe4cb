"""Transport policy: retries, backoff, Retry-After, timeouts, options, logging, and the token kept secret."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from data_interaction_client import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    DataInteractionClient,
    InternalServerError,
    InvalidInputError,
    RateLimitError,
    Tag,
)
from data_interaction_client._constants import MAX_RETRY_AFTER

from .conftest import OK, FakePlatform, json_response

TOKEN = "s3cr3t-token-value"


def failing(status: int, **headers: str) -> httpx.Response:
    return json_response({"error": {"id": status, "message": "failed"}}, status, **headers)


@pytest.mark.parametrize(
    "first",
    [
        failing(500),
        failing(502),
        failing(503),
        failing(504),
        failing(408),
        failing(429),
        httpx.ConnectError("x"),
        httpx.ReadTimeout("x"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
def test_passing_failures_are_retried(
    client: DataInteractionClient, fake_platform: FakePlatform, first: object
) -> None:
    tag = Tag("t")
    tag.add_data(1, 1)
    fake_platform.script = [first]  # type: ignore[list-item]
    assert client.set_data(tag) == 1
    assert len(fake_platform.requests) == 2
    assert len(tag) == 0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(
    client: DataInteractionClient, fake_platform: FakePlatform, status: int
) -> None:
    fake_platform.script = [failing(status)]
    with pytest.raises(Exception):  # noqa: B017, PT011 - the class is pinned in test_client
        client.connect("1")
    assert len(fake_platform.requests) == 1


def test_envelope_error_with_200_is_not_retried(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    fake_platform.script = [json_response({"error": {"id": 3, "message": "x"}})]
    with pytest.raises(Exception):  # noqa: B017, PT011
        client.connect("1")
    assert len(fake_platform.requests) == 1


def test_backoff_grows_with_jitter_and_gives_up(
    client: DataInteractionClient, fake_platform: FakePlatform, no_sleep: list[float]
) -> None:
    fake_platform.script = [failing(503)] * 10
    with pytest.raises(InternalServerError):
        client.connect("1", max_retries=4)
    assert len(fake_platform.requests) == 5
    assert len(no_sleep) == 4
    for attempt, wait in enumerate(no_sleep):
        full = min(0.5 * 2**attempt, 8.0)
        assert 0.75 * full <= wait <= full


def test_max_retries_per_client_and_per_call(fake_platform: FakePlatform, no_sleep: list[float]) -> None:
    fake_platform.script = [failing(503)] * 10
    client = DataInteractionClient(
        "http://p.test", transport=httpx.MockTransport(fake_platform), max_retries=0
    )
    with pytest.raises(InternalServerError):
        client.connect("1")
    assert len(fake_platform.requests) == 1
    with pytest.raises(InternalServerError):
        client.connect("1", max_retries=1)
    assert len(fake_platform.requests) == 3
    with pytest.raises(InvalidInputError, match="max_retries"):
        client.connect("1", max_retries=-1)


def test_retry_after_seconds_and_date(
    client: DataInteractionClient, fake_platform: FakePlatform, no_sleep: list[float]
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    fake_platform.script = [failing(429, **{"Retry-After": "2.5"}), failing(503, **{"Retry-After": later})]
    client.connect("1")
    assert no_sleep[0] == 2.5
    assert 25 < no_sleep[1] <= 30


def test_retry_after_beyond_the_cap_falls_back_to_backoff(
    client: DataInteractionClient, fake_platform: FakePlatform, no_sleep: list[float]
) -> None:
    fake_platform.script = [
        failing(429, **{"Retry-After": str(MAX_RETRY_AFTER + 100)}),
        failing(429, **{"Retry-After": "soon"}),
    ]
    client.connect("1")
    assert no_sleep[0] <= 0.5
    assert no_sleep[1] <= 1.0


def test_rate_limit_error_carries_retry_after(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    fake_platform.script = [failing(429, **{"Retry-After": "7"})]
    with pytest.raises(RateLimitError) as caught:
        client.connect("1", max_retries=0)
    assert caught.value.retry_after == 7.0


def test_total_timeout_stops_retrying(fake_platform: FakePlatform, no_sleep: list[float]) -> None:
    fake_platform.script = [failing(429, **{"Retry-After": "30"})] * 3
    client = DataInteractionClient(
        "http://p.test", transport=httpx.MockTransport(fake_platform), total_timeout=10
    )
    with pytest.raises(RateLimitError):
        client.connect("1")
    assert len(fake_platform.requests) == 1


def test_each_retry_is_logged(
    client: DataInteractionClient, fake_platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    fake_platform.script = [failing(503), httpx.ConnectError("refused")]
    with caplog.at_level(logging.DEBUG, logger="data_interaction_client"):
        client.connect("1")
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.WARNING, logging.WARNING]
    assert "POST /smt/dataSources/connect failed (HTTP 503" in retries[0].getMessage()
    assert "retry 1 of 2" in retries[0].getMessage()
    assert "retry 2 of 2" in retries[1].getMessage()
    assert any("HTTP 200" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


def test_timeouts_default_client_and_per_call(fake_platform: FakePlatform, no_sleep: list[float]) -> None:
    transport = httpx.MockTransport(fake_platform)
    client = DataInteractionClient("http://p.test", transport=transport)
    client.connect("1")
    assert fake_platform.requests[-1].extensions["timeout"] == {
        "connect": 5.0,
        "read": 30.0,
        "write": 30.0,
        "pool": 30.0,
    }
    client = DataInteractionClient("http://p.test", transport=transport, timeout=3)
    client.connect("1")
    assert fake_platform.requests[-1].extensions["timeout"]["read"] == 3.0
    client.connect("1", timeout=httpx.Timeout(1.0, connect=0.5))
    assert fake_platform.requests[-1].extensions["timeout"] == {
        "connect": 0.5,
        "read": 1.0,
        "write": 1.0,
        "pool": 1.0,
    }


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"timeout": None}, "timeout must be finite"),
        ({"timeout": 0}, "positive number"),
        ({"timeout": True}, "positive number"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_points_per_request": 0}, "max_points_per_request"),
    ],
)
def test_bad_options(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        DataInteractionClient("http://p.test", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["ftp://x", "platform", ""])
def test_bad_base_url(url: str) -> None:
    with pytest.raises(InvalidInputError, match="base_url"):
        DataInteractionClient(url)


def test_token_is_sent_and_never_shown(
    fake_platform: FakePlatform, caplog: pytest.LogCaptureFixture, no_sleep: list[float]
) -> None:
    client = DataInteractionClient(
        "http://p.test/", token=TOKEN, transport=httpx.MockTransport(fake_platform), headers={"X-Plant": "7"}
    )
    fake_platform.script = [failing(503), failing(401)]
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        client.connect("1")
    assert fake_platform.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert fake_platform.requests[0].headers["x-plant"] == "7"
    assert str(fake_platform.requests[0].url) == "http://p.test/smt/dataSources/connect"
    assert TOKEN not in repr(client)
    assert repr(client) == "DataInteractionClient(base_url='http://p.test')"
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
    assert TOKEN not in caplog.text
    assert caplog.records  # something was logged, and none of it holds the token


def test_own_http_client_is_used_and_not_closed(fake_platform: FakePlatform) -> None:
    http = httpx.Client(transport=httpx.MockTransport(fake_platform))
    with DataInteractionClient("http://p.test", http_client=http) as client:
        client.connect("1")
    assert not http.is_closed
    assert len(fake_platform.requests) == 1
    http.close()


def test_own_client_is_closed() -> None:
    client = DataInteractionClient("http://p.test")
    client.close()
    assert client._http.is_closed


def test_env_var_turns_logging_on() -> None:
    code = (
        "import logging, data_interaction_client as d;"
        "logger = logging.getLogger('data_interaction_client');"
        "print(logger.level, len(logger.handlers));"
        "d._logging.setup_logging(); print(len(logger.handlers))"
    )
    env = {"DATA_INTERACTION_CLIENT_LOG": "debug", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["10", "1", "1"]
    out = subprocess.run(
        [sys.executable, "-c", code], env={"PATH": ""}, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["0", "0", "0"]


def test_unreachable_platform_is_retried_then_reported(no_sleep: list[float]) -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused")

    client = DataInteractionClient("http://p.test", transport=httpx.MockTransport(refuse), max_retries=3)
    with pytest.raises(APIConnectionError):
        client.connect("1")
    assert len(calls) == 4
    assert len(no_sleep) == 3


def test_bad_request_is_reported_once(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    fake_platform.script = [json_response(OK, 400)]
    with pytest.raises(BadRequestError, match="HTTP 400, platform error 0"):
        client.connect("1")


def test_gzip_request_bodies(fake_platform: FakePlatform) -> None:
    import gzip

    import orjson

    client = DataInteractionClient(
        "http://p.test", transport=httpx.MockTransport(fake_platform), compress=True
    )
    tag = Tag("t")
    tag.update([(i, i) for i in range(1000)])
    client.set_data(tag)
    request = fake_platform.requests[0]
    assert request.headers["content-encoding"] == "gzip"
    body = orjson.loads(gzip.decompress(request.content))
    assert body["data"][0]["data"][999] == {"x": 999, "y": 999}
    assert len(request.content) < len(orjson.dumps(body)) / 3


def test_a_broken_connection_is_told_apart_from_an_unreachable_platform(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    fake_platform.script = [httpx.RemoteProtocolError("Server disconnected")] * 3
    with pytest.raises(APIConnectionError, match="connection broke before a whole answer came") as caught:
        client.connect("1")
    assert "RemoteProtocolError: Server disconnected" in str(caught.value)
