"""`data-interaction-client run` as a child process: kill -9 and restarts, SIGTERM during an outage,
a second signal, an open() that fails for good."""

from __future__ import annotations

import json
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from data_interaction_client.emulator import Faults, RunningPlatform, run_platform

from .helpers import Child, wait_for
from .sample import STEP, value

TAGS = [
    {"id": "t1", "attributes": {}},
    {"id": {"tagName": "p", "parentObjectId": "boiler"}, "attributes": {}},
]
CONFIG = {"dataSources": {"1": {"attributes": {"smtActive": True}, "tags": TAGS}}}


@pytest.fixture
def platform() -> Iterator[RunningPlatform]:
    with run_platform(config=CONFIG) as running:
        yield running


def settings_file(folder: Path, t0: int, close_timeout: float = 5.0) -> Path:
    path = folder / "connector.yaml"
    path.write_text(
        f"source: '1'\nspool: {folder / 'spool'}\nclose_timeout: {close_timeout}\n"
        "writer: {flush_interval: 0.1, commit_interval: 0.05, max_retry_delay: 0.5}\n"
        f"settings:\n  t0: ${{T0}}\n"
    )
    return path


def start(folder: Path, platform: RunningPlatform, config: Path, t0: int) -> Child:
    return Child(
        folder, platform.url, "tests.connector.sample:Buffered", "--config", str(config), env={"T0": str(t0)}
    )


def timeline_gaps(platform: RunningPlatform, t0: int) -> tuple[int, list[int], list[str]]:
    """Samples stored, the missing x's, and the wrong values, over every tag's timeline."""
    count, missing, wrong = 0, [], []
    for tag in TAGS:
        points = platform.stored_points(tag["id"])
        stored = {p["x"]: p["y"] for p in points}
        first = -(-t0 // STEP) * STEP
        expected = range(first, max(stored) + 1, STEP)
        count += len(stored)
        missing += [x for x in expected if x not in stored]
        wrong += [f"{tag['id']}@{x}: {y}" for x, y in stored.items() if y != value(tag["id"], x)]
    return count, missing, wrong


def points_stored(platform: RunningPlatform) -> int:
    return sum(len(platform.stored_points(tag["id"])) for tag in TAGS)


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_no_sample(platform: RunningPlatform, tmp_path: Path) -> None:
    t0 = time.time_ns() // 1000
    config = settings_file(tmp_path, t0)
    rng = random.Random(16)
    kills = 6
    stored_before: list[int] = []
    for _ in range(kills):
        child = start(tmp_path, platform, config, t0)
        wait_for(lambda c=child: "tags to poll" in c.stderr(), "the connector to start")
        time.sleep(rng.uniform(0.1, 1.2))
        child.kill()
        stored_before.append(points_stored(platform))
        time.sleep(rng.uniform(0.0, 0.5))  # the source goes on meanwhile
    child = start(tmp_path, platform, config, t0)
    wait_for(lambda: "tags to poll" in child.stderr(), "the last start")
    time.sleep(0.5)
    child.signal(signal.SIGTERM)
    code, _ = child.wait()
    assert code == 0, child.stderr()
    count, missing, wrong = timeline_gaps(platform, t0)
    assert missing == []
    assert wrong == []
    assert count > kills * 2 * 5
    report = {"kills": kills, "samples": count, "missing": len(missing), "wrong": len(wrong)}
    (tmp_path / "figures.json").write_text(json.dumps(report))
    print("kill -9 figures:", report)


@pytest.mark.slow
def test_sigterm_during_an_outage_exits_then_the_next_start_delivers(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    t0 = time.time_ns() // 1000
    close_timeout = 1.0
    config = settings_file(tmp_path, t0, close_timeout=close_timeout)
    child = start(tmp_path, platform, config, t0)
    wait_for(lambda: points_stored(platform) > 10, "points to arrive")
    platform.set_faults(Faults(error_rate=1.0, error_status=503))
    time.sleep(1.0)  # polls go on into the spool
    during = points_stored(platform)
    child.signal(signal.SIGTERM)
    code, took = child.wait()
    assert code == 0, child.stderr()
    assert "SIGTERM: stopping" in child.stderr()
    assert "points in the spool" in child.stderr()
    print(f"SIGTERM during an outage: exit {code} after {took:.2f} s (close_timeout {close_timeout} s)")
    assert points_stored(platform) == during

    platform.set_faults(None)
    child = start(tmp_path, platform, config, t0)
    wait_for(lambda: "tags to poll" in child.stderr(), "the next start")
    time.sleep(0.3)
    child.signal(signal.SIGINT)
    assert child.wait()[0] == 0
    _, missing, wrong = timeline_gaps(platform, t0)
    assert missing == []
    assert wrong == []


@pytest.mark.slow
def test_a_second_signal_exits_at_once(platform: RunningPlatform, tmp_path: Path) -> None:
    t0 = time.time_ns() // 1000
    config = settings_file(tmp_path, t0, close_timeout=120.0)
    child = start(tmp_path, platform, config, t0)
    wait_for(lambda: points_stored(platform) > 0, "points to arrive")
    platform.set_faults(Faults(error_rate=1.0, error_status=503))
    time.sleep(0.5)
    child.signal(signal.SIGINT)
    wait_for(lambda: "SIGINT: stopping" in child.stderr(), "the first signal's line")
    child.signal(signal.SIGINT)
    code, _ = child.wait(60)  # the first signal alone would deliver for 120 s
    assert code == 128 + signal.SIGINT
    assert "exiting now" in child.stderr()


def test_open_failing_for_good_exits_1_with_one_line(platform: RunningPlatform, tmp_path: Path) -> None:
    child = Child(
        tmp_path,
        platform.url,
        "tests.connector.sample:Broken",
        "--source",
        "1",
        "--spool",
        str(tmp_path / "s"),
    )
    code, _ = child.wait()
    assert code == 1
    errors = [line for line in child.stderr().splitlines() if line.startswith("error:")]
    assert errors == ["error: open() failed: ValueError: register map missing"]
