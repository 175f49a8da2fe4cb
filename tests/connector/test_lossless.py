"""From the watermark through polling the platform gets every sample the source still has: a restart
with a slow backfill, a poll failure and missed ticks repaired while running, a full disk during
backfill with space returned, a stepped wall clock, a stop inside a long backfill; sync and async
connectors alike."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data_interaction_client import SpoolDiskFullError
from data_interaction_client._spool.sqlite import SqliteSpool
from data_interaction_client._writer import base, committer
from data_interaction_client.connector import _core
from data_interaction_client.emulator import Faults, RunningPlatform, run_platform

from ..emulator.process import free_port
from .helpers import Background, metrics, wait_for
from .history import STEP, HistoryAsync, HistorySync, now_us, reset
from .sample import value

TAGS = [{"id": "a", "attributes": {}}, {"id": "bb", "attributes": {}}]
CONFIG = {"dataSources": {"1": {"attributes": {"smtActive": True}, "tags": TAGS}}}
WRITER = {"flush_interval": 0.05, "commit_interval": 0.02, "max_retry_delay": 0.2, "fsync": False}


@pytest.fixture
def platform() -> Iterator[RunningPlatform]:
    with run_platform(config=CONFIG) as running:
        yield running


@pytest.fixture(params=[HistorySync, HistoryAsync], ids=["sync", "async"])
def source(request: pytest.FixtureRequest) -> Any:
    """The connector class, sync or async, its source's timeline starting now."""
    cls = request.param
    reset(cls, now_us())
    return cls


def start(cls: Any, **options: Any) -> Background:
    """A run of ``cls`` in a thread, once it has opened."""
    cls.instances.clear()
    return Background(cls, **options)


