"""Timestamps: integer microseconds since the epoch, or ISO 8601 strings (no zone means UTC)."""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime, timedelta, timezone

from ._spec import integer_bounds

MIN_X, MAX_X = integer_bounds("Timestamp")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?"
    r"(?P<zone>Z|(?P<sign>[+-])(?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))?)?"
)


class TimestampError(ValueError):
    """A timestamp that follows the contract's pattern but is not a real instant (month 13, ...)."""


def now_us() -> int:
    """Return the current time in integer microseconds since the epoch."""
    return time.time_ns() // 1000


def parse_iso(text: str) -> int:
    """Convert an ISO 8601 string of the contract's Timestamp pattern to microseconds since the epoch."""
    match = _ISO.fullmatch(text)
    if match is None:
        raise TimestampError(f"{text!r} is not an ISO 8601 date and time")
    groups = match.groupdict()
    fraction = groups["fraction"] or ""
    tzinfo: timezone = UTC
    try:
        if groups["sign"] is not None:
            offset = timedelta(hours=int(groups["zh"]), minutes=int(groups["zm"]))
            if int(groups["zm"]) > 59:
                raise ValueError("zone minutes out of range")
            tzinfo = timezone(offset if groups["sign"] == "+" else -offset)
        moment = datetime(
            int(groups["year"]),
            int(groups["month"]),
            int(groups["day"]),
            int(groups["hour"] or 0),
            int(groups["minute"] or 0),
            int(groups["second"] or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
            tzinfo=tzinfo,
        )
    except (ValueError, OverflowError) as exc:
        raise TimestampError(f"{text!r} is not a valid date and time ({exc})") from exc
    delta = moment - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not MIN_X <= micros <= MAX_X:
        raise TimestampError(f"{text!r} is out of range (1970-01-01T00:00:00Z to {format_iso(MAX_X)})")
    return micros


def to_micros(value: int | float | str) -> int:
    """Convert a contract-valid Timestamp (integer, integral float or ISO string) to microseconds."""
    if isinstance(value, str):
        return parse_iso(value)
    return int(value)


@functools.lru_cache(maxsize=4096)
def _second_prefix(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


def format_iso(micros: int) -> str:
    """Format microseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC)."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{_second_prefix(seconds)}.{fraction:06d}Z"
