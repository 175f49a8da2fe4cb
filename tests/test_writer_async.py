"""The async writer: the same behaviour as the sync one, on an event loop."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from data_interaction_client import (
    AsyncDataInteractionClient,
    AsyncWriter,
    InvalidInputError,
    SpoolDiskFullError,
    SpoolLockedError,
    Tag,
    Writer,
    WriterClosedError,
    WriterFullError,
    WriterTimeoutError,
)
from data_interaction_client._spool.sqlite import DB_NAME, SqliteSpool
from data_interaction_client._writer import base, committer

from .conftest import json_response
from .writer_helpers import FAST, FillingDisk, Recorder, points, wait_until

X = 1_600_000_000_000_000
Scenario = Callable[[AsyncDataInteractionClient], Awaitable[None]]


def run(recorder: Recorder, scenario: Scenario) -> None:
    async def main() -> None:
        async with AsyncDataInteractionClient(
            "http://platform.test", transport=httpx.MockTransport(recorder)
        ) as client:
            await scenario(client)

    asyncio.run(main())


async def until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def test_the_twins_have_the_same_surface() -> None:
    def methods(cls: type) -> dict[str, inspect.Signature]:
        return {
            n: inspect.signature(m) for n, m in inspect.getmembers(cls, callable) if not n.startswith("_")
        }

    sync, async_ = methods(Writer), methods(AsyncWriter)
    assert set(async_) - {"aclose"} == set(sync)
    for name, signature in sync.items():
        assert list(signature.parameters) == list(async_[name].parameters), name
        awaited = inspect.iscoroutinefunction(getattr(AsyncWriter, name))
        assert awaited == (name in {"sync", "flush", "close"}), name


def test_points_reach_the_platform_in_order(tmp_path: Path) -> None:
    recorder = Recorder()

    async def scenario(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=tmp_path / "s", **FAST) as w:
            tag = Tag("b")
            for i in range(2000):
                w.write("a", X + i, i, q=0)
            tag.extend(points(1, 0, 10))
            assert w.write_tags([tag]) == 10
            assert w.write_points("c", points(2, 0, 5)) == 5
            await w.sync(timeout=30)
            await w.flush(timeout=30)
            stats = w.stats()
            assert (stats.sent_points, stats.pending_points, stats.health) == (2015, 0, "ok")
        assert w.closed
        with pytest.raises(WriterClosedError):
            w.write("a", X, 1, q=0)
        with pytest.raises(WriterClosedError):
            await w.flush()

    run(recorder, scenario)
    assert recorder.points["a"] == [{"x": X + i, "y": i, "q": 0} for i in range(2000)]
    assert recorder.points["b"] == points(1, 0, 10)
    assert recorder.points["c"] == points(2, 0, 5)
    assert recorder.max_in_flight == 1


def test_an_outage_is_ridden_out_and_health_follows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    recorder.unreachable()

    async def scenario(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=tmp_path / "s", **FAST) as w:
            for i in range(500):
                w.write("a", X + i, i, q=0)
                if i % 100 == 0:
                    await asyncio.sleep(0.01)
            await until(lambda: w.stats().health == "degraded", what="degraded")
            with pytest.raises(WriterTimeoutError):
                await w.flush(timeout=0.1)
            recorder.down(503)
            await until(lambda: "HTTP 503" in (w.stats().last_error or ""), what="503s")
            recorder.up()
            await w.flush(timeout=30)
            assert w.stats().health == "ok"

    with caplog.at_level(logging.WARNING, "data_interaction_client"):
        run(recorder, scenario)
    assert recorder.points["a"] == [{"x": X + i, "y": i, "q": 0} for i in range(500)]
    assert len([r for r in caplog.records if "does not accept points" in r.getMessage()]) == 1


def test_writes_from_another_thread_wake_the_loop(tmp_path: Path) -> None:
    recorder = Recorder()

    async def scenario(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=None, **{**FAST, "batch_points": 50, "flush_interval": 3600}) as w:

            def feed() -> None:
                for i in range(200):
                    w.write("a", X + i, i, q=0)

            thread = threading.Thread(target=feed)
            thread.start()
            thread.join()
            await until(lambda: recorder.total == 200, what="size-triggered sends from a thread's writes")

    run(recorder, scenario)
    assert recorder.sizes == [50] * 4


def test_overflow_raise_and_drop_oldest(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.down(503)

    async def scenario(client: AsyncDataInteractionClient) -> None:
        strict = client.writer(spool=None, **{**FAST, "max_pending_points": 20})
        strict.write_points("a", points(0, 0, 20))
        with pytest.raises(WriterFullError):
            strict.write("a", X + 20, 20, q=0)
        loose = client.writer(
            spool=tmp_path / "s", **{**FAST, "max_spool_bytes": 5000, "overflow": "drop_oldest"}
        )
        for i in range(1000):
            loose.write("b", X + i, i, q=0)
            if i % 50 == 49:
                await loose.sync(timeout=30)
        assert loose.stats().dropped_points["overflow"] > 500
        recorder.up()
        await strict.flush(timeout=30)
        await loose.flush(timeout=30)
        await strict.close()
        await loose.aclose()

    run(recorder, scenario)
    assert recorder.points["a"] == points(0, 0, 20)
    assert recorder.points["b"][-1] == {"x": X + 999, "y": 999, "q": 0}


def test_block_is_not_offered_and_the_writer_needs_a_loop(tmp_path: Path) -> None:
    recorder = Recorder()

    async def scenario(client: AsyncDataInteractionClient) -> None:
        with pytest.raises(InvalidInputError, match="block the event loop"):
            client.writer(spool=None, overflow="block")

    run(recorder, scenario)
    client = AsyncDataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder))
    with pytest.raises(InvalidInputError, match="inside a coroutine"):
        client.writer(spool=tmp_path / "s")


def test_a_full_disk_then_space_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(committer, "_STORE_RETRY_DELAY", 0.05)  # not 1 s: the test waits for it
    disk = FillingDisk()
    monkeypatch.setattr(base, "_disk_spool", disk.spool)
    recorder = Recorder()
    recorder.down(503)

    async def scenario(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=tmp_path / "s", **FAST) as w:
            w.write_points("a", points(0, 0, 10))
            await w.sync(timeout=30)
            disk.fill()
            w.write_points("a", points(0, 10, 3000))
            with pytest.raises(SpoolDiskFullError):
                await w.sync()
            with pytest.raises(SpoolDiskFullError, match="1 points of this call were not kept"):
                w.write("a", X, 1, q=0)
            assert w.stats().health == "critical"
            disk.limit(1_000_000)
            await until(lambda: w.stats().pending_batches > 1, what="space back")
            recorder.up()
            await w.flush(timeout=30)

    run(recorder, scenario)
    assert recorder.points["a"] == points(0, 0, 3010)


def test_quarantine_then_requeue(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.answer = lambda body: json_response({"error": {"id": 1, "message": "no"}}, 400)

    async def scenario(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=tmp_path / "s", **FAST) as w:
            w.write_points("a", points(0, 0, 5))
            await w.flush(timeout=30)
            (batch,) = w.quarantined()
            assert (batch.tags, batch.points, batch.status_code) == (["a"], 5, 400)
            assert w.stats().health == "critical"
            recorder.up()
            assert w.requeue_quarantined([batch.id]) == 1
            await w.flush(timeout=30)
            assert w.quarantined() == []
            assert w.purge_quarantined() == 0

    run(recorder, scenario)
    assert recorder.points["a"] == points(0, 0, 5)


def test_a_corrupted_spool_and_two_writers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / DB_NAME).write_bytes(b"garbage" * 5000)
    recorder = Recorder()

    async def scenario(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=tmp_path / "s", **FAST) as w:
            with pytest.raises(SpoolLockedError):
                client.writer(spool=tmp_path / "s")
            w.write("a", X, 1, q=0)
            await w.flush(timeout=30)

    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        run(recorder, scenario)
    assert "failed its integrity check" in caplog.text
    assert recorder.points["a"] == [{"x": X, "y": 1, "q": 0}]


def test_close_while_the_platform_is_down_keeps_everything(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.unreachable()
    recorder.delay = 0.3  # a request in flight when close gives up: it is cancelled

    async def scenario(client: AsyncDataInteractionClient) -> None:
        w = client.writer(spool=tmp_path / "s", **{**FAST, "close_timeout": 0.2})
        w.write_points("a", points(0, 0, 300))
        await w.sync()
        started = time.monotonic()
        await w.close()
        assert time.monotonic() - started < 5
        await w.close()

    run(recorder, scenario)
    spool = SqliteSpool(tmp_path / "s")
    assert spool.points == 300
    spool.close()
    recorder.up()
    recorder.delay = 0.0

    async def again(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=tmp_path / "s", **FAST) as w:
            await w.flush(timeout=30)

    run(recorder, again)
    assert recorder.points["a"] == points(0, 0, 300)


def test_sync_waits_for_the_disk(tmp_path: Path) -> None:
    recorder = Recorder()

    async def scenario(client: AsyncDataInteractionClient) -> None:
        async with client.writer(spool=tmp_path / "s", **{**FAST, "commit_interval": 3600}) as w:
            w.write_points("a", points(0, 0, 7))
            await w.sync(timeout=30)
            assert w._spool.points + w.stats().sent_points >= 7

    run(recorder, scenario)
    wait_until(lambda: recorder.total == 7, what="delivery at close")
