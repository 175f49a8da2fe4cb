"""One test (at least) per history rule of platform-api.md, with exact values."""

from __future__ import annotations

from typing import Any

import pytest

from data_interaction_client.emulator import GRID_LIMIT
from data_interaction_client.emulator._history import json_equal, thin_indices

from .conftest import NOW, Api

PLAIN = [{"x": 100, "y": 10.0, "q": 0}, {"x": 200, "y": 20.0, "q": 0}, {"x": 300, "y": 40.0}]


def pt(x: Any, y: Any, q: int | None = None) -> dict[str, Any]:
    return {"x": x, "y": y, "q": q}


@pytest.fixture
def loaded(api: Api) -> Api:
    api.set("plain", PLAIN)
    api.set("step", [{"x": 100, "y": 1}, {"x": 200, "y": 5}])
    return api


def test_current_value_past_the_last_point_repeats_it(loaded: Api) -> None:
    assert loaded.points("plain") == [pt(NOW, 40.0)]


def test_current_value_interpolates_towards_a_future_point(api: Api) -> None:
    api.set("plain", [{"x": NOW - 1000, "y": 0.0, "q": 0}, {"x": NOW + 1000, "y": 10.0, "q": 0}])
    api.set("step", [{"x": NOW - 1000, "y": 1}, {"x": NOW + 1000, "y": 2}])
    assert api.points("plain") == [pt(NOW, 5.0, 0)]
    assert api.points("step") == [pt(NOW, 1)]


def test_current_value_of_a_tag_without_data_is_null(api: Api) -> None:
    assert api.points("nothing") == [pt(NOW, None)]


def test_only_to_gives_one_point_the_value_at_to(loaded: Api) -> None:
    assert loaded.points("plain", to=150) == [pt(150, 15.0, 0)]
    assert loaded.points("plain", to=200) == [pt(200, 20.0, 0)]


def test_from_inside_the_data_interpolates_both_boundaries(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 150, "to": 250}) == [
        pt(150, 15.0, 0),
        pt(200, 20.0, 0),
        pt(250, 30.0, 0),
    ]


def test_boundaries_on_stored_points_are_not_repeated(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 100, "to": 300}) == [
        pt(100, 10.0, 0),
        pt(200, 20.0, 0),
        pt(300, 40.0),
    ]


def test_from_before_all_data_is_null_at_from(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 50, "to": 150}) == [
        pt(50, None),
        pt(100, 10.0, 0),
        pt(150, 15.0, 0),
    ]


def test_past_the_last_point_to_repeats_the_last_value(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 250, "to": 400}) == [
        pt(250, 30.0, 0),
        pt(300, 40.0),
        pt(400, 40.0),
    ]


def test_to_defaults_to_now(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 250}) == [pt(250, 30.0, 0), pt(300, 40.0), pt(NOW, 40.0)]


def test_values_stamped_after_now_are_not_returned_by_default(api: Api) -> None:
    api.set("plain", [{"x": NOW - 10, "y": 1.0}, {"x": NOW + 10, "y": 3.0}])
    assert api.points("plain", **{"from": 0}) == [pt(0, None), pt(NOW - 10, 1.0), pt(NOW, 2.0)]


def test_from_after_to_gives_no_point(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 300, "to": 100}) == []


def test_step_tag_takes_the_previous_value(loaded: Api) -> None:
    assert loaded.points("step", **{"from": 150, "to": 250}) == [pt(150, 1), pt(200, 5), pt(250, 5)]
    assert loaded.points("step", to=199) == [pt(199, 1)]


def test_non_numeric_values_take_the_previous_value(api: Api) -> None:
    api.set("s", [{"x": 100, "y": "a"}, {"x": 200, "y": "b"}, {"x": 300, "y": 7}])
    assert api.points("s", **{"from": 150, "to": 250}) == [pt(150, "a"), pt(200, "b"), pt(250, "b")]


