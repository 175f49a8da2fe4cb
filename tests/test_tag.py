"""Tag: ids, attributes, and checking points when they are given."""

from __future__ import annotations

import functools
import math
import threading
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_interaction_client import (
    InvalidInputError,
    InvalidPointError,
    Tag,
    TagAttributes,
    TagPath,
    TimestampUnitWarning,
    ValueType,
)
from data_interaction_client._constants import MAX_QUALITY, MAX_TIMESTAMP, MIN_QUALITY, SMALL_TIMESTAMP
from data_interaction_client._points import point


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
    tag.add_data(1, 10, q=0)
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


def test_a_point_without_q_has_none_whichever_way_it_is_given() -> None:
    given = Tag("t")
    given.add_data(1, 1.5)
    given.extend([(2, 1.5), {"x": 3, "y": 1.5}])
    given.extend_columns([4], [1.5])
    given.extend_columns(np.array([5]), np.array([1.5]))
    assert [point.get("q") for point in given.points] == [None] * 5


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
    from data_interaction_client._http.base_client import encode

    with pytest.raises(InvalidInputError, match="cannot be written as JSON"):
        encode({"y": object()})


# --- the buffer protocol of whoever sends a tag: _claim, _settle, _restore --------------------------


def test_a_claim_takes_the_points_and_refuses_a_second_claim() -> None:
    from data_interaction_client import TagBusyError

    tag = Tag("t")
    assert tag._claim() == []  # nothing buffered: nothing claimed
    tag.update([(1, 1), (2, 2)])
    claimed = tag._claim()
    assert [p["x"] for p in claimed] == [1, 2]
    with pytest.raises(TagBusyError, match="tag 't' is already being sent"):
        tag._claim()
    tag.add_data(3, 3)
    assert [p["x"] for p in tag.points] == [1, 2, 3]  # claimed points are still the tag's
    assert len(tag) == 3
    tag._settle(1)
    assert [p["x"] for p in tag.points] == [2, 3]  # the unaccepted one first, then the one added since
    assert [p["x"] for p in tag._claim()] == [2, 3]  # settled: claimable again
    tag._settle(2)
    assert tag.points == []


def test_restore_gives_every_claimed_point_back_before_those_added_since() -> None:
    tag = Tag("t")
    tag.update([(1, 1), (2, 2)])
    tag._claim()
    tag.extend([(3, 3)])
    tag._restore()
    assert [p["x"] for p in tag.points] == [1, 2, 3]


@pytest.mark.parametrize("replace", ["update", "update_columns", "clear_data"])
def test_a_buffer_replaced_during_a_claim_gets_nothing_back(replace: str) -> None:
    tag = Tag("t")
    tag.update([(1, 1), (2, 2)])
    tag._claim()
    if replace == "clear_data":
        tag.clear_data()
    elif replace == "update":
        tag.update([(9, 9)])
    else:
        tag.update_columns([9], [9])
    tag._restore()
    assert [p["x"] for p in tag.points] == ([] if replace == "clear_data" else [9])


def test_set_data_refuses_a_tag_claimed_elsewhere() -> None:
    import httpx

    from data_interaction_client import DataInteractionClient, TagBusyError

    tag, other = Tag("t"), Tag("o")
    tag.add_data(1, 1)
    other.add_data(1, 1)
    tag._claim()
    with (
        DataInteractionClient(
            "http://p.test", transport=httpx.MockTransport(lambda r: httpx.Response(500))
        ) as c,
        pytest.raises(TagBusyError),
    ):
        c.set_data([other, tag])
    assert len(other) == 1
    assert other._claim()  # the refused call gave its claim on `other` back


# --- values checked against the tag's value type; integer timestamps in other units -----------------

B = 1_530_008_100_000_000


def typed(code: int, **options: object) -> Tag:
    return Tag("t", {"smtTagValueTypeCode": code}, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "good", "bad"),
    [
        (0, [1, -5, None, np.int64(3)], [1.5, "1", True, {"a": 1}]),
        (1, [1.5, 2, None, np.float32(0.5)], ["1.5", True, [1.0]]),
        (2, ["on", "", None], [1, 1.5, False, {"a": "b"}]),
        (3, [0, 2, True, None], [1.5, "open", [1]]),
        (4, [1, 1.5, "x", True, None, {"a": [1, "b"]}, [1, 2]], []),
    ],
)
def test_values_are_checked_against_the_value_type(code: int, good: list[object], bad: list[object]) -> None:
    tag = typed(code)
    for value in good:  # every entry point takes them
        tag.add_data(B, value)
        tag.update([{"x": B, "y": value}])
        tag.extend([(B, value, 0)])
        tag.update_columns([B], [value])
    for value in bad:
        fills = [
            functools.partial(tag.add_data, B, value),
            functools.partial(tag.update, [{"x": B, "y": None}, {"x": B + 1, "y": value}]),
            functools.partial(tag.update_columns, [B, B + 1], [None, value]),
        ]
        for fill in fills:
            with pytest.raises(InvalidPointError, match="the tag holds ") as caught:
                fill()
            assert (caught.value.tag_id, caught.value.field) == ("t", "y")
            assert caught.value.index in (None, 1)
            assert f"smtTagValueTypeCode {code}" in str(caught.value)
        typed(code, check_values=False).add_data(B, value)  # the option turns the check off