def options(platform: RunningPlatform, tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {"url": platform.url, "source": "1", "spool": str(tmp_path / "spool"), "writer": WRITER, **more}


def missing(platform: RunningPlatform, t0: int, until: int | None = None) -> dict[str, list[int]]:
    """Per tag, the source's samples from t0 up to ``until`` (or the last stored) the platform lacks."""
    result: dict[str, list[int]] = {}
    for tag in TAGS:
        stored = {p["x"]: p["y"] for p in platform.stored_points(tag["id"]) if p["q"] != 102}
        assert stored, f"nothing of {tag['id']} arrived"
        wrong = [x for x, y in stored.items() if x % STEP == 0 and y != value(tag["id"], x)]
        assert wrong == []
        last = max(stored) if until is None else until
        first = -(-t0 // STEP) * STEP
        result[tag["id"]] = [x for x in range(first, last + 1, STEP) if x not in stored]
    return result


def holes(platform: RunningPlatform, t0: int, until: int | None = None) -> dict[str, int]:
    return {tag: len(xs) for tag, xs in missing(platform, t0, until).items()}


def delivered(platform: RunningPlatform, at_least: int) -> Any:
    """Wait until the platform holds samples of every tag up to ``at_least``."""
    return wait_for(
        lambda: all(any(p["x"] >= at_least for p in platform.stored_points(t["id"])) for t in TAGS),
        f"samples up to {at_least}",
    )


@pytest.mark.slow  # several restarts of a connector: 3-4 s
def test_restarts_with_a_slow_backfill_leave_no_hole(
    platform: RunningPlatform, tmp_path: Path, source: Any
) -> None:
    """The start's backfill catches up with the first poll: no hole between the two."""
    source.serve = 0.001  # the history comes at 1 ms per sample, a sample every 4 ms
    for _ in range(3):
        run = start(source, **options(platform, tmp_path))
        time.sleep(0.4)
        run.stop()
        time.sleep(0.4)  # the source goes on meanwhile
    run = start(source, **options(platform, tmp_path))
    end = now_us()
    delivered(platform, end)
    run.stop()
    assert holes(platform, source.t0) == {"a": 0, "bb": 0}


@pytest.mark.slow  # seconds of failing and hanging polls
def test_a_poll_failure_and_missed_ticks_are_read_again_while_running(
    platform: RunningPlatform, tmp_path: Path, source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "data_interaction_client")
    run = start(source, **options(platform, tmp_path))
    delivered(platform, now_us())
    source.failing.set()  # the live buffer is read and lost for 0.5 s
    time.sleep(0.5)
    source.failing.clear()
    delivered(platform, now_us())
    source.block.append(0.6)  # the next poll hangs for twelve ticks (as a process stopped)
    wait_for(lambda: not source.block, "the blocked poll")
    end = now_us()
    delivered(platform, end)
    # read again while running: before the stop
    wait_for(lambda: holes(platform, source.t0, end) == {"a": 0, "bb": 0}, "the windows read again")
    run.stop()
    marks = [p for p in platform.stored_points("a") if p["q"] == 102]
    assert len(marks) == 1  # one mark for the lost link, not one per failed tick
    reasons = " ".join(r.getMessage() for r in caplog.records if "backfill() of" in r.getMessage())
    assert "the link was lost" in reasons
    assert "ticks missed" in reasons


class FullDisk(SqliteSpool):
    """A spool whose disk can be made full: ``append`` then fails as on ENOSPC, storing nothing."""

    full = False

    def append(self, records: Any, **limit: Any) -> Any:
        if type(self).full:
            raise SpoolDiskFullError(
                f"the spool's disk is full ({self.path}: [Errno 28] No space left on device); free some "
                "space: the writer goes on once it can",
                path=str(self.path),
            )
        return super().append(records, **limit)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> type[FullDisk]:
    """Writers open their spool as a `FullDisk` (the spool's seam); the writer retries every 0.05 s."""
    FullDisk.full = False
    monkeypatch.setattr(base, "_disk_spool", lambda options: FullDisk(options["spool"], fsync=False))
    monkeypatch.setattr(committer, "_STORE_RETRY_DELAY", 0.05)
    return FullDisk


def refused_in_log(caplog: pytest.LogCaptureFixture) -> tuple[int, dict[str, int]]:
    """The readings the ERROR lines say were refused: their total, and per tag."""
    total, per_tag = 0, {"a": 0, "bb": 0}
    for record in caplog.records:
        found = re.match(r"the writer refused (\d+) readings \(disk full; .*?\): (.*); ", record.getMessage())
        if found and record.levelno == logging.ERROR:
            total += int(found[1])
            for tag, count in re.findall(r"(\w+): (\d+)", found[2].split(";")[0]):
                if tag in per_tag:
                    per_tag[tag] += int(count)
    return total, per_tag


@pytest.mark.slow  # a backfill, a full disk, then the window read again: 5-6 s
def test_a_full_disk_during_backfill_loses_nothing_once_space_returns(
    platform: RunningPlatform,
    tmp_path: Path,
    source: Any,
    disk: type[FullDisk],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "data_interaction_client")
    address = f"127.0.0.1:{free_port()}"
    source.t0 = now_us() - 4_000_000  # four seconds of history to backfill at the start
    source.serve = 0.0005
    run = start(source, **options(platform, tmp_path, metrics=address))
    wait_for(lambda: source.backfills, "the backfill")
    time.sleep(0.2)
    disk.full = True  # full during the backfill: its readings are refused
    writer = run.instance._runtime_writer
    wait_for(lambda: writer.stats().refused_points >= 4, "refused readings")
    time.sleep(0.5)
    disk.full = False
    end = now_us()
    delivered(platform, end)
    wait_for(lambda: holes(platform, source.t0, end) == {"a": 0, "bb": 0}, "the refused window read again")
    figures = metrics(address)
    writer_refused = writer.stats().refused_points
    run.stop()
    total, per_tag = refused_in_log(caplog)
    # every refused reading is counted, per tag, at ERROR, and in the metric; none counted as taken
    assert total == sum(per_tag.values()) == writer_refused
    assert per_tag["a"] > 0
    assert per_tag["bb"] > 0
    assert figures["data_interaction_readings_refused_total{reason=disk_full}"] == total
    taken = sum(v for k, v in figures.items() if k.startswith("data_interaction_readings_total"))
    assert (
        taken
        <= figures["data_interaction_writer_sent_points_total"]
        + figures["data_interaction_writer_pending_points"]
    )


def test_after_a_refusal_the_restart_reads_from_before_the_first_refused_reading(
    platform: RunningPlatform,
    tmp_path: Path,
    source: Any,
    disk: type[FullDisk],
) -> None:
    run = start(source, **options(platform, tmp_path))
    delivered(platform, now_us())
    writer = run.instance._runtime_writer
    refused: dict[Any, list[int]] = {}
    write = writer.write

    def recording(tag: Any, x: Any, y: Any, q: Any = None) -> None:
        try:
            write(tag, x, y, q)
        except SpoolDiskFullError:
            refused.setdefault(getattr(tag, "id", tag), []).append(x)
            raise

    writer.write = recording  # what the writer refuses, as the runtime hands it over
    disk.full = True
    wait_for(lambda: len(refused) == 2, "readings refused")
    time.sleep(0.3)
    disk.full = False  # room again, briefly: polls are stored again
    time.sleep(0.05)
    disk.full = True
    time.sleep(0.2)
    marks = {tag["id"]: writer.watermark(tag["id"]) for tag in TAGS}
    run.stop()  # stopped while full: the refused window is not yet read again
    assert all(marks[tag] is not None and marks[tag] < min(refused[tag]) for tag in marks), (marks, refused)
    disk.full = False
    run = start(source, **options(platform, tmp_path))
    end = now_us()
    delivered(platform, end)
    run.stop()
    assert holes(platform, source.t0, end) == {"a": 0, "bb": 0}


def test_a_stepped_wall_clock_stamps_the_ticks_with_the_new_time(
    platform: RunningPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .sample import Live

    offset = [0]
    monkeypatch.setattr(_core, "wall_us", lambda: time.time_ns() // 1000 + offset[0], raising=False)
    run = start(Live, **options(platform, tmp_path))
    live = run.instance
    wait_for(lambda: len(live.polled) >= 3, "polls")
    hour = 3_600_000_000
    offset[0] = hour  # NTP steps the wall clock an hour forward
    stepped = now_us() + hour
    polled = len(live.polled)
    wait_for(lambda: len(live.polled) >= polled + 5, "polls after the step")
    run.stop()
    xs = [p["x"] for p in platform.stored_points("a")]
    after = [x for x in xs if x >= stepped - 1_000_000]
    assert len(after) >= 3, xs[-8:]


def test_a_stop_inside_a_long_backfill_is_noticed_at_once_and_keeps_what_was_given(
    platform: RunningPlatform, tmp_path: Path, source: Any
) -> None:
    source.t0 = now_us() - 15_000_000  # 3,750 samples of history per tag, 5 ms each: 19 s per tag
    source.serve = 0.005
    run = start(source, **options(platform, tmp_path))
    wait_for(lambda: source.backfills, "the backfill")
    time.sleep(1.0)
    started = time.monotonic()
    run.stop()
    took = time.monotonic() - started
    assert took < 5.0, took  # not the whole tag's 19 s
    first = source.backfills[0][0]
    kept = [p for p in platform.stored_points(first) if p["q"] != 102]
    assert len(kept) >= 50  # what the backfill gave before the stop is kept


@pytest.mark.slow  # the spool drains at the writer's pace before the window is read: 40 s
def test_the_platform_down_and_a_full_spool_count_the_refused_readings(
    platform: RunningPlatform, tmp_path: Path, source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A full spool (``max_spool_bytes``) while the platform is down: counted, then read again."""
    caplog.set_level(logging.INFO, "data_interaction_client")
    address = f"127.0.0.1:{free_port()}"
    writer = {**WRITER, "max_spool_bytes": 60_000}
    run = start(source, **options(platform, tmp_path, metrics=address, writer=writer))
    delivered(platform, now_us())
    platform.set_faults(Faults(error_rate=1.0, error_status=503))
    refused = "data_interaction_readings_refused_total{reason=spool_full}"
    writer_of_run = run.instance._runtime_writer
    wait_for(lambda: writer_of_run.stats().refused_points > 50, "a full spool")
    platform.set_faults(None)
    end = now_us()
    delivered(platform, end)
    wait_for(lambda: holes(platform, source.t0, end) == {"a": 0, "bb": 0}, "the refused window read again")
    counted = metrics(address)[refused]
    writer_refused = writer_of_run.stats().refused_points
    run.stop()
    said = sum(
        int(m[1])
        for r in caplog.records
        if r.levelno == logging.ERROR
        and (m := re.match(r"the writer refused (\d+) readings \(spool full", r.getMessage()))
    )
    assert said == counted == writer_refused
