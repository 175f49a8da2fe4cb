"""The writer's record layout and its tag policies: pure functions, exact outputs."""

from __future__ import annotations

import orjson
import pytest

from data_interaction_client import InvalidPointError, TagAttributes, TagPath
from data_interaction_client._spool.contract import Record
from data_interaction_client._spool.record_format import RecordError, decode_points, parts_of
from data_interaction_client._writer.policies import TagPolicy, make_policy
from data_interaction_client._writer.records import RequestBody, encode_records


def pts(start: int, count: int) -> list[dict[str, object]]:
    return [{"x": i, "y": i * 0.5, "q": 0} for i in range(start, start + count)]


def as_record(new: object, record_id: int = 1) -> Record:
    return Record(record_id, 0.0, new.points, new.tags, new.data)  # type: ignore[attr-defined]


def test_records_hold_at_most_batch_points_and_keep_the_order() -> None:
    path = {"tagName": "p", "parentObjectId": "b"}
    records, problems = encode_records([("a", pts(0, 7)), (path, pts(100, 4))], batch_points=5)
    assert problems == []
    assert [r.points for r in records] == [5, 5, 1]
    assert orjson.loads(records[1].tags) == [
        ["a", 2, len(orjson.dumps(pts(5, 2)))],
        [path, 3, len(orjson.dumps(pts(100, 3)))],
    ]
    decoded = [decode_points(r.tags, r.data) for r in records]
    assert decoded[0] == {"a": pts(0, 5)}
    assert decoded[1] == {"a": pts(5, 2), TagPath("p", "b"): pts(100, 3)}
    assert decoded[2] == {TagPath("p", "b"): pts(103, 1)}


def test_a_body_joins_the_records_one_item_per_tag_without_reencoding() -> None:
    records, _ = encode_records([("a", pts(0, 3)), ("b", pts(10, 2)), ("a", pts(3, 2))], batch_points=4)
    parts = [part for i, r in enumerate(records) for part in parts_of(as_record(r, i + 1))]
    piece = RequestBody(parts, as_record(records[0]))
    assert piece.points == 7
    body = orjson.loads(piece.join())
    assert body == {"data": [{"tagId": "a", "data": pts(0, 5)}, {"tagId": "b", "data": pts(10, 2)}]}
    assert piece.tag_ids() == ["a", "b"]


def test_a_point_changed_after_it_was_given_is_left_out_and_reported() -> None:
    points = pts(0, 3)
    points[1]["y"] = object()  # what a caller could do to a dict after handing it over
    records, problems = encode_records([("a", points)], batch_points=10)
    assert [(tag, index) for tag, index, _ in problems] == [("a", 1)]
    assert decode_points(records[0].tags, records[0].data) == {"a": [points[0], points[2]]}


def test_split_halves_parts_then_points_and_never_one_point() -> None:
    records, _ = encode_records([("a", pts(0, 3)), ("b", pts(10, 1))], batch_points=10)
    piece = RequestBody(parts_of(as_record(records[0])), as_record(records[0]))
    assert piece.split(points=False) is not None
    first, second = piece.split(points=True)  # type: ignore[misc]
    assert (first.points, second.points) == (3, 1)
    assert first.split(points=False) is None  # one part: only a 413 splits its points
    one, two = first.split(points=True)  # type: ignore[misc]
    assert orjson.loads(one.join())["data"] == [{"tagId": "a", "data": pts(0, 1)}]
    assert orjson.loads(two.join())["data"] == [{"tagId": "a", "data": pts(1, 2)}]
    assert second.split(points=True) is None
    entry = first.quarantine_entry("HTTP 422", 422)
    assert (entry.points, entry.status, entry.record_id) == (3, 422, 1)
    assert decode_points(entry.tags, entry.data) == {"a": pts(0, 3)}


@pytest.mark.parametrize(
    ("tags", "data", "problem"),
    [
        (b"not json", b"[]", "not JSON"),
        (b"[]", b"", "non-empty list"),
        (b'[["a", 1]]', b"[1]", "not \\[tag, points, bytes\\]"),
        (b"[[5, 1, 3]]", b"[1]", "no valid tag"),
        (b'[["a", 1, 9]]', b"[1]", "do not match"),
        (b'[["a", 1, 3]]', b"[1][2]", "does not match"),
    ],
)
def test_a_record_that_is_not_the_layout_is_refused(tags: bytes, data: bytes, problem: str) -> None:
    with pytest.raises(RecordError, match=problem):
        parts_of(Record(1, 0.0, 1, tags, data))


def test_decode_refuses_damaged_bytes() -> None:
    with pytest.raises(RecordError):
        decode_points(b"{", b"")
    with pytest.raises(RecordError, match="not JSON"):
        decode_points(b'[["a", 1, 3]]', b"[x]")


# --- policies --------------------------------------------------------------------------------------


