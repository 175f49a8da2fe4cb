"""The source's link as operators see it: /healthz's "source", the link metrics, reopen (after
failing polls, from SourceLinkLost, from self.reopen()), "opening" during start-up retries, a push
connector's link_lost/link_restored, and the types connector authors get."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from data_interaction_client import Tag
from data_interaction_client.connector import Connector, Source, SourceLinkLost
from data_interaction_client.emulator import RunningPlatform, run_platform

from ..emulator.process import free_port
from ..test_typing import mypy_strict
from .helpers import Background, metrics, wait_for
from .history import STEP, Pushed, now_us
from .sample import Live

TAGS = [{"id": "a", "attributes": {}}, {"id": "bb", "attributes": {}}]
CONFIG = {"dataSources": {"1": {"attributes": {"smtActive": True}, "tags": TAGS}}}
WRITER = {"flush_interval": 0.05, "commit_interval": 0.02, "max_retry_delay": 0.2, "fsync": False}


@pytest.fixture
def platform() -> Iterator[RunningPlatform]:
    with run_platform(config=CONFIG) as running:
        yield running


def options(platform: RunningPlatform, tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {"url": platform.url, "source": "1", "spool": str(tmp_path / "spool"), "writer": WRITER, **more}


def healthz(address: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"http://{address}/healthz", timeout=10)
    return answer.status_code, answer.json()


def test_healthz_shows_the_link_lost_degraded_then_503_then_ok_again(
    platform: RunningPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Live.instances.clear()
    flag = tmp_path / "flaky"
    monkeypatch.setenv("FLAKY_FLAG", str(flag))
    address = f"127.0.0.1:{free_port()}"
    run = Background(
        Live, **options(platform, tmp_path, metrics=address, reopen_after=0, source_unhealthy_after=0.5)
    )
    wait_for(lambda: healthz(address)[1]["source"]["link"] == "ok", "the link up")
    assert metrics(address)["data_interaction_source_link_up"] == 1
    flag.touch()
    status, report = wait_for(
        lambda: (h := healthz(address))[1]["source"]["link"] == "lost" and h, "the link lost"
    )
    assert status == 200
    assert report["health"] == "degraded"
    assert report["source"]["id"] == "1"
    assert report["source"]["last_error"] == "ConnectionResetError: the equipment hung up"
    assert report["source"]["since"].endswith("Z")
    assert metrics(address)["data_interaction_source_link_up"] == 0
    wait_for(lambda: healthz(address)[0] == 503, "a 503 past source_unhealthy_after")
    flag.unlink()
    status, report = wait_for(lambda: (h := healthz(address))[0] == 200 and h, "healthy again")
    assert report["source"] == {
        "id": "1",
        "link": "ok",
        "since": report["source"]["since"],
        "last_error": None,
    }
    assert metrics(address)["data_interaction_source_link_up"] == 1
    run.stop()


def test_failing_polls_reopen_the_connector_with_backoff(
    platform: RunningPlatform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "data_interaction_client")
    Live.instances.clear()
    flag = tmp_path / "flaky"
    monkeypatch.setenv("FLAKY_FLAG", str(flag))
    address = f"127.0.0.1:{free_port()}"
    run = Background(Live, **options(platform, tmp_path, metrics=address, reopen_after=2, open_retry_max=0.5))
    live = run.instance
    wait_for(lambda: len(live.polled) >= 2, "polls")
    flag.touch()
    wait_for(lambda: len(Live.instances) >= 3, "two reopens")  # open() is called again on the same object
    polled = len(live.polled)
    flag.unlink()
    wait_for(lambda: len(live.polled) >= polled + 3, "polls after the reopen")
    reopens = metrics(address)["data_interaction_source_reopens_total"]
    run.stop()
    assert reopens >= 2
    assert all(instance is live for instance in Live.instances)
    lines = [r.getMessage() for r in caplog.records if "opening the connector again" in r.getMessage()]
    assert "2 polls failed in a row" in lines[0]
    # the link is lost once, whatever the reopens: one mark per tag, one ERROR line
    assert len([p for p in platform.stored_points("a") if p["q"] == 102]) == 1
    assert len([r for r in caplog.records if "the link to the data source is lost" in r.getMessage()]) == 1


class Hangs(Connector):
    """poll raises SourceLinkLost once; open fails twice with an OSError before it works."""

    poll_interval = 0.05
    opens: ClassVar[list[str]] = []
    instances: ClassVar[list[Any]] = []

    def open(self, source: Source) -> None:
        type(self).opens.append("open")
        type(self).instances.append(self)
        if len(type(self).opens) in (1, 2):
            raise ConnectionRefusedError("no device yet")

    def poll(self, tags: list[Tag]) -> list[Any]:
        if len(type(self).opens) == 3:
            raise SourceLinkLost("the device said goodbye")
        return [(tag, 1.0) for tag in tags]

    def close(self) -> None:
        type(self).opens.append("close")


def test_opening_shows_in_healthz_and_source_link_lost_reopens_at_once(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    Hangs.opens.clear()
    Hangs.instances.clear()
    address = f"127.0.0.1:{free_port()}"
    run = Background(Hangs, **options(platform, tmp_path, metrics=address, open_retry_max=0.3))
    _, report = wait_for(lambda: (h := healthz(address))[1]["source"]["link"] == "opening" and h, "opening")
    assert report["source"]["last_error"] == "ConnectionRefusedError: no device yet"
    assert report["health"] == "degraded"
    wait_for(lambda: Hangs.opens[:5] == ["open", "open", "open", "close", "open"], "the reopen")
    wait_for(lambda: healthz(address)[1]["source"]["link"] == "ok", "the link back")
    run.stop()
    assert [p for p in platform.stored_points("a") if p["q"] != 102]


def test_a_push_connectors_link_lost_and_restored_mark_once_and_read_the_window_again(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    Pushed.instances.clear()
    Pushed.emitted.clear()
    t0 = now_us()
    run = Background(Pushed, **options(platform, tmp_path, settings={"t0": t0}))
    push = run.instance
    wait_for(lambda: len(Pushed.emitted) > 20, "readings")
    push._unsubscribe()  # the subscription dies: nothing pushed for a while
    before = {tag["id"]: max(x for t, x in Pushed.emitted if t == tag["id"]) for tag in TAGS}
    push.link_lost(ConnectionError("the broker went away"))
    time.sleep(0.3)
    push.subscribe(list(push.source.tags))
    push.link_restored()
    end = now_us()
    wait_for(lambda: all(max(p["x"] for p in platform.stored_points(t["id"])) > end for t in TAGS), "more")
    run.stop()
    for tag in ("a", "bb"):
        points = platform.stored_points(tag)
        marks = [p for p in points if p["q"] == 102]
        assert len(marks) == 1
        assert marks[0]["x"] == before[tag] + 1  # just after its last reading
        stored = {p["x"] for p in points if p["q"] != 102}
        first = -(-t0 // STEP) * STEP
        assert [x for x in range(first, end, STEP) if x not in stored] == []  # the window read again


def test_a_push_connectors_reopen_brings_its_link_back_and_reads_the_window_again(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    Pushed.instances.clear()
    Pushed.emitted.clear()
    t0 = now_us()
    address = f"127.0.0.1:{free_port()}"
    run = Background(Pushed, **options(platform, tmp_path, settings={"t0": t0}, metrics=address))
    push = run.instance
    wait_for(lambda: len(Pushed.emitted) > 20, "readings")
    push._unsubscribe()  # the subscription dies: nothing pushed until the reopen subscribes again
    push.reopen()  # the link is lost; close, open and subscribe again
    wait_for(lambda: healthz(address)[1]["source"]["link"] == "ok", "the link back after the reopen")
    end = now_us()
    wait_for(lambda: all(max(p["x"] for p in platform.stored_points(t["id"])) > end for t in TAGS), "more")
    run.stop()
    for tag in ("a", "bb"):
        points = platform.stored_points(tag)
        stored = {p["x"] for p in points if p["q"] != 102}
        first = -(-t0 // STEP) * STEP
        assert [x for x in range(first, end, STEP) if x not in stored] == []  # the window read again


TYPED = """\
import pydantic
from data_interaction_client import Tag
from data_interaction_client.connector import Connector, Source


class BoilerSettings(pydantic.BaseModel):
    host: str = "127.0.0.1"


class Boiler(Connector[BoilerSettings]):
    Settings = BoilerSettings

    def poll(self, tags: list[Tag]) -> list[tuple[Tag, float]]:
        port: int = self.settings.host
        print(self.source.tags, port)
        return []


class Plain(Connector):
    def poll(self, tags: list[Tag]) -> None:
        print(self.settings.anything, self.source.id)
"""


@pytest.mark.slow
def test_settings_are_typed_by_the_connectors_settings_and_source_is_not_optional(tmp_path: Path) -> None:
    result = mypy_strict(TYPED, tmp_path)
    # the one mistake: a str where an int is wanted; self.source is no Optional; a bare Connector is fine
    assert result.stdout.count("error:") == 1, result.stdout
    assert 'user.py:14: error: Incompatible types in assignment (expression has type "str"' in result.stdout
