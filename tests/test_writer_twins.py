"""The writer's behaviour on both twins: every test runs on :class:`Writer` and :class:`AsyncWriter`."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from data_interaction_client import (
    InvalidInputError,
    PlatformError,
    SpoolDiskFullError,
    WriteEvent,
    WriterClosedError,
    WriterStats,
    _writer_committer,
    _writer_core,
)
from data_interaction_client._spool_sqlite import SqliteSpool

from .conftest import json_response
from .writer_helpers import LogEvents, Recorder, Twin, points, wait_until

X = 1_600_000_000_000_000


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest, recorder: Recorder) -> Iterator[Twin]:
    made = Twin(request.param, recorder)
    made.open()
    yield made
    made.shut()


class Events:
    """Collects the events given to the callbacks, and the thread each was called on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[tuple[str, WriteEvent, threading.Thread]] = []

    def options(self) -> dict[str, Any]:
        return {name: self._callback(name) for name in ("on_accepted", "on_retry", "on_quarantined")}

    def _callback(self, name: str) -> Any:
        def call(event: WriteEvent) -> None:
            with self.lock:
                self.seen.append((name, event, threading.current_thread()))

        return call

    def of(self, name: str) -> list[WriteEvent]:
        with self.lock:
            return [event for kind, event, _ in self.seen if kind == name]


# --- callbacks ----------------------------------------------------------------------------------------


