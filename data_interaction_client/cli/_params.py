"""What every command of the command line shares: its global options, parameter types and errors.

`GlobalOptions` holds the options given before the command (``--url``, ``--token``, ...), which each
command receives as click's context object; `CliError` is a failure to report in one line; the
parameter types and callbacks turn what was typed into values, or into a usage error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import click
import orjson

from data_interaction_client import DataInteractionClient, InvalidInputError

from .._options import check_token
from ._files import FileError, format_of
from ._input_files import check_encoding
from ._times import parse_duration, parse_time

__all__ = [
    "DEFAULT_URL",
    "PROG",
    "TOKEN_ENV",
    "URL_ENV",
    "CliError",
    "DurationParam",
    "GlobalOptions",
    "TimeParam",
    "delimiter_option",
    "encoding_option",
    "file_type",
    "tag_argument",
]

PROG: Final = "data-interaction-client"
URL_ENV: Final = "DATA_INTERACTION_URL"
TOKEN_ENV: Final = "DATA_INTERACTION_TOKEN"
DEFAULT_URL: Final = "http://127.0.0.1:8000"


class CliError(Exception):
    """A failure to report in one line, with its exit status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class GlobalOptions:
    """The global options, given before the command and shared by every command."""

    url: str
    token: str | None
    timeout: float
    retries: int
    debug: bool

    def client(self) -> DataInteractionClient:
        """A client for the platform at ``--url``."""
        try:
            check_token(self.token)  # a bad token is reported as one, not as a bad --url
        except InvalidInputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--token'") from None
        try:
            return DataInteractionClient(
                self.url, token=self.token, timeout=self.timeout, max_retries=self.retries
            )
        except InvalidInputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--url'") from None


class TimeParam(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A point in time as typed (see `parse_time`): integer microseconds since 1970-01-01 UTC."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The time in microseconds; the text as typed is kept in ``ctx.meta`` for messages."""
        if isinstance(value, int):
            return value
        try:
            micros = parse_time(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if ctx is not None and param is not None:
            ctx.meta[f"time:{param.name}"] = value  # as typed, for messages
        return micros


class DurationParam(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A duration as typed (see `parse_duration`): integer microseconds."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The duration in microseconds."""
        if isinstance(value, int):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def tag_argument(text: str) -> Any:
    """A tag given on the command line: a plain id, or a path's JSON object."""
    if text.startswith("{"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise click.BadParameter(
                f"{text!r} starts with '{{' but is not JSON: a tag path is "
                '\'{"tagName": "pressure", "parentObjectId": "boiler-7"}\''
            ) from None
    return text


def encoding_option(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--encoding``: a codec Python knows, or a bad parameter."""
    if value is None:
        return None
    try:
        return check_encoding(value)
    except FileError as exc:
        raise click.BadParameter(str(exc)) from None


def delimiter_option(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--delimiter``: one character (``tab`` for a tab), not a quote, a line break or alphanumeric."""
    if value is None:
        return None
    delimiter = "\t" if value in ("tab", "\\t") else value
    if len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum():
        raise click.BadParameter(f"{value!r}: give one character such as ',' or ';', or 'tab'")
    return delimiter


def file_type(path: str, param: str) -> str:
    """The format of the file ``path`` (from its extension), or a bad parameter ``param``."""
    try:
        return format_of(path)
    except FileError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from None