def run(
    policy: TagPolicy, points: list[tuple[object, object, object]]
) -> list[tuple[object, object, object]]:
    kept = []
    for x, y, q in points:
        result = policy.apply("t", None, {"x": x, "y": y, "q": q})  # type: ignore[typeddict-item]
        if result is not None:
            kept.append((result["x"], result["y"], result.get("q")))
    return kept


def test_scale_multiplies_numbers_only_and_keeps_ints_whole() -> None:
    policy = make_policy(
        TagAttributes({"smtTagValueScale": 10}), scale=True, deadband=False, max_interval=None
    )
    assert policy is not None
    assert run(policy, [(1, 2, 0), (2, 0.25, None), (3, "on", 0), (4, True, 0), (5, None, 102)]) == [
        (1, 20, 0),
        (2, 2.5, None),
        (3, "on", 0),
        (4, True, 0),
        (5, None, 102),
    ]
    half = make_policy(
        TagAttributes({"smtTagValueScale": 0.5}), scale=True, deadband=False, max_interval=None
    )
    assert half is not None
    assert run(half, [(1, 3, 0)]) == [(1, 1.5, 0)]
    huge = make_policy(
        TagAttributes({"smtTagValueScale": 1e300}), scale=True, deadband=False, max_interval=None
    )
    assert huge is not None
    with pytest.raises(InvalidPointError, match="not a finite number") as info:
        huge.apply("t", 3, {"x": 1, "y": 1e300})
    assert (info.value.index, info.value.field) == (3, "y")


def test_deadband_keeps_first_quality_changes_big_moves_and_heartbeats() -> None:
    policy = make_policy(TagAttributes({"smtTagMaxDev": 0.5}), scale=False, deadband=True, max_interval=10.0)
    assert policy is not None
    second = 1_000_000
    points = [
        (0, 20.0, 0),  # first: kept
        (1 * second, 20.2, 0),  # within 0.5 of 20.0: dropped
        (2 * second, 20.4, None),  # still within (None and 0 are both good): dropped
        (3 * second, 20.5, 0),  # 0.5 from the last kept: kept
        (4 * second, 20.1, 0),  # 0.4 from 20.5: dropped (compared with the last kept, not the last seen)
        (5 * second, 20.1, 100),  # quality changes: kept
        (6 * second, 20.1, 0),  # and back: kept
        (15 * second, 20.2, 0),  # 9 s after the last kept: dropped
        (16 * second, 20.2, 0),  # 10 s: a heartbeat, kept
        (17 * second, 19.0, 0),  # a drop of 1.2: kept
    ]
    assert run(policy, points) == [points[i] for i in (0, 3, 5, 6, 8, 9)]


def test_deadband_scales_first_and_handles_text_and_iso_timestamps() -> None:
    attributes = TagAttributes({"smtTagValueScale": 2, "smtTagMaxDev": 1})
    policy = make_policy(attributes, scale=True, deadband=True, max_interval=60.0)
    assert policy is not None
    points = [
        ("2024-01-01 00:00:00", 1.0, 0),  # 2.0 kept
        ("2024-01-01 00:00:10", 1.4, 0),  # 2.8: dropped
        ("2024-01-01 00:00:20", 1.5, 0),  # 3.0: kept
        ("2024-01-01 00:01:20", 1.5, 0),  # 60 s later: heartbeat, kept
        ("2024-01-01 00:01:30", "off", 0),  # not a number: a change, kept
        ("2024-01-01 00:01:40", "off", 0),  # the same text: dropped
        ("2024-01-01T00:01:50+00:00", "on", 0),  # kept
    ]
    assert run(policy, points) == [
        ("2024-01-01 00:00:00", 2.0, 0),
        ("2024-01-01 00:00:20", 3.0, 0),
        ("2024-01-01 00:01:20", 3.0, 0),
        ("2024-01-01 00:01:30", "off", 0),
        ("2024-01-01T00:01:50+00:00", "on", 0),
    ]


def test_no_policy_without_attributes_or_when_it_changes_nothing() -> None:
    assert make_policy(None, scale=True, deadband=True, max_interval=1.0) is None
    assert (
        make_policy(TagAttributes({"smtTagValueScale": 1}), scale=True, deadband=True, max_interval=1.0)
        is None
    )
    attributes = TagAttributes({"smtTagValueScale": 3, "smtTagMaxDev": 0.5})
    assert make_policy(attributes, scale=False, deadband=False, max_interval=1.0) is None
    nan = TagAttributes({"smtTagMaxDev": float("nan")})
    assert make_policy(nan, scale=False, deadband=True, max_interval=1.0) is None
    policy = make_policy(attributes, scale=False, deadband=True, max_interval=None)
    assert policy is not None
    assert policy.heartbeat is None
    kept, dropped = policy.apply_many("t", [{"x": i, "y": 1.0} for i in range(5)])
    assert (kept, dropped) == ([{"x": 0, "y": 1.0}], 4)
