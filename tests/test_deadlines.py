"""A call's time and its answers are bounded, whatever the server does.

A raw socket server misbehaves on purpose: it trickles its answer, never answers, or sends a gzip bomb.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import (
    APITimeoutError,
    AsyncDataInteractionClient,
    ClientClosedError,
    DataInteractionClient,
    InvalidResponseError,
    Tag,
)
from data_interaction_client._http.deadline import Deadline

from .conftest import OK, FakePlatform

# Each test waits out a real deadline (about a second): make test runs them, make test-fast does not.
pytestmark = pytest.mark.slow

Handler = Callable[[socket.socket], None]
GET_OK = orjson.dumps({**OK, "data": [{"tagId": "a", "exceed": False, "data": [{"x": 1, "y": 2}]}]})


class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to ``handler`` in its own thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.requests += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            read_request(conn)
            with contextlib.suppress(OSError):  # the client hung up, as it should once its deadline passed
                self.handler(conn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)
    return body


def answer(body: bytes, *headers: str) -> bytes:
    # One answer per connection: the client must not reuse a connection the server is closing.
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Connection: close", *headers]
    if not any(h.lower().startswith("transfer-encoding") for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def trickle(data: bytes, every: float) -> Handler:
    def handler(conn: socket.socket) -> None:
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            time.sleep(every)

    return handler


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def read(client: DataInteractionClient) -> object:
    return client.get_data(client.create_request_data("a"))


# --- deadlines ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_trickled_answer_is_cut_off_at_the_deadline(
    serve: Callable[[Handler], RawServer], part: str
) -> None:
    whole = answer(GET_OK)
    head_size = whole.index(b"\r\n\r\n") + 4
    if part == "headers":
        handler = trickle(whole, 0.1)
    else:

        def handler(conn: socket.socket) -> None:
            conn.sendall(whole[:head_size])
            trickle(whole[head_size:], 0.1)(conn)

    server = serve(handler)
    # Each read waits 0.1 s at most, far below timeout: only a deadline on the whole call ends it (the
    # whole answer, 6 s long, would otherwise be read without an error).
    with (
        DataInteractionClient(server.url, timeout=2, total_timeout=1, max_retries=0) as client,
        pytest.raises(APITimeoutError, match=r"deadline of 1\.0 s") as caught,
    ):
        read(client)
    assert "total_timeout=1 s" in str(caught.value)


def test_the_async_client_is_cut_off_too(serve: Callable[[Handler], RawServer]) -> None:
    server = serve(trickle(answer(GET_OK), 0.1))

    async def scenario() -> None:
        async with AsyncDataInteractionClient(
            server.url, timeout=2, total_timeout=1, max_retries=0
        ) as client:
            with pytest.raises(APITimeoutError, match="deadline"):
                await client.get_data(client.create_request_data("a"))

    asyncio.run(scenario())


def test_a_silent_server_is_cut_off_at_the_deadline_not_the_read_timeout(
    serve: Callable[[Handler], RawServer],
) -> None:
    server = serve(lambda conn: time.sleep(3))
    # The read timeout (3 s) would end in a read-timeout error, not one naming the deadline.
    with (
        DataInteractionClient(server.url, timeout=3, total_timeout=0.5) as client,
        pytest.raises(APITimeoutError, match="deadline"),
    ):
        read(client)
    assert server.requests == 1  # no retry is started without time left for it


def test_the_deadline_covers_every_request_of_a_chunked_send(serve: Callable[[Handler], RawServer]) -> None:
    def slow_ok(conn: socket.socket) -> None:
        time.sleep(0.3)
        conn.sendall(answer(orjson.dumps(OK)))

    server = serve(slow_ok)
    tag = Tag("t")
    tag.update([(1_530_008_100_000_000 + i, i) for i in range(10)])
    with (
        DataInteractionClient(server.url, max_points_per_request=1, total_timeout=1, max_retries=0) as client,
        pytest.raises(APITimeoutError, match="deadline") as caught,
    ):
        client.set_data(tag)
    sent = caught.value.points_sent
    assert sent is not None
    assert 1 <= sent <= 4
    assert len(tag) == 10 - sent  # the accepted points left the buffer, the rest stay
    assert tag.points[0]["y"] == sent


def test_the_deadline_grows_with_the_bytes_moved() -> None:
    deadline = Deadline(10, min_throughput=1000)
    assert 9 < deadline.remaining() <= 10
    deadline.add(5000)
    assert 14 < deadline.remaining() <= 15
    assert "5000 bytes moved at min_throughput=1000 bytes/s" in deadline.describe()
    fixed = Deadline(10, min_throughput=None)
    fixed.add(10**9)
    assert fixed.remaining() <= 10


def test_every_call_has_a_finite_deadline_by_default() -> None:
    client = DataInteractionClient("http://p.test")
    assert client.total_timeout == 120
    assert client.min_throughput == 100 * 1024
    client.close()


@pytest.mark.parametrize("asynchronous", [False, True])
@pytest.mark.parametrize("given", ["environment", "argument"])
def test_a_proxy_that_trickles_is_cut_off_at_the_deadline_too(
    serve: Callable[[Handler], RawServer], monkeypatch: pytest.MonkeyPatch, asynchronous: bool, given: str
) -> None:
    proxy = serve(trickle(answer(GET_OK), 0.1))
    options: dict[str, object] = {"timeout": 2, "total_timeout": 1, "max_retries": 0}
    if given == "environment":
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
    else:
        options["proxy"] = proxy.url

    async def async_read() -> None:
        async with AsyncDataInteractionClient("http://platform.invalid", **options) as client:  # type: ignore[arg-type]
            await client.get_data(client.create_request_data("a"))

    def sync_read() -> None:
        with DataInteractionClient("http://platform.invalid", **options) as client:  # type: ignore[arg-type]
            read(client)

    with pytest.raises(APITimeoutError, match="deadline"):
        asyncio.run(async_read()) if asynchronous else sync_read()
    assert proxy.requests == 1  # the platform's name does not resolve: only the proxy was asked


@pytest.mark.parametrize("asynchronous", [False, True])
def test_auth_of_each_kind_keeps_the_deadline(
    serve: Callable[[Handler], RawServer], asynchronous: bool
) -> None:
    server = serve(trickle(answer(GET_OK), 0.1))
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        return "rotating"

    async def async_read(options: dict[str, Any]) -> None:
        async with AsyncDataInteractionClient(server.url, **options) as client:
            await client.get_data(client.create_request_data("a"))

    def sync_read(options: dict[str, Any]) -> None:
        with DataInteractionClient(server.url, **options) as client:
            read(client)

    for auth in ({"token": token}, {"auth": httpx.BasicAuth("user", "secret")}):
        options = {"timeout": 2, "total_timeout": 0.6, "max_retries": 0, **auth}
        with pytest.raises(APITimeoutError, match="deadline"):
            asyncio.run(async_read(options)) if asynchronous else sync_read(options)
    assert calls == [1]


# --- bounded answers ----------------------------------------------------------------------------------


def gzip_bomb(inflated: int) -> bytes:
    return gzip.compress(b"[" + b" " * (inflated - 1), compresslevel=9)


@pytest.mark.slow
@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_gzip_bomb_is_refused_with_memory_bounded(
    serve: Callable[[Handler], RawServer], asynchronous: bool
) -> None:
    bomb = gzip_bomb(256 * 1024**2)  # 256 MiB inflated, about 250 KB on the wire
    server = serve(lambda conn: conn.sendall(answer(bomb, "Content-Encoding: gzip")))
    limit = 1024**2

    async def async_read() -> None:
        async with AsyncDataInteractionClient(server.url, max_response_bytes=limit, max_retries=0) as client:
            await client.get_data(client.create_request_data("a"))

    def sync_read() -> None:
        with DataInteractionClient(server.url, max_response_bytes=limit, max_retries=0) as client:
            read(client)

    tracemalloc.start()
    try:
        with pytest.raises(InvalidResponseError, match=r"larger than 1048576 bytes.*max_response_bytes"):
            asyncio.run(async_read()) if asynchronous else sync_read()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Bounded by the limit plus what one network read inflates to, far below the 256 MiB inflated.
    assert peak < 100 * 1024**2, peak


def test_an_answer_that_never_ends_is_refused(serve: Callable[[Handler], RawServer]) -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(answer(b"", "Transfer-Encoding: chunked"))
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        while True:
            conn.sendall(chunk)

    server = serve(endless)
    tag = Tag("t")
    tag.add_data(1_530_008_100_000_000, 1)
    with (
        DataInteractionClient(server.url, max_retries=0) as client,
        pytest.raises(InvalidResponseError, match=r"larger than 16777216 bytes, the limit for /smt/data/set"),
    ):
        client.set_data(tag)
    assert len(tag) == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_body_that_is_not_gzip_is_a_typed_error_and_retried(asynchronous: bool) -> None:
    fake_platform = FakePlatform()
    fake_platform.script = [
        httpx.Response(200, stream=httpx.ByteStream(b"not gzip at all"), headers={"content-encoding": "gzip"})
        for _ in range(2)
    ]

    async def async_read() -> None:
        client = AsyncDataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform))
        async with client:
            await client.get_data(client.create_request_data("a"), max_retries=1)

    def sync_read() -> None:
        with DataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform)) as client:
            client.get_data(client.create_request_data("a"), max_retries=1)

    with pytest.raises(InvalidResponseError, match="could not be decompressed") as caught:
        asyncio.run(async_read()) if asynchronous else sync_read()
    assert isinstance(caught.value.__cause__, httpx.DecodingError)
    assert len(fake_platform.requests) == 2  # retried once: a proxy or a broken connection may mangle a body


def test_a_call_after_close_is_a_package_error(fake_platform: FakePlatform) -> None:
    client = DataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform))
    client.close()
    with pytest.raises(ClientClosedError, match="is closed"):
        client.connect("1")
    assert isinstance(ClientClosedError("x"), RuntimeError)

    async def scenario() -> None:
        async_client = AsyncDataInteractionClient(
            "http://p.test", transport=httpx.MockTransport(fake_platform)
        )
        await async_client.close()
        await async_client.connect("1")

    with pytest.raises(ClientClosedError):
        asyncio.run(scenario())
    assert fake_platform.requests == []
