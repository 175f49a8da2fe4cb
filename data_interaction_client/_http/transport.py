"""The client's own httpx transports: connection pools whose every socket operation ends by the deadline.

httpx's own transport does not let its network backend be chosen, so the client brings its own,
on public ground only: an ``httpx.BaseTransport`` (``AsyncBaseTransport``) over an
``httpcore.ConnectionPool`` (``AsyncConnectionPool``) built with ``network_backend=`` the deadline
backends of ``backends.py``. It does what httpx's ``HTTPTransport`` does for the client: TLS, one
proxy (an explicit one, or the one the environment gives for the platform's URL), and httpcore's
errors raised as httpx's.

The client talks to one base URL and follows no redirects, so the proxy is chosen once, when the
client is made (see `choose_proxy`), and named in the errors of a connection through it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Final

import httpcore
import httpx

from .._exceptions import InvalidInputError
from .._options import redacted
from .backends import AsyncDeadlineBackend, DeadlineBackend

__all__ = ["AsyncDeadlineTransport", "DeadlineTransport", "ProxyChoice", "choose_proxy"]

# Most specific first: the first class an httpcore error is an instance of gives the httpx class.
_ERRORS: Final[tuple[tuple[type[Exception], type[httpx.TransportError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    # With TLS 1.3 a server refuses a client certificate after the handshake, at the first read, and
    # the asyncio backend lets that alert through as it is.
    (ssl.SSLError, httpx.ConnectError),
)


def _as_httpx_error(exc: Exception) -> Exception:
    """The httpx error an httpcore error stands for; any other exception as it is.

    Called from ``except`` blocks rather than used as a context manager: a generator-based context
    manager costs a few microseconds on each of the three uses of every request.
    """
    for source, target in _ERRORS:
        if isinstance(exc, source):
            error = target(str(exc))
            error.__cause__ = exc
            return error
    return exc


class ProxyChoice:
    """The proxy the client's requests go through: its URL and where it was given."""

    __slots__ = ("origin", "url")

    def __init__(self, url: httpx.URL, origin: str) -> None:
        self.url = url
        self.origin = origin  # "proxy=" or the environment variable's name, e.g. "HTTPS_PROXY"

    def describe(self) -> str:
        """The proxy in words, its credentials hidden: ``the proxy http://p:3128 (from HTTPS_PROXY)``."""
        return f"the proxy {redacted(self.url)} (from {self.origin})"

    def advice(self, host: str) -> str:
        """What to check when the platform cannot be reached through the proxy."""
        if self.origin == "proxy=":
            return "check the proxy given as proxy= and that it can reach the platform"
        return f"check the proxy, or add {host} to NO_PROXY to reach the platform directly"


def choose_proxy(base_url: httpx.URL, proxy: str | httpx.URL | None) -> ProxyChoice | None:
    """The proxy for ``base_url``: ``proxy`` when given, else the environment's, as httpx reads it.

    The environment's: ``<scheme>_PROXY`` (lower case first, as curl and urllib), else ``ALL_PROXY``,
    unless ``NO_PROXY`` names the host.
    """
    if proxy is not None:
        return ProxyChoice(_proxy_url(proxy, "proxy"), "proxy=")
    proxies = urllib.request.getproxies_environment()
    if not proxies or _bypassed(base_url.host, proxies.get("no", "")):
        return None
    for key in (base_url.scheme, "all"):
        if proxies.get(key):
            name = next(
                (n for n in (f"{key}_proxy", f"{key.upper()}_PROXY") if os.environ.get(n) == proxies[key]),
                f"{key.upper()}_PROXY",
            )
            value = proxies[key]
            return ProxyChoice(_proxy_url(value if "://" in value else f"http://{value}", name), name)
    return None


def _bypassed(host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` names ``host``: ``*``, the host, a domain it is in, or a network it is in."""
    host = host.lower().strip("[]")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry  # "host:port" names the host
        name = name.strip("[]").lstrip("*").lstrip(".")
        if address is not None:
            with contextlib.suppress(ValueError):
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


def _proxy_url(value: str | httpx.URL, name: str) -> httpx.URL:
    try:
        url = httpx.URL(str(value))
    except httpx.InvalidURL as exc:
        raise InvalidInputError(f"{name} is not a URL ({exc})") from None
    if url.scheme not in ("http", "https", "socks5", "socks5h") or not url.host:
        raise InvalidInputError(
            f"{name} must be an http://, https://, socks5:// or socks5h:// URL, not {redacted(url)!r}"
        )
    return url


def _core_proxy(choice: ProxyChoice | None) -> httpcore.Proxy | None:
    if choice is None:
        return None
    proxy = httpx.Proxy(url=choice.url)  # takes the credentials out of the URL
    return httpcore.Proxy(
        url=httpcore.URL(
            scheme=proxy.url.raw_scheme,
            host=proxy.url.raw_host,
            port=proxy.url.port,
            target=proxy.url.raw_path,
        ),
        auth=proxy.raw_auth,
        headers=proxy.headers.raw,
        ssl_context=proxy.ssl_context,
    )


def _core_request(
    request: httpx.Request, content: Iterable[bytes] | AsyncIterable[bytes]
) -> httpcore.Request:
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        ),
        headers=request.headers.raw,
        content=content,
        extensions=request.extensions,
    )


class _Stream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:
            raise _as_httpx_error(exc)  # noqa: B904  (the cause is set)

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:
                raise _as_httpx_error(exc)  # noqa: B904  (the cause is set)


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            raise _as_httpx_error(exc)  # noqa: B904  (the cause is set)

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception as exc:
                raise _as_httpx_error(exc)  # noqa: B904  (the cause is set)


class DeadlineTransport(httpx.BaseTransport):
    """The sync client's transport: an ``httpcore.ConnectionPool`` over `DeadlineBackend`."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext, proxy: ProxyChoice | None, limits: httpx.Limits
    ) -> None:
        self.proxy = proxy
        self.pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            proxy=_core_proxy(proxy),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=DeadlineBackend(httpcore.SyncBackend()),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the pool; the answer's body is streamed."""
        assert isinstance(request.stream, httpx.SyncByteStream)
        try:
            answer = self.pool.handle_request(_core_request(request, request.stream))
        except Exception as exc:
            raise _as_httpx_error(exc)  # noqa: B904  (the cause is set)
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(
            answer.status, headers=answer.headers, stream=_Stream(answer.stream), extensions=answer.extensions
        )

    def close(self) -> None:
        """Close every connection of the pool."""
        self.pool.close()


class AsyncDeadlineTransport(httpx.AsyncBaseTransport):
    """The async client's transport: ``httpcore.AsyncConnectionPool`` over `AsyncDeadlineBackend`."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext, proxy: ProxyChoice | None, limits: httpx.Limits
    ) -> None:
        self.proxy = proxy
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            proxy=_core_proxy(proxy),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncDeadlineBackend(httpcore.AnyIOBackend()),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the pool; the answer's body is streamed."""
        assert isinstance(request.stream, httpx.AsyncByteStream)
        try:
            answer = await self.pool.handle_async_request(_core_request(request, request.stream))
        except Exception as exc:
            raise _as_httpx_error(exc)  # noqa: B904  (the cause is set)
        assert isinstance(answer.stream, AsyncIterable)
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_AsyncStream(answer.stream),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        """Close every connection of the pool."""
        await self.pool.aclose()
