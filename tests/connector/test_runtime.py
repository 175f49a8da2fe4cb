"""The runtime in this process against the reference platform: the link, the source's state, the tags,
the metrics and the health, the async twin."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from data_interaction_client.emulator import Faults, RunningPlatform, run_platform

from ..emulator.process import free_port
from .helpers import Background, metrics, wait_for
from .sample import AsyncLive, Live

TAG_A = {"id": "a", "attributes": {"smtTagValueTypeCode": 1}}
TAG_B = {"id": "b", "attributes": {"smtTagValueTypeCode": 1}}
TAG_C = {"id": "c", "attributes": {"smtTagValueTypeCode": 1}}
CONFIG = {"dataSources": {"1": {"attributes": {"smtActive": True}, "tags": [TAG_A, TAG_B]}}}
FAST_WRITER = {"flush_interval": 0.05, "commit_interval": 0.05, "max_retry_delay": 0.2, "fsync": False}


@pytest.fixture
def platform() -> Iterator[RunningPlatform]:
    with run_platform(config=CONFIG) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh() -> None:
    Live.instances.clear()
    AsyncLive.instances.clear()


def options(platform: RunningPlatform, tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "url": platform.url,
        "source": "1",
        "spool": str(tmp_path / "spool"),
        "writer": FAST_WRITER,
        **more,
    }


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def _flaky_run(
    cls: Any, platform: RunningPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **more: Any
) -> None:
    """Run ``cls`` (a Live): polls work, then fail for six ticks or more, then work again."""
    flag = tmp_path / "flaky"
    monkeypatch.setenv("FLAKY_FLAG", str(flag))
    run = Background(cls, **options(platform, tmp_path, **more))
    live = run.instance
    wait_for(lambda: len(live.polled) >= 3, "polls")
    flag.touch()
    started = len(live.polled)
    wait_for(lambda: len(live.polled) >= started + 6, "failing polls")
    flag.unlink()
    resumed = len(live.polled)
    wait_for(lambda: len(live.polled) >= resumed + 3, "polls after the failure")
    run.stop()


def test_poll_raising_marks_each_tag_once_after_its_last_reading_then_values_resume(
    platform: RunningPlatform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "data_interaction_client")
    _flaky_run(Live, platform, tmp_path, monkeypatch, reopen_after=0)
    for tag in ("a", "b"):
        points = platform.stored_points(tag)
        lost = [i for i, p in enumerate(points) if p["q"] == 102]
        assert len(lost) == 1, points  # one mark, not one per failed tick
        mark = points[lost[0]]
        assert mark["y"] is None
        # stamped just after the tag's last reading: never between two good readings of the run
        assert mark["x"] == points[lost[0] - 1]["x"] + 1
        assert points[0]["q"] == 0
        assert points[-1]["q"] == 0
    assert len(messages(caplog, "the link to the data source is lost")) == 1
    assert "ConnectionResetError: the equipment hung up" in messages(caplog, "is lost")[0]
    assert len(messages(caplog, "works again after")) == 1


class EveryTick(Live):
    link_lost_marks = "every_tick"


def test_link_lost_marks_every_tick_marks_each_failed_tick(
    platform: RunningPlatform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "data_interaction_client")
    _flaky_run(EveryTick, platform, tmp_path, monkeypatch, reopen_after=0)
    for tag in ("a", "b"):
        points = platform.stored_points(tag)
        qualities = [p["q"] for p in points]
        # values, then a run of q=102 with no value, then values again
        lost = [i for i, q in enumerate(qualities) if q == 102]
        assert lost, qualities
        assert lost == list(range(lost[0], lost[-1] + 1)), qualities
        assert len(lost) >= 5
        assert all(points[i]["y"] is None for i in lost)
        assert qualities[0] == 0
        assert qualities[-1] == 0
    # the ticks of the failure are the same for both tags, one tick apart: none skipped
    xs_a = [p["x"] for p in platform.stored_points("a") if p["q"] == 102]
    xs_b = [p["x"] for p in platform.stored_points("b") if p["q"] == 102]
    assert xs_a == xs_b
    assert {b - a for a, b in itertools.pairwise(xs_a)} == {50_000}
    assert len(messages(caplog, "the link to the data source is lost")) == 1
    assert len(messages(caplog, "works again after")) == 1


def test_source_switched_off_and_on_and_tags_added_and_removed(
    platform: RunningPlatform, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "data_interaction_client")
    run = Background(Live, **options(platform, tmp_path, refresh_interval=0.1))
    live = run.instance
    wait_for(lambda: len(live.polled) >= 2, "polls")
    platform.set_source("1", attributes={"smtActive": False})
    wait_for(lambda: messages(caplog, "is switched off"), "the pause")
    paused = len(live.polled)
    time.sleep(0.5)  # ten poll intervals, five refreshes: nothing may be polled meanwhile
    assert len(live.polled) == paused
    platform.set_source("1", attributes={"smtActive": True}, tags=[TAG_A, TAG_C])
    wait_for(lambda: live.changes, "tags_changed")
    assert live.changes == [(["c"], ["b"], [])]
    wait_for(lambda: live.polled[-1] == ["a", "c"], "a poll of the new tags")
    wait_for(lambda: len(live.polled) >= paused + 3, "polls after the resume")
    assert all("b" not in polled for polled in live.polled[paused:])
    run.stop()
    assert len(messages(caplog, "is switched off")) == 1
    assert len(messages(caplog, "switched on again")) == 1
    assert platform.stored_points("c")
    last_b = platform.stored_points("b")[-1]["x"]
    assert last_b < platform.stored_points("c")[0]["x"]


def test_metrics_follow_an_outage_and_healthz_refuses_a_refused_token(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    run = Background(Live, **options(platform, tmp_path, metrics=address))
    pending = "data_interaction_writer_pending_points"
    wait_for(lambda: metrics(address).get("data_interaction_writer_sent_points_total", 0) > 0, "points sent")
    assert httpx.get(f"http://{address}/healthz").status_code == 200

    platform.set_faults(Faults(error_rate=1.0, error_status=503))
    rising = wait_for(lambda: metrics(address)[pending] >= 40 and metrics(address), "pending points to rise")
    assert rising["data_interaction_writer_health{health=degraded}"] == 1
    health = httpx.get(f"http://{address}/healthz")
    assert health.status_code == 200
    assert health.json()["health"] == "degraded"

    platform.set_faults(Faults(error_rate=1.0, error_status=401))
    refused = wait_for(
        lambda: (r := httpx.get(f"http://{address}/healthz")).status_code == 503 and r, "a 503"
    )
    assert refused.json()["health"] == "critical"

    platform.set_faults(None)
    wait_for(lambda: metrics(address)[pending] < 10, "pending points to fall")
    wait_for(lambda: httpx.get(f"http://{address}/healthz").status_code == 200, "health again")
    after = metrics(address)
    assert after["data_interaction_requests_total{endpoint=connect,outcome=ok}"] >= 1
    assert after["data_interaction_poll_duration_seconds_count"] > 0
    assert after["data_interaction_poll_errors_total"] == 0
    assert after["data_interaction_source_active"] == 1
    assert after["data_interaction_tags"] == 2
    assert (
        after["data_interaction_writer_sent_points_total"]
        > rising["data_interaction_writer_sent_points_total"]
    )
    run.stop()


def test_async_connector_runs_on_the_async_client(platform: RunningPlatform, tmp_path: Path) -> None:
    run = Background(AsyncLive, **options(platform, tmp_path))
    live = run.instance
    wait_for(lambda: live.polls >= 3, "async polls")
    run.stop()
    assert live.closed
    values = [p["y"] for p in platform.stored_points("a")]
    assert values[:3] == [1.0, 2.0, 3.0]


def test_request_metrics_count_set_data_by_outcome(platform: RunningPlatform, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    run = Background(Live, **options(platform, tmp_path, metrics=address))
    retry = "data_interaction_requests_total{endpoint=set_data,outcome=retry}"
    accepted = "data_interaction_requests_total{endpoint=set_data,outcome=accepted}"
    wait_for(lambda: metrics(address).get(accepted, 0) > 0, "an accepted request")
    platform.set_faults(Faults(error_rate=1.0, error_status=503))
    wait_for(lambda: metrics(address).get(retry, 0) > 0, "a retried request")
    platform.set_faults(None)
    before = metrics(address)[accepted]
    wait_for(lambda: metrics(address)[accepted] > before, "accepted again")
    assert metrics(address)["data_interaction_request_duration_seconds_count{endpoint=set_data}"] > 0
    run.stop()


@pytest.mark.parametrize("cls", [Live, AsyncLive], ids=["sync", "async"])
def test_a_platform_timing_out_at_the_start_is_waited_for_as_the_writer_would(
    cls: Any, platform: RunningPlatform, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A 408 calls for another try (the writer's judgement): past the client's own two retries, the run
    # waits for the platform, then opens.
    caplog.set_level(logging.INFO, "data_interaction_client")
    platform.set_faults(Faults(error_rate=1.0, error_status=408))
    healed = threading.Timer(2.5, platform.set_faults, args=(None,))
    healed.start()
    try:
        run = Background(cls, **options(platform, tmp_path))
    finally:
        healed.cancel()
    run.stop()
    assert messages(caplog, "does not answer (")
    assert messages(caplog, "the platform answers again after")
