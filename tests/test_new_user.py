"""What a new user tripped over: units of timestamps, periods, types, iteration, messages, pydoc."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from data_interaction_client import (
    DataInteractionClient,
    InvalidInputError,
    InvalidPointError,
    Point,
    RequestData,
    Tag,
    TagHistory,
    TimestampUnitWarning,
)

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_530_008_100_000_000


@pytest.mark.parametrize(
    ("fill", "unit"),
    [
        (lambda tag: tag.add_data(1_530_008_100, 1), "seconds"),
        (lambda tag: tag.add_data(1_530_008_100_000, 1), "milliseconds"),
        (lambda tag: tag.update([{"x": NOW, "y": 1}, {"x": 1_530_008_100, "y": 2}]), "seconds"),
        (lambda tag: tag.extend([(1_530_008_100_000, 2)]), "milliseconds"),
        (lambda tag: tag.update_columns(np.array([1_530_008_100]), np.array([1.5])), "seconds"),
        (lambda tag: tag.update_columns([1_530_008_100_000], [1.5]), "milliseconds"),
    ],
)
def test_integer_timestamps_in_seconds_or_milliseconds_warn_once_per_tag(fill: object, unit: str) -> None:
    tag = Tag(f"unit-{unit}-{id(fill)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fill(tag)  # type: ignore[operator]
        fill(tag)  # type: ignore[operator]
    assert len(caught) == 1
    assert caught[0].category is TimestampUnitWarning
    assert f"{tag.id!r}: the integer timestamp" in str(caught[0].message)
    assert f"if it is in {unit}, give precision=" in str(caught[0].message)
    assert caught[0].filename == __file__  # it points at the user's line
    assert len(tag) >= 1  # the point is kept as given: only a warning


def test_real_timestamps_and_explicit_early_dates_do_not_warn() -> None:
    tag = Tag("no-warning")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tag.add_data(NOW, 1)
        tag.update([{"x": NOW, "y": 1}] * 3)
        tag.add_data(datetime(1970, 1, 2, tzinfo=UTC), 1)  # an early date, but said as a date
        tag.add_data("1970-01-02 00:00:00", 1)
        tag.add_data(np.datetime64("1970-01-02"), 1)
        tag.update_columns(np.array(["1970-01-02"], dtype="datetime64[us]"), [1.0])
        tag.update_columns(np.array([NOW, NOW + 1]), np.array([1.0, 2.0]))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2018-06-27", "2018-06-26"),
        ("2018-06-26T10:00:00+03:00", "2018-06-26T06:59:59Z"),
        (NOW, "2018-06-26"),
        (datetime(2018, 6, 27, tzinfo=UTC), NOW),
    ],
)
def test_from_after_to_is_refused_in_every_form(start: object, end: object) -> None:
    with pytest.raises(InvalidInputError, match=r"from_time .* is after to_time"):
        RequestData("a", from_time=start, to_time=end)  # type: ignore[arg-type]
    req = RequestData("a", to_time=end)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="is after"):
        req.update(from_time=start)  # type: ignore[arg-type]
    assert req.from_time is None
    RequestData("a", from_time="2018-06-26T10:00:00+03:00", to_time="2018-06-26T07:00:00Z")  # equal: fine


def test_history_is_iterable_and_indexable() -> None:
    points = [Point(x=1, y=1.5), Point(x=2, y=2.5)]
    history = TagHistory(tag_id="a", points=points, exceed=False)
    assert list(history) == points
    assert history[-1] == {"x": 2, "y": 2.5}
    assert history[:1] == points[:1]
    assert [p["y"] for p in history] == [1.5, 2.5]


def test_history_repr_is_bounded_and_names_the_count() -> None:
    points = [Point(x=i, y=i * 0.5, q=0) for i in range(100_000)]
    text = repr(TagHistory(tag_id="a", points=points, exceed=True))
    assert len(text) < 500
    assert text.startswith("TagHistory(tag_id='a', points=[Point(x=0, y=0.0, q=0), Point(x=1, ")
    assert "Point(x=2, y=1.0, q=0), ..., Point(x=99997, y=49998.5, q=0)" in text
    assert text.endswith("Point(x=99999, y=49999.5, q=0)] (100000 points), exceed=True)")
    short = TagHistory(tag_id="a", points=points[:2], exceed=False)
    assert repr(short) == f"TagHistory(tag_id='a', points={points[:2]!r}, exceed=False)"


def test_tags_can_be_given_where_tag_ids_are() -> None:
    tags = [Tag("a"), Tag({"tagName": "p", "parentObjectId": "b"})]
    req = DataInteractionClient.create_request_data(tags)
    assert req.tag_id == ["a", tags[1].id]
    assert RequestData(tags[0]).tag_id == "a"


def test_add_data_takes_a_numpy_datetime64() -> None:
    tag = Tag("t64")
    tag.add_data(np.datetime64("2018-06-26T10:15:00"), 1.5)
    tag.add_data(np.datetime64("2018-06-26T10:15:00.000001", "us"), 1.5)
    assert [p["x"] for p in tag.points] == [NOW, NOW + 1]
    with pytest.raises(InvalidPointError, match="NaT"):
        tag.add_data(np.datetime64("NaT"), 1)


def test_add_data_and_columns_default_to_the_same_quality() -> None:
    one, many, listed = Tag("q1"), Tag("q2"), Tag("q3")
    one.add_data(NOW, 1.0)
    many.update_columns([NOW], [1.0])
    listed.update([(NOW, 1.0)])
    for tag in (one, many, listed):  # no q given: none (null, a good value), whichever the call
        assert [(p["x"], p["y"], p.get("q")) for p in tag.points] == [(NOW, 1.0, None)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Tag("t").add_data(NOW, float("nan")), "field 'y': nan is not a JSON number; send y=None"),
        (lambda: Tag("t").add_data(NOW, [1, float("inf")]), r"field 'y': at y\[1\]: inf is not"),
        (lambda: RequestData("a", value=float("nan")), "value filter: nan is not a JSON number; filter on"),
        (
            lambda: Tag("t").add_data("9999-12-31T23:59:59", 1),
            r"is after 2255-06-05T23:47:34\.740991Z, the latest timestamp",
        ),
        (lambda: Tag("t").add_data("2018-06-26T10:15:00.1234567", 1), "7 fractional digits, at most 6"),
        (
            lambda: Tag("t").add_data("2018-06-26T10:15:00+0300", 1),
            "offset '\\+0300' needs a colon: '\\+03:00'",
        ),
        (lambda: Tag("t").add_data("2018-06-26 10:15:00 ", 1), "white space at its start or end"),
    ],
)
def test_messages_say_what_is_wrong_once(call: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        call()  # type: ignore[operator]
    assert "y: y" not in str(caught.value)
    if "value filter" in message:
        assert "y=None" not in str(caught.value)


def test_pydoc_names_the_package_as_the_home_of_public_classes() -> None:
    import data_interaction_client

    for name in data_interaction_client.__all__:
        obj = getattr(data_interaction_client, name)
        if isinstance(obj, type):
            assert obj.__module__ == "data_interaction_client", name
    text = subprocess.run(
        [sys.executable, "-m", "pydoc", "data_interaction_client.Tag"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    head = text.split("\n\n", 1)[0]  # "Help on class Tag in data_interaction_client:"
    assert "in data_interaction_client" in head
    assert "_tag" not in head  # (Python 3.13's pydoc names each method's defining module further down)


def test_an_unknown_log_level_is_warned_about() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import data_interaction_client"],
        env={**os.environ, "DATA_INTERACTION_CLIENT_LOG": "verbose"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "DATA_INTERACTION_CLIENT_LOG='verbose' is not a level" in result.stderr
    assert "debug, info, warning" in result.stderr


@pytest.mark.slow
def test_mypy_strict_catches_what_the_sdk_refuses(tmp_path: Path) -> None:
    script = tmp_path / "connector.py"
    script.write_text(
        textwrap.dedent(
            """
            from datetime import timedelta
            from data_interaction_client import AsyncDataInteractionClient, DataInteractionClient, Tag

            client = DataInteractionClient("http://127.0.0.1:8000", timeout=None)  # E1
            req = client.create_request_data("a", from_time=1.5)  # E2
            req.update(max_count="10")  # E3
            req.update(maxcount=10)  # E4
            client.create_request_data([Tag("a"), "b"], time_step=timedelta(seconds=1))
            history = client.get_data(req)[0]
            for point in history:
                print(point.x)
            client.create_request_data("a", time_step="1s")  # E5


            async def main() -> None:
                async with AsyncDataInteractionClient("http://127.0.0.1:8000") as async_client:
                    await async_client.close()
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary", str(script)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "MYPYPATH": str(ROOT / "generated")},
    )
    lines = script.read_text().splitlines()
    flagged = {int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line}
    expected = {n for n, line in enumerate(lines, start=1) if "# E" in line}
    assert flagged == expected, result.stdout
