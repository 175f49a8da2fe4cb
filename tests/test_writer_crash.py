"""The writer's promises against the reference platform: kill -9, a 30 s outage, close while down."""

from __future__ import annotations

import gc
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from data_interaction_client import DataInteractionClient, SpoolLockedError
from data_interaction_client._spool.sqlite import SqliteSpool
from data_interaction_client.emulator import Faults, RunningPlatform

from .writer_child import BASE, ORDER_CYCLE, TAGS, expected

pytestmark = pytest.mark.platform
ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).resolve().parent / "writer_child.py"


class Child:
    """A connector process; its ``synced N`` lines are collected by a thread."""

    def __init__(self, url: str, spool: Path, start: int, mode: str, end: int = 0) -> None:
        args = [sys.executable, str(CHILD), url, str(spool), str(start), mode]
        if mode == "final":
            args.append(str(end))
        self.process = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.synced = start
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.strip()
            self.lines.append(line)
            if line == "ready":
                self.ready.set()
            elif line.startswith("synced "):
                self.synced = max(self.synced, int(line.split()[1]))

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.reader.join(timeout=30)
        self.close()

    def close(self) -> None:
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.slow
def test_kill_9_loses_no_synced_point_and_keeps_the_order(
    reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.set_faults(Faults(latency=0.01))  # so that a batch is in flight when the kill lands
    spool = tmp_path / "spool"
    rng = random.Random(8)
    synced = 0
    kills = 0
    for round_ in range(6):
        child = Child(reference_platform.url, spool, synced, "run")
        try:
            assert child.ready.wait(60), f"round {round_}: the child did not start"
            if round_ == 0:
                # While it runs, the spool is its own: another writer gets a clear error.
                with (
                    DataInteractionClient(reference_platform.url) as client,
                    pytest.raises(SpoolLockedError, match=f"process {child.process.pid}"),
                ):
                    client.writer(spool=spool)
            time.sleep(rng.uniform(0.05, 0.8))
        finally:
            child.kill()
        kills += 1
        assert child.process.returncode == -signal.SIGKILL
        assert child.synced >= synced
        synced = child.synced
        print(f"kill -9 #{kills}: {synced} indices synced so far")
    assert kills >= 5
    assert synced > 0
    # A last run restarts on the same spool, writes some more and flushes.
    end = synced + 2 * ORDER_CYCLE
    final = Child(reference_platform.url, spool, synced, "final", end)
    try:
        assert final.process.wait(timeout=120) == 0, (
            final.process.stderr.read() if final.process.stderr else ""
        )
        final.reader.join(timeout=30)
    finally:
        final.close()
    assert final.lines[-1] == "flushed"

    # Every point written is there, once, with its exact value...
    for tag_index in range(TAGS):
        stored = reference_platform.stored_points(f"k{tag_index}")
        want = [expected(i) for i in range(tag_index, end, TAGS)]
        assert [(p["x"], p["y"]) for p in stored] == [(x, y) for _, x, y in want]
    # ... and the order tag holds the last value written at each timestamp: delivered in write order.
    order = {p["x"]: p["y"] for p in reference_platform.stored_points("order")}
    assert len(order) == ORDER_CYCLE
    for offset in range(ORDER_CYCLE):
        last = max(i for i in range(end) if i % ORDER_CYCLE == offset)
        assert order[BASE + offset] == last, offset


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def platform_process(tmp_path: Path) -> Iterator[str]:
    """The reference platform in its own process, so its work does not share this one's GIL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "data_interaction_client.emulator", "--port", str(port), "--db", ":memory:"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/_emulator/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def set_faults(url: str, **faults: object) -> None:
    httpx.post(url + "/_emulator/faults", json=faults, timeout=10).raise_for_status()


@pytest.mark.slow
def test_a_30_s_outage_loses_nothing_and_never_blocks_write(platform_process: str, tmp_path: Path) -> None:
    url = platform_process
    total, tags, seconds = 100_000, 10, 30.0
    healths: list[str] = []
    durations: list[float] = []
    # A full garbage collection pauses every thread for as long as the heap is big, and the test
    # runner's heap (every collected module) is far bigger than a connector's: freeze it, so that what
    # is measured is the writer, not pytest.
    gc.collect()
    gc.freeze()
    with (
        DataInteractionClient(url) as client,
        client.writer(spool=tmp_path / "spool", max_retry_delay=1.0) as w,
    ):
        set_faults(url, error_rate=1.0, error_status=503)  # first half: 503 for everything
        started = time.monotonic()
        perf = time.perf_counter
        chunk = 100
        for first in range(0, total, chunk):
            if first == total // 2:
                set_faults(url, drop_rate=1.0)  # second half: every connection dropped
            for i in range(first, first + chunk):
                before = perf()
                w.write(f"o{i % tags}", BASE + i, i * 0.5, q=0)
                durations.append(perf() - before)
            healths.append(w.stats().health)
            # A steady rate: 100,000 points over 30 s.
            pause = started + seconds * (first + chunk) / total - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        assert time.monotonic() - started >= seconds - 1
        stats = w.stats()
        assert stats.pending_points == total
        assert stats.sent_points == 0
        set_faults(url)  # the platform is back
        w.flush(timeout=120)
        stats = w.stats()
        assert (stats.health, stats.sent_points, stats.pending_points) == ("ok", total, 0)
    gc.unfreeze()
    assert "degraded" in healths
    assert healths[0] == "ok"
    durations.sort()
    median, p99, worst = statistics.median(durations), durations[int(len(durations) * 0.99)], durations[-1]
    # Shown, not asserted: a loaded machine stretches them; `make bench` measures write() while down.
    print(f"write(): median {median * 1e6:.1f} us, p99 {p99 * 1e6:.1f} us, max {worst * 1e3:.2f} ms")
    with DataInteractionClient(url) as client:
        request = client.create_request_data(
            [f"o{t}" for t in range(tags)], from_time=BASE, to_time=BASE + total, actual=True
        )
        histories = client.get_data(request)
    for history in histories:
        t = int(str(history.tag_id)[1:])
        assert [p.to_dict() for p in history.points] == [
            {"x": BASE + i, "y": i * 0.5, "q": 0} for i in range(t, total, tags)
        ]


def test_close_while_down_then_a_later_writer_delivers(
    reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.set_faults(Faults(drop_rate=1.0))
    with DataInteractionClient(reference_platform.url, max_retries=0) as client:
        w = client.writer(spool=tmp_path / "spool", close_timeout=0.5, max_retry_delay=0.2)
        w.write_points("c", [{"x": BASE + i, "y": i} for i in range(1000)])
        started = time.monotonic()
        w.close()
        assert time.monotonic() - started < 5  # 0.5 s asked; generous for a loaded machine
        spool = SqliteSpool(tmp_path / "spool")
        assert spool.points == 1000  # nothing deleted
        spool.close()
        reference_platform.set_faults(None)
        with client.writer(spool=tmp_path / "spool") as again:
            again.flush(timeout=60)
    assert reference_platform.stored_points("c") == [{"x": BASE + i, "y": i, "q": None} for i in range(1000)]
