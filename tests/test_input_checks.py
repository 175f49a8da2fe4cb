"""Bad options and inputs fail where they are given, as package errors that never echo a secret."""

from __future__ import annotations

import logging

import httpx
import pytest

from data_interaction_client import (
    DataInteractionClient,
    InternalServerError,
    InvalidInputError,
    InvalidPointError,
    InvalidResponseError,
    Tag,
)

from .conftest import FakePlatform

TOKEN = "s3cr3t-token-value"


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (TOKEN + "\n", r"a line break at position 18 .*strip it"),
        (TOKEN + " ", "white space at position 18"),
        ("s3cr3t-tökén", "a non-ASCII character at position 8"),
        ("s3cr3t\x00", "a control character at position 6"),
        ("", "token is empty"),
        (12345, "token must be a string, not int"),
    ],
)
def test_a_token_that_cannot_be_sent_is_refused_without_echoing_it(token: object, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem) as caught:
        DataInteractionClient("http://p.test", token=token)  # type: ignore[arg-type]
    if isinstance(token, str) and token:
        assert token.strip() not in str(caught.value)
        assert token.strip() not in repr(caught.value)


def test_credentials_in_base_url_are_redacted_but_sent(fake_platform: FakePlatform) -> None:
    client = DataInteractionClient(
        "http://user:pa55word@p.test:8000/", transport=httpx.MockTransport(fake_platform)
    )
    assert client.base_url == "http://***:***@p.test:8000"
    assert "pa55word" not in repr(client)
    assert "user" not in repr(client)
    client.connect("1")
    assert fake_platform.requests[0].headers["authorization"].startswith("Basic ")
    client.close()


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"X-Plant": 1}, r"headers\['X-Plant'\] must be a string, not int"),
        ({"X-Key": "secret\n"}, r"headers\['X-Key'\] has a control or non-ASCII character"),
        ({"Bad Name": "v"}, "not a valid header name"),
        ({1: "v"}, "not a valid header name"),
        (["X", "1"], "headers must be a dict"),
    ],
)
def test_bad_headers_are_refused_when_given(headers: object, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem) as caught:
        DataInteractionClient("http://p.test", headers=headers)  # type: ignore[arg-type]
    assert "secret" not in str(caught.value)


def test_a_missing_ca_bundle_is_named(tmp_path: object) -> None:
    with pytest.raises(InvalidInputError, match=r"no CA bundle file at '/nonexistent\.pem'"):
        DataInteractionClient("https://p.test", verify="/nonexistent.pem")
    with pytest.raises(InvalidInputError, match="verify must be"):
        DataInteractionClient("https://p.test", verify=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["x", -5, 0, float("inf"), float("nan"), None, True])
def test_total_timeout_must_be_a_positive_finite_number(value: object, fake_platform: FakePlatform) -> None:
    with pytest.raises(InvalidInputError, match="total_timeout must be a positive, finite number"):
        DataInteractionClient("http://p.test", total_timeout=value)  # type: ignore[arg-type]
    client = DataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform))
    with client, pytest.raises(InvalidInputError, match="total_timeout"):
        client.connect("1", total_timeout=value)  # type: ignore[arg-type]
    assert fake_platform.requests == []


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"min_throughput": 0}, "min_throughput"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        ({"max_response_bytes": 1.5}, "max_response_bytes"),
    ],
)
def test_bad_limits(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        DataInteractionClient("http://p.test", **kwargs)  # type: ignore[arg-type]


def test_none_instead_of_points_or_tags(client: DataInteractionClient) -> None:
    tag = Tag("t")
    with pytest.raises(InvalidPointError, match="points must be a sequence of points, not NoneType"):
        tag.update(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidPointError, match="not int"):
        tag.extend(5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="set_data takes a Tag or a list of Tag, not NoneType"):
        client.set_data(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="not str"):
        client.set_data("t")  # type: ignore[arg-type]


def test_answer_bodies_are_quoted_with_control_bytes_escaped(
    client: DataInteractionClient, fake_platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    page = b"<html>\x1b[31mevil\x1b[0m\x07 forged\rline</html>"
    fake_platform.script = [httpx.Response(502, content=page, headers={"content-type": "text/html"})] * 3
    with caplog.at_level(logging.WARNING), pytest.raises(InternalServerError) as caught:
        client.connect("1")
    message = str(caught.value)
    assert "\x1b" not in message
    assert "\x07" not in message
    assert "\\x1b[31mevil" in message
    assert "\x1b" not in caplog.text
    envelope = b'{"error": {"id": 7, "message": "bad\\u001b[2Jthing"}}'
    fake_platform.script = [httpx.Response(200, content=envelope)]
    with pytest.raises(Exception, match=r"bad\\x1b\[2Jthing") as caught_envelope:
        client.connect("1")
    assert "\x1b" not in str(caught_envelope.value)
    fake_platform.script = [httpx.Response(200, content=b"\x1b]0;title\x07")]
    with pytest.raises(InvalidResponseError) as caught_shape:
        client.connect("1")
    assert "\x1b" not in str(caught_shape.value)
