"""Credentials in ``base_url`` are sent as a header and never reach a log record, at any level."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import httpx
import pytest

from data_interaction_client import APIConnectionError, DataInteractionClient, InvalidInputError
from data_interaction_client.cli import main
from data_interaction_client.connector._settings import resolve
from data_interaction_client.emulator import RunningPlatform

from .conftest import CONNECT_ANSWER
from .writer_helpers import FAST

SECRET = "s3cr3t-pass"
X = 1_600_000_000_000_000


class _Everything(logging.Handler):
    """Every record of every logger (httpx's and httpcore's too), with its arguments formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture
def every_record() -> Iterator[_Everything]:
    handler = _Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore", "data_interaction_client")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for logger, old in zip(loggers, levels, strict=True):
            logger.setLevel(old)


def _with_credentials(url: str) -> str:
    return url.replace("http://", f"http://connector:{SECRET}@", 1)


def test_credentials_in_base_url_never_reach_a_log_record(
    reference_platform: RunningPlatform, every_record: _Everything
) -> None:
    with DataInteractionClient(_with_credentials(reference_platform.url), max_retries=0) as client:
        client.connect("1")
        with client.writer(**FAST) as w:
            w.write("a", X, 1.0)
            w.flush(timeout=30)
    with (
        DataInteractionClient(_with_credentials("http://127.0.0.1:9"), max_retries=0) as down,
        pytest.raises(APIConnectionError) as failed,
    ):
        down.connect("1")
    assert SECRET not in str(failed.value)
    with DataInteractionClient(_with_credentials("http://127.0.0.1:9"), max_retries=0) as down:
        w = down.writer(**{**FAST, "close_timeout": 0})
        w.write("a", X, 1.0)
        with pytest.raises(TimeoutError):
            w.flush(timeout=0.3)  # the writer retries, and says so at WARNING
        assert SECRET not in str(w.stats().last_error)
        w.close()
    assert any("could not reach the platform at http://127.0.0.1:9" in line for line in every_record.lines)
    text = "\n".join(every_record.lines)
    assert "HTTP Request: POST http://127.0.0.1" in text  # httpx logged the requests, without the secret
    assert SECRET not in text


def test_credentials_in_base_url_are_sent_as_basic_authorization() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=CONNECT_ANSWER)

    with DataInteractionClient(
        "http://conn%40ector:se%3Acret@platform.test", transport=httpx.MockTransport(handler)
    ) as client:
        client.connect("1")
        assert client.base_url == "http://***:***@platform.test"
    (request,) = seen
    assert request.url == "http://platform.test/smt/dataSources/connect"
    assert not request.url.userinfo
    expected = base64.b64encode(b"conn@ector:se:cret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_credentials_in_base_url_and_a_token_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="give one of them"):
        DataInteractionClient(f"http://connector:{SECRET}@platform.test", token="t")


def test_the_command_line_never_logs_credentials_in_url(
    reference_platform: RunningPlatform,
    every_record: _Everything,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATA_INTERACTION_TOKEN", raising=False)
    assert main(["--debug", "--url", _with_credentials(reference_platform.url), "connect", "1"]) == 0
    assert main(
        ["--debug", "--url", _with_credentials("http://127.0.0.1:9"), "--retries", "0", "connect", "1"]
    )
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err + "\n".join(every_record.lines)


def test_the_runtime_shows_its_url_without_credentials() -> None:
    settings = resolve(
        url=f"http://connector:{SECRET}@platform.test:8000",
        source="1",
        spool="/tmp/s",
        options={},
        poll_interval=1.0,
        settings_model=None,
    )
    assert settings.shown_url == "http://***:***@platform.test:8000"
