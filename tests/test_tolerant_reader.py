"""The SDK reads the platform as it really answers: points as objects or [y, x, q] arrays, `exceed`
left out when the request had no maxCount, and keys it does not know."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_interaction_client import DataInteractionClient, Point, TagHistory
from data_interaction_client._http import wire

from .conftest import OK, FakePlatform, json_response


def read(
    client: DataInteractionClient, fake_platform: FakePlatform, answer: dict[str, Any]
) -> list[TagHistory]:
    fake_platform.script = [json_response(answer)]
    return client.get_data(client.create_request_data(["a", "b"]))


def test_array_points_decode_into_the_same_points_as_objects(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    as_objects = read(
        client,
        fake_platform,
        {
            **OK,
            "data": [
                {"tagId": "a", "exceed": False, "data": [{"x": 1, "y": 1.5, "q": 0}, {"x": 2, "y": "s"}]}
            ],
        },
    )
    as_arrays = read(
        client,
        fake_platform,
        {**OK, "data": [{"tagId": "a", "exceed": False, "data": [[1.5, 1, 0], ["s", 2]]}]},
    )
    assert as_arrays == as_objects
    point = as_arrays[0].points[0]
    assert isinstance(point, Point)
    assert (point["x"], point["y"], point["q"]) == (1, 1.5, 0)
    assert repr(point) == "Point(x=1, y=1.5, q=0)"
    assert as_arrays[0].points[1].q is None


def test_each_tag_may_answer_in_its_own_form(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    result = read(
        client,
        fake_platform,
        {
            **OK,
            "data": [
                {"tagId": "a", "data": [[3, "2018-06-26 10:15:00", 192]]},
                {"tagId": "b", "data": [{"x": 5, "y": None}]},
                {"tagId": "c", "data": []},
            ],
        },
    )
    assert [h.points for h in result] == [
        [{"x": "2018-06-26 10:15:00", "y": 3, "q": 192}],
        [{"x": 5, "y": None}],
        [],
    ]


def test_exceed_left_out_reads_as_false(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    result = read(client, fake_platform, {**OK, "data": [{"tagId": "a", "data": [{"x": 1, "y": 2}]}]})
    assert result == [TagHistory(tag_id="a", points=[{"x": 1, "y": 2}], exceed=False)]


def test_unknown_keys_anywhere_are_ignored(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    result = read(
        client,
        fake_platform,
        {
            "error": {"id": 0, "message": "", "traceId": "abc"},
            "version": 2,
            "data": [
                {"tagId": "a", "exceed": True, "unit": "degC", "data": [{"x": 1, "y": 2, "q": 0, "src": "x"}]}
            ],
        },
    )
    assert result == [TagHistory(tag_id="a", points=[{"x": 1, "y": 2, "q": 0}], exceed=True)]
    fake_platform.script = [
        json_response({**OK, "attributes": {"smtActive": True, "newAttr": 1}, "tags": [], "more": [1]})
    ]
    assert client.connect("1").attributes["newAttr"] == 1
    # Items past [y, x, q] are read like unknown keys: ignored.
    assert read(client, fake_platform, {**OK, "data": [{"tagId": "a", "data": [[2, 1, 0, "new"]]}]})[
        0
    ].points == [{"x": 1, "y": 2, "q": 0}]
    fake_platform.script = [json_response({**OK, "accepted": 1})]
    client_tag = client.create_tags([{"id": "a"}])[0]
    client_tag.add_data(1_530_008_100_000_000, 1)
    assert client.set_data(client_tag) == 1


@pytest.mark.parametrize(
    ("points", "where"),
    [
        ([[1.5]], r"data\[0\]\.data\[0\]"),  # too short
        ([[1.5, 1.5]], r"data\[0\]\.data\[0\]\[1\]"),  # x not a timestamp
    ],
)
def test_a_bad_array_point_names_its_place(
    client: DataInteractionClient, fake_platform: FakePlatform, points: object, where: str
) -> None:
    from data_interaction_client import InvalidResponseError

    with pytest.raises(InvalidResponseError, match=where):
        read(client, fake_platform, {**OK, "data": [{"tagId": "a", "data": points}]})


# --- the one-pass decode of a whole answer agrees with the tag-by-tag one ---------------------------

_Y = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.dictionaries(st.text(max_size=2), st.integers(-(2**31), 2**31), max_size=2),
)
_POINT = st.tuples(st.integers(min_value=0, max_value=2**53), _Y, st.one_of(st.none(), st.integers(0, 255)))


def _written(point: tuple[int, Any, int | None], form: str, with_q: bool) -> Any:
    x, y, q = point
    if form == "arrays":
        return [y, x, q] if with_q else [y, x]
    return {"x": x, "y": y, "q": q} if with_q else {"x": x, "y": y}


@settings(max_examples=150, deadline=None)
@given(
    tags=st.lists(
        st.tuples(
            st.lists(_POINT, max_size=4),
            st.sampled_from(["objects", "arrays"]),
            st.booleans(),
            st.sampled_from([True, False, None]),
        ),
        max_size=4,
    ),
    bad=st.sampled_from([None, "x", "q", "tagId", "envelope"]),
)
def test_parse_get_in_one_pass_agrees_with_tag_by_tag(
    tags: list[tuple[list[tuple[int, Any, int | None]], str, bool, bool | None]], bad: str | None
) -> None:
    data: list[dict[str, Any]] = []
    for index, (points, form, with_q, exceed) in enumerate(tags):
        item: dict[str, Any] = {"tagId": f"t{index}", "data": [_written(p, form, with_q) for p in points]}
        if exceed is not None:
            item["exceed"] = exceed
        data.append(item)
    answer: dict[str, Any] = {"error": {"id": 0, "message": ""}, "data": data}
    if bad == "envelope":
        answer["error"]["id"] = 3
    elif bad == "tagId" and data:
        data[-1]["tagId"] = ""  # an id the SDK refuses
    elif bad is not None and data and data[-1]["data"]:
        last = data[-1]["data"][-1]
        if isinstance(last, dict):
            last[bad] = "nonsense" if bad == "q" else None
        else:
            last[1 if bad == "x" else 2 :] = ["nonsense"] if bad == "q" else [None]
    content = orjson.dumps(answer)

    def outcome(parse: Any) -> Any:
        try:
            return [(h.tag_id, [p.to_dict() for p in h.points], h.exceed) for h in parse(content)]
        except wire.ResponseShapeError as exc:
            return ("refused", str(exc))

    assert outcome(wire.parse_get) == outcome(wire._parse_get_by_tag)
