"""Answers that are not the platform's: proxy pages described in words, and requests too large (413).

Every scenario runs on both twins, the sync client and the async one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import (
    AsyncDataInteractionClient,
    DataInteractionClient,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PlatformError,
    RequestTooLargeError,
    Tag,
)
from data_interaction_client._constants import ERROR_BODY_LIMIT

from .conftest import OK, FakePlatform, json_response

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.27.4</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
NGINX_413 = NGINX_502.replace(b"502 Bad Gateway", b"413 Request Entity Too Large")


class Twin:
    """One of the two clients over the fake fake_platform, its calls made the same way."""

    def __init__(self, asynchronous: bool, fake_platform: FakePlatform, **options: Any) -> None:
        if asynchronous:
            transport: Any = httpx.MockTransport(fake_platform)
            self.client: Any = AsyncDataInteractionClient("http://p.test", transport=transport, **options)
        else:
            self.client = DataInteractionClient(
                "http://p.test", transport=httpx.MockTransport(fake_platform), **options
            )

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        return asyncio.run(result) if inspect.isawaitable(result) else result


@pytest.fixture(params=["sync", "async"])
def twin_of(request: pytest.FixtureRequest, fake_platform: FakePlatform, no_sleep: list[float]) -> Any:
    def make(**options: Any) -> Twin:
        return Twin(request.param == "async", fake_platform, **options)

    return make


def page(status: int, content: bytes, content_type: str = "text/html") -> httpx.Response:
    return httpx.Response(status, content=content, headers={"content-type": content_type})


# --- pages of a proxy ---------------------------------------------------------------------------------


def test_a_proxy_page_is_described_in_words_and_kept_on_the_error(
    twin_of: Any, fake_platform: FakePlatform
) -> None:
    call = twin_of(max_retries=0)
    tag = Tag("t")
    tag.add_data(1, 1)
    fake_platform.script = [page(502, NGINX_502)]
    with pytest.raises(InternalServerError) as caught:
        call("set_data", tag)
    message = str(caught.value)
    assert "a proxy or server in front of the platform answered" in message
    assert f"an HTML page titled '502 Bad Gateway' (text/html, {len(NGINX_502)} bytes)" in message
    assert "<center>" not in message  # the page is described, not pasted
    assert "the whole answer is on the error's body" in message
    assert caught.value.body == NGINX_502.decode()
    assert caught.value.error_id is None
    assert len(tag) == 1


def test_a_page_without_a_title_shows_its_text_and_a_large_body_is_bounded(
    twin_of: Any, fake_platform: FakePlatform
) -> None:
    call = twin_of(max_retries=0)
    body = b"<html><body><h1>Access denied</h1><script>var x = '<b>';</script>" + b" " * 100_000 + b"</html>"
    fake_platform.script = [page(404, body, "text/html; charset=utf-8")]
    with pytest.raises(NotFoundError) as caught:
        call("connect", "1")
    message = str(caught.value)
    assert (
        f"an HTML page without a title (text/html; charset=utf-8, {len(body)} bytes): Access denied"
        in message
    )
    assert "var x" not in message
    assert caught.value.body is not None
    assert len(caught.value.body) == ERROR_BODY_LIMIT
    assert body.decode().startswith(caught.value.body)


def test_a_plain_text_answer_is_quoted_and_an_envelope_is_the_platforms(
    twin_of: Any, fake_platform: FakePlatform
) -> None:
    call = twin_of(max_retries=0)
    fake_platform.script = [page(503, b"upstream connect error", "text/plain")]
    with pytest.raises(InternalServerError) as caught:
        call("connect", "1")
    assert (
        "answered, not the platform's JSON error: a text/plain answer of 22 bytes: upstream connect error"
        in str(caught.value)
    )
    envelope = {"error": {"id": 7, "message": "busy"}}
    fake_platform.script = [json_response(envelope, 503)]
    with pytest.raises(InternalServerError) as caught:
        call("connect", "1")
    assert "in front of the platform" not in str(caught.value).split("(")[0]
    assert caught.value.body == orjson.dumps(envelope).decode()


def test_a_login_page_with_200_is_described_too(twin_of: Any, fake_platform: FakePlatform) -> None:
    call = twin_of()
    login = b"<!DOCTYPE html><html><head><title>Sign in &ndash; Portal</title></head><body>...</body></html>"
    fake_platform.script = [page(200, login)]
    with pytest.raises(InvalidResponseError) as caught:
        call("connect", "1")
    message = str(caught.value)
    assert "an HTML page titled 'Sign in \u2013 Portal'" in message
    assert message.endswith("a proxy or server in front of the platform answered")
    assert caught.value.body == login.decode()


# --- requests too large -------------------------------------------------------------------------------


def limited(limit: int) -> Any:
    """A platform that refuses, with nginx's 413 page, every request over ``limit`` bytes."""
    accepted: list[list[int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if len(request.content) > limit:
            return page(413, NGINX_413)
        body = orjson.loads(request.content)
        accepted.append([point["x"] for item in body["data"] for point in item["data"]])
        return json_response(OK)

    handler.accepted = accepted  # type: ignore[attr-defined]
    return handler


def test_a_request_too_large_is_split_in_halves_until_it_passes(
    twin_of: Any, fake_platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    call = twin_of()
    a, b = Tag("a"), Tag("b")
    a.update([(1_530_008_100_000_000 + i, i) for i in range(7)])
    b.update([(1_530_008_200_000_000 + i, i) for i in range(3)])
    given = [p["x"] for p in a.points + b.points]
    handler = limited(len(orjson.dumps({"data": [{"tagId": "a", "data": a.points[:2]}]})))  # two points
    fake_platform.default = handler
    with caplog.at_level(logging.WARNING):
        assert call("set_data", [a, b]) == 10
    assert [x for request in handler.accepted for x in request] == given  # each once, in order
    assert max(len(request) for request in handler.accepted) <= 2
    assert len(a) == 0
    assert len(b) == 0
    assert "lower max_points_per_request (now 100000)" in caplog.text
    assert "sending it again in two halves" in caplog.text


def test_one_value_too_large_is_named_and_the_points_before_it_leave_their_buffer(
    twin_of: Any, fake_platform: FakePlatform
) -> None:
    call = twin_of()
    tag = Tag("t")
    tag.update([(1_530_008_100_000_000 + i, "x" * (5000 if i == 5 else 1)) for i in range(8)])
    fake_platform.default = limited(1000)
    with pytest.raises(RequestTooLargeError) as caught:
        call("set_data", tag)
    error = caught.value
    assert isinstance(error, PlatformError)
    assert error.status_code == 413
    assert error.points == 1
    assert error.request_bytes is not None
    assert error.request_bytes > 5000
    assert error.points_sent == 5
    message = str(error)
    assert f"the request of {error.request_bytes} bytes held a single point" in message
    assert "one value is too large" in message
    assert "max_points_per_request" not in message  # fewer points per request cannot help
    assert "an HTML page titled '413 Request Entity Too Large'" in message
    assert [p["x"] - 1_530_008_100_000_000 for p in tag.points] == [
        5,
        6,
        7,
    ]  # the refused one and those after


def test_a_request_too_large_gives_its_size_and_the_setting_to_change() -> None:
    error = RequestTooLargeError("HTTP 413", method="POST", path="/smt/data/set", status_code=413)
    error.request_bytes = 2_000_000
    error.points = 5000
    error.max_points_per_request = 5000
    assert str(error) == (
        "POST /smt/data/set: HTTP 413; the request of 2000000 bytes with 5000 points is too large for the "
        "platform or a proxy in front of it: lower max_points_per_request (now 5000)"
    )


def test_a_413_on_connect_is_typed_with_the_request_size(twin_of: Any, fake_platform: FakePlatform) -> None:
    call = twin_of()
    fake_platform.script = [json_response({"error": {"id": 413, "message": "too large"}}, 413)]
    with pytest.raises(RequestTooLargeError) as caught:
        call("connect", "1")
    assert caught.value.request_bytes == len(fake_platform.requests[0].content)
    assert caught.value.points is None
    assert f"the request of {caught.value.request_bytes} bytes is too large" in str(caught.value)
    assert len(fake_platform.requests) == 1  # a 413 is not retried as it is
