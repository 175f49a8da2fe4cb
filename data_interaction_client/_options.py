"""Checks of the clients' options, made in the constructor so that a bad one fails where it is given.

None of these messages ever quotes a token or a header value: they may be secrets.
"""

from __future__ import annotations

import logging
import math
import os
import ssl
from collections.abc import Callable, Generator, Mapping
from typing import TypeAlias

import httpx

from ._constants import TOKEN_ENV_VAR, TOKEN_FILE_ENV_VAR, URL_ENV_VAR
from ._exceptions import InvalidInputError

__all__ = [
    "FileToken",
    "TokenAuth",
    "TokenLike",
    "check_headers",
    "check_seconds",
    "check_token",
    "env_settings",
    "redacted",
    "ssl_context",
]

log = logging.getLogger("data_interaction_client.client")

TokenLike: TypeAlias = str | Callable[[], str] | None
"""A bearer token, a callable that gives one for each request, or ``None``."""


def check_token(token: object, name: str = "token") -> str | None:
    """The token, or ``None``; `InvalidInputError` (never quoting it) when it cannot be sent.

    ``name`` says where the token came from in the message (``token``, or ``token()`` for a callable's).
    """
    if token is None:
        return None
    if type(token) is not str:
        also = " (or a callable that returns one)" if name == "token" else ""
        raise InvalidInputError(f"{name} must be a string, not {type(token).__name__}{also}")
    if not token:
        raise InvalidInputError(f"{name} is empty: give None when the platform needs no token")
    for position, char in enumerate(token):
        if not "\x21" <= char <= "\x7e":
            if char in "\r\n":
                what = "a line break"
            elif not char.isascii():
                what = "a non-ASCII character"
            elif char.isspace():
                what = "white space"
            else:
                what = "a control character"
            hint = " (read from a file? strip it: token.strip())" if char.isspace() else ""
            raise InvalidInputError(
                f"{name} has {what} at position {position} of {len(token)}; a bearer token is printable "
                f"ASCII without spaces{hint}"
            )
    return token


class TokenAuth(httpx.Auth):
    """A bearer token asked of ``token()`` for each request: a rotating file, an OAuth2 flow, a vault."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set ``Authorization: Bearer <token()>`` on the request."""
        token = check_token(self._token(), "token()")
        if token is None:
            raise InvalidInputError("token() returned None: return the token, or give token=None")
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


class FileToken:
    """The token in a file, read again at each call so that it may be replaced (a rotating secret).

    A read that fails or finds the file empty (a file being replaced) keeps the last token read,
    with a warning.
    """

    def __init__(self, path: str | os.PathLike[str], name: str = "token file") -> None:
        self.path = os.fspath(path)
        self._name = name
        first = self._read()
        if first is None:
            raise InvalidInputError(f"{name} {self.path!r} cannot be read or is empty")
        self._last = first

    def _read(self) -> str | None:
        try:
            with open(self.path, encoding="utf-8") as file:
                token = file.read().strip()
        except (OSError, UnicodeDecodeError):
            return None
        return token or None

    def __call__(self) -> str:
        token = self._read()
        if token is None:
            log.warning(
                "%s %r cannot be read or is empty: the last token read is used", self._name, self.path
            )
            return self._last
        self._last = token
        return token

    def __repr__(self) -> str:
        return f"FileToken({self.path!r})"  # never the token


def env_settings(environ: Mapping[str, str]) -> tuple[str, TokenLike]:
    """The platform's address and token from the variables the command line reads.

    ``DATA_INTERACTION_URL`` (required), and ``DATA_INTERACTION_TOKEN`` or
    ``DATA_INTERACTION_TOKEN_FILE`` (a file read again for each request), or neither.
    """
    url = environ.get(URL_ENV_VAR, "").strip()
    if not url:
        raise InvalidInputError(
            f"{URL_ENV_VAR} is not set: give the platform's address, e.g. "
            f"{URL_ENV_VAR}=https://platform.example:8443"
        )
    token = environ.get(TOKEN_ENV_VAR, "").strip() or None
    path = environ.get(TOKEN_FILE_ENV_VAR, "").strip() or None
    if token is not None and path is not None:
        raise InvalidInputError(f"both {TOKEN_ENV_VAR} and {TOKEN_FILE_ENV_VAR} are set: set one of them")
    if path is not None:
        return url, FileToken(path, TOKEN_FILE_ENV_VAR)
    if token is not None:
        check_token(token, TOKEN_ENV_VAR)
    return url, token


def check_headers(headers: object) -> dict[str, str]:
    """The extra headers as a dict of str; `InvalidInputError` naming the bad one."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidInputError(f"headers must be a dict of str to str, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if type(name) is not str or not name or not all("\x21" <= c <= "\x7e" and c != ":" for c in name):
            raise InvalidInputError(f"headers: {name!r} is not a valid header name")
        if type(value) is not str:
            raise InvalidInputError(f"headers[{name!r}] must be a string, not {type(value).__name__}")
        if not all(c == "\t" or "\x20" <= c <= "\x7e" for c in value):
            raise InvalidInputError(
                f"headers[{name!r}] has a control or non-ASCII character; header values are printable ASCII"
            )
        checked[name] = value
    return checked


def check_seconds(name: str, value: object) -> float:
    """A positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise InvalidInputError(f"{name} must be a positive, finite number of seconds, not {value!r}")
    return float(value)


def ssl_context(verify: object) -> bool | ssl.SSLContext:
    """What httpx takes for ``verify``: a CA bundle's path becomes an SSL context, checked now."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if isinstance(verify, str | os.PathLike):
        path = os.fspath(verify)
        if not os.path.isfile(path):
            raise InvalidInputError(f"verify: no CA bundle file at {path!r}")
        try:
            return ssl.create_default_context(cafile=path)
        except (ssl.SSLError, OSError) as exc:
            raise InvalidInputError(f"verify: {path!r} is not a usable CA bundle ({exc})") from exc
    raise InvalidInputError(
        f"verify must be True, False, an ssl.SSLContext or a CA bundle's path, not {type(verify).__name__}"
    )


def redacted(url: httpx.URL) -> str:
    """The URL as text, with the user name and password in it (either may be a secret) as ``***``."""
    if not url.userinfo:
        return str(url)
    return str(url.copy_with(userinfo=b"***:***" if url.password else b"***"))
