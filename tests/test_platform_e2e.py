"""End to end: the SDK against the reference platform, every facade call, sync and async, and faults."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import data_interaction_client._http.attempts as attempts
from data_interaction_client import (
    APIConnectionError,
    AsyncDataInteractionClient,
    AuthenticationError,
    DataInteractionClient,
    DataSourceNotActiveError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    Tag,
    TagPath,
)
from data_interaction_client.emulator import Faults, RunningPlatform, run_platform

pytestmark = pytest.mark.platform
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean(reference_platform: RunningPlatform) -> Iterator[RunningPlatform]:
    reference_platform.clear()
    reference_platform.set_faults(None)
    yield reference_platform
    reference_platform.set_faults(None)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attempts, "INITIAL_RETRY_DELAY", 0.005)


def test_original_scenario(clean: RunningPlatform) -> None:
    # The original README writes numbers into every tag, its string tag too: values unchecked.
    with DataInteractionClient(clean.url, check_values=False) as client:
        conn = client.connect("1")
        tags = client.create_tags(conn["tags"])
        assert TagPath("pressure", "boiler-7") in [tag.id for tag in tags]
        for i, tag in enumerate(tags):
            tag.update([{"x": f"2018-06-26 1{i}:15:00", "y": 1}, {"x": f"2018-06-26 1{i}:15:01", "y": 2}])
        assert client.set_data(tags) == 2 * len(tags)
        req_data = client.create_request_data(tag_id=[tag.id for tag in tags])
        req_data.update(from_time=100, to_time=1000000, max_count=100, time_step=100000, format_param=True)
        result = client.get_data(req_data)
    assert [h.tag_id for h in result] == [tag.id for tag in tags]
    assert all(len(tag) == 0 for tag in tags)
    first = result[0]
    assert [p["x"] for p in first.points][:2] == [
        "1970-01-01T00:00:00.000100Z",
        "1970-01-01T00:00:00.100100Z",
    ]
    assert all(p["y"] is None for p in first.points)  # before all data
    stored = clean.stored_points("temperature")
    assert [p["y"] for p in stored] == [1, 2]


def test_round_trip_of_every_kind_of_value(clean: RunningPlatform) -> None:
    values = [1, 2.5, "on", True, None, {"a": [1, 2]}, [1, "x"]]
    tag = Tag(TagPath("valve", "line-3"))
    tag.update([(1000 + i, value, 0 if value is not None else 102) for i, value in enumerate(values)])
    with DataInteractionClient(clean.url) as client:
        client.set_data(tag)
        req = client.create_request_data(tag.id, from_time=1000, to_time=1000 + len(values) - 1, actual=True)
        (history,) = client.get_data(req)
        assert history.tag_id == tag.id
        assert [p["y"] for p in history.points] == values
        assert [p["q"] for p in history.points][-3:] == [102, 0, 0]
        req.update(value="on")
        assert [p["x"] for p in client.get_data(req)[0].points] == [1002]
        req.update(value=None, actual=None, max_count=2)
        thinned = client.get_data(req)[0]
        assert len(thinned.points) <= 2
        assert thinned.exceed is True


def test_last_write_wins_so_resending_is_harmless(clean: RunningPlatform) -> None:
    tag = Tag("t")
    with DataInteractionClient(clean.url) as client:
        tag.update([(1, 1), (2, 2)])
        client.set_data(tag)
        tag.update([(2, 20), (3, 30)])
        client.set_data(tag)
    assert [(p["x"], p["y"]) for p in clean.stored_points("t")] == [(1, 1), (2, 20), (3, 30)]


def test_gzip_bodies(clean: RunningPlatform) -> None:
    tag = Tag("zipped")
    tag.update([(i, i * 0.5) for i in range(1000)])
    with DataInteractionClient(clean.url, compress=True) as client:
        assert client.set_data(tag) == 1000
        assert client.connect("1").attributes.active
    assert [p["y"] for p in clean.stored_points("zipped")] == [i * 0.5 for i in range(1000)]


def test_connect_errors(clean: RunningPlatform) -> None:
    with DataInteractionClient(clean.url) as client:
        with pytest.raises(DataSourceNotActiveError):
            client.connect("2")
        with pytest.raises(NotFoundError, match="HTTP 404"):
            client.connect("no-such-source")


def test_token() -> None:
    with run_platform(db=":memory:", token="abc") as reference_platform:
        with (
            DataInteractionClient(reference_platform.url) as client,
            pytest.raises(AuthenticationError, match="token"),
        ):
            client.connect("1")
        with DataInteractionClient(reference_platform.url, token="abc") as client:
            assert client.connect("1").attributes.active


def test_async_client_end_to_end(clean: RunningPlatform) -> None:
    async def scenario() -> None:
        async with AsyncDataInteractionClient(clean.url, check_values=False) as client:
            conn = await client.connect("1")
            tags = client.create_tags(conn)
            for tag in tags:
                tag.update([(10, 1.0), (20, 2.0)])  # floats into every tag, the string one too
            assert await client.set_data(tags) == 2 * len(tags)
            req = client.create_request_data([tag.id for tag in tags], from_time=10, to_time=20, actual=True)
            result = await client.get_data(req)
            assert all([p["y"] for p in h.points] == [1.0, 2.0] for h in result)

    asyncio.run(scenario())


def test_html_page_and_errors_keep_points(clean: RunningPlatform) -> None:
    tag = Tag("t")
    tag.update([(1, 1)])
    with DataInteractionClient(clean.url, max_retries=0) as client:
        clean.set_faults(Faults(html_rate=1.0))
        with pytest.raises(InternalServerError, match="text/html"):
            client.set_data(tag)
        clean.set_faults(Faults(error_rate=1.0, error_status=500))
        with pytest.raises(InternalServerError, match="HTTP 500"):
            client.set_data(tag)
        clean.set_faults(Faults(drop_rate=1.0))
        with pytest.raises(Exception) as caught:  # noqa: PT011 - pinned just below
            client.set_data(tag)
        assert type(caught.value).__name__ in {"APIConnectionError", "InvalidResponseError"}
        assert not isinstance(caught.value, InvalidResponseError) or caught.value.status_code
        assert len(tag) == 1
        clean.set_faults(None)
        client.set_data(tag)
    assert len(tag) == 0


def test_flaky_platform_loses_nothing(clean: RunningPlatform, fast_backoff: None) -> None:
    """30 % of requests fail with 503 and 5 % are dropped: every point is stored, every buffer empties."""
    clean.set_faults(Faults(error_rate=0.30, error_status=503, drop_rate=0.05, seed=7))
    tags = [Tag(f"flaky-{n}") for n in range(10)]
    for n, tag in enumerate(tags):
        tag.update([{"x": 1_000_000 + i, "y": float(n * 100_000 + i), "q": 0} for i in range(10_000)])
    attempts = 0
    with DataInteractionClient(clean.url, max_points_per_request=5_000, max_retries=8) as client:
        while any(len(tag) for tag in tags):
            attempts += 1
            client.set_data([tag for tag in tags if len(tag)])
    assert attempts == 1
    clean.set_faults(None)
    for n, tag in enumerate(tags):
        stored = clean.stored_points(tag.id)
        assert len(stored) == 10_000
        assert [p["y"] for p in stored] == [float(n * 100_000 + i) for i in range(10_000)]
    assert all(len(tag) == 0 for tag in tags)


def test_cli_starts_and_stops(tmp_path: Path) -> None:
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "data_interaction_client.emulator",
            "--port",
            str(port),
            "--db",
            str(tmp_path / "p.db"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with DataInteractionClient(f"http://127.0.0.1:{port}", max_retries=10) as client:
            for _ in range(100):
                try:
                    client.connect("1", max_retries=0)
                    break
                except APIConnectionError:  # not listening yet
                    time.sleep(0.1)
            assert client.connect("1").attributes.active
            tag = Tag("cli")
            tag.add_data(5, 5)
            client.set_data(tag)
        assert httpx.post(
            f"http://127.0.0.1:{port}/smt/data/get", json={"tagId": "cli", "from": 5, "to": 5, "actual": True}
        ).json()["data"][0]["data"] == [{"x": 5, "y": 5, "q": None}]  # no q given: none stored
    finally:
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) is not None


def test_quickstart_example_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "10 points sent, 10 read back" in out
    assert "boiler-7/pressure  2018-06-26T11:15:00.000000Z  1" in out


@pytest.mark.parametrize("point_form", ["object", "array"])
def test_history_reads_the_same_in_both_answer_forms(
    reference_platform: RunningPlatform, point_form: str
) -> None:
    tag = Tag(f"forms-{point_form}")
    tag.update(
        [(1_530_008_100_000_000, 1.5, 0), (1_530_008_101_000_000, "on", 192), (1_530_008_102_000_000, None)]
    )
    expected = [dict(p) for p in tag.points]
    reference_platform.set_point_form(point_form)  # type: ignore[arg-type]
    try:
        with DataInteractionClient(reference_platform.url) as client:
            client.set_data(tag)
            req = client.create_request_data(tag, from_time=1_530_008_100_000_000, actual=True)
            (history,) = client.get_data(req)
            assert history.exceed is False  # no maxCount: the platform leaves exceed out
            assert [dict(p) for p in history] == [{**p, "q": p.get("q")} for p in expected]
            req.update(max_count=1)
            (thinned,) = client.get_data(req)
            assert thinned.exceed is True
            assert len(thinned) == 1

            async def read_async() -> list[object]:
                async with AsyncDataInteractionClient(reference_platform.url) as async_client:
                    return list((await async_client.get_data(req))[0])

            assert asyncio.run(read_async()) == thinned.points
    finally:
        reference_platform.set_point_form("object")
