"""Times and durations as typed on the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from data_interaction_client.cli._times import format_time, parse_duration, parse_time

NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
NOW_US = 1_714_557_600_000_000


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("now", NOW_US),
        ("-1h", NOW_US - 3_600_000_000),
        ("-30m", NOW_US - 1_800_000_000),
        ("-1.5s", NOW_US - 1_500_000),
        ("-2d", NOW_US - 172_800_000_000),
        ("-1w", NOW_US - 604_800_000_000),
        ("-250ms", NOW_US - 250_000),
        ("2024-05-01T10:00:00", NOW_US),  # no zone: UTC
        ("2024-05-01 13:00:00+03:00", NOW_US),
        ("2024-05-01T10:00:00.000001Z", NOW_US + 1),
        ("2024-05-01", NOW_US - 36_000_000_000),
        ("1714557600000000", NOW_US),
    ],
)
def test_times(text: str, micros: int) -> None:
    assert parse_time(text, now=NOW) == micros


@pytest.mark.parametrize(("text", "message"), [("yesterday", "is not a time"), ("1960-01-01", "before 1970")])
def test_bad_times(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text, now=NOW)


def test_durations() -> None:
    assert [parse_duration(t) for t in ("1us", "500ms", "10s", "5m", "1h", "2d", "1w", "42")] == [
        1,
        500_000,
        10_000_000,
        300_000_000,
        3_600_000_000,
        172_800_000_000,
        604_800_000_000,
        42,
    ]
    for bad in ("fast", "0", "0s", "-1h"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_format_time() -> None:
    assert format_time(NOW_US + 5) == "2024-05-01T10:00:00.000005Z"
    assert format_time(NOW_US + 1_000_000) == "2024-05-01T10:00:01.000000Z"
    assert format_time(0) == "1970-01-01T00:00:00.000000Z"
