"""iter_history: a long period read in windows equals one read, point for point, with bounded memory."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from bisect import bisect_left, bisect_right
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import (
    AsyncDataInteractionClient,
    DataInteractionClient,
    InvalidInputError,
    InvalidResponseError,
    Point,
    Tag,
    TagPath,
)
from data_interaction_client._paging import HistoryPager
from data_interaction_client.emulator import RunningPlatform

B = 1_600_000_000_000_000
S = 1_000_000


@pytest.fixture(scope="module")
def filled(reference_platform: RunningPlatform) -> RunningPlatform:
    """Three tags of different densities, points on window boundaries, nulls and quality codes."""
    with DataInteractionClient(reference_platform.url) as client:
        dense, sparse, path = Tag("dense"), Tag("sparse"), Tag(TagPath("p", "o"))
        dense.update([(B + i * S, i * 0.25, 0 if i % 11 else 102) for i in range(3000)])
        sparse.update(
            [(B + i * 600 * S, None if i % 5 == 0 else i, 100 if i % 5 == 0 else None) for i in range(8)]
        )
        path.update([(B + i * 7 * S, f"s{i}") for i in range(400)])
        client.set_data([dense, sparse, path])
    return reference_platform


IDS: list[Any] = ["dense", "sparse", TagPath("p", "o")]


def _joined(pages: list[list[Any]]) -> list[list[Point]]:
    return [[point for page in pages for point in page[i].points] for i in range(len(IDS))]


@pytest.mark.parametrize(
    ("window", "page_size"),
    [(timedelta(minutes=2), 600), (timedelta(days=1), 100_000), (S, 1500)],
)
def test_a_paged_read_equals_a_single_read(filled: RunningPlatform, window: Any, page_size: int) -> None:
    with DataInteractionClient(filled.url) as client:
        req = client.create_request_data(IDS, from_time=B, to_time=B + 4000 * S, actual=True)
        single = client.get_data(req)
        pages = list(client.iter_history(req, window=window, page_size=page_size))
    assert [len(h) for h in single] == [3000, 7, 400]
    assert _joined(pages) == [h.points for h in single]
    for page in pages:
        assert [h.tag_id for h in page] == IDS
        assert not any(h.exceed for h in page)
        assert sum(len(h) for h in page) <= max(page_size, 2 * len(IDS))
    assert [[p.to_dict() for p in pts] for pts in _joined(pages)][1][:2] == [
        {"x": B, "y": None, "q": 100},
        {"x": B + 600 * S, "y": 1, "q": None},
    ]


def test_iso_period_and_value_filter(filled: RunningPlatform) -> None:
    with DataInteractionClient(filled.url) as client:
        req = client.create_request_data(
            "dense", from_time="2020-09-13T12:26:40Z", to_time="2020-09-13 12:36:40", value=[0.25, 5.0]
        )
        pages = list(client.iter_history(req, window=S * 100, page_size=2))
        assert [p.to_dict() for page in pages for p in page[0].points] == [
            {"x": B + S, "y": 0.25, "q": 0},
            {"x": B + 20 * S, "y": 5.0, "q": 0},
        ]


def test_async_twin_reads_the_same(filled: RunningPlatform) -> None:
    async def read() -> list[list[Any]]:
        async with AsyncDataInteractionClient(filled.url) as client:
            req = client.create_request_data(IDS, from_time=B, to_time=B + 4000 * S)
            return [page async for page in client.iter_history(req, window=S * 30, page_size=900)]

    with DataInteractionClient(filled.url) as client:
        single = client.get_data(
            client.create_request_data(IDS, from_time=B, to_time=B + 4000 * S, actual=True)
        )
    assert _joined(asyncio.run(read())) == [h.points for h in single]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"from_time": None}, "needs from_time"),
        ({"time_step": 10}, "time_step"),
        ({"max_count": 10}, "page_size="),
        ({"format_param": True}, "format_param"),
        ({"actual": False}, "stored values only"),
    ],
)
def test_requests_that_cannot_be_paged_are_refused_at_once(changes: dict[str, Any], message: str) -> None:
    client = DataInteractionClient("http://127.0.0.1:9")
    req = client.create_request_data("a", from_time=B, to_time=B + S)
    req.update(**changes)
    with pytest.raises(InvalidInputError, match=message):
        client.iter_history(req)  # refused when called, before any request


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window": 0}, "at least one microsecond"),
        ({"window": 1.5}, "timedelta or integer"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_bad_window_or_page_size(options: dict[str, Any], message: str) -> None:
    client = DataInteractionClient("http://127.0.0.1:9")
    with pytest.raises(InvalidInputError, match=message):
        client.iter_history(client.create_request_data("a", from_time=0), **options)
    with pytest.raises(InvalidInputError, match="RequestData"):
        client.iter_history({"tagId": "a"})  # type: ignore[arg-type]


# --- a scripted platform: to exclusive, thinning everything, odd answers, counting requests --------


class FakeStore:
    """Answers /smt/data/get from sorted points per tag, with the stored-value rules (actual)."""

    def __init__(self, points: dict[str, list[tuple[int, Any]]], *, to_exclusive: bool = False) -> None:
        self.points = points
        self.xs = {tag: [x for x, _ in pts] for tag, pts in points.items()}
        self.to_exclusive = to_exclusive
        self.requests: list[dict[str, Any]] = []
        self.always_exceed = False
        self.max_count = 10**9  # when a request has none

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        self.requests.append(body)
        data = []
        for tag in body["tagId"]:
            xs = self.xs[tag]
            low = bisect_left(xs, body["from"])
            high = bisect_left(xs, body["to"]) if self.to_exclusive else bisect_right(xs, body["to"])
            found = self.points[tag][low:high]
            limit = body.get("maxCount", self.max_count)
            exceed = self.always_exceed or len(found) > limit
            if exceed:
                found = found[:: max(1, len(found) // limit)][:limit]
            data.append({"tagId": tag, "exceed": exceed, "data": [{"x": x, "y": y} for x, y in found]})
        return httpx.Response(200, json={"error": {"id": 0, "message": ""}, "data": data})


def _client(store: FakeStore) -> DataInteractionClient:
    return DataInteractionClient("http://platform.test", transport=httpx.MockTransport(store), max_retries=0)


@pytest.mark.parametrize("to_exclusive", [False, True])
def test_no_point_missed_or_repeated_at_window_edges(to_exclusive: bool) -> None:
    # A point on every window edge: the next window starts at the previous `to`.
    points = {"a": [(B + i * 100, i) for i in range(1000)], "b": [(B + i * 250, -i) for i in range(400)]}
    store = FakeStore(points, to_exclusive=to_exclusive)
    with _client(store) as client:
        req = client.create_request_data(["a", "b"], from_time=B, to_time=B + 99_900)
        pages = list(client.iter_history(req, window=1000, page_size=40))
        single = client.get_data(client.create_request_data(["a", "b"], from_time=B, to_time=B + 99_900))
    got = {tag: [(p.x, p.y) for page in pages for p in page[i].points] for i, tag in enumerate("ab")}
    # What one read of the whole period gives (the last point is at `to`: in it unless `to` is exclusive).
    assert got == {tag: [(p.x, p.y) for p in single[i].points] for i, tag in enumerate("ab")}
    assert len(got["a"]) == (999 if to_exclusive else 1000)
    store.requests.pop()
    assert all(body["actual"] is True and body["maxCount"] == 20 for body in store.requests)


@pytest.mark.parametrize(
    ("window", "page_size"),
    [
        (10 * S, 50),
        pytest.param(S, 7, marks=pytest.mark.slow),  # hundreds of pages: about 1 s each
        pytest.param(3 * S, 3, marks=pytest.mark.slow),
        (86_400 * S, 10**6),
    ],
)
def test_small_pages_over_uneven_tags(window: int, page_size: int) -> None:
    points = {
        "dense": [(B + i * S, i) for i in range(3000)],
        "sparse": [(B + i * 600 * S, i) for i in range(8)],
        "p": [(B + i * 7 * S, i) for i in range(400)],
    }
    store = FakeStore(points)
    with _client(store) as client:
        req = client.create_request_data(list(points), from_time=B, to_time=B + 4000 * S)
        pages = list(client.iter_history(req, window=window, page_size=page_size))
    for index, (tag, expected) in enumerate(points.items()):
        assert [(p.x, p.y) for page in pages for p in page[index].points] == [
            pt for pt in expected if pt[0] <= B + 4000 * S
        ], tag
    per_tag = max(2, -(-page_size // 3))
    assert all(len(h) <= per_tag for page in pages for h in page)


def test_windows_grow_over_sparse_data_and_shrink_over_dense_data() -> None:
    points = {"a": [(B + i * 10 * S, i) for i in range(100)] + [(B + 1000 * S + i, i) for i in range(500)]}
    store = FakeStore(points)
    with _client(store) as client:
        req = client.create_request_data("a", from_time=B, to_time=B + 2000 * S)
        pages = list(client.iter_history(req, window=S, page_size=100))
    assert [p.x for page in pages for p in page[0].points] == [x for x, _ in points["a"]]
    lengths = [body["to"] - body["from"] for body in store.requests]
    assert max(lengths[:20]) > 100 * S  # doubled from one second over the sparse part
    assert any(b["to"] - b["from"] < 1000 for b in store.requests)  # cut down over the dense part
    assert len(store.requests) < 60  # a fixed one-second window would take 2000


def test_to_defaults_to_now_fixed_once() -> None:
    pager = HistoryPager(DataInteractionClient.create_request_data("a", from_time=0), now=5 * S, window=2 * S)
    windows = []
    while (request := pager.next_request()) is not None:
        windows.append((request.from_time, request.to_time))
        assert pager.take([_history("a", [])]) == []
    assert windows == [(0, 2 * S), (2 * S, 5 * S)]  # an empty page: the next window grows


def _history(tag: str, xs: list[int], exceed: bool = False) -> Any:
    from data_interaction_client import TagHistory

    return TagHistory(tag, [Point(x=x, y=1) for x in xs], exceed)


def test_a_platform_that_always_thins_is_reported() -> None:
    store = FakeStore({"a": [(B + i, i) for i in range(10)]})
    store.always_exceed = True
    with _client(store) as client, pytest.raises(InvalidResponseError, match="thinned the window"):
        list(client.iter_history(client.create_request_data("a", from_time=B, to_time=B + 9), window=100))


def test_odd_answers_are_reported() -> None:
    pager = HistoryPager(DataInteractionClient.create_request_data(["a", "b"], from_time=0, to_time=10))
    pager.next_request()
    with pytest.raises(InvalidResponseError, match="asked for 2 tags"):
        pager.take([_history("a", [1])])
    from data_interaction_client import TagHistory

    with pytest.raises(InvalidResponseError, match="ISO timestamps"):
        pager.take([TagHistory("a", [Point(x="1970-01-01", y=1)], False), _history("b", [])])


def test_points_outside_the_window_are_dropped() -> None:
    pager = HistoryPager(DataInteractionClient.create_request_data("a", from_time=10, to_time=100), window=20)
    pager.next_request()  # [10, 30]
    page = pager.take([_history("a", [5, 10, 20, 30, 40])])
    assert page is not None
    assert [p.x for p in page[0].points] == [10, 20, 30]
    pager.next_request()  # [30, ...]: 30 was given already
    page = pager.take([_history("a", [30, 35])])
    assert page is not None
    assert [p.x for p in page[0].points] == [35]


@pytest.mark.slow
def test_memory_of_a_paged_export_stays_far_below_the_data() -> None:
    # 200,000 points made on the fly by the scripted platform: a single read holds them all, a paged
    # read holds one page. The ratio fails if paging ever keeps what it has given.
    count = 200_000
    points = {"a": [(B + i, i * 0.5) for i in range(count)]}
    store = FakeStore(points)

    def peak(run: Any) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            run()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    with _client(store) as client:
        req = client.create_request_data("a", from_time=B, to_time=B + count)

        def single() -> None:
            assert len(client.get_data(req)[0]) == count

        def paged() -> None:
            seen = 0
            for page in client.iter_history(req, window=5_000, page_size=5_000):
                seen += len(page[0])
            assert seen == count

        single_peak = peak(single)
        paged_peak = peak(paged)
    assert paged_peak * 8 < single_peak, (paged_peak, single_peak)


def test_pages_of_a_platform_answering_points_as_arrays(filled: RunningPlatform) -> None:
    # The platform family may answer points as [y, x, q] arrays: paging reads the same Points.
    with DataInteractionClient(filled.url) as client:
        req = client.create_request_data(IDS, from_time=B, to_time=B + 4000 * S, actual=True)
        single = client.get_data(req)
        filled.set_point_form("array")
        try:
            pages = list(client.iter_history(req, window=timedelta(minutes=5), page_size=900))
        finally:
            filled.set_point_form("object")
    assert _joined(pages) == [h.points for h in single]
