"""A very large send: it works, in order, and the bodies held at once are bounded by the chunk size."""

from __future__ import annotations

import tracemalloc

import httpx
import orjson
import pytest

from data_interaction_client import DataInteractionClient, Tag

from .conftest import OK, json_response

TOTAL = 10_000_000
CHUNK = 100_000


@pytest.mark.slow
def test_ten_million_points_in_bounded_bodies() -> None:
    sizes: list[int] = []
    firsts: list[int] = []
    held: list[int] = []  # memory the send has allocated and not freed, as each request arrives

    def platform(request: httpx.Request) -> httpx.Response:
        held.append(tracemalloc.get_traced_memory()[0])
        sizes.append(len(request.content))
        if len(sizes) % 25 == 1:  # decode a few bodies in full: order and shape
            body = orjson.loads(request.content)
            firsts.append(body["data"][0]["data"][0]["x"])
        return json_response(OK)

    # One shared point object keeps the test's own memory small; the SDK sends it 10,000,000 times.
    tags = [Tag(f"t{n}") for n in range(4)]
    for n, tag in enumerate(tags):
        tag.update([{"x": n, "y": 1.5, "q": 0}] * (TOTAL // 4))

    client = DataInteractionClient(
        "http://p.test", transport=httpx.MockTransport(platform), max_points_per_request=CHUNK
    )
    tracemalloc.start()
    try:
        sent = client.set_data(tags)
    finally:
        tracemalloc.stop()
        client.close()

    assert sent == TOTAL
    assert len(sizes) == TOTAL // CHUNK
    assert all(len(tag) == 0 for tag in tags)
    assert firsts == [0, 1, 2, 3]  # requests go tag after tag, in order
    largest, total = max(sizes), sum(sizes)
    # While requests go out, what the send holds does not grow with it: each body is freed once its
    # request is done (orjson's buffer for one body is a few times the body's length).
    assert max(held) < held[0] + 2 * largest, (held[0], max(held), largest)
    assert max(held) < total / 10, (max(held), total)
