"""The benchmark's scenarios, each for the SDK and for the floor (bare ``httpx`` + ``orjson``).

Every function runs one timed pass against the server at ``url`` and returns the seconds it took;
data is built before the clock starts, and both sides get the same Python data.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from data_interaction_client import DataInteractionClient, Tag

BASE_X = 1_600_000_000_000_000
SET_PATH = "/smt/data/set"
GET_PATH = "/smt/data/get"


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is."""

    bulk_tags: int = 100
    bulk_points: int = 10_000
    live_sends: int = 300
    live_tags: int = 100
    read_tags: int = 100
    read_points: int = 10_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            bulk_tags=10, bulk_points=1_000, live_sends=20, live_tags=10, read_tags=10, read_points=1_000
        )


def bulk_points(sizes: Sizes) -> list[list[dict[str, Any]]]:
    """One list of point dicts per tag, as the original README gives them."""
    return [
        [{"x": BASE_X + i * 1000, "y": i * 0.5 + t, "q": 0} for i in range(sizes.bulk_points)]
        for t in range(sizes.bulk_tags)
    ]


class Bench:
    """The clients and data of one process: an SDK client and a bare ``httpx.Client``."""

    def __init__(self, url: str, sizes: Sizes) -> None:
        self.url = url
        self.sizes = sizes
        self.client = DataInteractionClient(url)
        self.http = httpx.Client(timeout=60.0)
        self._bulk: list[list[dict[str, Any]]] | None = None
        self._writer_points = 0
        # Open the connections before any clock starts.
        self.http.post(url + SET_PATH, content=b'{"data":[]}')
        warm = Tag("warm")
        warm.add_data(BASE_X, 0.0)
        self.client.set_data(warm)

    @property
    def bulk(self) -> list[list[dict[str, Any]]]:
        """The bulk scenario's points, built on first use (not in the other scenarios' processes)."""
        if self._bulk is None:
            self._bulk = bulk_points(self.sizes)
        return self._bulk

    def close(self) -> None:
        self.client.close()
        self.http.close()

    # --- bulk: 1,000,000 points given as dicts, sent at once ------------------------------------

    def sdk_bulk(self) -> float:
        tags = [Tag(f"t{t}") for t in range(len(self.bulk))]
        started = time.perf_counter()
        for tag, points in zip(tags, self.bulk, strict=True):
            tag.update(points)
        self.client.set_data(tags)
        return time.perf_counter() - started

    def floor_bulk(self) -> float:
        started = time.perf_counter()
        body = orjson.dumps({"data": [{"tagId": f"t{t}", "data": p} for t, p in enumerate(self.bulk)]})
        self.http.post(self.url + SET_PATH, content=body).raise_for_status()
        return time.perf_counter() - started

    # --- live: many small sends, one point per tag ----------------------------------------------

    def sdk_live(self) -> float:
        sizes = self.sizes
        tags = [Tag(f"t{t}") for t in range(sizes.live_tags)]
        started = time.perf_counter()
        for send in range(sizes.live_sends):
            x = BASE_X + send * 1_000_000
            for index, tag in enumerate(tags):
                tag.add_data(x, send * 0.5 + index)
            self.client.set_data(tags)
        return time.perf_counter() - started

    def floor_live(self) -> float:
        sizes = self.sizes
        ids = [f"t{t}" for t in range(sizes.live_tags)]
        post = self.http.post
        url = self.url + SET_PATH
        started = time.perf_counter()
        for send in range(sizes.live_sends):
            x = BASE_X + send * 1_000_000
            body = orjson.dumps(
                {
                    "data": [
                        {"tagId": tag_id, "data": [{"x": x, "y": send * 0.5 + index, "q": 0}]}
                        for index, tag_id in enumerate(ids)
                    ]
                }
            )
            post(url, content=body).raise_for_status()
        return time.perf_counter() - started

    # --- read: one get_data answered with many points -------------------------------------------

    def _read_ids(self) -> list[str]:
        return [f"t{t}" for t in range(self.sizes.read_tags)]

    def sdk_read(self) -> float:
        request = self.client.create_request_data(
            self._read_ids(), from_time=0, to_time=BASE_X * 2, max_count=self.sizes.read_points
        )
        started = time.perf_counter()
        histories = self.client.get_data(request)
        elapsed = time.perf_counter() - started
        assert sum(len(h) for h in histories) == self.sizes.read_tags * self.sizes.read_points
        return elapsed

    def floor_read(self) -> float:
        body = orjson.dumps(
            {"tagId": self._read_ids(), "from": 0, "to": BASE_X * 2, "maxCount": self.sizes.read_points}
        )
        started = time.perf_counter()
        response = self.http.post(self.url + GET_PATH, content=body)
        response.raise_for_status()
        answer = orjson.loads(response.content)
        elapsed = time.perf_counter() - started
        assert sum(len(item["data"]) for item in answer["data"]) == (
            self.sizes.read_tags * self.sizes.read_points
        )
        return elapsed

    # --- the background writer, spool on: its floors are the bulk and live ones ------------------

    def _timed_writer(self, work: Callable[[Any], None]) -> float:
        """Open a writer on a fresh spool, then time ``work(writer)`` and a flush; clean up after."""
        spool = tempfile.mkdtemp(prefix="bench-spool-")
        try:
            with self.client.writer(spool=spool) as writer:
                started = time.perf_counter()
                work(writer)
                writer.flush()
                elapsed = time.perf_counter() - started
                assert writer.stats().sent_points == self._writer_points
            return elapsed
        finally:
            shutil.rmtree(spool, ignore_errors=True)

    def sdk_writer_live(self) -> float:
        sizes = self.sizes
        tags = [Tag(f"t{t}") for t in range(sizes.live_tags)]
        self._writer_points = sizes.live_sends * sizes.live_tags

        def work(writer: Any) -> None:
            write = writer.write
            for send in range(sizes.live_sends):
                x = BASE_X + send * 1_000_000
                for index, tag in enumerate(tags):
                    write(tag, x, send * 0.5 + index)

        return self._timed_writer(work)

    def sdk_writer_bulk(self) -> float:
        tags = [Tag(f"t{t}") for t in range(len(self.bulk))]
        self._writer_points = sum(map(len, self.bulk))

        def work(writer: Any) -> None:
            for tag, points in zip(tags, self.bulk, strict=True):
                writer.write_points(tag, points)

        return self._timed_writer(work)

    def runner(self, scenario: str, side: str) -> Callable[[], float]:
        """The function that runs ``scenario`` (see SCENARIOS) for ``side`` (sdk, floor) once."""
        if scenario in ("bulk", "writer-bulk"):
            self.bulk  # noqa: B018  (build the data now, before any clock starts)
        if side == "floor" and scenario.startswith("writer-"):
            scenario = scenario.removeprefix("writer-")  # the same work without the writer
        return getattr(self, f"{side}_{scenario.replace('-', '_')}")  # type: ignore[no-any-return]


SCENARIOS = ("bulk", "live", "read", "writer-live", "writer-bulk")
SIDES = ("sdk", "floor")


def points_of(scenario: str, sizes: Sizes) -> int:
    """How many points one pass of ``scenario`` moves."""
    if scenario in ("bulk", "writer-bulk"):
        return sizes.bulk_tags * sizes.bulk_points
    if scenario in ("live", "writer-live"):
        return sizes.live_sends * sizes.live_tags
    return sizes.read_tags * sizes.read_points
