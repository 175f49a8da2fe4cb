"""set_data's request bodies, driven as the clients drive them but without I/O (``_request_bodies.py``)."""

from __future__ import annotations

import pytest

from data_interaction_client import Tag
from data_interaction_client._request_bodies import RequestBodies


def tags_of(*sizes: int) -> list[Tag]:
    tags = [Tag(f"t{n}") for n in range(len(sizes))]
    for tag, size in zip(tags, sizes, strict=True):
        tag.update([{"x": x, "y": 1} for x in range(1, size + 1)])
    return tags


def shape(body: dict[str, object]) -> list[tuple[str, list[int]]]:
    """A body as (tag id, xs) pairs."""
    return [(part["tagId"], [p["x"] for p in part["data"]]) for part in body["data"]]  # type: ignore[attr-defined,index]


def test_bodies_come_in_order_and_accepted_points_leave_their_buffers() -> None:
    tags = tags_of(3, 2)
    with RequestBodies(tags, max_points=2) as bodies:
        seen = []
        for body in bodies:
            seen.append(shape(body))
            bodies.accepted({"error": {"id": 0}})
    assert seen == [[("t0", [1, 2])], [("t0", [3]), ("t1", [1])], [("t1", [2])]]
    assert (bodies.total, bodies.points_accepted) == (5, 5)
    assert [len(tag) for tag in tags] == [0, 0]


def test_a_split_body_comes_again_as_its_halves_first_half_first() -> None:
    tags = tags_of(3, 2)
    with RequestBodies(tags, max_points=10) as bodies:
        seen = []
        for body in bodies:
            seen.append(shape(body))
            if len(seen) == 1:
                assert bodies.points_posted == 5
                assert bodies.split()
            else:
                bodies.accepted({})
    assert seen == [
        [("t0", [1, 2, 3]), ("t1", [1, 2])],
        [("t0", [1, 2])],
        [("t0", [3]), ("t1", [1, 2])],
    ]
    assert [len(tag) for tag in tags] == [0, 0]


def give_up_on_the_second(bodies: RequestBodies) -> None:
    """A driver whose second body is refused for good: it stops, as the clients raise the error."""
    with bodies:
        for _ in bodies:
            if bodies.points_accepted == 0:
                bodies.accepted({})
                continue
            assert bodies.points_posted == 1
            assert not bodies.split()
            raise RuntimeError("the driver gives up: the error goes to the caller")


def test_a_body_of_one_point_is_not_split_and_what_was_not_accepted_goes_back() -> None:
    tags = tags_of(2)
    bodies = RequestBodies(tags, max_points=1)
    with pytest.raises(RuntimeError, match="gives up"):
        give_up_on_the_second(bodies)
    assert bodies.points_accepted == 1
    assert [point["x"] for point in tags[0].points] == [2]  # the point refused stays buffered


def test_a_body_without_an_outcome_is_a_driver_error() -> None:
    with RequestBodies(tags_of(2), max_points=1) as bodies:
        iterator = iter(bodies)
        next(iterator)
        with pytest.raises(AssertionError, match="accepted or split"):
            next(iterator)