def test_an_integer_tag_takes_integral_floats_as_integers() -> None:
    tag = typed(0)
    tag.update_columns(np.array([B, B + 1]), np.array([1.0, 2.0]))
    assert [(p["y"], type(p["y"])) for p in tag.points] == [(1, int), (2, int)]
    tag.add_data(B, 3.0)
    assert tag.points[-1]["y"] == 3
    assert type(tag.points[-1]["y"]) is int
    with pytest.raises(InvalidPointError, match=r"not float: 2\.5"):
        tag.update_columns(np.array([B]), np.array([2.5]))


@pytest.mark.parametrize(
    ("precision", "given", "micros"),
    [("s", 1_530_008_100, B), ("ms", 1_530_008_100_000, B), ("us", B, B), ("ns", B * 1000 + 999, B)],
)
def test_integer_timestamps_in_the_tags_precision(precision: str, given: int, micros: int) -> None:
    import warnings

    tag = Tag("t", precision=precision)  # type: ignore[arg-type]
    assert tag.precision == precision
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a unit given: no unit warning
        tag.add_data(given, 1)
        tag.extend([{"x": given, "y": 2}, (given, 3), (np.int64(given), 4)])
        tag.extend_columns([given], [5])
        tag.extend_columns(np.array([given]), np.array([6]))
        tag.extend([("2018-06-26 10:15:00", 7)])  # dates are dates
    assert [p["x"] for p in tag.points] == [micros] * 6 + ["2018-06-26 10:15:00"]


def test_a_bad_precision_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="precision is the unit of integer timestamps"):
        Tag("t", precision="sec")  # type: ignore[arg-type]


def test_the_unit_warning_comes_once_per_tag_object() -> None:
    import warnings

    from data_interaction_client import TimestampUnitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = Tag("same"), Tag("same")
        first.add_data(1_530_008_100, 1)
        first.add_data(1_530_008_100, 1)
        second.add_data(1_530_008_100, 1)  # another object of the same tag: warned again
    assert [w.category for w in caught] == [TimestampUnitWarning] * 2


def test_data_is_the_buffer_or_none_as_in_the_original_client() -> None:
    tag = Tag("t")
    assert tag.data is None
    tag.add_data(B, 1)
    assert tag.data == [{"x": B, "y": 1, "q": None}]


