"""Columns in and out (Tag.update_columns, TagHistory.to_columns / to_pandas), Point, fast paths."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from data_interaction_client import InvalidPointError, Tag
from data_interaction_client._http.wire import ResponseShapeError, parse_get
from data_interaction_client._points import check_points
from data_interaction_client._results import Columns, Point, TagHistory

# --- the fast check of update() gives the same result as the complete one ------------------------


def test_fast_check_keeps_plain_dicts_and_copies_the_list() -> None:
    points = [{"x": i, "y": i * 0.5, "q": 0} for i in range(1000)]
    checked = check_points("t", points)
    assert checked == points
    assert checked is not points
    assert all(a is b for a, b in zip(checked, points, strict=True))


@pytest.mark.parametrize(
    "odd",
    [
        {"x": 5, "y": Decimal("1.5")},
        {"x": 5, "y": np.float64(1.5)},
        {"x": 5, "y": [1, 2]},
        {"x": "2018-06-26 10:15:00", "y": 1},
        (5, 1.5),
    ],
)
def test_fast_check_hands_odd_points_to_the_complete_check(odd: object) -> None:
    points: list[Any] = [{"x": i, "y": float(i)} for i in range(10)]
    points.insert(7, odd)
    if isinstance(odd, dict) and isinstance(odd["y"], Decimal):
        with pytest.raises(InvalidPointError, match="Decimal is not a JSON value") as caught:
            check_points("t", points)
        assert caught.value.index == 7
        return
    checked = check_points("t", points)
    assert len(checked) == 11
    assert all(type(p) is dict for p in checked)
    orjson.dumps(checked)  # everything kept is what orjson writes
    assert checked[0] is points[0]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"x": 1, "y": math.nan}, "y"),
        ({"x": 1, "y": -math.inf}, "y"),
        ({"x": 1, "y": 2**64}, "y"),
        ({"x": -1, "y": 1}, "x"),
        ({"x": 1, "y": 1, "q": 2**31}, "q"),
        ({"x": 1, "y": 1, "z": 0}, None),
    ],
)
def test_fast_check_errors_name_the_index(bad: dict[str, Any], field: str | None) -> None:
    points = [{"x": i, "y": i} for i in range(100)]
    points[42] = bad
    with pytest.raises(InvalidPointError) as caught:
        check_points("t", points)
    assert (caught.value.index, caught.value.field) == (42, field)


def test_mappings_other_than_dicts_become_dicts() -> None:
    point = Point(x=1, y=2.0, q=0)
    checked = check_points("t", [point, {"x": 2, "y": 3}])
    assert checked == [{"x": 1, "y": 2.0, "q": 0}, {"x": 2, "y": 3}]
    assert type(checked[0]) is dict


# --- Tag.update_columns / extend_columns ---------------------------------------------------------


def test_update_columns_from_lists() -> None:
    tag = Tag("t")
    tag.update_columns([1, 2], [1.5, "on"])  # no q unless given, as for add_data
    assert tag.points == [{"x": 1, "y": 1.5}, {"x": 2, "y": "on"}]
    tag.update_columns([1], [1.5], q=None)
    assert tag.points == [{"x": 1, "y": 1.5}]
    tag.update_columns([3], [None], q=5)
    assert tag.points == [{"x": 3, "y": None, "q": 5}]
    tag.extend_columns([4, 5], [1, 2], [0, None])
    assert tag.points[1:] == [{"x": 4, "y": 1, "q": 0}, {"x": 5, "y": 2, "q": None}]


def test_update_columns_from_numpy_gives_python_values() -> None:
    tag = Tag("t")
    tag.update_columns(
        np.array([1, 2], dtype=np.int64), np.array([0.5, 1.5]), np.array([0, 3], dtype=np.int32)
    )
    assert tag.points == [{"x": 1, "y": 0.5, "q": 0}, {"x": 2, "y": 1.5, "q": 3}]
    assert all(type(p["x"]) is int and type(p["y"]) is float and type(p["q"]) is int for p in tag.points)
    tag.update_columns(np.array([1]), np.array([True]), q=None)
    assert tag.points == [{"x": 1, "y": True}]
    assert type(tag.points[0]["y"]) is bool


def test_update_columns_from_pandas_times() -> None:
    micros = 1_530_008_100_000_000
    frame = pd.DataFrame(
        {"time": pd.to_datetime([micros, micros + 1], unit="us", utc=True), "value": [1.0, 2.0]}
    )
    tag = Tag("t")
    tag.update_columns(frame["time"], frame["value"], q=0)
    assert tag.points == [{"x": micros, "y": 1.0, "q": 0}, {"x": micros + 1, "y": 2.0, "q": 0}]
    naive = np.array(["2018-06-26T10:15:00"], dtype="datetime64[s]")
    tag.update_columns(naive, [1])
    assert tag.points == [{"x": micros, "y": 1}]


def test_update_columns_object_columns_take_the_point_by_point_check() -> None:
    tag = Tag("t")
    tag.update_columns(
        np.array(["2018-06-26 10:15:00", 5], dtype=object), np.array([1, None], dtype=object), q=None
    )
    assert tag.points == [{"x": "2018-06-26 10:15:00", "y": 1}, {"x": 5, "y": None}]


@pytest.mark.parametrize(
    ("x", "y", "q", "index", "field"),
    [
        (np.arange(5), np.array([0, 1, np.nan, 3, 4]), None, 2, "y"),
        (np.array([1, -1, 3]), np.zeros(3), None, 1, "x"),
        (np.array([1, 2**53, 3], dtype=np.int64), np.zeros(3), None, 1, "x"),
        (np.array([1.5, 2.0]), np.zeros(2), None, 0, "x"),
        (np.arange(3), np.zeros(3), np.array([0, 2**31, 0], dtype=np.int64), 1, "q"),
        ([1, 2, 3], [1, math.inf, 3], None, 1, "y"),
        (np.array(["2018-06-26", "NaT"], dtype="datetime64[D]"), np.zeros(2), None, 1, "x"),
    ],
)
def test_update_columns_errors_name_tag_index_and_field(
    x: Any, y: Any, q: Any, index: int, field: str
) -> None:
    tag = Tag("boiler")
    tag.update([{"x": 0, "y": 0}])
    with pytest.raises(InvalidPointError) as caught:
        tag.update_columns(x, y, q)
    assert (caught.value.tag_id, caught.value.index, caught.value.field) == ("boiler", index, field)
    assert tag.points == [{"x": 0, "y": 0}]


def test_update_columns_shape_errors() -> None:
    tag = Tag("t")
    with pytest.raises(InvalidPointError, match="x has 2 values but y has 1"):
        tag.update_columns([1, 2], [1])
    with pytest.raises(InvalidPointError, match="but q has 1"):
        tag.update_columns([1, 2], [1, 2], [0])
    with pytest.raises(InvalidPointError, match="a column is a sequence"):
        tag.update_columns("12", [1, 2])
    with pytest.raises(InvalidPointError, match="32-bit integer"):
        tag.update_columns([1], [1], q=True)
    tag.update_columns([], [])
    assert tag.points == []


# --- reading: Point, parse_get, to_columns, to_pandas ------------------------------------


def _answer(points: list[dict[str, Any]], **extra: Any) -> bytes:
    return orjson.dumps(
        {
            "error": {"id": 0, "message": ""},
            "data": [{"tagId": "a", "exceed": False, "data": points}],
            **extra,
        }
    )


def test_points_read_like_dicts() -> None:
    (history,) = parse_get(_answer([{"x": 1, "y": 2.5, "q": 0}, {"x": "2018-06-26", "y": [1]}]))
    first, second = history.points
    assert first == {"x": 1, "y": 2.5, "q": 0}
    assert {"x": 1, "y": 2.5, "q": 0} == first  # noqa: SIM300  (the dict on the left)
    assert second == {"x": "2018-06-26", "y": [1]}
    assert second != {"x": "2018-06-26", "y": [1], "z": 1}
    assert first != {"x": 1, "y": 2.5, "q": 1}
    assert first != 5
    assert first == Point(x=1, y=2.5, q=0)
    assert hash(first) == hash(Point(x=1, y=2.5, q=0))
    assert (first["x"], first["y"], first["q"], second.get("q"), second.get("z", 7)) == (1, 2.5, 0, None, 7)
    with pytest.raises(KeyError):
        first["z"]
    assert dict(first) == first.to_dict() == {"x": 1, "y": 2.5, "q": 0}
    assert list(first) == ["x", "y", "q"]
    assert len(first) == 3
    assert "q" in first
    assert isinstance(first, Mapping)


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        orjson.dumps({"error": {"id": 5, "message": "no"}}),
        orjson.dumps({"error": {"id": 0, "message": ""}}),
        _answer([{"x": 1.5, "y": 1}]),
        orjson.dumps(
            {"error": {"id": 0}, "data": [{"tagId": {"tagName": "a"}, "exceed": False, "data": []}]}
        ),
    ],
)
def test_answers_off_the_contract_are_refused(content: bytes) -> None:
    with pytest.raises(ResponseShapeError):
        parse_get(content)


def test_to_columns_and_to_pandas() -> None:
    (history,) = parse_get(_answer([{"x": 1, "y": 2.5, "q": 0}, {"x": 2, "y": 3.5}]))
    assert history.to_columns() == Columns([1, 2], [2.5, 3.5], [0, None])
    frame = history.to_pandas(x_as="us")
    assert list(frame.columns) == ["x", "y", "q"]
    assert frame["x"].tolist() == [1, 2]
    assert frame["x"].dtype == np.int64
    plain = TagHistory("a", [{"x": 1, "y": 2}], False)  # type: ignore[list-item]
    assert plain.to_columns() == Columns([1], [2], [None])


def test_to_pandas_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'data-interaction-client\[pandas\]'"):
        TagHistory("a", [], False).to_pandas()


def test_string_columns_are_checked_as_text() -> None:
    tag = Tag("t")
    tag.update_columns(np.array([1, 2]), np.array(["on", "温度"]), q=None)
    assert tag.points == [{"x": 1, "y": "on"}, {"x": 2, "y": "温度"}]
    with pytest.raises(InvalidPointError, match="point 1, field 'y'"):
        tag.update_columns(np.array([1, 2]), ["on", "\ud800"])
