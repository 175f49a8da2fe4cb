"""The writer's behaviour on both twins: every test runs on :class:`Writer` and :class:`AsyncWriter`."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs
import pytest

from data_interaction_client import (
    Columns,
    InvalidInputError,
    InvalidPointError,
    PlatformError,
    QuarantinedBatch,
    SpoolDiskFullError,
    SpoolLockedError,
    Tag,
    TagBusyError,
    TagPath,
    WriteEvent,
    WriterClosedError,
    WriterFullError,
    WriterStats,
    WriterTimeoutError,
)
from data_interaction_client._spool.sqlite import DB_NAME, SqliteSpool
from data_interaction_client._writer import base, committer

from .conftest import json_response
from .writer_helpers import FillingDisk, LogEvents, Recorder, Twin, mount_tmpfs, points, wait_until

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
            wait_until(lambda: w._engine.closing, what="the close")
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
        await until(lambda: w._engine.closing, what="the close")
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

    def open_spool(options: Any) -> FullDisk:
        spool = FullDisk(options["spool"], fsync=options["fsync"])
        made.append(spool)
        return spool

    monkeypatch.setattr(base, "_disk_spool", open_spool)
    monkeypatch.setattr(committer, "_STORE_RETRY_DELAY", 0.05)
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

    freeing = _after_retries(lambda: w._engine.closing, disk, space_back)
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
    if not mount_tmpfs(disk, "2m"):
        pytest.skip("mounting a tmpfs is not allowed here (it needs root)")
    try:
        recorder.down(503)
        w = twin.writer(disk / "s", close_timeout=30)
        accepted = _write_until_the_disk_is_full(w)
        assert mount_tmpfs(disk, "64m", remount=True)
        recorder.up()
        with caplog.at_level(logging.ERROR, "data_interaction_client"):
            twin.close(w)
        assert "lost" not in caplog.text
        assert recorder.points["a"] == points(0, 0, accepted)
    finally:
        twin.shut()  # no writer left holding a file on the tmpfs
        subprocess.run(["umount", str(disk)], capture_output=True, check=False)


def _write_refused_while_full(w: Any, first: int, calls: int) -> tuple[int, int]:
    """Try ``calls`` writes of 1,000 points after ``first``: (points accepted, points refused)."""
    accepted = refused = 0
    for _ in range(calls):
        try:
            w.write_points("a", points(0, first + accepted, 1000))
        except SpoolDiskFullError:
            refused += 1000
            time.sleep(0.05)
        else:
            accepted += 1000
    return accepted, refused


@pytest.mark.slow
@pytest.mark.parametrize("room", ["a file deleted", "remounted bigger"])
def test_the_writer_stores_again_by_itself_once_a_real_full_disk_has_room(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture, room: str
) -> None:
    # One megabyte back, less than the spool file holds: deleting its delivered records must not
    # need as much again for the rollback journal (SQLite built with SECURE_DELETE zeroes, and so
    # journals, every page it frees).
    disk = tmp_path / "disk"
    disk.mkdir()
    if not mount_tmpfs(disk, "3m"):
        pytest.skip("mounting a tmpfs is not allowed here (it needs root)")
    try:
        other = disk / "other"
        if room == "a file deleted":
            other.write_bytes(bytes(1024 * 1024))
        recorder.down(503)
        w = twin.writer(disk / "s", close_timeout=30)
        accepted = _write_until_the_disk_is_full(w)
        refused = 1000
        recorder.up()
        wait_until(lambda: w.stats().pending_points == 0 and recorder.total == accepted, what="delivery")
        if room == "a file deleted":
            other.unlink()
        else:
            assert mount_tmpfs(disk, "4m", remount=True)
        with caplog.at_level(logging.WARNING, "data_interaction_client"):
            more, more_refused = _write_refused_while_full(w, accepted, 10)
            refused += more_refused
            wait_until(lambda: w.stats().pending_points == 0, what="the points written once there is room")
            later, later_refused = _write_refused_while_full(w, accepted + more, 10)
            assert (later, later_refused) == (10_000, 0)  # stored again, without a restart
            refused += later_refused
            accepted += more + later
            twin.flush(w)
            assert w.stats().refused_points == refused
            twin.close(w)
        assert "lost" not in caplog.text
        assert recorder.points["a"] == points(0, 0, accepted)
        again = twin.writer(disk / "s")  # a new writer opens the spool
        assert again.stats().pending_points == 0
        twin.close(again)
    finally:
        twin.shut()  # no writer left holding a file on the tmpfs
        subprocess.run(["umount", str(disk)], capture_output=True, check=False)


# --- the flow (moved from the sync writer's tests: they hold for both twins) ----------------------------


def test_points_reach_the_platform_in_order_with_exact_values(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    tags = [Tag(f"t{i}") for i in range(10)]
    w = twin.writer(tmp_path / "spool")
    for i in range(3000):
        w.write(tags[i % 10], X + i, i * 0.5 + i % 10, q=0)
    twin.flush(w, timeout=30)
    stats = w.stats()
    twin.close(w)
    assert w.closed
    for t in range(10):
        assert recorder.points[f"t{t}"] == [
            {"x": X + i, "y": i * 0.5 + t, "q": 0} for i in range(t, 3000, 10)
        ]
    assert (stats.sent_points, stats.pending_points, stats.pending_batches, stats.health) == (
        3000,
        0,
        0,
        "ok",
    )
    assert stats.sent_batches == len(recorder.sizes)
    assert max(recorder.sizes) <= 5000


def test_a_tag_is_a_tag_or_any_form_of_its_id(twin: Twin, recorder: Recorder) -> None:
    w = twin.writer(None)
    w.write(Tag("a"), X, 1, q=0)
    w.write("a", X + 1, 2, q=0)
    w.write(TagPath("p", "b"), X, 3, q=0)
    w.write({"tagName": "p", "parentObjectId": "b"}, X + 1, 4.5, q=None)
    w.write(Tag(TagPath("p", "b")), X + 2, "text", q=102)
    twin.flush(w, timeout=30)
    assert recorder.points["a"] == [{"x": X, "y": 1, "q": 0}, {"x": X + 1, "y": 2, "q": 0}]
    assert recorder.points["b/p"] == [
        {"x": X, "y": 3, "q": 0},
        {"x": X + 1, "y": 4.5, "q": None},
        {"x": X + 2, "y": "text", "q": 102},
    ]
    with pytest.raises(InvalidInputError, match="tag id"):
        w.write(5, X, 1, q=0)
    with pytest.raises(InvalidInputError, match="tag id"):
        w.write({"name": "x"}, X, 1, q=0)


def test_every_point_is_checked_when_it_is_given(twin: Twin) -> None:
    w = twin.writer(None)
    with pytest.raises(InvalidPointError, match="tag 'a', field 'x'") as info:
        w.write("a", "yesterday", 1, q=0)
    assert info.value.field == "x"
    with pytest.raises(InvalidPointError, match="field 'y'"):
        w.write("a", X, float("nan"), q=0)
    with pytest.raises(InvalidPointError, match="point 1, field 'q'"):
        w.write_points("a", [(X, 1), (X + 1, 2, "bad")])
    assert w.stats().pending_points == 0  # nothing of a refused call was kept


def test_write_points_takes_dicts_tuples_columns_and_frames(twin: Twin, recorder: Recorder) -> None:
    pandas = pytest.importorskip("pandas")
    w = twin.writer(None)
    assert w.write_points("a", [{"x": X, "y": 1}, (X + 1, 2), (X + 2, 3, 100)]) == 3
    assert w.write_points("b", Columns([X, X + 1], [1.5, 2.5], [0, None])) == 2
    frame = pandas.DataFrame({"x": [X, X + 1], "y": [7, 8]})
    assert w.write_points("c", frame) == 2
    assert w.write_points("d", pandas.DataFrame({"x": [X], "y": [1], "q": [5]})) == 1
    assert w.write_points("e", []) == 0
    with pytest.raises(InvalidInputError, match="columns x and y"):
        w.write_points("c", pandas.DataFrame({"time": [X]}))
    twin.flush(w, timeout=30)
    assert recorder.points["a"] == [{"x": X, "y": 1}, {"x": X + 1, "y": 2}, {"x": X + 2, "y": 3, "q": 100}]
    assert recorder.points["b"] == [{"x": X, "y": 1.5, "q": 0}, {"x": X + 1, "y": 2.5, "q": None}]
    assert recorder.points["c"] == [{"x": X, "y": 7}, {"x": X + 1, "y": 8}]
    assert recorder.points["d"] == [{"x": X, "y": 1, "q": 5}]


def test_points_keep_their_order_across_write_and_write_points(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    # write_points of many points gives them to the intake encoded, write() as dicts: one tag's
    # points still leave in the order written, split in requests of at most batch_points, and the
    # watermark follows the last one stored.
    w = twin.writer(tmp_path / "spool", batch_points=150)
    expected = []
    for round_ in range(3):
        base = X + round_ * 1000
        w.write("a", base, -1.0, q=0)
        w.write_points("a", [{"x": base + 1 + i, "y": i * 0.5, "q": 0} for i in range(400)])
        w.write("a", base + 500, -2.0, q=0)
        w.write_points("a", [(base + 501 + i, i) for i in range(100)])  # after dicts: kept as dicts
        w.write_points("b", points(round_, round_ * 1000, 300))
        expected += [{"x": base, "y": -1.0, "q": 0}]
        expected += [{"x": base + 1 + i, "y": i * 0.5, "q": 0} for i in range(400)]
        expected += [{"x": base + 500, "y": -2.0, "q": 0}]
        expected += [{"x": base + 501 + i, "y": i} for i in range(100)]
        twin.sync(w, timeout=30)
    twin.flush(w, timeout=30)
    assert recorder.points["a"] == expected
    assert recorder.points["b"] == points(0, 0, 300) + points(1, 1000, 300) + points(2, 2000, 300)
    assert max(recorder.sizes) <= 150
    assert w.watermark("a") == X + 2000 + 600
    assert w.watermark("b") == X + 2000 + 299


def test_write_tags_moves_the_buffered_points(twin: Twin, recorder: Recorder) -> None:
    w = twin.writer(None)
    a, b = Tag("a"), Tag("b")
    a.update(points(0, 0, 3))
    b.add_data(X, 1, q=0)
    assert w.write_tags([a, b, a]) == 4
    assert len(a) == len(b) == 0
    assert w.write_tags(a) == 0
    busy = Tag("busy")
    busy.add_data(X, 1)
    busy._sending = True
    with pytest.raises(TagBusyError, match="busy"):
        w.write_tags([busy])
    assert len(busy) == 1
    with pytest.raises(InvalidInputError, match="Tag"):
        w.write_tags(["a"])
    twin.flush(w, timeout=30)
    assert recorder.points["a"] == points(0, 0, 3)
    assert recorder.points["b"] == [{"x": X, "y": 1, "q": 0}]
    twin.close(w)
    b.add_data(X + 1, 2, q=0)
    with pytest.raises(WriterClosedError):
        w.write_tags([b])
    assert b.points == [{"x": X + 1, "y": 2, "q": 0}]  # refused: the points stay in the tag


def test_batches_by_size_without_waiting_for_the_interval(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    w = twin.writer(tmp_path / "spool", batch_points=100, flush_interval=3600)
    for i in range(1000):
        w.write("a", X + i, i, q=0)
    # Sends are due once a batch's worth is on disk, with no interval passing. How the points were
    # committed (all at once, or some by commit_interval on a slow machine) decides how they are cut
    # into requests, so fewer than a batch's worth may wait for the interval at the end.
    wait_until(lambda: recorder.total >= 901, what="size-triggered sends")
    assert all(size <= 100 for size in recorder.sizes)
    sent = recorder.points["a"]
    assert sent == [{"x": X + i, "y": i, "q": 0} for i in range(len(sent))]


def test_batches_by_time_gathering_what_came_meanwhile(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    w = twin.writer(tmp_path / "spool", flush_interval=0.5, commit_interval=0.01)
    for i in range(5):
        w.write("a", X + i, i, q=0)
    wait_until(lambda: w.stats().pending_batches > 0, what="the points on disk")
    assert recorder.attempts == 0  # on disk, not sent yet: the interval has not passed
    wait_until(lambda: recorder.total == 5, what="the timed send")
    assert recorder.sizes == [5]


def test_one_request_in_flight(twin: Twin, recorder: Recorder, tmp_path: Path) -> None:
    recorder.delay = 0.01
    w = twin.writer(tmp_path / "spool", batch_points=10)
    for i in range(200):
        w.write("a", X + i, i, q=0)
    twin.flush(w, timeout=30)
    assert recorder.max_in_flight == 1
    assert recorder.total == 200


def test_sync_returns_once_the_points_are_on_disk(twin: Twin, tmp_path: Path) -> None:
    w = twin.writer(tmp_path / "spool", commit_interval=3600, flush_interval=3600)
    w.write_points("a", points(0, 0, 10))
    w.write("b", X, 1, q=0)
    twin.sync(w, timeout=30)
    # The spool holds its file exclusively: read a copy of what is on disk now.
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes((tmp_path / "spool" / DB_NAME).read_bytes())
    with closing(sqlite3.connect(copy)) as conn, conn:
        assert conn.execute("SELECT SUM(points) FROM batches").fetchone()[0] == 11
    assert w.stats().pending_points == 11


def test_flush_times_out_with_a_typed_error_and_loses_nothing(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "spool")
    w.write_points("a", points(0, 0, 50))
    with pytest.raises(WriterTimeoutError, match=r"flush\(\) did not finish within 0.2 s") as info:
        twin.flush(w, timeout=0.2)
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(InvalidInputError, match="timeout"):
        twin.flush(w, timeout=-1)
    recorder.up()
    twin.flush(w, timeout=30)
    assert recorder.points["a"] == points(0, 0, 50)


# --- failures (moved from the sync writer's tests) -------------------------------------------------------


def test_transient_failures_are_retried_forever_and_health_says_so(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "spool")
    with caplog.at_level(logging.INFO, "data_interaction_client"):
        w.write_points("a", points(0, 0, 20))
        wait_until(lambda: recorder.attempts >= 5, what="retries")
        stats = w.stats()
        assert (stats.health, stats.pending_points) == ("degraded", 20)
        assert stats.consecutive_failures >= 4
        assert "HTTP 503" in (stats.last_error or "")
        recorder.unreachable()
        wait_until(lambda: "could not reach" in (w.stats().last_error or ""), what="connection errors")
        recorder.up()
        twin.flush(w, timeout=30)
    stats = w.stats()
    assert (stats.health, stats.consecutive_failures, stats.sent_points) == ("ok", 0, 20)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # the state change, not every retry
    assert "does not accept points" in warnings[0].getMessage()
    assert any("accepts points again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert recorder.points["a"] == points(0, 0, 20)


def test_retry_after_is_honoured(twin: Twin, recorder: Recorder, tmp_path: Path) -> None:
    recorder.down(429, **{"Retry-After": "0.3"})
    w = twin.writer(tmp_path / "spool", max_retry_delay=0.01)
    w.write("a", X, 1, q=0)
    wait_until(lambda: recorder.attempts >= 3, what="retries")
    recorder.up()
    gaps = [b - a for a, b in zip(recorder.times, recorder.times[1:], strict=False)]
    assert min(gaps[:2]) >= 0.25  # the platform's 0.3 s, not the writer's 0.01 s cap


def test_a_refused_token_keeps_the_points_and_is_critical(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(401)
    w = twin.writer(tmp_path / "spool")
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.write_points("a", points(0, 0, 5))
        wait_until(lambda: recorder.attempts >= 3, what="retries")
    stats = w.stats()
    assert (stats.health, stats.quarantined_batches, stats.pending_points) == ("critical", 0, 5)
    assert "HTTP 401" in (stats.last_error or "")
    assert "check the token" in caplog.text  # the client's hint, in the error
    assert "are refused" in caplog.text
    recorder.up()
    twin.flush(w, timeout=30)
    assert w.stats().health == "ok"
    assert recorder.points["a"] == points(0, 0, 5)


def test_a_permanent_refusal_sets_aside_only_the_bad_tag(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse_bad(body: dict[str, Any]) -> Any:
        if any(item["tagId"] == "bad" for item in body["data"]):
            return json_response({"error": {"id": 7, "message": "unknown tag"}}, 422)
        return None

    recorder.answer = refuse_bad
    w = twin.writer(tmp_path / "spool", commit_interval=0.2, flush_interval=0.3)
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        for i in range(30):
            for tag in ("a", "bad", "b"):
                w.write(tag, X + i, i, q=0)
        twin.flush(w, timeout=30)
    assert recorder.points["a"] == recorder.points["b"] == [{"x": X + i, "y": i, "q": 0} for i in range(30)]
    assert "bad" not in recorder.points
    quarantined = w.quarantined()
    assert sum(batch.points for batch in quarantined) == 30
    assert len(quarantined) <= 3  # the bad tag's parts, not a batch per point
    batch = quarantined[0]
    assert isinstance(batch, QuarantinedBatch)
    assert (batch.tags, batch.status_code, batch.damaged) == (["bad"], 422, False)
    assert "HTTP 422" in batch.error
    assert "unknown tag" in batch.error
    assert batch.data["bad"][0] == {"x": X, "y": 0, "q": 0}
    assert batch.time >= batch.written
    stats = w.stats()
    assert (stats.health, stats.quarantined_batches) == ("critical", len(quarantined))
    assert "refused 30 points" in caplog.text or "for good" in caplog.text
    # Fixed on the platform: send them again.
    recorder.up()
    assert w.requeue_quarantined() == len(quarantined)
    twin.flush(w, timeout=30)
    assert recorder.points["bad"] == [{"x": X + i, "y": i, "q": 0} for i in range(30)]
    assert w.quarantined() == []
    assert w.stats().health == "ok"


def test_purge_deletes_quarantined_batches_and_counts_their_points(twin: Twin, recorder: Recorder) -> None:
    recorder.down(400)
    w = twin.writer(None)
    w.write_points("a", points(0, 0, 3))
    w.write_points("b", points(1, 0, 2))
    twin.flush(w, timeout=30)
    batches = w.quarantined()
    assert sorted(b.points for b in batches) == [2, 3]
    with pytest.raises(InvalidInputError, match="integers"):
        w.purge_quarantined(["x"])
    assert w.purge_quarantined(batches[0].id) == 1
    assert w.purge_quarantined() == 1
    assert w.stats().dropped_points["purged"] == 5
    assert w.requeue_quarantined() == 0


def test_a_request_too_large_is_split(twin: Twin, recorder: Recorder, tmp_path: Path) -> None:
    def limit(body: dict[str, Any]) -> Any:
        size = sum(len(item["data"]) for item in body["data"])
        return json_response({"error": {"id": 413, "message": "too large"}}, 413) if size > 40 else None

    recorder.answer = limit
    w = twin.writer(tmp_path / "spool", batch_points=1000)
    w.write_points("a", points(0, 0, 150))
    w.write_points("b", points(1, 0, 150))
    twin.flush(w, timeout=30)
    assert recorder.points["a"] == points(0, 0, 150)
    assert recorder.points["b"] == points(1, 0, 150)
    assert max(recorder.sizes) <= 40
    recorder.answer = lambda body: json_response({"error": {"id": 413, "message": "too large"}}, 413)
    w.write("c", X, 1, q=0)  # one point cannot be split: set aside
    twin.flush(w, timeout=30)
    (batch,) = w.quarantined()
    assert (batch.tags, batch.points, batch.status_code) == (["c"], 1, 413)


def test_after_a_413_later_requests_are_small_enough_at_once(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    refused: list[int] = []

    def limit(body: dict[str, Any]) -> Any:
        size = sum(len(item["data"]) for item in body["data"])
        if size > 60:
            refused.append(size)
            return json_response({"error": {"id": 413, "message": "too large"}}, 413)
        return None

    recorder.answer = limit
    caplog.set_level(logging.INFO, logger="data_interaction_client.writer")
    w = twin.writer(tmp_path / "spool", batch_points=1000)
    w.write_points("a", points(0, 0, 200))
    twin.flush(w, timeout=30)
    assert refused == [200, 100]  # halved until accepted: 200 -> 100 -> 50
    assert "at most 50 points per request from now on" in caplog.text
    w.write_points("b", points(1, 0, 200))
    twin.flush(w, timeout=30)
    assert refused == [200, 100]  # not one more refusal: requests of 50 from the start
    assert recorder.points["a"] == points(0, 0, 200)
    assert recorder.points["b"] == points(1, 0, 200)
    assert max(recorder.sizes) <= 50


def test_an_unexpected_error_is_logged_and_retried(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def once(body: dict[str, Any]) -> Any:
        calls.append(1)
        return RuntimeError("a bug in a transport") if len(calls) == 1 else None

    recorder.answer = once
    w = twin.writer(tmp_path / "spool")
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.write("a", X, 1, q=0)
        twin.flush(w, timeout=30)
    assert "failed unexpectedly" in caplog.text
    assert "RuntimeError" in caplog.text
    assert recorder.points["a"] == [{"x": X, "y": 1, "q": 0}]


# --- overflow (moved from the sync writer's tests; "block" is the sync writer's own) -------------------


@pytest.mark.parametrize("spool", ["disk", "memory"])
def test_overflow_raise_refuses_the_call_and_recovers(
    twin: Twin, recorder: Recorder, tmp_path: Path, spool: str
) -> None:
    recorder.down(503)
    limit = {"max_pending_points": 100} if spool == "memory" else {"max_spool_bytes": 4000}
    w = twin.writer(None if spool == "memory" else tmp_path / "s", overflow="raise", **limit)
    kept = 0

    def fill() -> None:
        nonlocal kept
        for i in range(10_000):
            w.write("a", X + i, i, q=0)
            kept += 1
            if i % 20 == 0:
                twin.sync(w, timeout=30)

    with pytest.raises(WriterFullError, match="full") as info:
        fill()
    assert info.value.points == 1
    stats = w.stats()
    assert (stats.health, stats.refused_points) == ("critical", 1)
    assert 50 <= kept <= 200
    with pytest.raises(WriterFullError, match="more than the writer can ever hold"):
        w.write_points("a", points(0, 0, 100_000))
    recorder.up()
    twin.flush(w, timeout=30)
    w.write("a", X + kept, kept, q=0)  # room again
    twin.flush(w, timeout=30)
    assert recorder.points["a"] == [{"x": X + i, "y": i, "q": 0} for i in range(kept + 1)]
    assert w.stats().health == "ok"


@pytest.mark.parametrize("spool", ["disk", "memory"])
def test_overflow_drop_oldest_keeps_the_newest_and_says_so(
    twin: Twin, recorder: Recorder, tmp_path: Path, spool: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    limit = {"max_pending_points": 200} if spool == "memory" else {"max_spool_bytes": 8000}
    w = twin.writer(None if spool == "memory" else tmp_path / "s", overflow="drop_oldest", **limit)
    with caplog.at_level(logging.WARNING, "data_interaction_client"):
        for i in range(2000):
            w.write("a", X + i, i, q=0)
            if i % 50 == 49:
                twin.sync(w, timeout=30)
    stats = w.stats()
    dropped = stats.dropped_points["overflow"]
    assert dropped > 1000
    assert stats.health == "degraded"
    assert "dropped the" in caplog.text
    assert "oldest" in caplog.text
    recorder.up()
    twin.flush(w, timeout=30)
    got = recorder.points["a"]
    assert len(got) + dropped == 2000
    assert got[-1] == {"x": X + 1999, "y": 1999, "q": 0}  # the newest are kept, in order
    assert [p["y"] for p in got] == sorted(p["y"] for p in got)


# --- the spool (moved from the sync writer's tests) -------------------------------------------------------


def test_a_full_disk_refuses_new_points_and_goes_on_once_space_is_back(
    twin: Twin,
    recorder: Recorder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(committer, "_STORE_RETRY_DELAY", 0.05)  # not 1 s: the test waits for it
    disk = FillingDisk()
    monkeypatch.setattr(base, "_disk_spool", disk.spool)
    recorder.down(503)
    w = twin.writer(tmp_path / "spool")
    w.write_points("a", points(0, 0, 100))
    twin.sync(w, timeout=30)
    disk.fill()
    accepted = 100
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.write_points("a", points(0, 100, 3000))  # taken in memory; the commit fails
        accepted += 3000
        with pytest.raises(SpoolDiskFullError, match="disk is full"):
            twin.sync(w)  # raises once the writer's next try fails too
        with pytest.raises(SpoolDiskFullError, match="5 points of this call were not kept"):
            w.write_points("a", points(0, 5000, 5))
    assert "disk is full" in caplog.text
    stats = w.stats()
    assert (stats.health, stats.refused_points, stats.pending_points) == ("critical", 5, accepted)
    disk.limit(1_000_000)
    wait_until(lambda: w.stats().health != "critical" or w.stats().pending_batches > 1, what="space back")
    twin.sync(w, timeout=30)
    w.write("a", X + 9000, 9000, q=0)
    recorder.up()
    twin.flush(w, timeout=30)
    expected = [*points(0, 0, 3100), {"x": X + 9000, "y": 9000, "q": 0}]
    assert recorder.points["a"] == expected


def test_a_writer_opened_on_a_spool_sends_what_it_holds_first(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "s", close_timeout=0.1)
    w.write_points("a", [{"x": X + i, "y": "old"} for i in range(20)])
    twin.close(w)
    assert w.stats().pending_points == 20  # kept on disk
    recorder.up()
    w = twin.writer(tmp_path / "s")
    w.write_points("a", [{"x": X + i, "y": "new"} for i in range(20)])
    twin.flush(w, timeout=30)
    twin.close(w)
    assert [p["y"] for p in recorder.points["a"]] == ["old"] * 20 + ["new"] * 20


def test_two_writers_on_one_spool(twin: Twin, tmp_path: Path) -> None:
    first = twin.writer(tmp_path / "s")
    with pytest.raises(SpoolLockedError, match="in use by another writer"):
        twin.writer(tmp_path / "s")
    twin.close(first)
    twin.close(twin.writer(tmp_path / "s"))  # free once the first is closed


def test_a_corrupted_spool_never_stops_the_writer(
    twin: Twin, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "s", close_timeout=0)
    w.write_points("a", points(0, 0, 10))
    twin.close(w)
    (tmp_path / "s" / DB_NAME).write_bytes(b"this is not a database" * 1000)
    recorder.up()
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w = twin.writer(tmp_path / "s")
    try:
        assert "failed its integrity check" in caplog.text
        w.write("a", X, 1, q=0)
        twin.flush(w, timeout=30)
        assert recorder.points["a"] == [{"x": X, "y": 1, "q": 0}]
    finally:
        twin.close(w)
    assert any(".corrupt-" in p.name for p in (tmp_path / "s").iterdir())


def test_a_record_that_cannot_be_decoded_goes_to_the_quarantine(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "s", close_timeout=0)
    w.write_points("a", points(0, 0, 10))
    twin.sync(w)
    twin.close(w)
    spool = SqliteSpool(tmp_path / "s")
    spool.append([type(spool.peek(1)[0])(0, 0, 3, b"[not a header", b"[]")])  # type: ignore[call-arg]
    spool.close()
    recorder.up()
    w = twin.writer(tmp_path / "s")
    twin.flush(w, timeout=30)
    (batch,) = w.quarantined()
    twin.close(w)
    assert batch.damaged
    assert "cannot be decoded" in batch.error
    assert batch.data == {}
    assert recorder.points["a"] == points(0, 0, 10)


def test_close_while_the_platform_is_down_keeps_everything(
    twin: Twin, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.unreachable()
    w = twin.writer(tmp_path / "s", close_timeout=0.5)
    w.write_points("a", points(0, 0, 500))
    started = time.monotonic()
    twin.close(w)
    assert time.monotonic() - started < 5  # 0.5 s asked, generous for a loaded machine
    twin.close(w)
    with pytest.raises(WriterClosedError):
        w.write("a", X, 1, q=0)
    with pytest.raises(WriterClosedError):
        twin.flush(w, timeout=None)
    with pytest.raises(WriterClosedError):
        twin.sync(w)
    spool = SqliteSpool(tmp_path / "s")
    assert spool.points == 500
    spool.close()
    recorder.up()
    w = twin.writer(tmp_path / "s")
    twin.flush(w, timeout=30)
    twin.close(w)
    assert recorder.points["a"] == points(0, 0, 500)


def test_a_memory_only_writer_says_what_it_loses_at_close(
    twin: Twin, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.unreachable()
    w = twin.writer(None, close_timeout=0.1)
    w.write_points("a", points(0, 0, 7))
    twin.sync(w)
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        twin.close(w)
    assert w.stats().dropped_points["closed"] == 7
    assert "7 points the platform had not accepted: they are lost" in caplog.text


# --- policies, options, stats (moved from the sync writer's tests) ------------------------------------


def test_scale_and_deadband_give_exact_outputs(twin: Twin, recorder: Recorder) -> None:
    tag = Tag("t", {"smtTagValueScale": 10, "smtTagMaxDev": 5})
    w = twin.writer(None, scale=True, deadband=True, max_interval=5.0)
    second = 1_000_000
    values = [1, 1.2, 1.6, 1.6, 0.9, 2.0, 2.0]
    for i, y in enumerate(values):
        w.write(tag, X + i * second, y, q=0)
    w.write(tag, X + 7 * second, 2.0, q=100)  # a quality change
    w.write_points(tag, [(X + 8 * second, 2.1, 100), (X + 13 * second, 2.1, 100)])  # then a heartbeat
    w.write("t", X + 14 * second, 3, q=0)  # the same tag by id: the same policy
    w.write("plain", X, 3, q=0)  # a tag without attributes: untouched
    twin.flush(w, timeout=30)
    # Scaled by 10 (an int stays an int), then kept when 5 or more away from the last kept value.
    assert recorder.points["t"] == [
        {"x": X, "y": 10, "q": 0},  # the first
        {"x": X + 2 * second, "y": 16.0, "q": 0},  # 12.0 was within 5 of 10; 16.0 is not
        {"x": X + 4 * second, "y": 9.0, "q": 0},  # 16.0 again dropped; 9.0 is 7 away
        {"x": X + 5 * second, "y": 20.0, "q": 0},
        {"x": X + 7 * second, "y": 20.0, "q": 100},  # the same value, another quality
        {"x": X + 13 * second, "y": 21.0, "q": 100},  # 21.0 at 8 s dropped; at 13 s a heartbeat
        {"x": X + 14 * second, "y": 30, "q": 0},
    ]
    assert recorder.points["plain"] == [{"x": X, "y": 3, "q": 0}]
    assert w.stats().dropped_points["deadband"] == 4
    w.set_policy(tag, deadband=False, scale=False)
    w.write(tag, X + 15 * second, 3, q=0)
    twin.flush(w, timeout=30)
    assert recorder.points["t"][-1] == {"x": X + 15 * second, "y": 3, "q": 0}


def test_policies_apply_to_write_tags(twin: Twin, recorder: Recorder) -> None:
    w = twin.writer(None)
    tag = Tag("t", {"smtTagValueScale": 2})
    w.set_policy(tag, scale=True, max_interval=None)
    tag.extend([(X, 1), (X + 1, 2.5)])
    w.write_tags(tag)
    twin.flush(w, timeout=30)
    assert recorder.points["t"] == [{"x": X, "y": 2}, {"x": X + 1, "y": 5.0}]


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"batch_points": 0}, "batch_points must be an integer >= 1"),
        ({"batch_points": 1.5}, "batch_points"),
        ({"flush_interval": -1}, "flush_interval must be >= 0"),
        ({"commit_interval": float("inf")}, "commit_interval must be a finite number"),
        ({"max_interval": 0}, "max_interval must be a positive, finite number of seconds"),
        ({"max_retry_delay": "1"}, "max_retry_delay must be a positive, finite number"),
        ({"overflow": "wait"}, "overflow must be 'block', 'drop_oldest' or 'raise'"),
        ({"fsync": 1}, "fsync must be True or False"),
        ({"max_pending_points": 10}, "max_pending_points bounds a memory-only writer"),
        ({"timeout": -3}, "timeout must be a positive number"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"batchpoints": 10}, "unknown writer option 'batchpoints'"),
    ],
)
def test_bad_options_are_refused_with_their_name(
    twin: Twin, tmp_path: Path, options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        twin.writer(tmp_path / "s", **options)
    SqliteSpool(tmp_path / "s").close()  # nothing was left locked


def test_options_of_the_other_mode_and_bad_spools_are_refused(twin: Twin) -> None:
    with pytest.raises(InvalidInputError, match="max_spool_bytes applies to a spool on disk"):
        twin.writer(None, max_spool_bytes=10)
    with pytest.raises(InvalidInputError, match="spool must be a directory path"):
        twin.writer(5)
    with pytest.raises(InvalidInputError, match="not ''"):
        twin.writer("")


def test_stats_while_pending(twin: Twin, recorder: Recorder, tmp_path: Path) -> None:
    recorder.down(503)
    w = twin.writer(tmp_path / "spool", batch_points=10)
    w.write_points("a", points(0, 0, 25))
    twin.sync(w, timeout=30)
    time.sleep(0.05)
    stats = w.stats()
    assert (stats.pending_points, stats.pending_batches) == (25, 3)
    assert stats.spool_bytes > 25 * 20
    assert stats.oldest_pending_age is not None
    assert stats.oldest_pending_age >= 0.05
    assert stats.sent_points == 0
    assert stats.dropped_points == {}
    assert repr(w).startswith(("Writer" if twin.kind == "sync" else "AsyncWriter") + "(spool=")
    assert w.spool is not None
