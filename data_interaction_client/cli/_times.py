"""Times and durations as a person types them: ISO 8601, relative (``-1h``), ``now``, microseconds."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["format_time", "parse_duration", "parse_time"]

_UNITS: Final = {
    "us": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_DURATION: Final = re.compile(r"^(\d+(?:\.\d+)?)(us|ms|s|m|h|d|w)$")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
TIME_HELP: Final = (
    "ISO 8601 (2024-05-01T10:00:00, UTC unless a zone is given: +03:00 or Z), relative to now "
    "(-1h, -30m, -2d, -1w), now, or integer microseconds since 1970-01-01 UTC"
)
DURATION_HELP: Final = "a number and a unit (500ms, 10s, 5m, 1h, 2d, 1w) or integer microseconds"


def parse_duration(text: str) -> int:
    """A duration in microseconds; `ValueError` saying what is accepted otherwise."""
    text = text.strip()
    if text.isdigit():
        micros = int(text)
    else:
        found = _DURATION.match(text)
        if found is None:
            raise ValueError(f"{text!r} is not a duration: give {DURATION_HELP}")
        micros = int(float(found.group(1)) * (_UNITS[found.group(2)] / _MICROSECOND))
    if micros < 1:
        raise ValueError(f"{text!r} is not a positive duration")
    return micros


def parse_time(text: str, now: datetime | None = None) -> int:
    """A time in microseconds since the epoch; `ValueError` saying what is accepted otherwise."""
    text = text.strip()
    moment = now or datetime.now(UTC)
    if text == "now":
        return (moment - _EPOCH) // _MICROSECOND
    if text.startswith("-") and _DURATION.match(text[1:]):
        return (moment - _EPOCH) // _MICROSECOND - parse_duration(text[1:])
    if text.isdigit():
        return int(text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: give {TIME_HELP}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    micros = (value - _EPOCH) // _MICROSECOND
    if micros < 0:
        raise ValueError(f"{text!r} is before 1970-01-01")
    return micros


class _IsoCache:
    """ISO 8601 UTC text of microsecond timestamps, the seconds part formatted once per second."""

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def __call__(self, micros: int) -> str:
        second, fraction = divmod(micros, 1_000_000)
        if second != self.second:
            self.second = second
            self.text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self.text}.{fraction:06d}Z"


def format_time(micros: int) -> str:
    """``2024-05-01T10:00:00.000000Z``: microseconds as ISO 8601 UTC text."""
    return _ISO(micros)


_ISO: Final = _IsoCache()