def test_booleans_are_not_interpolated(api: Api) -> None:
    api.set("b", [{"x": 100, "y": False}, {"x": 200, "y": True}])
    assert api.points("b", to=150) == [pt(150, False)]


def test_integers_interpolate_linearly(api: Api) -> None:
    api.set("i", [{"x": 0, "y": 0}, {"x": 3, "y": 1}])
    assert api.points("i", to=1) == [pt(1, 1 / 3)]


def test_interpolation_never_bridges_a_bad_quality_point(api: Api) -> None:
    api.set(
        "plain",
        [{"x": 100, "y": 10.0, "q": 0}, {"x": 200, "y": None, "q": 102}, {"x": 300, "y": 30.0, "q": 0}],
    )
    assert api.points("plain", **{"from": 150, "to": 250}) == [
        pt(150, None, 102),
        pt(200, None, 102),
        pt(250, None, 102),
    ]
    api.set("other", [{"x": 100, "y": 10.0, "q": 100}, {"x": 200, "y": 20.0}])
    assert api.points("other", to=150) == [pt(150, None, 100)]


def test_quality_codes_pass_through(api: Api) -> None:
    points = [{"x": 1, "y": None, "q": 100}, {"x": 2, "y": 5, "q": 101}, {"x": 3, "y": None, "q": -7}]
    api.set("plain", points)
    assert api.points("plain", **{"from": 1, "to": 3}) == points


def test_actual_returns_only_stored_points_in_the_closed_period(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 150, "to": 300, "actual": True}) == [
        pt(200, 20.0, 0),
        pt(300, 40.0),
    ]
    assert loaded.points("plain", **{"from": 100, "to": 250, "actual": True}) == [
        pt(100, 10.0, 0),
        pt(200, 20.0, 0),
    ]


def test_actual_without_from_gives_the_last_stored_point(loaded: Api) -> None:
    assert loaded.points("plain", to=250, actual=True) == [pt(200, 20.0, 0)]
    assert loaded.points("plain", actual=True) == [pt(300, 40.0)]
    assert loaded.points("plain", to=50, actual=True) == []


def test_time_step_resamples_on_the_grid(loaded: Api) -> None:
    expected = [pt(100, 10.0, 0), pt(150, 15.0, 0), pt(200, 20.0, 0), pt(250, 30.0, 0), pt(300, 40.0)]
    assert loaded.points("plain", **{"from": 100, "to": 320, "timeStep": 50}) == expected
    assert loaded.points("step", **{"from": 0, "to": 300, "timeStep": 100}) == [
        pt(0, None),
        pt(100, 1),
        pt(200, 5),
        pt(300, 5),
    ]


def test_time_step_with_max_count_thins_the_grid(loaded: Api) -> None:
    body = loaded.get(tagId="plain", **{"from": 100, "to": 300, "timeStep": 10, "maxCount": 3})
    assert body["data"][0]["exceed"] is True
    assert body["data"][0]["data"] == [pt(100, 10.0, 0), pt(200, 20.0, 0), pt(300, 40.0)]


def test_a_huge_grid_is_capped(loaded: Api) -> None:
    body = loaded.get(tagId="plain", **{"from": 0, "timeStep": 1})
    item = body["data"][0]
    assert item["exceed"] is True
    assert len(item["data"]) == GRID_LIMIT
    assert item["data"][0] == pt(0, None)
    assert item["data"][-1] == pt(NOW, 40.0)


def test_max_count_thins_evenly_keeping_first_and_last(api: Api) -> None:
    api.set("plain", [{"x": x, "y": x} for x in range(11)])
    body = api.get(tagId="plain", **{"from": 0, "to": 10, "maxCount": 3})
    assert body["data"][0] == {"tagId": "plain", "exceed": True, "data": [pt(0, 0), pt(5, 5), pt(10, 10)]}
    body = api.get(tagId="plain", **{"from": 0, "to": 10, "maxCount": 11})
    assert body["data"][0]["exceed"] is False
    assert len(body["data"][0]["data"]) == 11
    assert api.points("plain", **{"from": 0, "to": 10, "maxCount": 1}) == [pt(0, 0)]


