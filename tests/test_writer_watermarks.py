"""Watermarks: each tag's last x, committed with its points, kept after delivery and across restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest

from data_interaction_client import AsyncDataInteractionClient, DataInteractionClient, Tag, TagPath
from data_interaction_client._spool.record_format import decode_points
from data_interaction_client._spool.sqlite import SqliteSpool

from .writer_helpers import FAST, Recorder

X = 1_600_000_000_000_000


def sync_client(recorder: Recorder) -> DataInteractionClient:
    return DataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder))


def test_a_watermark_follows_the_last_point_stored_and_outlives_delivery_and_restarts(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.down()  # nothing is delivered yet: the watermark is about the spool, not the platform
    path = TagPath("pump", "7")
    with sync_client(recorder) as client, client.writer(spool=tmp_path / "s", **FAST) as w:
        assert w.watermark("a") is None
        w.write("a", X + 5, 1.0)
        w.write("a", X + 3, 2.0)  # "last" is in write order, not the largest x
        w.write(Tag(path), "2024-01-01T00:00:00Z", 3)
        w.sync(timeout=30)
        assert w.watermark("a") == X + 3
        assert w.watermark(Tag("a")) == X + 3
        assert w.watermark(path) == "2024-01-01T00:00:00Z"
        assert w.watermark("b") is None
        recorder.up()
        w.flush(timeout=30)
        assert w.watermark("a") == X + 3  # delivered: still there
    with sync_client(recorder) as client, client.writer(spool=tmp_path / "s", **FAST) as w:
        assert w.watermarks() == {"a": X + 3, path: "2024-01-01T00:00:00Z"}


def test_a_memory_only_writer_keeps_watermarks_for_its_life() -> None:
    recorder = Recorder()
    with sync_client(recorder) as client, client.writer(spool=None, **FAST) as w:
        w.write_points("a", [(X + 1, 1.0), (X + 2, 2.0)])
        w.sync(timeout=30)
        assert w.watermark("a") == X + 2


def test_the_async_twin_keeps_watermarks_too(tmp_path: Path) -> None:
    recorder = Recorder()

    async def scenario() -> None:
        client = AsyncDataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder))
        async with client, client.writer(spool=tmp_path / "s", **FAST) as w:
            w.write("a", X + 9, 1.0)
            await w.sync(timeout=30)
            assert w.watermark("a") == X + 9
            assert w.watermarks() == {"a": X + 9}

    asyncio.run(scenario())


# A connector that resumes from its watermark: it writes x = X + i from the index after it, syncs
# every 50 points and says how far it synced, until it is killed. Nothing is delivered (the port
# refuses connections): everything stays in the spool.
_CHILD = """
import sys, time
from data_interaction_client import DataInteractionClient
url, spool = sys.argv[1], sys.argv[2]
with DataInteractionClient(url, max_retries=0) as client:
    w = client.writer(spool=spool, commit_interval=0.001, flush_interval=3600, max_retry_delay=0.2)
    last = w.watermark("k")
    i = 0 if last is None else last - {x0} + 1
    print(i, flush=True)
    while True:
        w.write("k", {x0} + i, float(i))
        i += 1
        if i % 50 == 0:
            w.sync(timeout=60)
            print(i, flush=True)
        time.sleep(0.0002)
"""


@pytest.mark.slow
def test_after_kill_9_a_watermark_never_names_a_point_the_spool_does_not_hold(tmp_path: Path) -> None:
    spool = tmp_path / "s"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        previous = X - 1
        for round_ in range(4):
            with subprocess.Popen(
                [sys.executable, "-c", _CHILD.format(x0=X), url, str(spool)],
                stdout=subprocess.PIPE,
                text=True,
            ) as child:
                assert child.stdout is not None
                resumed_from = int(child.stdout.readline())
                for _ in range(round_ + 2):
                    synced = int(child.stdout.readline())
                os.kill(child.pid, signal.SIGKILL)
                child.wait(timeout=30)
            opened = SqliteSpool(spool)
            try:
                held: list[int] = []
                for record in opened.peek(10**9):
                    held += [int(p["x"]) for p in decode_points(record.tags, record.data)["k"]]
                watermark = orjson.loads(opened.watermarks()[orjson.dumps("k").decode()])
            finally:
                opened.close()
            assert watermark in held  # the spool holds the point its watermark names
            assert watermark >= X + synced - 1  # and every synced point is under it
            assert held == list(range(X, watermark + 1))  # resumed without a gap or a repeat
            assert resumed_from == previous - X + 1
            previous = watermark


def test_a_point_written_without_q_has_none_as_everywhere(tmp_path: Path) -> None:
    recorder = Recorder()
    with sync_client(recorder) as client, client.writer(spool=tmp_path / "s", **FAST) as w:
        w.write("a", X, 1.0)  # no quality code: null, a good value (as Tag.add_data and update)
        w.write("a", X + 1, 2.0, q=102)
        w.flush(timeout=30)
    assert recorder.points["a"] == [{"x": X, "y": 1.0, "q": None}, {"x": X + 1, "y": 2.0, "q": 102}]
