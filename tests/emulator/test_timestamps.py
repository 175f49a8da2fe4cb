"""The contract's Timestamp pattern admits exactly the strings the platform takes as instants (no more).

schemathesis sends any string the pattern matches and expects it accepted: every such string must be a
real date and time within 0 .. 2**53 - 1 microseconds. And the pattern must not refuse what it need not:
every real instant in range matches, but for the documented zones at the two ends of the range.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_interaction_client.emulator._spec import schema_pattern
from data_interaction_client.emulator._timestamps import MAX_X, TimestampError, format_iso, parse_iso

_PATTERN = schema_pattern("Timestamp")
assert _PATTERN.startswith("^")
assert _PATTERN.endswith("$")
# JSON Schema patterns are ECMA 262 regexes, whose `$` does not match before a final newline (Python's does).
PATTERN = re.compile(_PATTERN[:-1] + r"\Z")

TIMES = [
    "00:00",
    "00:00:00",
    "00:00:00.0",
    "00:59:59.999999",
    "05:00",
    "12:34:56.789",
    "23:47:34",
    "23:47:34.740991",
    "23:47:34.740992",
    "23:47:34.74099",
    "23:47:34.7409911",
    "23:47:35",
    "23:48",
    "23:59",
    "23:59:59",
    "23:59:59.999999",
]
ZONES = ["", "Z", "+00:00", "-00:00", "+00:01", "-00:01", "+05:00", "-05:30", "+23:59", "-23:59"]
BROKEN_TIMES = ["24:00", "23:60", "23:59:60", "23:59:59.", "23:59:59.1234567", "1:00", "01:0", "01"]
BROKEN_ZONES = ["+24:00", "-24:00", "+00:60", "+0300", "+03", "z", "UTC", "+03:00:00"]


def admitted(text: str) -> bool:
    return PATTERN.match(text) is not None


def accepted(text: str) -> bool:
    try:
        parse_iso(text)
    except TimestampError:
        return False
    return True


def at_an_end(text: str) -> bool:
    """On the days where the pattern takes fewer zones than the range would allow."""
    return text.startswith(("1970-01-01", "2255-06-04", "2255-06-05", "2255-06-06"))


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_every_date_of_the_range_and_none_outside() -> None:
    for day in days(date(1969, 12, 1), date(2256, 1, 31)):
        text = day.isoformat()
        assert admitted(text) == (date(1970, 1, 1) <= day <= date(2255, 6, 5)), text


@pytest.mark.parametrize("year", ["0000", "1969", "1970", "2000", "2100", "2254", "2255", "2256", "9999"])
def test_impossible_dates_never_match(year: str) -> None:
    for month in range(14):
        for day in range(33):
            text = f"{year}-{month:02d}-{day:02d}"
            if admitted(text):
                assert accepted(text), text
            elif accepted(text):
                raise AssertionError(f"{text} is a date in range the pattern refuses")


def test_leap_days() -> None:
    leap = [year for year in range(1970, 2256) if date(year, 3, 1) - date(year, 2, 28) == timedelta(days=2)]
    assert 2000 in leap
    assert 2100 not in leap
    for year in range(1970, 2256):
        assert admitted(f"{year}-02-29") == (year in leap), year


EDGE_DAYS = ["1970-01-01", "1970-01-02", "2018-06-26", "2255-06-03", "2255-06-04", "2255-06-05", "2255-06-06"]


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_times_and_zones_near_the_ends(day: str) -> None:
    for sep in "T ":
        for time in TIMES:
            for zone in ZONES:
                text = f"{day}{sep}{time}{zone}"
                if admitted(text):
                    assert accepted(text), text
                elif not at_an_end(text):
                    # Away from the ends the pattern refuses only what the platform refuses.
                    assert not accepted(text), text
        for broken in [
            *(f"{day}T{time}" for time in BROKEN_TIMES),
            *(f"{day}T10:00{z}" for z in BROKEN_ZONES),
        ]:
            assert not admitted(broken), broken


def test_the_ends_of_the_range() -> None:
    assert admitted("1970-01-01T00:00:00Z")
    assert admitted("1970-01-01T00:00-05:00")
    assert admitted(format_iso(0))
    assert admitted(format_iso(MAX_X))
    assert format_iso(MAX_X) == "2255-06-05T23:47:34.740991Z"
    assert not admitted(format_iso(MAX_X).replace("991Z", "992Z"))
    assert not admitted("1970-01-01T05:00+03:00")  # a real instant: write it in UTC
    assert admitted("1970-01-01T02:00Z")


def test_ordinary_forms() -> None:
    for text in ["2018-06-26", "2018-06-26 10:15", "2018-06-26T10:15:00.5+03:00", "2018-06-26T10:15:00Z"]:
        assert admitted(text)
        assert accepted(text)
    for text in ["2018-06-26\n", " 2018-06-26", "2018-6-26", "26/06/2018", "2018-06-26T", "2018-06-26t10:15"]:
        assert not admitted(text), text


@pytest.mark.slow  # 400 generated strings through the platform: about 2 s
@settings(max_examples=400, deadline=None, database=None)
@given(text=st.from_regex(PATTERN, fullmatch=True))
def test_what_the_pattern_generates_the_platform_accepts(text: str) -> None:
    # What schemathesis does: draw strings from the pattern and expect them accepted.
    assert accepted(text), text
    assert 0 <= parse_iso(text) <= MAX_X