def test_format_gives_iso_timestamps(loaded: Api) -> None:
    assert loaded.points("plain", **{"from": 100, "to": 200, "format": True}) == [
        pt("1970-01-01T00:00:00.000100Z", 10.0, 0),
        pt("1970-01-01T00:00:00.000200Z", 20.0, 0),
    ]


def test_iso_timestamps_in_requests(api: Api) -> None:
    api.set("plain", [{"x": "2018-06-26 10:15:00", "y": 1}, {"x": "2018-06-26T10:15:01+03:00", "y": 2}])
    assert api.store.points('"plain"') == [
        {"x": 1529997301000000, "y": 2, "q": None},
        {"x": 1530008100000000, "y": 1, "q": None},
    ]
    assert api.points("plain", to="2018-06-26T10:15:00.000000Z") == [pt(1530008100000000, 1)]
    assert api.points("plain", **{"from": "2018-06-26", "to": "2018-06-26T10:14", "actual": True}) == [
        pt(1529997301000000, 2)
    ]


def test_value_filter(api: Api) -> None:
    api.set(
        "v",
        [{"x": 1, "y": 1}, {"x": 2, "y": True}, {"x": 3, "y": 1.0}, {"x": 4, "y": "a"}, {"x": 5, "y": None}],
    )
    period = {"from": 1, "to": 5}
    assert api.points("v", value=1, **period) == [pt(1, 1), pt(3, 1.0)]
    assert api.points("v", value=True, **period) == [pt(2, True)]
    assert api.points("v", value=["a", None], **period) == [pt(4, "a"), pt(5, None)]
    assert api.points("v", value=2, **period) == []


def test_one_item_per_requested_tag_in_request_order(loaded: Api) -> None:
    path = {"tagName": "p", "parentObjectId": "o"}
    loaded.set(path, [{"x": 100, "y": "on"}])
    body = loaded.get(tagId=["step", path, "plain", "step"], to=100)
    assert [item["tagId"] for item in body["data"]] == ["step", path, "plain", "step"]
    assert [item["data"] for item in body["data"]] == [
        [pt(100, 1)],
        [pt(100, "on")],
        [pt(100, 10.0, 0)],
        [pt(100, 1)],
    ]


def test_last_write_wins(api: Api) -> None:
    api.set("plain", [{"x": 1, "y": 1}, {"x": 1, "y": 2, "q": 5}])
    api.set("plain", [{"x": 2, "y": "a"}])
    api.set("plain", [{"x": 2, "y": "b"}])
    assert api.store.points('"plain"') == [{"x": 1, "y": 2, "q": 5}, {"x": 2, "y": "b", "q": None}]


def test_json_values_round_trip(api: Api) -> None:
    values = [{"a": [1, 2, {"b": None}]}, [1, "x"], 2**70, -1.5e300, "\u00e9\U0001f600"]
    api.set("j", [{"x": i, "y": v} for i, v in enumerate(values)])
    assert [p["y"] for p in api.points("j", **{"from": 0, "to": 4, "actual": True})] == values
    api.set("big", [{"x": 0, "y": 2**70}, {"x": 2, "y": 2**80}])
    assert api.points("big", to=1) == [pt(1, 2**70 + (2**80 - 2**70) / 2)]
    api.set("huge", [{"x": 0, "y": -1.5e308}, {"x": 2, "y": 1.5e308}])
    assert api.points("huge", to=1) == [pt(1, -1.5e308)]


def test_helpers() -> None:
    assert thin_indices(5, 10) == [0, 1, 2, 3, 4]
    assert thin_indices(10, 4) == [0, 3, 6, 9]
    assert json_equal({"a": [1, True]}, {"a": [1.0, True]})
    assert not json_equal({"a": 1}, {"b": 1})
    assert not json_equal([1], [1, 2])
    assert not json_equal(1, True)
    assert not json_equal("1", 1)
