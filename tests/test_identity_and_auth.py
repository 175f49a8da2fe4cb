"""Who the client says it is, how it authenticates, what it reads from the environment, and its proxy.

Each scenario runs on both twins.
"""

from __future__ import annotations

import asyncio
import inspect
import platform as python
import re
import socket
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
import pytest

import data_interaction_client
from data_interaction_client import (
    APIConnectionError,
    AsyncDataInteractionClient,
    DataInteractionClient,
    InvalidInputError,
)

from .conftest import FakePlatform

CLIENTS = [DataInteractionClient, AsyncDataInteractionClient]
PACKAGE = Path(data_interaction_client.__file__).parent


def run(result: Any) -> Any:
    return asyncio.run(result) if inspect.isawaitable(result) else result


def connect(client: Any) -> Any:
    async def twice_async() -> Any:
        async with client:
            return await client.connect("1")

    if isinstance(client, AsyncDataInteractionClient):
        return asyncio.run(twice_async())
    with client:
        return client.connect("1")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DATA_INTERACTION_URL", "DATA_INTERACTION_TOKEN", "DATA_INTERACTION_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


# --- identity -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLIENTS)
def test_the_user_agent_names_the_sdk_python_and_httpx(cls: Any, fake_platform: FakePlatform) -> None:
    connect(cls("http://p.test", transport=httpx.MockTransport(fake_platform)))
    agent = fake_platform.requests[0].headers["user-agent"]
    assert agent == (
        f"data-interaction-client/{data_interaction_client.__version__} "
        f"python/{python.python_version()} httpx/{httpx.__version__}"
    )
    connect(
        cls(
            "http://p.test", transport=httpx.MockTransport(fake_platform), headers={"User-Agent": "plant-7/2"}
        )
    )
    assert fake_platform.requests[1].headers["user-agent"] == "plant-7/2"


