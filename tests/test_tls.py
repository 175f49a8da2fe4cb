"""TLS through the client's own transport: a private CA, and mutual TLS with a client certificate.

A local HTTPS server on 127.0.0.1 with certificates from trustme asks the client for a certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import trustme

from data_interaction_client import APIConnectionError, AsyncDataInteractionClient, DataInteractionClient

from .conftest import CONNECT_ANSWER
from .test_deadlines import answer, read_request


class TLSServer:
    """Answers every request with the connect answer, over TLS that requires a client certificate."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.peers: list[dict[str, Any]] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:  # a client without a certificate fails the handshake
            conn.settimeout(5)
            with self.context.wrap_socket(conn, server_side=True) as tls:
                read_request(tls)
                self.peers.append(tls.getpeercert() or {})
                tls.sendall(answer(orjson.dumps(CONNECT_ANSWER)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[TLSServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    running = TLSServer(context)
    yield running
    running.stop()


def connect(cls: Any, url: str, verify: ssl.SSLContext) -> Any:
    async def async_connect() -> Any:
        async with AsyncDataInteractionClient(url, verify=verify, max_retries=0) as client:
            return await client.connect("1")

    if cls is AsyncDataInteractionClient:
        return asyncio.run(async_connect())
    with DataInteractionClient(url, verify=verify, max_retries=0) as client:
        return client.connect("1")


@pytest.mark.parametrize("cls", [DataInteractionClient, AsyncDataInteractionClient])
def test_mutual_tls_with_an_ssl_context_as_verify(cls: Any, ca: trustme.CA, server: TLSServer) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)  # the platform's private CA
    ca.issue_cert("connector-7.plant.example").configure_cert(context)  # the client's own certificate
    connection = connect(cls, server.url, context)
    assert connection.attributes.active
    assert ("DNS", "connector-7.plant.example") in server.peers[0]["subjectAltName"]


@pytest.mark.parametrize("cls", [DataInteractionClient, AsyncDataInteractionClient])
def test_without_a_client_certificate_the_handshake_is_refused(
    cls: Any, ca: trustme.CA, server: TLSServer
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with pytest.raises(APIConnectionError):
        connect(cls, server.url, context)
    assert server.peers == []


@pytest.mark.parametrize("cls", [DataInteractionClient, AsyncDataInteractionClient])
def test_an_unknown_ca_is_refused(cls: Any, server: TLSServer) -> None:
    with pytest.raises(APIConnectionError, match="could not reach the platform"):
        connect(cls, server.url, ssl.create_default_context())
    assert server.peers == []