def test_the_clients_options_reach_its_tags_and_writers() -> None:
    import httpx

    from data_interaction_client import DataInteractionClient

    with DataInteractionClient(
        "http://p.test", precision="ms", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    ) as client:
        tags = client.create_tags([{"id": "s", "attributes": {"smtTagValueTypeCode": 2}}, {"id": "any"}])
        assert [tag.precision for tag in tags] == ["ms", "ms"]
        tags[0].add_data(1_530_008_100_000, "on")
        assert tags[0].points[0]["x"] == B
        with pytest.raises(InvalidPointError, match="the tag holds strings"):
            tags[0].add_data(B // 1000, 1.5)
        tags[1].add_data(B // 1000, 1.5)
        writer = client.writer(spool=None, close_timeout=0.1)
        try:
            with pytest.raises(InvalidPointError, match="the tag holds strings"):
                writer.write("s", B // 1000, 1.5)  # by id: the value type create_tags was given
            with pytest.raises(InvalidPointError, match="point 1, field 'y': the tag holds strings"):
                writer.write_points(tags[0], [(B // 1000, "a"), (B // 1000, 2)])
            writer.write("s", B // 1000, "off")
        finally:
            writer.close()
    with DataInteractionClient("http://p.test", check_values=False) as client:
        client.create_tags([{"id": "s", "attributes": {"smtTagValueTypeCode": 2}}])[0].add_data(B, 1.5)


# --- the fast paths agree with the complete checks ---------------------------------------------------

_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**65), max_value=2**65),
    st.sampled_from([math.nan, math.inf, -(2**63) - 1, 2**64, 2**64 - 1, "\ud800", "é"]),
    st.text(max_size=4),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
_TIMESTAMPS = st.one_of(
    st.integers(min_value=SMALL_TIMESTAMP - 2, max_value=MAX_TIMESTAMP + 2),
    st.sampled_from([SMALL_TIMESTAMP, MAX_TIMESTAMP, MAX_TIMESTAMP + 1, 10**10, -1, 0]),
    st.sampled_from([True, 1.5, "2018-06-26 10:15:00", "nonsense"]),
)
_QUALITIES = st.one_of(
    st.none(),
    st.integers(min_value=MIN_QUALITY - 2, max_value=MAX_QUALITY + 2),
    st.sampled_from([MIN_QUALITY, MAX_QUALITY, MAX_QUALITY + 1, True, 1.0]),
)


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except InvalidPointError as exc:
        return ("refused", str(exc))


@pytest.mark.parametrize("value_type", [None, 0, 1, 2, 3, 4])
@settings(max_examples=300, deadline=None)
@given(x=_TIMESTAMPS, y=_VALUES, q=_QUALITIES)
def test_add_data_keeps_what_the_complete_check_keeps(value_type: int | None, x: Any, y: Any, q: Any) -> None:
    # add_data checks the common case inline; point() is the complete check. They agree on every
    # point: the same wire point kept, or the same refusal.
    attributes = None if value_type is None else {"smtTagValueTypeCode": value_type}
    tag = Tag("t", attributes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimestampUnitWarning)
        expected = _outcome(lambda: point(tag._rules, x, y, q))
        got = _outcome(lambda: tag.add_data(x, y, q))
    if isinstance(expected, tuple):
        assert got == expected
        assert tag.points == []
    else:
        assert got is None
        assert tag.points == [expected]
        assert [type(v) for v in tag.points[0].values()] == [type(v) for v in expected.values()]


def test_claim_tags_takes_every_buffer_at_once_and_settle_tags_gives_back_the_rest() -> None:
    from data_interaction_client._tag import claim_tags, settle_tags

    tags = [Tag(f"t{n}") for n in range(4)]
    for n, tag in enumerate(tags[:3]):
        tag.update([(x, x) for x in range(n + 1)])
    claimed, buffers = claim_tags(tags)
    assert claimed == tags[:3]  # a tag without points is not claimed
    assert [len(buffer) for buffer in buffers] == [1, 2, 3]
    tags[2].add_data(10, 10)
    settle_tags(claimed, [1, 1, 0])
    assert [[p["x"] for p in tag.points] for tag in tags] == [[], [1], [0, 1, 2, 10], []]
    claimed, _ = claim_tags(tags)
    settle_tags(claimed, None)  # every point went
    assert [len(tag) for tag in tags] == [0, 0, 0, 0]
    assert [tag._claim() for tag in tags] == [[], [], [], []]  # settled: claimable again


def test_claim_tags_claims_none_when_one_tag_is_busy() -> None:
    from data_interaction_client import TagBusyError
    from data_interaction_client._tag import claim_tags

    tags = [Tag(f"t{n}") for n in range(3)]
    for tag in tags:
        tag.add_data(1, 1)
    tags[2]._claim()
    with pytest.raises(TagBusyError, match="tag 't2' is already being sent"):
        claim_tags(tags)
    assert [len(tag._claim()) for tag in tags[:2]] == [1, 1]  # the first two were given back


def test_claims_and_additions_from_threads_lose_no_point() -> None:
    from data_interaction_client._tag import claim_tags, settle_tags

    tags = [Tag(f"t{n}") for n in range(20)]
    sent: list[int] = []
    stop = threading.Event()

    def fill(offset: int) -> None:
        for i in range(3000):
            tags[i % len(tags)].add_data(offset + i, i)

    def send() -> None:
        while not stop.is_set():
            claimed, buffers = claim_tags(tags)
            sent.extend(p["x"] for buffer in buffers for p in buffer)
            settle_tags(claimed, None)

    sender = threading.Thread(target=send)
    sender.start()
    fillers = [threading.Thread(target=fill, args=(n * 10_000,)) for n in range(3)]
    for thread in fillers:
        thread.start()
    for thread in fillers:
        thread.join()
    stop.set()
    sender.join()
    left = [p["x"] for tag in tags for p in tag.points]
    assert sorted(sent + left) == sorted(n * 10_000 + i for n in range(3) for i in range(3000))