# --- auth ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLIENTS)
def test_a_token_callable_is_asked_for_each_request(
    cls: Any, fake_platform: FakePlatform, no_sleep: list[float]
) -> None:
    tokens = iter(["first", "second", "third"])
    seen: list[str] = []

    def busy(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(503)

    fake_platform.script = [busy]  # the retry asks again: the token may have expired meanwhile
    connect(cls("http://p.test", token=lambda: next(tokens), transport=httpx.MockTransport(fake_platform)))
    assert seen == ["Bearer first"]
    assert fake_platform.requests[-1].headers["authorization"] == "Bearer second"


@pytest.mark.parametrize("cls", CLIENTS)
def test_a_bad_token_from_the_callable_is_named_never_quoted(cls: Any, fake_platform: FakePlatform) -> None:
    client = cls(
        "http://p.test", token=lambda: "s3cret value\n", transport=httpx.MockTransport(fake_platform)
    )
    with pytest.raises(InvalidInputError, match=r"token\(\) has white space at position 6") as caught:
        connect(client)
    assert "s3cret" not in str(caught.value)
    client = cls("http://p.test", token=lambda: None, transport=httpx.MockTransport(fake_platform))
    with pytest.raises(InvalidInputError, match=r"token\(\) returned None"):
        connect(client)
    assert fake_platform.requests == []


class HeaderAuth(httpx.Auth):
    def __init__(self) -> None:
        self.calls = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.calls += 1
        request.headers["X-Signature"] = f"signed-{self.calls}"
        yield request


@pytest.mark.parametrize("cls", CLIENTS)
def test_an_httpx_auth_signs_each_request(cls: Any, fake_platform: FakePlatform) -> None:
    auth = HeaderAuth()
    connect(cls("http://p.test", auth=auth, transport=httpx.MockTransport(fake_platform)))
    assert auth.calls == 1
    assert fake_platform.requests[0].headers["x-signature"] == "signed-1"
    assert "authorization" not in fake_platform.requests[0].headers


@pytest.mark.parametrize("cls", CLIENTS)
def test_auth_options_are_checked(cls: Any) -> None:
    with pytest.raises(InvalidInputError, match="give token or auth, not both"):
        cls("http://p.test", token="t", auth=httpx.BasicAuth("u", "p"))
    with pytest.raises(InvalidInputError, match=r"auth must be an httpx\.Auth, not tuple"):
        cls("http://p.test", auth=("u", "p"))
    with pytest.raises(
        InvalidInputError, match=r"token must be a string, not int \(or a callable that returns one\)"
    ):
        cls("http://p.test", token=42)


# --- from the environment -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLIENTS)
def test_from_env_reads_the_url_and_token_the_command_line_reads(
    cls: Any, clean_env: pytest.MonkeyPatch, fake_platform: FakePlatform
) -> None:
    clean_env.setenv("DATA_INTERACTION_URL", "http://plant.test:8000/")
    clean_env.setenv("DATA_INTERACTION_TOKEN", "from-env")
    client = cls.from_env(transport=httpx.MockTransport(fake_platform), max_retries=0)
    assert isinstance(client, cls)
    assert client.base_url == "http://plant.test:8000"
    assert client.max_retries == 0
    connect(client)
    assert fake_platform.requests[0].headers["authorization"] == "Bearer from-env"
    assert str(fake_platform.requests[0].url) == "http://plant.test:8000/smt/dataSources/connect"
    connect(cls.from_env(token="given", transport=httpx.MockTransport(fake_platform)))  # a token given wins
    assert fake_platform.requests[1].headers["authorization"] == "Bearer given"


@pytest.mark.parametrize("cls", CLIENTS)
def test_from_env_reads_a_token_file_again_for_each_request(
    cls: Any, clean_env: pytest.MonkeyPatch, fake_platform: FakePlatform, tmp_path: Path
) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    clean_env.setenv("DATA_INTERACTION_URL", "http://plant.test")
    clean_env.setenv("DATA_INTERACTION_TOKEN_FILE", str(path))
    client = cls.from_env(transport=httpx.MockTransport(fake_platform))
    connect(client)
    path.write_text("rotated\n")
    connect(cls.from_env(transport=httpx.MockTransport(fake_platform)))
    assert [r.headers["authorization"] for r in fake_platform.requests] == ["Bearer first", "Bearer rotated"]
    assert "first" not in repr(client)


def test_a_token_file_replaced_meanwhile_keeps_the_last_token(
    clean_env: pytest.MonkeyPatch,
    fake_platform: FakePlatform,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "token"
    path.write_text("first")
    clean_env.setenv("DATA_INTERACTION_URL", "http://plant.test")
    clean_env.setenv("DATA_INTERACTION_TOKEN_FILE", str(path))
    with DataInteractionClient.from_env(transport=httpx.MockTransport(fake_platform)) as client:
        client.connect("1")
        path.write_text("")  # being replaced
        client.connect("1")
        path.write_text("second")
        client.connect("1")
    assert [r.headers["authorization"] for r in fake_platform.requests] == [
        "Bearer first",
        "Bearer first",
        "Bearer second",
    ]
    assert "DATA_INTERACTION_TOKEN_FILE" in caplog.text


@pytest.mark.parametrize("cls", CLIENTS)
def test_from_env_says_what_is_missing_or_contradictory(
    cls: Any, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="DATA_INTERACTION_URL is not set"):
        cls.from_env()
    clean_env.setenv("DATA_INTERACTION_URL", "http://plant.test")
    clean_env.setenv("DATA_INTERACTION_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(InvalidInputError, match=r"DATA_INTERACTION_TOKEN_FILE .*missing' cannot be read"):
        cls.from_env()
    clean_env.setenv("DATA_INTERACTION_TOKEN", "t")
    with pytest.raises(
        InvalidInputError, match="both DATA_INTERACTION_TOKEN and DATA_INTERACTION_TOKEN_FILE"
    ):
        cls.from_env()


# --- proxies ------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("cls", CLIENTS)
def test_a_connection_error_names_the_proxy_from_the_environment(
    cls: Any, clean_env: pytest.MonkeyPatch, no_sleep: list[float]
) -> None:
    port = closed_port()
    clean_env.setenv("HTTPS_PROXY", f"http://user:pass@127.0.0.1:{port}")
    client = cls("https://platform.invalid", max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        connect(client)
    message = str(caught.value)
    assert f"through the proxy http://***:***@127.0.0.1:{port} (from HTTPS_PROXY)" in message
    assert "add platform.invalid to NO_PROXY" in message
    assert "pass" not in message.replace("bypass", "")


@pytest.mark.parametrize("cls", CLIENTS)
def test_a_connection_error_names_the_proxy_given(cls: Any, clean_env: pytest.MonkeyPatch) -> None:
    port = closed_port()
    client = cls("http://platform.invalid", proxy=f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(
        APIConnectionError, match=rf"through the proxy http://127.0.0.1:{port} \(from proxy=\)"
    ):
        connect(client)


@pytest.mark.parametrize("cls", CLIENTS)
def test_no_proxy_reaches_the_platform_directly(cls: Any, clean_env: pytest.MonkeyPatch) -> None:
    port = closed_port()
    clean_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    clean_env.setenv("NO_PROXY", "example.org, 127.0.0.0/8")
    client = cls(f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        connect(client)
    assert "proxy" not in str(caught.value)
    assert f"could not reach the platform at http://127.0.0.1:{port}" in str(caught.value)


def test_proxy_options_are_checked(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="proxy must be an http://, https://, socks5://"):
        DataInteractionClient("http://p.test", proxy="ftp://proxy.test")
    with pytest.raises(InvalidInputError, match="give proxy or transport, not both"):
        DataInteractionClient(
            "http://p.test", proxy="http://proxy.test", transport=httpx.MockTransport(print)
        )
    clean_env.setenv("HTTP_PROXY", "proxy.test:3128")  # no scheme: http, as curl reads it
    with pytest.raises(
        APIConnectionError, match=r"through the proxy http://proxy.test:3128 \(from HTTP_PROXY\)"
    ):
        DataInteractionClient("http://platform.invalid", max_retries=0).connect("1")


# --- dependencies that stay upgradeable ---------------------------------------------------------------


def test_the_package_writes_no_private_attribute_of_httpx_or_httpcore() -> None:
    private = re.compile(r"\._(pool|network_backend|transport|mounts|content)\b\s*(=[^=]|\.)")
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if private.search(line)
    ]
    assert offenders == []
