"""Tag: ids, attributes, and checking points when they are given."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from data_interaction_client import (
    InvalidInputError,
    InvalidPointError,
    Tag,
    TagAttributes,
    TagPath,
    ValueType,
)


def test_ids_plain_and_path_forms() -> None:
    assert Tag("temperature").id == "temperature"
    path = Tag({"tagName": "pressure", "parentObjectId": "boiler-7"}).id
    assert path == TagPath("pressure", "boiler-7")
    assert hash(path) == hash(TagPath("pressure", "boiler-7"))
    assert sorted([TagPath("b", "x"), TagPath("a", "x")])[0] == TagPath("a", "x")
    assert path.to_dict() == {"tagName": "pressure", "parentObjectId": "boiler-7"}
    assert Tag(path).id is path


@pytest.mark.parametrize(
    "bad",
    [
        "",
        5,
        None,
        {"tagName": "a"},
        {"tagName": "a", "parentObjectId": "b", "extra": 1},
        {"tagName": 1, "parentObjectId": "b"},
    ],
)
def test_bad_ids_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="tag id"):
        Tag(bad)  # type: ignore[arg-type]


def test_attributes_typed_accessors() -> None:
    attributes = TagAttributes(
        {
            "smtTagValueTypeCode": 1,
            "smtTagValueScale": 2,
            "smtTagMaxDev": 0.5,
            "smtTagSource": '{"register": 40001}',
            "smtStep": True,
            "other": "x",
        }
    )
    assert attributes.value_type is ValueType.FLOAT
    assert attributes.scale == 2.0
    assert attributes.max_deviation == 0.5
    assert attributes.source == {"register": 40001}
    assert attributes.step is True
    assert attributes["other"] == "x"
    assert len(attributes) == 6
    assert dict(attributes)["smtTagMaxDev"] == 0.5
    assert "TagAttributes(" in repr(attributes)


def test_attributes_absent_or_odd() -> None:
    attributes = TagAttributes(
        {"smtTagValueTypeCode": 9, "smtTagSource": "not json", "smtTagValueScale": True}
    )
    assert attributes.value_type is None
    assert attributes.source == "not json"
    assert attributes.scale is None
    assert attributes.max_deviation is None
    assert attributes.step is False
    assert TagAttributes().source is None


def test_update_replaces_and_keeps_plain_dicts_as_given() -> None:
    tag = Tag("t")
    point = {"x": 1, "y": 1.5, "q": 0}
    tag.update([point, {"x": 2, "y": "on"}])
    assert tag.points == [point, {"x": 2, "y": "on"}]
    assert tag.points[0] is point
    tag.update([{"x": 3, "y": None}])
    assert tag.points == [{"x": 3, "y": None}]
    assert len(tag) == 1
    assert repr(tag) == "Tag('t', buffered=1)"


def test_add_data_extend_and_clear() -> None:
    tag = Tag("t")
    tag.add_data(1, 10)
    tag.add_data("2018-06-26 10:15:00", 11, q=None)
    tag.extend([(3, 12), (4, 13, 100)])
    assert tag.points == [
        {"x": 1, "y": 10, "q": 0},
        {"x": "2018-06-26 10:15:00", "y": 11, "q": None},
        {"x": 3, "y": 12},
        {"x": 4, "y": 13, "q": 100},
    ]
    tag.clear_data()
    assert tag.points == []


def test_accepted_forms_are_normalized() -> None:
    tag = Tag("t")
    aware = datetime(2018, 6, 26, 10, 15, tzinfo=timezone(timedelta(hours=3)))
    naive = datetime(2018, 6, 26, 7, 15)
    tag.update(
        [
            (aware, 1),
            {"x": naive, "y": [1, {"a": None}], "q": np.int32(5)},
            [np.int64(7), np.float64(2.5)],
            {"x": "2018-06-26T10:15:00.5+03:00", "y": {"nested": (1, 2)}},
            {"x": "2018-06-26", "y": np.bool_(True)},
        ]
    )
    micros = int(datetime(2018, 6, 26, 7, 15, tzinfo=UTC).timestamp()) * 1_000_000
    assert tag.points == [
        {"x": micros, "y": 1},
        {"x": micros, "y": [1, {"a": None}], "q": 5},
        {"x": 7, "y": 2.5},
        {"x": "2018-06-26T10:15:00.5+03:00", "y": {"nested": [1, 2]}},
        {"x": "2018-06-26", "y": True},
    ]


@pytest.mark.parametrize(
    ("point", "field", "problem"),
    [
        ({"y": 1}, "x", "missing"),
        ({"x": 1}, "y", "missing"),
        ({"x": 1, "y": 1, "z": 1}, None, "unknown keys"),
        ({"x": -1, "y": 1}, "x", "out of range"),
        ({"x": 2**53, "y": 1}, "x", "out of range"),
        ({"x": 1.5, "y": 1}, "x", "not float"),
        ({"x": True, "y": 1}, "x", "not bool"),
        ({"x": "yesterday", "y": 1}, "x", "not an ISO 8601"),
        ({"x": "2018-13-01 10:00:00", "y": 1}, "x", "not a valid date"),
        ({"x": "20180626T101500", "y": 1}, "x", "not an ISO 8601"),
        ({"x": datetime(1960, 1, 1, tzinfo=UTC), "y": 1}, "x", "before 1970"),
        ({"x": 1, "y": math.nan}, "y", "not a JSON number"),
        ({"x": 1, "y": math.inf}, "y", "not a JSON number"),
        ({"x": 1, "y": [1, math.nan]}, "y", r"y\[1\]"),
        ({"x": 1, "y": 2**64}, "y", "64 bits"),
        ({"x": 1, "y": {1: "a"}}, "y", "keys must be strings"),
        ({"x": 1, "y": Decimal("1.5")}, "y", "Decimal is not a JSON value"),
        ({"x": 1, "y": 1, "q": "good"}, "q", "integer or None"),
        ({"x": 1, "y": 1, "q": True}, "q", "integer or None"),
        ({"x": 1, "y": 1, "q": 2**31}, "q", "32-bit"),
        ((1,), None, r"\(x, y\)"),
        ((1, 2, 3, 4), None, r"\(x, y\)"),
        ("x=1", None, "a point is a dict"),
    ],
)
def test_bad_point_names_tag_index_and_field_and_keeps_the_buffer(
    point: object, field: str | None, problem: str
) -> None:
    tag = Tag("boiler")
    tag.update([{"x": 0, "y": 0}])
    with pytest.raises(InvalidPointError, match=problem) as caught:
        tag.update([{"x": 1, "y": 1}, point])
    error = caught.value
    assert (error.tag_id, error.index, error.field) == ("boiler", 1, field)
    assert str(error).startswith("tag 'boiler', point 1")
    assert tag.points == [{"x": 0, "y": 0}]
    with pytest.raises(InvalidPointError):
        tag.extend([point])
    assert tag.points == [{"x": 0, "y": 0}]


def test_add_data_errors_name_the_field_without_index() -> None:
    tag = Tag("t")
    with pytest.raises(InvalidPointError, match=r"^tag 't', field 'y'") as caught:
        tag.add_data(1, math.nan)
    assert caught.value.index is None
    with pytest.raises(InvalidPointError, match="field 'x'"):
        tag.add_data(-5, 1)
    assert tag.points == []


@pytest.mark.parametrize("points", ["abc", b"abc", {"x": 1, "y": 2}])
def test_points_must_be_a_sequence(points: object) -> None:
    with pytest.raises(InvalidPointError, match="sequence of points"):
        Tag("t").update(points)  # type: ignore[arg-type]


def test_generators_are_accepted() -> None:
    tag = Tag("t")
    tag.update({"x": i, "y": i} for i in range(3))
    assert len(tag) == 3


def test_filling_from_threads_loses_nothing() -> None:
    tag = Tag("t")

    def fill(offset: int) -> None:
        for i in range(2000):
            tag.add_data(offset + i, i)

    threads = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tag) == 8000
    assert len({p["x"] for p in tag.points}) == 8000


@pytest.mark.parametrize("bad", ["\ud800", {"tagName": "a\udfff", "parentObjectId": "b"}])
def test_ids_that_cannot_be_json_text_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="not valid Unicode text"):
        Tag(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "problem"),
    [
        ("1969-12-31 23:59:59", "before 1970-01-01T00:00:00Z, the earliest timestamp"),
        ("0001-01-01", "before 1970-01-01T00:00:00Z"),
        ("2300-01-01T00:00:00Z", r"after 2255-06-05T23:47:34\.740991Z, the latest timestamp"),
    ],
)
def test_iso_timestamps_out_of_the_integer_range_are_refused(x: str, problem: str) -> None:
    with pytest.raises(InvalidPointError, match=problem):
        Tag("t").add_data(x, 1)


@pytest.mark.parametrize(
    "points",
    [
        [{"x": 1, "y": "ok"}, {"x": 2, "y": "\ud800"}],
        [{"x": 1, "y": "ok"}, {"x": 2, "y": {"k": ["\udfff"]}}],
        [{"x": 1, "y": "ok"}, {"x": 2, "y": {"\ud800": 1}}],
    ],
)
def test_text_that_cannot_be_json_is_refused_when_given(points: list[dict[str, object]]) -> None:
    tag = Tag("t")
    with pytest.raises(InvalidPointError, match=r"point 1, field 'y'"):
        tag.update(points)
    with pytest.raises(InvalidPointError, match="field 'y'"):
        tag.add_data(1, points[1]["y"])
    tag.update([{"x": 1, "y": "déjà vu"}, {"x": 2, "y": "温度"}])
    assert [p["y"] for p in tag.points] == ["déjà vu", "温度"]


def test_encoding_never_raises_a_raw_type_error() -> None:
    from data_interaction_client._base_client import encode

    with pytest.raises(InvalidInputError, match="cannot be written as JSON"):
        encode({"y": object()})