def test_callbacks_tell_each_request_accepted_or_retried(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    failures = iter([json_response({"error": {"id": 503, "message": "busy"}}, 503)] * 2)
    recorder.answer = lambda body: next(failures, None)
    recorder.delay = 0.05
    events = Events()
    w = twin.writer(tmp_path / "s", **events.options())
    w.write_points("a", points(0, 0, 10))
    w.write_points("b", points(1, 0, 5))
    twin.flush(w)
    retries, (accepted,) = events.of("on_retry"), events.of("on_accepted")
    assert len(retries) == 2
    for event in retries:
        assert (event.points, event.tags) == (15, ("a", "b"))
        assert isinstance(event.error, PlatformError)
        assert event.error.status_code == 503
        assert event.retry_in is not None
        assert event.retry_in > 0
        assert event.seconds >= 0.05
    assert (accepted.points, accepted.tags, accepted.error, accepted.retry_in) == (15, ("a", "b"), None, None)
    assert accepted.seconds >= 0.05
    assert events.of("on_quarantined") == []
    callers = {thread for _, _, thread in events.seen}
    if twin.kind == "sync":
        assert callers.isdisjoint({threading.main_thread()})
        assert all(thread.name.endswith("-send") for thread in callers)
    else:
        assert callers == {twin.thread}  # the event loop's thread


def test_callbacks_tell_a_batch_set_aside_and_a_split(twin: Twin, recorder: Recorder, tmp_path: Path) -> None:
    refused = json_response({"error": {"id": 1, "message": "no such tag"}}, 400)
    recorder.answer = lambda body: refused if any(i["tagId"] == "bad" for i in body["data"]) else None
    events = Events()
    w = twin.writer(tmp_path / "s", **events.options())
    w.write_points("good", points(0, 0, 4))
    w.write_points("bad", points(1, 0, 3))
    twin.flush(w)
    (split,) = events.of("on_retry")  # the two tags' request, refused: split, the halves go at once
    assert (split.points, split.tags, split.retry_in) == (7, ("good", "bad"), 0.0)
    (aside,) = events.of("on_quarantined")
    assert (aside.points, aside.tags, aside.retry_in) == (3, ("bad",), None)
    assert isinstance(aside.error, PlatformError)
    assert aside.error.status_code == 400
    assert [(e.points, e.tags) for e in events.of("on_accepted")] == [(4, ("good",))]


def test_a_callback_that_raises_is_logged_once_and_never_stops_delivery(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken(event: WriteEvent) -> None:
        calls.append(event)
        raise RuntimeError("a bug in the callback")

    w = twin.writer(tmp_path / "s", batch_points=10, on_accepted=broken)
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        for start in range(0, 50, 10):
            w.write_points("a", points(0, start, 10))
            twin.flush(w)
    assert recorder.points["a"] == points(0, 0, 50)
    assert len(calls) == 5
    logged = [r for r in caplog.records if "on_accepted callback raised" in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "a bug in the callback" in caplog.text


def test_a_callback_must_be_callable(twin: Twin, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="on_retry must be a callable"):
        twin.writer(tmp_path / "s", on_retry=5)


# --- stats --------------------------------------------------------------------------------------------


def test_stats_to_dict_is_plain_json(twin: Twin, recorder: Recorder) -> None:
    recorder.unreachable()
    w = twin.writer(None, close_timeout=0.0)
    w.write_points("a", points(0, 0, 7))
    twin.close(w)
    stats = w.stats()
    plain = stats.to_dict()
    assert set(plain) == {field.name for field in attrs.fields(WriterStats)}
    assert type(plain["dropped_points"]) is dict
    assert plain["dropped_points"] == {"closed": 7}
    assert json.loads(json.dumps(plain)) == plain
    assert plain["pending_points"] == stats.pending_points == 7


# --- closing --------------------------------------------------------------------------------------------


def _interrupt_close(twin: Twin, w: Any, recorder: Recorder) -> None:
    """Close ``w`` and interrupt the close while it retries: Ctrl-C (sync), a cancelled task (async)."""
    if twin.kind == "sync":

        def interrupt() -> None:
            wait_until(lambda: w._closing, what="the close")
            attempts = recorder.attempts
            wait_until(lambda: recorder.attempts > attempts, what="a retry while closing")
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        interrupter = threading.Thread(target=interrupt)
        interrupter.start()
        with pytest.raises(KeyboardInterrupt):
            w.close()
        interrupter.join()
        return

    async def cancel() -> None:
        closing = asyncio.ensure_future(w.close())
        await until(lambda: w._closing, what="the close")
        attempts = recorder.attempts
        await until(lambda: recorder.attempts > attempts, what="a retry while closing")
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert all(task.done() for task in w._tasks)
        second = w.close()
        with pytest.raises(StopIteration):  # returns at once: nothing is awaited
            second.send(None)

    twin.run(cancel)


def test_an_interrupted_close_still_closes_and_keeps_the_points(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.down(503)  # reachable, refusing: the close would retry for its whole close_timeout
    w = twin.writer(tmp_path / "s", close_timeout=600)
    w.write_points("a", points(0, 0, 300))
    twin.sync(w, timeout=30)
    w.write_points("a", points(0, 300, 20))  # in the intake: stored in the spool by the close
    _interrupt_close(twin, w, recorder)
    assert w.closed
    twin.close(w)  # again: nothing to do
    spool = SqliteSpool(tmp_path / "s")  # the lock is free
    try:
        assert spool.points == 320
    finally:
        spool.close()
    recorder.up()
    w = twin.writer(tmp_path / "s")
    twin.flush(w)
    assert recorder.points["a"] == points(0, 0, 320)


async def until(condition: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def test_a_writer_whose_client_was_closed_refuses_points_and_keeps_the_pending(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "s", close_timeout=600)
    w.write_points("a", points(0, 0, 5))
    twin.sync(w, timeout=30)
    wait_until(lambda: recorder.attempts > 0, what="a first attempt")
    with caplog.at_level(logging.WARNING, "data_interaction_client"):
        twin.close_client()
    assert "client of a writer was closed before the writer" in caplog.text
    with pytest.raises(WriterClosedError, match=r"client was closed.*5 points pending.*stay in the spool"):
        w.write("a", X, 1)
    with pytest.raises(WriterClosedError, match="client was closed"):
        w.write_points("a", points(0, 5, 3))
    with pytest.raises(WriterClosedError, match="client was closed"):
        twin.flush(w)
    stats = w.stats()
    assert (stats.health, stats.last_error, stats.pending_points) == (
        "critical",
        "the writer's client was closed",
        5,
    )
    twin.close(w)  # does not spend its close_timeout retrying a closed client
    assert w.closed
    spool = SqliteSpool(tmp_path / "s")
    try:
        assert spool.points == 5
    finally:
        spool.close()


def test_a_memory_writer_whose_client_was_closed_says_what_it_loses(
    twin: Twin, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    w = twin.writer(None, close_timeout=600)
    w.write_points("a", points(0, 0, 4))
    twin.close_client()
    with pytest.raises(WriterClosedError, match="memory-only writer loses them"):
        w.write("a", X, 1)
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        twin.close(w)
    assert w.stats().dropped_points == {"closed": 4}
    assert "4 points the platform had not accepted: they are lost" in caplog.text


# --- a full disk ------------------------------------------------------------------------------------------


class FullDisk(SqliteSpool):
    """A spool whose disk can be made full: ``append`` then fails as on ENOSPC, storing nothing."""

    full = False
    refusals = 0

    def append(self, records: Any, **limit: Any) -> Any:
        if self.full:
            self.refusals += 1
            raise SpoolDiskFullError(
                f"the spool's disk is full ({self.path}: [Errno 28] No space left on device); free some "
                "space: the writer goes on once it can",
                path=str(self.path),
            )
        return super().append(records, **limit)


@pytest.fixture
def disks(monkeypatch: pytest.MonkeyPatch) -> list[FullDisk]:
    """The spools the writers open, each a :class:`FullDisk`; the writer retries every 0.05 s."""
    made: list[FullDisk] = []

    def open_spool(settings: Any) -> FullDisk:
        spool = FullDisk(settings.spool, fsync=settings.fsync)
        made.append(spool)
        return spool

    monkeypatch.setattr(_writer_core, "_disk_spool", open_spool)
    monkeypatch.setattr(_writer_committer, "_STORE_RETRY_DELAY", 0.05)
    return made


def _fill(twin: Twin, w: Any, disk: FullDisk) -> None:
    """100 points on disk (and delivered), then 3,000 taken in memory that the full disk refuses."""
    w.write_points("a", points(0, 0, 100))
    twin.sync(w, timeout=30)
    disk.full = True
    w.write_points("a", points(0, 100, 3000))
    # The refusal is counted when the spool raises; the writer takes note of it just after.
    wait_until(lambda: disk.refusals > 0 and w.stats().health == "critical", what="the refusal")


def _after_retries(condition: Any, disk: FullDisk, then: Any, count: int = 2) -> threading.Thread:
    """A thread that waits for ``condition``, then for ``count`` more refusals, then calls ``then``."""

    def run() -> None:
        wait_until(condition, what="the call")
        seen = disk.refusals
        wait_until(lambda: disk.refusals >= seen + count, what="retries")
        then()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_close_after_a_full_disk_stores_the_points_once_space_is_back(
    twin: Twin, recorder: Recorder, tmp_path: Path, disks: list[FullDisk], caplog: pytest.LogCaptureFixture
) -> None:
    w = twin.writer(tmp_path / "s", close_timeout=600)
    (disk,) = disks
    _fill(twin, w, disk)

    def space_back() -> None:
        disk.full = False

    freeing = _after_retries(lambda: w._closing, disk, space_back)
    with caplog.at_level(logging.INFO, "data_interaction_client"):
        twin.close(w)
    freeing.join()
    assert recorder.points["a"] == points(0, 0, 3100)
    assert "lost" not in caplog.text
    assert w.stats().dropped_points == {}


def test_close_while_the_disk_stays_full_says_how_many_points_are_lost(
    twin: Twin, recorder: Recorder, tmp_path: Path, disks: list[FullDisk], caplog: pytest.LogCaptureFixture
) -> None:
    w = twin.writer(tmp_path / "s", close_timeout=0.5)
    (disk,) = disks
    _fill(twin, w, disk)
    before = disk.refusals
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        twin.close(w)
    assert disk.refusals > before  # tried again while closing
    assert "3000 points could not be stored in the spool before closing: they are lost" in caplog.text
    assert w.stats().dropped_points == {"closed": 3000}
    assert recorder.points["a"] == points(0, 0, 100)


def test_sync_waits_for_the_disk_until_its_timeout(
    twin: Twin, recorder: Recorder, tmp_path: Path, disks: list[FullDisk]
) -> None:
    w = twin.writer(tmp_path / "s")
    (disk,) = disks
    _fill(twin, w, disk)
    syncing = threading.Event()

    def space_back() -> None:
        disk.full = False

    freeing = _after_retries(syncing.is_set, disk, space_back)
    syncing.set()
    twin.sync(w, timeout=60)  # the disk refused at first: sync waited for the retry
    freeing.join()
    assert w.stats().health == "ok"
    twin.flush(w)
    assert recorder.points["a"] == points(0, 0, 3100)


def test_sync_raises_the_disk_error_when_the_disk_stays_full(
    twin: Twin, recorder: Recorder, tmp_path: Path, disks: list[FullDisk]
) -> None:
    w = twin.writer(tmp_path / "s")
    (disk,) = disks
    _fill(twin, w, disk)
    before = disk.refusals
    with pytest.raises(SpoolDiskFullError, match=r"disk is full.*kept in memory"):
        twin.sync(w, timeout=0.5)
    assert disk.refusals > before  # it waited for a retry, not only the first refusal
    before = disk.refusals
    with pytest.raises(SpoolDiskFullError, match="disk is full"):
        twin.sync(w)  # no timeout: raises once a try made after the call failed
    assert disk.refusals > before
    with pytest.raises(SpoolDiskFullError, match="1 points of this call were not kept"):
        w.write("a", X, 1)
    disk.full = False
    twin.flush(w)
    assert recorder.points["a"] == points(0, 0, 3100)


# --- closing during an outage --------------------------------------------------------------------------


def _refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then let go): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_close_during_an_outage_says_so_at_once_and_stops_when_no_connection_can_be_made(
    kind: str, tmp_path: Path
) -> None:
    twin = Twin(kind)
    twin.open(f"http://127.0.0.1:{_refused_port()}", max_retries=0)
    logs = LogEvents()
    logger = logging.getLogger("data_interaction_client")
    logger.addHandler(logs)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        # Retrying 30 s apart, as in a long outage: the close tries once more at once, not 30 s later.
        w = twin.writer(tmp_path / "s", close_timeout=60, max_retry_delay=30)
        w.write_points("a", points(0, 0, 300))
        twin.sync(w, timeout=30)
        wait_until(lambda: w.stats().consecutive_failures >= 1, what="a refused connection")
        started = time.monotonic()
        twin.close(w)
        took = time.monotonic() - started
    finally:
        logger.removeHandler(logs)
        logger.setLevel(level)
        twin.shut()
    closing = logs.messages[logs.index("closing the writer with 300 points pending")]
    assert "for at most 60 s" in closing
    assert "stays in the spool" in closing
    stopped = logs.messages[logs.index("no connection to the platform can be made")]
    assert "300 points pending: they stay in the spool" in stopped
    assert (
        logs.index("closing the writer") < logs.index("no connection") < logs.index("the writer closed with")
    )
    assert took < 60  # it did not spend its close_timeout on refused connections
    spool = SqliteSpool(tmp_path / "s")
    try:
        assert spool.points == 300
    finally:
        spool.close()


# --- the wall clock jumps ------------------------------------------------------------------------------


def _jump(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make the wall clock (``time.time``) jump by ``seconds`` from now on; the monotonic clock goes on."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def test_a_wall_clock_jumped_back_does_not_stall_sending(
    twin: Twin, recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = twin.writer(tmp_path / "s", flush_interval=1.0)
    w.write_points("a", points(0, 0, 10))
    twin.sync(w, timeout=30)  # in the spool, due in 1 s by the monotonic clock
    _jump(monkeypatch, -3600)
    wait_until(lambda: recorder.total == 10, what="the points sent after flush_interval")
    assert recorder.points["a"] == points(0, 0, 10)


@pytest.mark.parametrize("jump", [-3600.0, 86_400.0])
def test_a_wall_clock_jump_does_not_distort_the_oldest_pending_age(
    twin: Twin, recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jump: float
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "s", close_timeout=0)  # the points stay in the spool at the end
    w.write_points("a", points(0, 0, 10))
    twin.sync(w, timeout=30)
    stored = time.monotonic()
    wait_until(lambda: w.stats().consecutive_failures >= 1, what="a failed attempt")
    _jump(monkeypatch, jump)
    waited = time.monotonic() - stored
    age = w.stats().oldest_pending_age
    assert age is not None
    assert waited <= age < 3600  # measured on the monotonic clock: neither 0 nor a day


def test_records_found_in_the_spool_at_start_are_due_at_once(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "s", close_timeout=0)
    w.write_points("a", points(0, 0, 10))
    twin.close(w)
    recorder.up()
    w = twin.writer(tmp_path / "s", flush_interval=3600)
    wait_until(lambda: recorder.total == 10, what="the points from before, sent at once")
    assert recorder.points["a"] == points(0, 0, 10)


def _mount_tmpfs(path: Path, size: str, *, remount: bool = False) -> bool:
    """Mount (or remount) a tmpfs of ``size`` at ``path``; ``False`` where this machine does not allow it."""
    if shutil.which("mount") is None:
        return False
    options = f"remount,size={size}" if remount else f"size={size}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, check=False
    )
    return done.returncode == 0


def _write_until_the_disk_is_full(w: Any) -> int:
    """Write 1,000 points at a time until the writer raises SpoolDiskFullError; return how many it took."""
    accepted = 0
    while True:
        try:
            w.write_points("a", points(0, accepted, 1000))
        except SpoolDiskFullError:
            return accepted
        accepted += 1000
        assert accepted < 10_000_000, "the disk never filled"
        if accepted % 20_000 == 0:
            time.sleep(0.02)  # let the committer meet the full disk


@pytest.mark.slow
def test_close_after_a_real_full_disk_stores_the_points_once_space_is_back(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount_tmpfs(disk, "2m"):
        pytest.skip("mounting a tmpfs is not allowed here (it needs root)")
    try:
        recorder.down(503)
        w = twin.writer(disk / "s", close_timeout=30)
        accepted = _write_until_the_disk_is_full(w)
        assert _mount_tmpfs(disk, "64m", remount=True)
        recorder.up()
        with caplog.at_level(logging.ERROR, "data_interaction_client"):
            twin.close(w)
        assert "lost" not in caplog.text
        assert recorder.points["a"] == points(0, 0, accepted)
    finally:
        twin.shut()  # no writer left holding a file on the tmpfs
        subprocess.run(["umount", str(disk)], capture_output=True, check=False)
