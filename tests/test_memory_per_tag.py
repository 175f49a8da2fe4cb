"""What each tag costs in memory: small encoded values hold their own bytes, shared sets are shared.

With one point per tag per commit (a connector of 100,000 tags polled every second), every tag's
encoded points and watermark are a few bytes; held in orjson's 4 KiB output buffers they made
800 MB of a process that needed under 300.
"""

from __future__ import annotations

import gc
import tracemalloc

import orjson

from data_interaction_client import Tag
from data_interaction_client._points import PointRules
from data_interaction_client._spool.contract import Record
from data_interaction_client._spool.record_format import parts_of, tight
from data_interaction_client._writer.records import encode_parts, encode_records

X = 1_600_000_000_000_000
TAGS = 1_000


def _retained(make: object) -> float:
    """Bytes per item still allocated after ``make()`` built a list of ``TAGS`` items."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = make()  # type: ignore[operator]
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(kept) == TAGS
    return size / TAGS


def test_a_small_encoded_value_holds_only_its_bytes() -> None:
    assert tight(b"[1]") == b"[1]"
    big = orjson.dumps(list(range(2000)))
    assert tight(big) is big  # no copy where the buffer is not much larger than the bytes
    assert _retained(lambda: [tight(orjson.dumps(X + i)) for i in range(TAGS)]) < 200


def test_the_points_of_one_tag_encoded_for_the_intake_hold_only_their_bytes() -> None:
    per_tag = _retained(
        lambda: [encode_parts([{"x": X + i, "y": 1.5, "q": None}], 20_000)[0][0] for i in range(TAGS)]
    )
    assert per_tag < 600  # an EncodedPart of one point: its count, its array and its last x


def test_records_and_their_parts_of_many_one_point_tags_hold_only_their_bytes() -> None:
    groups = [(f"t{i}", [{"x": X, "y": 1.5, "q": None}]) for i in range(TAGS)]
    (record,), _ = encode_records(groups, 20_000)
    stored = Record(1, 0.0, record.points, record.tags, record.data)
    assert _retained(lambda: parts_of(stored)) < 400


def test_tags_of_one_kind_share_the_set_of_their_plain_value_types() -> None:
    first, second = Tag("a", {"smtTagValueTypeCode": 1}), Tag("b", {"smtTagValueTypeCode": 1})
    assert first._rules.fast_y is second._rules.fast_y
    assert PointRules("c").fast_y is PointRules("d").fast_y
    assert float in first._rules.fast_y
    assert str not in first._rules.fast_y
