"""Checks of the clients' options, made in the constructor so that a bad one fails where it is given.

None of these messages ever quotes a token or a header value: they may be secrets.
"""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import Mapping

import httpx

from ._exceptions import InvalidInputError

__all__ = ["check_headers", "check_seconds", "check_token", "redacted", "ssl_context"]


def check_token(token: object) -> str | None:
    """The token, or ``None``; :class:`InvalidInputError` (never quoting it) when it cannot be sent."""
    if token is None:
        return None
    if type(token) is not str:
        raise InvalidInputError(f"token must be a string, not {type(token).__name__}")
    if not token:
        raise InvalidInputError("token is empty: give None when the platform needs no token")
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
                f"token has {what} at position {position} of {len(token)}; a bearer token is printable "
                f"ASCII without spaces{hint}"
            )
    return token


def check_headers(headers: object) -> dict[str, str]:
    """The extra headers as a dict of str; :class:`InvalidInputError` naming the bad one."""
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
