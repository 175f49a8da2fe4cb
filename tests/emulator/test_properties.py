"""Property-based tests: the fast validation equals jsonschema; the history rules hold on any data."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_interaction_client.emulator import create_app
from data_interaction_client.emulator._spec import schema_pattern, schema_validator
from data_interaction_client.emulator._timestamps import TimestampError, parse_iso
from data_interaction_client.emulator._validation import (
    RequestError,
    check_set_envelope,
    point_error,
    set_rows,
)

from .conftest import NOW, STEP_CONFIG, Api

pytestmark = pytest.mark.slow  # property sweeps of the platform's rules: about 5 s of CPU

MAX_X = 9007199254740991
EXAMPLES = settings(max_examples=50, deadline=None)

iso_strings = st.from_regex(schema_pattern("Timestamp"), fullmatch=False) | st.sampled_from(
    ["2018-06-26", "2018-06-26 10:15:00", "2018-06-26T10:15:00.5+03:00", "2018-13-01", "2018-06-26\n", "x"]
)
timestamps = st.one_of(
    st.integers(min_value=-5, max_value=MAX_X + 5),
    st.sampled_from([0, MAX_X, MAX_X + 1, -1, 1.0, 2.5, float(MAX_X), 1e300, True, False, None]),
    iso_strings,
    st.text(max_size=5),
)
qualities = st.one_of(
    st.none(),
    st.integers(min_value=-(2**31) - 2, max_value=2**31 + 1),
    st.sampled_from([0, 100, 102, 1.0, 1.5, True, "0", 2**31 - 1, -(2**31)]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)


@st.composite
def points(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    point: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        point["x"] = draw(timestamps)
    if draw(st.integers(0, 9)):
        point["y"] = draw(json_values)
    if draw(st.booleans()):
        point["q"] = draw(qualities)
    if draw(st.integers(0, 9)) == 0:
        point[draw(st.sampled_from(["z", "X", ""]))] = 1
    return point


tag_ids = st.one_of(
    st.text(max_size=4),
    st.fixed_dictionaries({"tagName": st.text(max_size=3), "parentObjectId": st.text(max_size=3)}),
    st.fixed_dictionaries({"tagName": st.text(max_size=3)}),
    st.integers(),
)


@st.composite
def set_bodies(draw: st.DrawFn) -> Any:
    items = []
    for _ in range(draw(st.integers(0, 3))):
        item: dict[str, Any] = {}
        if draw(st.integers(0, 9)):
            item["tagId"] = draw(tag_ids)
        if draw(st.integers(0, 9)):
            item["data"] = (
                draw(st.lists(points(), max_size=4)) if draw(st.integers(0, 9)) else draw(json_values)
            )
        if draw(st.integers(0, 9)) == 0:
            item["extra"] = 1
        items.append(item if draw(st.integers(0, 19)) else draw(json_values))
    body: dict[str, Any] = {"data": items}
    if draw(st.integers(0, 9)) == 0:
        body["extra"] = 1
    return body if draw(st.integers(0, 19)) else draw(json_values)


def semantically_valid(point: dict[str, Any]) -> bool:
    if not isinstance(point["x"], str):
        return True
    try:
        parse_iso(point["x"])
    except TimestampError:
        return False
    return True


@EXAMPLES
@given(points())
def test_point_check_equals_jsonschema(point: Any) -> None:
    assert (point_error(point) is None) == schema_validator("Point").is_valid(point)


@settings(max_examples=150, deadline=None)
@given(set_bodies())
def test_set_validation_equals_jsonschema_plus_dates(body: Any) -> None:
    expected = schema_validator("SetDataRequest").is_valid(body) and all(
        semantically_valid(point) for item in body["data"] for point in item["data"]
    )
    message = None
    try:
        items = check_set_envelope(body)
        for index, item in enumerate(items):
            set_rows(item["data"], index)
    except RequestError as exc:
        message = exc.message
    assert (message is None) == expected, message
    assert message is None or message.startswith("body")


# --- history properties, on the in-process app -------------------------------------------------

xs = st.integers(min_value=0, max_value=2000)
stored = st.lists(
    st.tuples(xs, st.one_of(st.integers(-100, 100), st.floats(-1e6, 1e6), st.text(max_size=2), st.none())),
    max_size=30,
)


def fresh_api() -> Api:
    return Api(create_app(config=STEP_CONFIG, clock=lambda: NOW))


def write(api: Api, tag: str, rows: list[tuple[int, Any]]) -> dict[int, Any]:
    model: dict[int, Any] = {}
    for start in range(0, len(rows), 7):  # several requests, so that writes overwrite across requests too
        chunk = rows[start : start + 7]
        api.set(tag, [{"x": x, "y": y} for x, y in chunk])
        model.update(chunk)
    return model


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if draw(st.booleans()):
        query["from"] = draw(xs)
    if draw(st.booleans()):
        query["to"] = draw(xs)
    if draw(st.booleans()):
        query["timeStep"] = draw(st.integers(1, 500))
        query.setdefault("to", draw(xs))  # a grid up to "now" would be capped: that is another test
    if draw(st.booleans()):
        query["maxCount"] = draw(st.integers(1, 10))
    if draw(st.booleans()):
        query["actual"] = draw(st.booleans())
    return query


@EXAMPLES
@given(stored, queries(), st.sampled_from(["plain", "step"]))
def test_answers_are_sorted_and_never_exceed_max_count(
    rows: list[tuple[int, Any]], query: dict[str, Any], tag: str
) -> None:
    api = fresh_api()
    try:
        write(api, tag, rows)
        item = api.get(tagId=tag, **query)["data"][0]
        answer = [point["x"] for point in item["data"]]
        assert answer == sorted(set(answer))
        if "maxCount" in query:
            assert len(answer) <= query["maxCount"]
        else:
            assert "exceed" not in item  # the grid cap is out of reach: "to" <= 2000
    finally:
        api.close()


@EXAMPLES
@given(stored, xs, xs)
def test_actual_returns_exactly_the_stored_points_in_the_period(
    rows: list[tuple[int, Any]], start: int, end: int
) -> None:
    api = fresh_api()
    try:
        model = write(api, "plain", rows)
        answer = api.points("plain", **{"from": start, "to": end, "actual": True})
        expected = [{"x": x, "y": model[x], "q": None} for x in sorted(model) if start <= x <= end]
        assert answer == expected
    finally:
        api.close()


@EXAMPLES
@given(stored, xs, st.integers(0, 3000), st.integers(1, 400))
def test_time_step_grid_is_exact(rows: list[tuple[int, Any]], start: int, length: int, step: int) -> None:
    api = fresh_api()
    try:
        write(api, "plain", rows)
        answer = api.points("plain", **{"from": start, "to": start + length, "timeStep": step})
        assert [point["x"] for point in answer] == list(range(start, start + length + 1, step))
    finally:
        api.close()


@EXAMPLES
@given(stored)
def test_last_write_wins(rows: list[tuple[int, Any]]) -> None:
    api = fresh_api()
    try:
        model = write(api, "plain", rows)
        assert api.store.points('"plain"') == [{"x": x, "y": model[x], "q": None} for x in sorted(model)]
    finally:
        api.close()


@EXAMPLES
@given(stored, st.data())
def test_a_rejected_request_stores_nothing(rows: list[tuple[int, Any]], data: st.DataObject) -> None:
    api = fresh_api()
    try:
        model = write(api, "plain", rows)
        points = [{"x": x, "y": y} for x, y in rows] or [{"x": 1, "y": 1}]
        bad = data.draw(
            st.sampled_from(
                [{"x": -1, "y": 1}, {"x": "2018-02-30", "y": 1}, {"y": 1}, {"x": 1, "y": 1, "q": "0"}]
            )
        )
        points.insert(data.draw(st.integers(0, len(points))), bad)
        status, body = api.post(
            "/smt/data/set",
            {"data": [{"tagId": "other", "data": [{"x": 0, "y": 0}]}, {"tagId": "plain", "data": points}]},
        )
        assert status == 422
        assert body["error"]["message"].startswith("body.data[1].data[")
        assert api.store.points('"plain"') == [{"x": x, "y": model[x], "q": None} for x in sorted(model)]
        assert api.store.points('"other"') == []
    finally:
        api.close()
