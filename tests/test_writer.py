"""The background writer (sync): batching, the spool, failures, overflow, quarantine, policies, stats."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import (
    Columns,
    DataInteractionClient,
    InvalidInputError,
    InvalidPointError,
    QuarantinedBatch,
    SpoolDiskFullError,
    SpoolLockedError,
    Tag,
    TagBusyError,
    TagPath,
    Writer,
    WriterClosedError,
    WriterFullError,
    WriterTimeoutError,
)
from data_interaction_client._spool_sqlite import DB_NAME, SqliteSpool

from .conftest import json_response
from .writer_helpers import FAST, Recorder, points, wait_until

ROOT = Path(__file__).resolve().parents[1]
X = 1_600_000_000_000_000
MakeWriter = Callable[..., Writer]
_DEFAULT: Any = object()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[DataInteractionClient]:
    with DataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder)) as made:
        yield made


@pytest.fixture
def make_writer(client: DataInteractionClient, tmp_path: Path) -> Iterator[MakeWriter]:
    made: list[Writer] = []

    def make(spool: Any = _DEFAULT, **options: Any) -> Writer:
        writer = client.writer(
            spool=tmp_path / "spool" if spool is _DEFAULT else spool, **{**FAST, **options}
        )
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer._close(0.0)


# --- the flow ---------------------------------------------------------------------------------------


def test_points_reach_the_platform_in_order_with_exact_values(
    make_writer: MakeWriter, recorder: Recorder
) -> None:
    tags = [Tag(f"t{i}") for i in range(10)]
    with make_writer() as w:
        for i in range(3000):
            w.write(tags[i % 10], X + i, i * 0.5 + i % 10, q=0)
        w.flush(timeout=30)
        stats = w.stats()
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


def test_a_tag_is_a_tag_or_any_form_of_its_id(make_writer: MakeWriter, recorder: Recorder) -> None:
    w = make_writer(spool=None)
    w.write(Tag("a"), X, 1, q=0)
    w.write("a", X + 1, 2, q=0)
    w.write(TagPath("p", "b"), X, 3, q=0)
    w.write({"tagName": "p", "parentObjectId": "b"}, X + 1, 4.5, q=None)
    w.write(Tag(TagPath("p", "b")), X + 2, "text", q=102)
    w.flush(timeout=30)
    assert recorder.points["a"] == [{"x": X, "y": 1, "q": 0}, {"x": X + 1, "y": 2, "q": 0}]
    assert recorder.points["b/p"] == [
        {"x": X, "y": 3, "q": 0},
        {"x": X + 1, "y": 4.5, "q": None},
        {"x": X + 2, "y": "text", "q": 102},
    ]
    with pytest.raises(InvalidInputError, match="tag id"):
        w.write(5, X, 1, q=0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="tag id"):
        w.write({"name": "x"}, X, 1, q=0)


def test_every_point_is_checked_when_it_is_given(make_writer: MakeWriter) -> None:
    w = make_writer(spool=None)
    with pytest.raises(InvalidPointError, match="tag 'a', field 'x'") as info:
        w.write("a", "yesterday", 1, q=0)
    assert info.value.field == "x"
    with pytest.raises(InvalidPointError, match="field 'y'"):
        w.write("a", X, float("nan"), q=0)
    with pytest.raises(InvalidPointError, match="point 1, field 'q'"):
        w.write_points("a", [(X, 1), (X + 1, 2, "bad")])
    assert w.stats().pending_points == 0  # nothing of a refused call was kept


def test_write_points_takes_dicts_tuples_columns_and_frames(
    make_writer: MakeWriter, recorder: Recorder
) -> None:
    pandas = pytest.importorskip("pandas")
    w = make_writer(spool=None)
    assert w.write_points("a", [{"x": X, "y": 1}, (X + 1, 2), (X + 2, 3, 100)]) == 3
    assert w.write_points("b", Columns([X, X + 1], [1.5, 2.5], [0, None])) == 2
    frame = pandas.DataFrame({"x": [X, X + 1], "y": [7, 8]})
    assert w.write_points("c", frame) == 2
    assert w.write_points("d", pandas.DataFrame({"x": [X], "y": [1], "q": [5]})) == 1
    assert w.write_points("e", []) == 0
    with pytest.raises(InvalidInputError, match="columns x and y"):
        w.write_points("c", pandas.DataFrame({"time": [X]}))
    w.flush(timeout=30)
    assert recorder.points["a"] == [{"x": X, "y": 1}, {"x": X + 1, "y": 2}, {"x": X + 2, "y": 3, "q": 100}]
    assert recorder.points["b"] == [{"x": X, "y": 1.5, "q": 0}, {"x": X + 1, "y": 2.5, "q": None}]
    assert recorder.points["c"] == [{"x": X, "y": 7}, {"x": X + 1, "y": 8}]
    assert recorder.points["d"] == [{"x": X, "y": 1, "q": 5}]


def test_points_keep_their_order_across_write_and_write_points(
    make_writer: MakeWriter, recorder: Recorder
) -> None:
    # write_points of many points gives them to the intake encoded, write() as dicts: one tag's
    # points still leave in the order written, split in requests of at most batch_points, and the
    # watermark follows the last one stored.
    w = make_writer(batch_points=150)
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
        w.sync(timeout=30)
    w.flush(timeout=30)
    assert recorder.points["a"] == expected
    assert recorder.points["b"] == points(0, 0, 300) + points(1, 1000, 300) + points(2, 2000, 300)
    assert max(recorder.sizes) <= 150
    assert w.watermark("a") == X + 2000 + 600
    assert w.watermark("b") == X + 2000 + 299


def test_a_write_waiting_for_the_committer_does_not_wait_for_commit_interval(
    make_writer: MakeWriter, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batch_points above the intake's bound: a write that must wait for the committer to take the
    # intake asks it to commit now; it used to wait for commit_interval (here an hour).
    monkeypatch.setattr("data_interaction_client._writer.INTAKE_CAP", 100)
    monkeypatch.setattr("data_interaction_client._writer.INTAKE_BYTES", 1000)
    w = make_writer(batch_points=100_000, commit_interval=3600)
    done = threading.Event()

    def write_more() -> None:
        for i in range(300):
            w.write("a", X + i, 0.5, q=0)
        w.write_points("b", points(0, 0, 200))
        w.write_points("b", points(200, 0, 200))  # over 1000 bytes waiting: waits for the committer
        done.set()

    threading.Thread(target=write_more, daemon=True).start()
    assert done.wait(60), "a write waited for commit_interval"
    w.flush(timeout=30)
    assert recorder.total == 700


def test_write_tags_moves_the_buffered_points(make_writer: MakeWriter, recorder: Recorder) -> None:
    w = make_writer(spool=None)
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
        w.write_tags(["a"])  # type: ignore[list-item]
    w.flush(timeout=30)
    assert recorder.points["a"] == points(0, 0, 3)
    assert recorder.points["b"] == [{"x": X, "y": 1, "q": 0}]
    w.close()
    b.add_data(X + 1, 2, q=0)
    with pytest.raises(WriterClosedError):
        w.write_tags([b])
    assert b.points == [{"x": X + 1, "y": 2, "q": 0}]  # refused: the points stay in the tag


def test_batches_by_size_without_waiting_for_the_interval(
    make_writer: MakeWriter, recorder: Recorder
) -> None:
    w = make_writer(batch_points=100, flush_interval=3600)
    for i in range(1000):
        w.write("a", X + i, i, q=0)
    # Sends are due once a batch's worth is on disk, with no interval passing. How the points were
    # committed (all at once, or some by commit_interval on a slow machine) decides how they are cut
    # into requests, so fewer than a batch's worth may wait for the interval at the end.
    wait_until(lambda: recorder.total >= 901, what="size-triggered sends")
    assert all(size <= 100 for size in recorder.sizes)
    sent = recorder.points["a"]
    assert sent == [{"x": X + i, "y": i, "q": 0} for i in range(len(sent))]


def test_batches_by_time_gathering_what_came_meanwhile(make_writer: MakeWriter, recorder: Recorder) -> None:
    w = make_writer(flush_interval=0.5, commit_interval=0.01)
    for i in range(5):
        w.write("a", X + i, i, q=0)
    wait_until(lambda: w.stats().pending_batches > 0, what="the points on disk")
    assert recorder.attempts == 0  # on disk, not sent yet: the interval has not passed
    wait_until(lambda: recorder.total == 5, what="the timed send")
    assert recorder.sizes == [5]


def test_one_request_in_flight(make_writer: MakeWriter, recorder: Recorder) -> None:
    recorder.delay = 0.01
    w = make_writer(batch_points=10)
    for i in range(200):
        w.write("a", X + i, i, q=0)
    w.flush(timeout=30)
    assert recorder.max_in_flight == 1
    assert recorder.total == 200


def test_sync_returns_once_the_points_are_on_disk(make_writer: MakeWriter, tmp_path: Path) -> None:
    w = make_writer(commit_interval=3600, flush_interval=3600)
    w.write_points("a", points(0, 0, 10))
    w.write("b", X, 1, q=0)
    w.sync(timeout=30)
    # The spool holds its file exclusively: read a copy of what is on disk now.
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes((tmp_path / "spool" / DB_NAME).read_bytes())
    with closing(sqlite3.connect(copy)) as conn, conn:
        assert conn.execute("SELECT SUM(points) FROM batches").fetchone()[0] == 11
    assert w.stats().pending_points == 11


def test_flush_times_out_with_a_typed_error_and_loses_nothing(
    make_writer: MakeWriter, recorder: Recorder
) -> None:
    recorder.down(503)
    w = make_writer()
    w.write_points("a", points(0, 0, 50))
    with pytest.raises(WriterTimeoutError, match=r"flush\(\) did not finish within 0.2 s") as info:
        w.flush(timeout=0.2)
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(InvalidInputError, match="timeout"):
        w.flush(timeout=-1)
    recorder.up()
    w.flush(timeout=30)
    assert recorder.points["a"] == points(0, 0, 50)


# --- failures --------------------------------------------------------------------------------------


def test_transient_failures_are_retried_forever_and_health_says_so(
    make_writer: MakeWriter, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    w = make_writer()
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
        w.flush(timeout=30)
    stats = w.stats()
    assert (stats.health, stats.consecutive_failures, stats.sent_points) == ("ok", 0, 20)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # the state change, not every retry
    assert "does not accept points" in warnings[0].getMessage()
    assert any("accepts points again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert recorder.points["a"] == points(0, 0, 20)


def test_retry_after_is_honoured(make_writer: MakeWriter, recorder: Recorder) -> None:
    recorder.down(429, **{"Retry-After": "0.3"})
    w = make_writer(max_retry_delay=0.01)
    w.write("a", X, 1, q=0)
    wait_until(lambda: recorder.attempts >= 3, what="retries")
    recorder.up()
    gaps = [b - a for a, b in zip(recorder.times, recorder.times[1:], strict=False)]
    assert min(gaps[:2]) >= 0.25  # the platform's 0.3 s, not the writer's 0.01 s cap


def test_a_refused_token_keeps_the_points_and_is_critical(
    make_writer: MakeWriter, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(401)
    w = make_writer()
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.write_points("a", points(0, 0, 5))
        wait_until(lambda: recorder.attempts >= 3, what="retries")
    stats = w.stats()
    assert (stats.health, stats.quarantined_batches, stats.pending_points) == ("critical", 0, 5)
    assert "HTTP 401" in (stats.last_error or "")
    assert "check the token" in caplog.text  # the client's hint, in the error
    assert "are refused" in caplog.text
    recorder.up()
    w.flush(timeout=30)
    assert w.stats().health == "ok"
    assert recorder.points["a"] == points(0, 0, 5)


def test_a_permanent_refusal_sets_aside_only_the_bad_tag(
    make_writer: MakeWriter, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse_bad(body: dict[str, Any]) -> Any:
        if any(item["tagId"] == "bad" for item in body["data"]):
            return json_response({"error": {"id": 7, "message": "unknown tag"}}, 422)
        return None

    recorder.answer = refuse_bad
    w = make_writer(commit_interval=0.2, flush_interval=0.3)
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        for i in range(30):
            for tag in ("a", "bad", "b"):
                w.write(tag, X + i, i, q=0)
        w.flush(timeout=30)
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
    w.flush(timeout=30)
    assert recorder.points["bad"] == [{"x": X + i, "y": i, "q": 0} for i in range(30)]
    assert w.quarantined() == []
    assert w.stats().health == "ok"


def test_purge_deletes_quarantined_batches_and_counts_their_points(
    make_writer: MakeWriter, recorder: Recorder
) -> None:
    recorder.down(400)
    w = make_writer(spool=None)
    w.write_points("a", points(0, 0, 3))
    w.write_points("b", points(1, 0, 2))
    w.flush(timeout=30)
    batches = w.quarantined()
    assert sorted(b.points for b in batches) == [2, 3]
    with pytest.raises(InvalidInputError, match="integers"):
        w.purge_quarantined(["x"])  # type: ignore[list-item]
    assert w.purge_quarantined(batches[0].id) == 1
    assert w.purge_quarantined() == 1
    assert w.stats().dropped_points["purged"] == 5
    assert w.requeue_quarantined() == 0


def test_a_request_too_large_is_split(make_writer: MakeWriter, recorder: Recorder) -> None:
    def limit(body: dict[str, Any]) -> Any:
        size = sum(len(item["data"]) for item in body["data"])
        return json_response({"error": {"id": 413, "message": "too large"}}, 413) if size > 40 else None

    recorder.answer = limit
    w = make_writer(batch_points=1000)
    w.write_points("a", points(0, 0, 150))
    w.write_points("b", points(1, 0, 150))
    w.flush(timeout=30)
    assert recorder.points["a"] == points(0, 0, 150)
    assert recorder.points["b"] == points(1, 0, 150)
    assert max(recorder.sizes) <= 40
    recorder.answer = lambda body: json_response({"error": {"id": 413, "message": "too large"}}, 413)
    w.write("c", X, 1, q=0)  # one point cannot be split: set aside
    w.flush(timeout=30)
    (batch,) = w.quarantined()
    assert (batch.tags, batch.points, batch.status_code) == (["c"], 1, 413)


def test_an_unexpected_error_is_logged_and_retried(
    make_writer: MakeWriter, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def once(body: dict[str, Any]) -> Any:
        calls.append(1)
        return RuntimeError("a bug in a transport") if len(calls) == 1 else None

    recorder.answer = once
    w = make_writer()
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.write("a", X, 1, q=0)
        w.flush(timeout=30)
    assert "failed unexpectedly" in caplog.text
    assert "RuntimeError" in caplog.text
    assert recorder.points["a"] == [{"x": X, "y": 1, "q": 0}]


# --- overflow ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spool", ["disk", "memory"])
def test_overflow_raise_refuses_the_call_and_recovers(
    make_writer: MakeWriter, recorder: Recorder, tmp_path: Path, spool: str
) -> None:
    recorder.down(503)
    limit = {"max_pending_points": 100} if spool == "memory" else {"max_spool_bytes": 4000}
    w = make_writer(spool=None if spool == "memory" else tmp_path / "s", overflow="raise", **limit)
    kept = 0

    def fill() -> None:
        nonlocal kept
        for i in range(10_000):
            w.write("a", X + i, i, q=0)
            kept += 1
            if i % 20 == 0:
                w.sync(timeout=30)

    with pytest.raises(WriterFullError, match="full") as info:
        fill()
    assert info.value.points == 1
    stats = w.stats()
    assert (stats.health, stats.refused_points) == ("critical", 1)
    assert 50 <= kept <= 200
    with pytest.raises(WriterFullError, match="more than the writer can ever hold"):
        w.write_points("a", points(0, 0, 100_000))
    recorder.up()
    w.flush(timeout=30)
    w.write("a", X + kept, kept, q=0)  # room again
    w.flush(timeout=30)
    assert recorder.points["a"] == [{"x": X + i, "y": i, "q": 0} for i in range(kept + 1)]
    assert w.stats().health == "ok"


def test_overflow_block_waits_for_room_then_raises(make_writer: MakeWriter, recorder: Recorder) -> None:
    recorder.down(503)
    w = make_writer(spool=None, overflow="block", block_timeout=0.3, max_pending_points=10)
    w.write_points("a", points(0, 0, 10))
    started = time.monotonic()
    with pytest.raises(WriterFullError, match=r"after waiting 0\.3 s"):
        w.write("a", X + 10, 10, q=0)
    assert time.monotonic() - started >= 0.25
    patient = make_writer(spool=None, overflow="block", block_timeout=60, max_pending_points=10)
    patient.write_points("b", points(1, 0, 10))
    threading.Timer(0.3, recorder.up).start()
    started = time.monotonic()
    patient.write_points("b", points(1, 10, 5))  # blocks until the platform takes some
    assert time.monotonic() - started >= 0.2
    patient.flush(timeout=30)
    w.flush(timeout=30)
    assert recorder.points["a"] == points(0, 0, 10)
    assert recorder.points["b"] == points(1, 0, 15)


@pytest.mark.parametrize("spool", ["disk", "memory"])
def test_overflow_drop_oldest_keeps_the_newest_and_says_so(
    make_writer: MakeWriter, recorder: Recorder, tmp_path: Path, spool: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    limit = {"max_pending_points": 200} if spool == "memory" else {"max_spool_bytes": 8000}
    w = make_writer(spool=None if spool == "memory" else tmp_path / "s", overflow="drop_oldest", **limit)
    with caplog.at_level(logging.WARNING, "data_interaction_client"):
        for i in range(2000):
            w.write("a", X + i, i, q=0)
            if i % 50 == 49:
                w.sync(timeout=30)
    stats = w.stats()
    dropped = stats.dropped_points["overflow"]
    assert dropped > 1000
    assert stats.health == "degraded"
    assert "dropped the" in caplog.text
    assert "oldest" in caplog.text
    recorder.up()
    w.flush(timeout=30)
    got = recorder.points["a"]
    assert len(got) + dropped == 2000
    assert got[-1] == {"x": X + 1999, "y": 1999, "q": 0}  # the newest are kept, in order
    assert [p["y"] for p in got] == sorted(p["y"] for p in got)


# --- the spool ----------------------------------------------------------------------------------------


def test_a_full_disk_refuses_new_points_and_goes_on_once_space_is_back(
    make_writer: MakeWriter, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    w = make_writer()
    spool = w._spool
    assert isinstance(spool, SqliteSpool)
    w.write_points("a", points(0, 0, 100))
    w.sync(timeout=30)
    spool._limit_pages(spool._page_count())
    accepted = 100
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.write_points("a", points(0, 100, 3000))  # taken in memory; the commit fails
        accepted += 3000
        with pytest.raises(SpoolDiskFullError, match="disk is full"):
            w.sync()  # raises once the writer's next try fails too
        with pytest.raises(SpoolDiskFullError, match="5 points of this call were not kept"):
            w.write_points("a", points(0, 5000, 5))
    assert "disk is full" in caplog.text
    stats = w.stats()
    assert (stats.health, stats.refused_points, stats.pending_points) == ("critical", 5, accepted)
    spool._limit_pages(1_000_000)
    wait_until(lambda: w.stats().health != "critical" or w.stats().pending_batches > 1, what="space back")
    w.sync(timeout=30)
    w.write("a", X + 9000, 9000, q=0)
    recorder.up()
    w.flush(timeout=30)
    expected = [*points(0, 0, 3100), {"x": X + 9000, "y": 9000, "q": 0}]
    assert recorder.points["a"] == expected


def test_a_writer_opened_on_a_spool_sends_what_it_holds_first(
    client: DataInteractionClient, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.down(503)
    with client.writer(spool=tmp_path / "s", **{**FAST, "close_timeout": 0.1}) as w:
        w.write_points("a", [{"x": X + i, "y": "old"} for i in range(20)])
    assert w.stats().pending_points == 20  # kept on disk
    recorder.up()
    with client.writer(spool=tmp_path / "s", **FAST) as w:
        w.write_points("a", [{"x": X + i, "y": "new"} for i in range(20)])
        w.flush(timeout=30)
    assert [p["y"] for p in recorder.points["a"]] == ["old"] * 20 + ["new"] * 20


def test_two_writers_on_one_spool(client: DataInteractionClient, tmp_path: Path) -> None:
    with (
        client.writer(spool=tmp_path / "s", **FAST),
        pytest.raises(SpoolLockedError, match="in use by another writer"),
    ):
        client.writer(spool=tmp_path / "s")
    client.writer(spool=tmp_path / "s")._close(0)  # free once the first is closed


def test_a_corrupted_spool_never_stops_the_writer(
    client: DataInteractionClient, recorder: Recorder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.down(503)
    with client.writer(spool=tmp_path / "s", **{**FAST, "close_timeout": 0}) as w:
        w.write_points("a", points(0, 0, 10))
    (tmp_path / "s" / DB_NAME).write_bytes(b"this is not a database" * 1000)
    recorder.up()
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w = client.writer(spool=tmp_path / "s", **FAST)
    try:
        assert "failed its integrity check" in caplog.text
        w.write("a", X, 1, q=0)
        w.flush(timeout=30)
        assert recorder.points["a"] == [{"x": X, "y": 1, "q": 0}]
    finally:
        w.close()
    assert any(".corrupt-" in p.name for p in (tmp_path / "s").iterdir())


def test_a_record_that_cannot_be_decoded_goes_to_the_quarantine(
    client: DataInteractionClient, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.down(503)
    with client.writer(spool=tmp_path / "s", **{**FAST, "close_timeout": 0}) as w:
        w.write_points("a", points(0, 0, 10))
        w.sync()
    spool = SqliteSpool(tmp_path / "s")
    spool.append([type(spool.peek(1)[0])(0, 0, 3, b"[not a header", b"[]")])  # type: ignore[call-arg]
    spool.close()
    recorder.up()
    with client.writer(spool=tmp_path / "s", **FAST) as w:
        w.flush(timeout=30)
        (batch,) = w.quarantined()
    assert batch.damaged
    assert "cannot be decoded" in batch.error
    assert batch.data == {}
    assert recorder.points["a"] == points(0, 0, 10)


def test_close_while_the_platform_is_down_keeps_everything(
    client: DataInteractionClient, recorder: Recorder, tmp_path: Path
) -> None:
    recorder.unreachable()
    w = client.writer(spool=tmp_path / "s", **{**FAST, "close_timeout": 0.5})
    w.write_points("a", points(0, 0, 500))
    started = time.monotonic()
    w.close()
    assert time.monotonic() - started < 5  # 0.5 s asked, generous for a loaded machine
    w.close()
    with pytest.raises(WriterClosedError):
        w.write("a", X, 1, q=0)
    with pytest.raises(WriterClosedError):
        w.flush()
    with pytest.raises(WriterClosedError):
        w.sync()
    spool = SqliteSpool(tmp_path / "s")
    assert spool.points == 500
    spool.close()
    recorder.up()
    with client.writer(spool=tmp_path / "s", **FAST) as w:
        w.flush(timeout=30)
    assert recorder.points["a"] == points(0, 0, 500)


def test_a_memory_only_writer_says_what_it_loses_at_close(
    client: DataInteractionClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.unreachable()
    w = client.writer(spool=None, **{**FAST, "close_timeout": 0.1})
    w.write_points("a", points(0, 0, 7))
    w.sync()
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.close()
    assert w.stats().dropped_points["closed"] == 7
    assert "7 points the platform had not accepted: they are lost" in caplog.text


def test_points_written_before_the_process_exits_are_kept(tmp_path: Path) -> None:
    code = (
        "from data_interaction_client import DataInteractionClient\n"
        "client = DataInteractionClient('http://127.0.0.1:9')\n"
        f"w = client.writer(spool={str(tmp_path / 's')!r}, commit_interval=3600, max_retries=0)\n"
        "for i in range(100):\n"
        f"    w.write('a', {X} + i, i)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, timeout=60)
    spool = SqliteSpool(tmp_path / "s")
    assert spool.points == 100
    spool.close()


# --- policies, options, stats ---------------------------------------------------------------------------


def test_scale_and_deadband_give_exact_outputs(make_writer: MakeWriter, recorder: Recorder) -> None:
    tag = Tag("t", {"smtTagValueScale": 10, "smtTagMaxDev": 5})
    w = make_writer(spool=None, scale=True, deadband=True, max_interval=5.0)
    second = 1_000_000
    values = [1, 1.2, 1.6, 1.6, 0.9, 2.0, 2.0]
    for i, y in enumerate(values):
        w.write(tag, X + i * second, y, q=0)
    w.write(tag, X + 7 * second, 2.0, q=100)  # a quality change
    w.write_points(tag, [(X + 8 * second, 2.1, 100), (X + 13 * second, 2.1, 100)])  # then a heartbeat
    w.write("t", X + 14 * second, 3, q=0)  # the same tag by id: the same policy
    w.write("plain", X, 3, q=0)  # a tag without attributes: untouched
    w.flush(timeout=30)
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
    w.flush(timeout=30)
    assert recorder.points["t"][-1] == {"x": X + 15 * second, "y": 3, "q": 0}


def test_policies_apply_to_write_tags(make_writer: MakeWriter, recorder: Recorder) -> None:
    w = make_writer(spool=None)
    tag = Tag("t", {"smtTagValueScale": 2})
    w.set_policy(tag, scale=True, max_interval=None)
    tag.extend([(X, 1), (X + 1, 2.5)])
    w.write_tags(tag)
    w.flush(timeout=30)
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
    client: DataInteractionClient, tmp_path: Path, options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        client.writer(spool=tmp_path / "s", **options)
    SqliteSpool(tmp_path / "s").close()  # nothing was left locked


def test_options_of_the_other_mode_and_bad_spools_are_refused(client: DataInteractionClient) -> None:
    with pytest.raises(InvalidInputError, match="max_spool_bytes applies to a spool on disk"):
        client.writer(spool=None, max_spool_bytes=10)
    with pytest.raises(InvalidInputError, match="spool must be a directory path"):
        client.writer(spool=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="not ''"):
        client.writer(spool="")


def test_stats_while_pending(make_writer: MakeWriter, recorder: Recorder) -> None:
    recorder.down(503)
    w = make_writer(batch_points=10)
    w.write_points("a", points(0, 0, 25))
    w.sync(timeout=30)
    time.sleep(0.05)
    stats = w.stats()
    assert (stats.pending_points, stats.pending_batches) == (25, 3)
    assert stats.spool_bytes > 25 * 20
    assert stats.oldest_pending_age is not None
    assert stats.oldest_pending_age >= 0.05
    assert stats.sent_points == 0
    assert stats.dropped_points == {}
    assert repr(w).startswith("Writer(spool=")
    assert w.spool is not None


def test_orjson_of_a_record_is_the_request_body(
    make_writer: MakeWriter, client: DataInteractionClient
) -> None:
    sent: list[bytes] = []
    original = client._send

    def spy(path: str, body: bytes, *args: Any, **kwargs: Any) -> Any:
        sent.append(body)
        return original(path, body, *args, **kwargs)

    client._send = spy  # type: ignore[method-assign]
    w = make_writer(spool=None)
    w.write_points("a", [{"x": X, "y": 1.5, "q": 0}])
    w.flush(timeout=30)
    assert orjson.loads(sent[0]) == {"data": [{"tagId": "a", "data": [{"x": X, "y": 1.5, "q": 0}]}]}
