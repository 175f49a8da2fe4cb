"""RequestData: every field checked when it is set; update() changes only what it is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from data_interaction_client import InvalidInputError, RequestData, TagPath
from data_interaction_client._http.wire import get_body


def test_original_scenario_update_keeps_other_fields() -> None:
    req = RequestData(tag_id=["a", "b"], value=5, actual=True)
    req.update(from_time=100, to_time=1000000, max_count=100, time_step=100000, format_param=True)
    assert (req.value, req.actual) == (5, True)  # the original client reset these
    req.update(max_count=50)
    assert (req.from_time, req.to_time, req.max_count, req.time_step, req.format_param) == (
        100,
        1000000,
        50,
        100000,
        True,
    )
    req.update(max_count=None)
    assert req.max_count is None


def test_normalizes_ids_and_times() -> None:
    req = RequestData(
        tag_id=("a", {"tagName": "p", "parentObjectId": "o"}),
        from_time=datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
        to_time="1970-01-01 00:00:02",
        time_step=timedelta(milliseconds=5),
    )
    assert req.tag_id == ["a", TagPath("p", "o")]
    assert req.from_time == 1_000_000
    assert req.to_time == "1970-01-01 00:00:02"
    assert req.time_step == 5000


def test_body_has_the_wire_names_and_leaves_unset_fields_out() -> None:
    req = RequestData(tag_id=TagPath("p", "o"))
    assert get_body(req) == {"tagId": {"tagName": "p", "parentObjectId": "o"}}
    req.update(
        from_time=1, to_time=2, max_count=3, time_step=4, value=[1, 2], format_param=False, actual=True
    )
    assert get_body(req) == {
        "tagId": {"tagName": "p", "parentObjectId": "o"},
        "from": 1,
        "to": 2,
        "maxCount": 3,
        "timeStep": 4,
        "value": [1, 2],
        "format": False,
        "actual": True,
    }


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"max_count": 0}, "max_count must be an integer from 1"),
        ({"max_count": 1.5}, "max_count"),
        ({"max_count": True}, "max_count"),
        ({"time_step": 0}, "time_step"),
        ({"from_time": -1}, "from_time"),
        ({"to_time": "noon"}, "to_time"),
        ({"format_param": "yes"}, "format_param must be True, False or None"),
        ({"actual": 1}, "actual"),
        ({"value": float("nan")}, "value filter"),
        ({"from_time": 10, "to_time": 5}, r"from_time \(10\) is after to_time \(5\)"),
    ],
)
def test_bad_values_are_refused_and_nothing_changes(changes: dict[str, object], problem: str) -> None:
    req = RequestData(tag_id="a", max_count=7)
    before = repr(req)
    with pytest.raises(InvalidInputError, match=problem):
        req.update(**changes)
    assert repr(req) == before
    with pytest.raises(InvalidInputError, match=problem):
        RequestData(tag_id="a", **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tag_id", "problem"),
    [(None, "tag_id is required"), ([], "empty"), (["a", 3], r"tag_id\[1\]"), (5, "tag_id:")],
)
def test_bad_tag_ids(tag_id: object, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        RequestData(tag_id=tag_id)  # type: ignore[arg-type]


def test_update_rejects_unknown_fields_and_attribute_assignment_is_checked() -> None:
    req = RequestData(tag_id="a")
    with pytest.raises(TypeError, match="unexpected keyword argument 'max'"):
        req.update(max=3)  # type: ignore[call-arg]
    req.max_count = 10
    assert req.max_count == 10
    with pytest.raises(InvalidInputError):
        req.max_count = -1
    with pytest.raises(AttributeError, match="RequestData has no field 'nonsense'"):
        req.nonsense = 1


def test_equality_and_repr() -> None:
    assert RequestData(tag_id="a", max_count=2) == RequestData("a", max_count=2)
    assert RequestData(tag_id="a") != RequestData(tag_id="b")
    assert RequestData(tag_id="a") != "a"
    assert repr(RequestData(tag_id="a", actual=True)) == "RequestData(tag_id='a', actual=True)"
