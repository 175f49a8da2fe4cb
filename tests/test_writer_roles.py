"""The writer's roles, each driven alone: no thread, no event loop, no network, no waiting.

The roles (intake, committer, sender, accounts) do no I/O; the engine that composes them decides
each step of the loops. These tests call them as the loops would (the engine through its public
steps, the test doing the spool's calls), and check what each decided.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import (
    APIConnectionError,
    ClientClosedError,
    DataInteractionClient,
    PlatformError,
    SpoolDiskFullError,
    SpoolError,
    Tag,
    WriteEvent,
    WriterClosedError,
    WriterFullError,
    WriterTimeoutError,
)
from data_interaction_client._http.base_client import WriterLink
from data_interaction_client._spool.contract import MemorySpool, NewRecord
from data_interaction_client._spool.record_format import decode_points
from data_interaction_client._writer.accounts import Accounts, Pending
from data_interaction_client._writer.committer import Committer, watermark_key
from data_interaction_client._writer.delivery import Verdict
from data_interaction_client._writer.engine import WriterEngine
from data_interaction_client._writer.intake import Intake, Room, Take, wire_points
from data_interaction_client._writer.options import CheckedOptions, check_options
from data_interaction_client._writer.records import EncodedPart, encode_records
from data_interaction_client._writer.sender import Sender
from data_interaction_client._writer.steps import Commit, Pause, Send, Stop, Wait

from .writer_helpers import points

X = 1_600_000_000_000_000


@pytest.fixture
def client() -> Iterator[DataInteractionClient]:
    with DataInteractionClient("http://platform.test", transport=httpx.MockTransport(_unused)) as made:
        yield made


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError("the roles do no I/O: no request is made")


def settings(client: DataInteractionClient, spool: object = None, **options: Any) -> CheckedOptions:
    return check_options(spool, options)


class Signals:
    """Records what a role asked to wake, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, *, commit: bool = False, send: bool = False, progress: bool = False) -> None:
        self.seen += [
            name for name, asked in (("commit", commit), ("send", send), ("progress", progress)) if asked
        ]


class Gate:
    """The engine's gate: open, or raising what it is given."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.asked: list[int] = []

    def __call__(self, count: int) -> None:
        self.asked.append(count)
        if self.error is not None:
            raise self.error


LINK = WriterLink(post=_unused, tag=Tag, attributes=lambda tag_id: None, precision=None, check_values=True)


def make_intake(
    client: DataInteractionClient, wait_for_room: Any = None, room: Room | None = None, **options: Any
) -> tuple[Intake, Accounts, Signals, Gate]:
    return intake_of(settings(client, **options), wait_for_room, room)


def intake_of(
    made: CheckedOptions, wait_for_room: Any = None, room: Room | None = None
) -> tuple[Intake, Accounts, Signals, Gate]:
    """An intake alone; ``room`` is the engine's, set by the test (by default: room for anything)."""
    accounts, signals, gate = Accounts(), Signals(), Gate()

    def cannot_wait(seconds: float) -> None:
        raise AssertionError("this intake was not expected to wait")

    intake = Intake(
        made,
        LINK,
        threading.Lock(),
        accounts,
        Room() if room is None else room,
        signal=signals,
        wait_for_room=wait_for_room or cannot_wait,
        gate=gate,
        pending=lambda: 7,
    )
    return intake, accounts, signals, gate


def taken_points(take: Take) -> dict[str, list[dict[str, Any]]]:
    """The points of a take per tag, decoded, in order."""
    result: dict[str, list[dict[str, Any]]] = {}
    for wire, group in take.by_tag:
        assert isinstance(wire, str)
        decoded = orjson.loads(group.data) if isinstance(group, EncodedPart) else wire_points(group)
        result.setdefault(wire, []).extend(decoded)
    return result


# --- Intake -------------------------------------------------------------------------------------------


def test_intake_keeps_each_tags_points_in_write_order_and_a_take_empties_it(
    client: DataInteractionClient,
) -> None:
    intake, _, signals, _ = make_intake(client, batch_points=1000)
    assert intake.due_in(time.monotonic(), closing=False) is None  # empty: nothing to commit
    intake.write("a", X, 1.5)
    assert signals.seen == ["commit"]  # the first point starts the commit clock
    intake.write_points("b", points(1, 0, 100))  # >= 64 points: encoded on the caller's thread
    intake.write("a", X + 1, 2.5, q=3)
    intake.write_points("b", [(X + 200, 9.0)])
    assert (intake.count, intake.written, len(intake.dirty)) == (103, 103, 2)
    take = intake.take()
    assert (take.points, take.mark) == (103, 103)
    assert taken_points(take) == {
        "a": [{"x": X, "y": 1.5, "q": None}, {"x": X + 1, "y": 2.5, "q": 3}],
        "b": [*points(1, 0, 100), {"x": X + 200, "y": 9.0}],  # a tuple without q: none
    }
    assert any(isinstance(group, EncodedPart) for _, group in take.by_tag)
    assert take.by_tag[0][1][0] == (X, 1.5, None)  # write() keeps a tuple: the committer makes the dict
    assert (intake.count, intake.bytes, intake.dirty) == (0, 0, [])
    assert intake.take().by_tag == []  # taken once


def test_intake_is_due_at_its_interval_at_batch_points_when_asked_or_closing(
    client: DataInteractionClient,
) -> None:
    intake, _, signals, _ = make_intake(client, batch_points=10, commit_interval=0.5)
    intake.write("a", X, 1.0)
    now = intake.last_take
    assert intake.due_in(now, closing=False) == pytest.approx(0.5)
    assert intake.due_in(now + 0.2, closing=False) == pytest.approx(0.3)
    assert intake.due_in(now, closing=True) == 0.0
    intake.commit_now = True
    assert intake.due_in(now, closing=False) == 0.0
    intake.commit_now = False
    intake.write_points("a", [(X + i, 1.0) for i in range(1, 10)])
    assert intake.count == 10
    assert intake.due_in(now, closing=False) == 0.0  # batch_points waiting
    assert signals.seen == ["commit", "commit"]  # the first point, then batch_points reached (once)
    intake.write("a", X + 10, 1.0)
    assert signals.seen == ["commit", "commit"]


def test_intake_refuses_a_call_past_its_room_and_counts_it(client: DataInteractionClient) -> None:
    room = Room()
    intake, accounts, _, gate = make_intake(client, room=room)
    room.set(5, capacity=100)
    intake.write_points("a", points(0, 0, 5))
    with pytest.raises(
        WriterFullError, match=r"the writer is full .*2 points of this call were not kept"
    ) as raised:
        intake.write_points("a", points(0, 5, 2))
    assert raised.value.points == 2
    assert (intake.count, accounts.refused, accounts.refusing) == (5, 2, True)
    with pytest.raises(WriterFullError, match="more than the writer can ever hold"):
        intake.write_points("a", points(0, 0, 101))
    assert accounts.refused == 103
    assert gate.asked == [2, 101]  # the gate is asked first, each time
    intake.take()
    room.set(5, capacity=100)  # the engine says "room again" (see the engine's tests below)
    intake.write("a", X, 1.0)
    assert intake.count == 1


def test_intake_without_room_asks_the_gate_which_may_refuse_everything(client: DataInteractionClient) -> None:
    room = Room()
    intake, _, _, gate = make_intake(client, room=room)
    intake.write("a", X, 1.0)
    assert gate.asked == []  # room: the fast path never asks
    room.set(None, capacity=100)
    gate.error = WriterClosedError("closed")
    with pytest.raises(WriterClosedError):
        intake.write("a", X + 1, 1.0)
    assert (intake.count, gate.asked) == (1, [1])


def test_intake_over_its_cap_has_the_committer_take_it_then_goes_on(client: DataInteractionClient) -> None:
    waits: list[float] = []

    def committer_takes(seconds: float) -> None:  # what the commit loop does meanwhile
        waits.append(seconds)
        assert intake.commit_now
        intake.take()

    room = Room(cap=3)
    intake, _, signals, _ = make_intake(client, wait_for_room=committer_takes, room=room)
    room.set(sys.maxsize, capacity=sys.maxsize)
    for i in range(3):
        intake.write("a", X + i, 1.0)
    signals.seen.clear()
    intake.write("a", X + 3, 1.0)
    assert waits == [1.0]
    assert signals.seen[0] == "commit"
    assert (intake.count, intake.written) == (1, 4)


def test_intake_block_waits_for_room_until_block_timeout(client: DataInteractionClient) -> None:
    waits: list[float] = []
    room = Room()
    intake, accounts, _, _ = make_intake(
        client, wait_for_room=waits.append, room=room, overflow="block", block_timeout=0.05
    )
    room.set(0, capacity=100)
    with pytest.raises(WriterFullError, match=r"after waiting 0\.05 s"):
        intake.write("a", X, 1.0)
    assert waits
    # deadline - now, both large monotonic readings: the difference may exceed 0.05 by a rounding.
    assert all(0 < seconds <= 0.05 + 1e-9 for seconds in waits)
    assert accounts.refused == 1


def test_intake_counts_what_the_deadband_drops(client: DataInteractionClient) -> None:
    intake, accounts, _, _ = make_intake(client, deadband=True)
    tag = Tag("a", attributes={"smtTagMaxDev": 1.0})
    kept = intake.write_points(tag, [(X, 10.0), (X + 1, 10.5), (X + 2, 12.0)])
    intake.write(tag, X + 3, 12.2)
    assert kept == 2
    assert accounts.dropped == {"deadband": 2}
    assert [p["y"] for p in taken_points(intake.take())["a"]] == [10.0, 12.0]


# --- Committer ----------------------------------------------------------------------------------------


def make_committer(client: DataInteractionClient, **options: Any) -> tuple[Committer, Intake, Accounts]:
    made = settings(client, **options)
    intake, accounts, _, _ = intake_of(made)
    return Committer(made, intake, threading.Lock(), accounts, {}), intake, accounts


def test_committer_lays_the_take_out_in_records_and_keeps_the_watermarks(
    client: DataInteractionClient,
) -> None:
    committer, intake, _ = make_committer(client, batch_points=50)
    spool = MemorySpool()
    intake.write_points("a", points(0, 0, 120))
    intake.write("b", X + 7, 1.0)
    assert committer.due_in(time.monotonic(), closing=True) == 0.0
    take = committer.take()
    assert take is not None
    assert (committer.committing, committer.held, intake.count) == (121, 121, 0)
    records = committer.encode(take)
    assert [r.points for r in records] == [50, 50, 21]  # at most batch_points each, tags joined
    batch, limit = committer.to_append(records)
    assert batch == records
    assert limit == {
        "watermarks": {
            watermark_key("a"): orjson.dumps(points(0, 119, 1)[0]["x"]),
            watermark_key("b"): b"%d" % (X + 7),
        }
    }
    assert committer.watermarks.stored == {}  # not before the spool took them
    result = spool.append(batch, **limit)
    assert committer.stored(take, batch, result) == 0
    assert (committer.committed, committer.committing, committer.held) == (121, 0, 0)
    assert committer.watermarks.stored == spool.watermarks()
    assert committer.bytes_per_point == sum(r.size for r in records) // 121
    assert committer.due_in(time.monotonic(), closing=False) is None


def test_committer_keeps_what_the_spool_refused_and_tries_it_first(client: DataInteractionClient) -> None:
    committer, intake, _ = make_committer(client)
    intake.write_points("a", points(0, 0, 10))
    take = committer.take()
    records = committer.encode(take)
    full = SpoolDiskFullError("the disk is full", path="/spool")
    now = time.monotonic()
    committer.store_failed(take, records, full, now)
    assert (committer.refusal, committer.refusals, committer.held, committer.committed) == (full, 1, 10, 0)
    assert committer.unsaved_bytes() == sum(r.size for r in records)
    assert committer.due_in(now, closing=False) == pytest.approx(1.0)  # tried again a second later
    assert committer.due_in(now + 1.0, closing=False) == 0.0
    intake.write("a", X + 10, 1.0)
    take2 = committer.take()
    more = committer.encode(take2)
    batch, _ = committer.to_append(more)
    assert batch == records + more  # the refused first, in order
    committer.stored(take2, batch, MemorySpool().append(batch))
    assert (committer.refusal, committer.held, committer.committed, committer.unsaved) == (None, 0, 11, [])


def test_committer_retry_without_a_new_take_marks_the_refused_points_stored(
    client: DataInteractionClient,
) -> None:
    committer, intake, _ = make_committer(client)
    intake.write_points("a", points(0, 0, 3))
    take = committer.take()
    records = committer.encode(take)
    committer.store_failed(take, records, SpoolError("nope", path=""), time.monotonic())
    assert committer.take() is None  # nothing new: only the refused records are tried
    batch, _ = committer.to_append([])
    committer.stored(None, batch, MemorySpool().append(batch))
    assert (committer.committed, committer.held) == (3, 0)


def test_committer_drops_a_point_changed_after_it_was_given(
    client: DataInteractionClient, caplog: pytest.LogCaptureFixture
) -> None:
    committer, intake, accounts = make_committer(client)
    given = [{"x": X, "y": 1.0}, {"x": X + 1, "y": 2.0}]
    intake.write_points("a", given)  # few points: kept as the dicts given
    take = committer.take()
    assert take is not None
    group = take.by_tag[0][1]
    assert isinstance(group, list)
    assert group[0] is given[0]
    given[0]["y"] = object()  # changed by the caller after it was checked
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        records = committer.encode(take)
    assert [r.points for r in records] == [1]
    assert (accounts.dropped, committer.committing, take.points) == ({"invalid": 1}, 1, 1)
    assert "could not be encoded" in caplog.text


def test_committer_gives_the_limit_with_drop_oldest(client: DataInteractionClient, tmp_path: Any) -> None:
    committer, _, _ = make_committer(client, overflow="drop_oldest", max_pending_points=9)
    assert committer.to_append([]) == ([], {"max_points": 9})
    on_disk, _, _ = make_committer(client, spool=tmp_path, overflow="drop_oldest", max_spool_bytes=4096)
    assert on_disk.to_append([]) == ([], {"max_bytes": 4096})


def test_committer_sweeps_when_idle_and_waits_after_a_failure(client: DataInteractionClient) -> None:
    committer, _, _ = make_committer(client)
    now = time.monotonic()
    assert committer.sweep_due(True, now)
    assert not committer.sweep_due(False, now)
    committer.sweep_failed(SpoolError("locked", path=""), now)
    assert not committer.sweep_due(True, now + 0.5)
    assert committer.sweep_due(True, now + 1.0)


# --- Sender -------------------------------------------------------------------------------------------


def make_sender(
    client: DataInteractionClient, spool: MemorySpool | None = None, **options: Any
) -> tuple[Sender, MemorySpool, Accounts]:
    spool = spool if spool is not None else MemorySpool()
    accounts = Accounts()
    return Sender(settings(client, **options), spool, accounts, lambda: spool.points), spool, accounts


def record(tag: str, count: int, start: int = 0) -> NewRecord:
    """One record of ``count`` points of ``tag``, as the committer lays them out."""
    (made,), problems = encode_records([(tag, points(0, start, count))], 10_000)
    assert problems == []
    return made


def delivery_of(sender: Sender, spool: MemorySpool, max_points: int = 1000) -> Any:
    return sender.delivery(spool.peek(max_points))


def platform_error(status: int, retry_after: float | None = None) -> PlatformError:
    return PlatformError(
        "refused", method="POST", path="/set_data", status_code=status, retry_after=retry_after
    )


def test_sender_is_due_after_flush_interval_at_batch_points_when_flushed_or_closing(
    client: DataInteractionClient,
) -> None:
    sender, spool, _ = make_sender(client, batch_points=100, flush_interval=2.0)
    now = time.monotonic()
    assert sender.due_in(now, closing=False) is None  # nothing pending
    spool.append([record("a", 10)])
    sender.appended(spool.last_id, now)
    assert sender.due_in(now, closing=False) == pytest.approx(2.0)
    assert sender.due_in(now + 1.5, closing=False) == pytest.approx(0.5)
    assert sender.due_in(now + 2.0, closing=False) == 0.0
    assert sender.due_in(now, closing=True) == 0.0
    spool.append([record("a", 90, start=10)])
    sender.appended(spool.last_id, now)
    assert sender.due_in(now, closing=False) == 0.0  # batch_points pending


def test_sender_sends_at_once_what_a_flush_asks_for(client: DataInteractionClient) -> None:
    sender, spool, _ = make_sender(client, flush_interval=60.0)
    assert sender.flush() == 0  # nothing pending
    now = time.monotonic()
    spool.append([record("a", 1)])
    sender.appended(spool.last_id, now)
    assert sender.due_in(now, closing=False) == pytest.approx(60.0)
    assert sender.flush() == spool.last_id
    assert sender.due_in(now, closing=False) == 0.0  # flushed through the last record
    spool.append([record("a", 1, start=1)])
    sender.appended(spool.last_id, now)
    assert sender.due_in(now, closing=False) == 0.0  # the head still is


def test_sender_sends_at_once_what_the_spool_held_from_before(client: DataInteractionClient) -> None:
    spool = MemorySpool()
    spool.append([record("a", 1)])
    sender, _, _ = make_sender(client, spool, flush_interval=60.0)
    assert sender.due_in(time.monotonic(), closing=False) == 0.0


def test_sender_accepts_retries_with_backoff_and_says_health(client: DataInteractionClient) -> None:
    sender, spool, accounts = make_sender(client, max_retry_delay=4.0)
    spool.append([record("a", 5)])
    delivery = delivery_of(sender, spool)
    piece = delivery.next()
    now = time.monotonic()
    delay, verdict = sender.failed(delivery, piece, platform_error(503), now)
    assert verdict == Verdict.RETRY
    assert delay is not None
    assert 0.75 <= delay <= 1.0
    assert (sender.failures, sender.health, delivery.next()) == (1, "degraded", piece)
    delay, _ = sender.failed(
        delivery, piece, APIConnectionError("down", method="POST", path="/set_data"), now
    )
    assert 1.5 <= delay <= 2.0  # doubling
    delay, _ = sender.failed(delivery, piece, platform_error(429, retry_after=3.0), now)
    assert delay == 3.0  # Retry-After
    delay, _ = sender.failed(delivery, piece, platform_error(401), now)
    assert sender.health == "critical"  # a refusal of the writer itself
    sender.accepted(delivery, piece, now)
    assert (sender.failures, sender.health, delivery.next(), delivery.accepted) == (0, "ok", None, 5)
    assert (accounts.sent_points, accounts.sent_batches) == (5, 1)
    assert sender.last_error is not None  # kept after recovery


def test_sender_splits_a_refused_piece_and_sets_aside_the_part_refused_alone(
    client: DataInteractionClient,
) -> None:
    sender, spool, _ = make_sender(client)
    spool.append([record("good", 4), record("bad", 3, start=4)])
    delivery = delivery_of(sender, spool)
    both = delivery.next()
    assert both.points == 7
    assert sender.failed(delivery, both, platform_error(400), time.monotonic()) == (None, Verdict.SPLIT)
    first = delivery.next()
    assert (first.points, first.tag_ids()) == (4, ["good"])
    sender.accepted(delivery, first, time.monotonic())
    bad = delivery.next()
    assert sender.failed(delivery, bad, platform_error(422), time.monotonic()) == (None, Verdict.PERMANENT)
    assert delivery.next() is None
    (entry,) = delivery.quarantine
    assert (entry.points, entry.status) == (3, 422)
    assert decode_points(entry.tags, entry.data) == {"bad": points(0, 4, 3)}
    assert sender.failures == 0  # a refusal for good is not a failure to retry


def test_sender_splits_a_piece_too_large_by_its_points(client: DataInteractionClient) -> None:
    sender, spool, _ = make_sender(client)
    spool.append([record("a", 10)])
    delivery = delivery_of(sender, spool)
    piece = delivery.next()
    assert sender.failed(delivery, piece, platform_error(413), time.monotonic()) == (None, Verdict.SPLIT)
    assert delivery.next().points == 5


def test_sender_after_a_413_fits_every_later_piece_to_half_the_refused_size(
    client: DataInteractionClient,
) -> None:
    sender, spool, _ = make_sender(client)
    spool.append([record("a", 10), record("b", 7)])
    delivery = delivery_of(sender, spool)
    piece = delivery.next()
    assert piece.points == 17
    assert sender.failed(delivery, piece, platform_error(413), time.monotonic()) == (None, Verdict.SPLIT)
    assert sender.request_points == 8
    sent = []
    while (piece := delivery.next()) is not None:
        assert piece.points <= 8
        sent.append(piece)
        sender.accepted(delivery, piece, time.monotonic())
    got: dict[str, list[dict[str, Any]]] = {}
    for piece in sent:
        for part in piece.parts:
            got.setdefault(orjson.loads(part.tag), []).extend(orjson.loads(part.data))
    assert got == {"a": points(0, 0, 10), "b": points(0, 0, 7)}  # every point once, in order
    spool.settle(delivery.through)
    spool.append([record("c", 20)])
    assert [p.points for p in _pieces(delivery_of(sender, spool))] == [5, 5, 5, 5]


def test_sender_tries_larger_requests_again_after_ten_minutes_without_a_413(
    client: DataInteractionClient, caplog: pytest.LogCaptureFixture
) -> None:
    sender, spool, _ = make_sender(client, batch_points=20)
    spool.append([record("a", 16)])
    delivery = delivery_of(sender, spool)
    # A whole number of seconds: start + 600 - start is then exactly 600 (a float sum may round under it).
    start = float(int(time.monotonic()))
    assert sender.failed(delivery, delivery.next(), platform_error(413), start) == (None, Verdict.SPLIT)
    assert sender.request_points == 8
    caplog.set_level(logging.INFO, logger="data_interaction_client.writer")
    sender.accepted(delivery, delivery.next(), start + 599)
    assert sender.request_points == 8  # not yet
    sender.accepted(delivery, delivery.next(), start + 600)
    assert sender.request_points == 16
    assert "trying requests of up to 16 points" in caplog.text
    spool.settle(delivery.through)
    spool.append([record("b", 40)])
    later = delivery_of(sender, spool, max_points=sender.request_points)
    for step in (1200, 1800):
        sender.accepted(later, later.next(), start + step)
    assert sender.request_points == 20  # never above batch_points


def _pieces(delivery: Any) -> list[Any]:
    taken = []
    while (piece := delivery.next()) is not None:
        taken.append(piece)
        delivery.done(piece)
    return taken


def test_sender_calls_back_and_logs_a_raising_callback_once(
    client: DataInteractionClient, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[WriteEvent] = []

    def broken(event: WriteEvent) -> None:
        seen.append(event)
        raise RuntimeError("a bug in the callback")

    sender, spool, _ = make_sender(client, on_accepted=broken, on_retry=seen.append)
    spool.append([record("a", 2)])
    delivery = delivery_of(sender, spool)
    piece = delivery.next()
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        sender.report_failed(piece, 0.1, platform_error(503), 1.5, Verdict.RETRY)
        sender.report_accepted(piece, 0.2)
        sender.report_accepted(piece, 0.3)
    assert [(e.points, e.tags, e.retry_in, e.seconds) for e in seen] == [
        (2, ("a",), 1.5, 0.1),
        (2, ("a",), None, 0.2),
        (2, ("a",), None, 0.3),
    ]
    assert caplog.text.count("on_accepted callback raised") == 1


# --- Accounts -----------------------------------------------------------------------------------------


def test_accounts_count_and_judge_health() -> None:
    accounts = Accounts()
    accounts.sent(10)
    accounts.drop("deadband", 2)
    accounts.drop("deadband", 0)
    accounts.refuse(4)
    assert (accounts.sent_points, accounts.sent_batches, accounts.dropped, accounts.refused) == (
        10,
        1,
        {"deadband": 2},
        4,
    )
    assert accounts.health(send="ok", disk_refusing=False, quarantined=0) == "ok"
    assert accounts.health(send="degraded", disk_refusing=False, quarantined=0) == "degraded"
    assert accounts.health(send="ok", disk_refusing=True, quarantined=0) == "critical"
    assert accounts.health(send="ok", disk_refusing=False, quarantined=1) == "critical"
    accounts.full("max_pending_points=10", 10)
    assert accounts.health(send="degraded", disk_refusing=False, quarantined=0) == "critical"
    accounts.room_again(0)
    accounts.overflowed(3, "max_pending_points=10", now=0.0)
    assert accounts.health(send="ok", disk_refusing=False, quarantined=0) == "degraded"
    accounts.overflowed(0, "max_pending_points=10", now=1.0)
    assert accounts.health(send="ok", disk_refusing=False, quarantined=0) == "ok"
    stats = accounts.stats(
        pending=Pending(1, 2, 3),
        records=1,
        oldest_age=None,
        spool_bytes=0,
        quarantined=0,
        failures=0,
        last_error=None,
        health="ok",
    )
    assert (stats.pending_points, stats.sent_points, stats.refused_points) == (6, 10, 4)
    assert dict(stats.dropped_points) == {"deadband": 2, "overflow": 3}


def test_accounts_log_drops_for_room_at_most_every_ten_seconds(caplog: pytest.LogCaptureFixture) -> None:
    accounts = Accounts()
    with caplog.at_level(logging.WARNING, "data_interaction_client"):
        accounts.overflowed(5, "max_spool_bytes=1", now=100.0)
        accounts.overflowed(6, "max_spool_bytes=1", now=105.0)
        accounts.overflowed(7, "max_spool_bytes=1", now=110.0)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "dropped the 5 oldest" in messages[0]
    assert "dropped the 13 oldest" in messages[1]  # those since the last message
    assert "(18 dropped so far" in messages[1]
    assert accounts.dropped == {"overflow": 18}


def test_accounts_say_what_a_close_left(caplog: pytest.LogCaptureFixture) -> None:
    memory = Accounts()
    with caplog.at_level(logging.WARNING, "data_interaction_client"):
        memory.closed(Pending(1, 2, 3), spool=None)
        on_disk = Accounts()
        on_disk.closed(Pending(1, 2, 3), spool="/spool")
        Accounts().closed(Pending(0, 0, 0), spool="/spool")
    assert memory.dropped == {"closed": 6}  # a memory-only writer loses them all
    assert on_disk.dropped == {"closed": 3}  # those not in the spool
    assert len(caplog.records) == 3


# --- the engine: the roles composed, driven step by step ---------------------------------------------


class Manual:
    """The engine alone: the test is the commit and send loops and does the spool's calls.

    Signals are recorded, never waited on; writes never wait for room.
    """

    def __init__(self, client: DataInteractionClient, **options: Any) -> None:
        self.signals = Signals()
        self.spool = MemorySpool()
        self.engine = WriterEngine(settings(client, **options), LINK, self.spool, signal=self.signals)

    def commit(self, now: float | None = None) -> None:
        """One turn of a commit loop, as the writers run it, after a sync asked for it."""
        engine = self.engine
        with engine.lock:
            engine.ask_sync()
            step = engine.next_commit(time.monotonic() if now is None else now)
        assert isinstance(step, Commit), step
        append = engine.encode(step)
        engine.committed(
            append, self.spool.append(append.records, **append.limits) if append.records else None
        )

    def peek(self) -> Any:
        """The spool's oldest records as the send loop peeks them for a `Send`, and their delivery."""
        with self.engine.lock:
            step = self.engine.next_send(time.monotonic())
        max_points = step.max_points if isinstance(step, Send) else 100
        return self.engine.delivery(self.spool.peek(max_points))


def pause_of(step: Pause | Stop) -> float | None:
    """Seconds a step of the send loop pauses it (``None``: it stops), measured when it is made."""
    if isinstance(step, Stop):
        return None
    return max(0.0, step.until - time.monotonic())


def test_the_engine_is_driven_step_by_step_without_threads(client: DataInteractionClient) -> None:
    w = Manual(client, batch_points=100, flush_interval=60.0, commit_interval=60.0)
    engine = w.engine
    with engine.lock:
        assert isinstance(engine.next_commit(time.monotonic()), Wait)
        assert engine.next_send(time.monotonic()) == Wait(None)  # nothing: until woken
    engine.intake.write_points("a", points(0, 0, 150))
    w.commit()
    assert w.signals.seen[-2:] == ["send", "progress"]
    with engine.lock:
        assert engine.next_send(time.monotonic()) == Send(100)  # batch_points pending
    delivery = engine.delivery(w.spool.peek(100))
    assert delivery is not None
    piece = delivery.next()
    assert (pause_of(engine.sent(delivery, piece, 0.01, platform_error(503))) or 0) > 0  # then the same
    assert engine.stats().health == "degraded"
    assert pause_of(engine.sent(delivery, piece, 0.01, None)) == 0.0
    w.spool.settle(delivery.through, delivery.quarantine)
    engine.settled()
    stats = engine.stats()
    assert (stats.sent_points, stats.pending_points, stats.health, stats.consecutive_failures) == (
        100,
        50,
        "ok",
        0,
    )
    assert engine.delivery([]) is None


def test_the_engine_says_room_again_once_the_spool_has_some(client: DataInteractionClient) -> None:
    w = Manual(client, max_pending_points=5, batch_points=5)
    engine = w.engine
    engine.intake.write_points("a", points(0, 0, 5))
    w.commit()
    with pytest.raises(WriterFullError):
        engine.intake.write("a", X, 1.0)
    assert engine.stats().health == "critical"  # refusing points for want of room
    delivery = w.peek()
    assert pause_of(engine.sent(delivery, delivery.next(), 0.0, None)) == 0.0
    w.spool.settle(delivery.through, delivery.quarantine)
    engine.settled()  # the room is set again, and said to be there
    assert engine.stats().health == "ok"
    engine.intake.write("a", X, 1.0)


def test_the_engine_stops_sending_when_its_client_is_closed(client: DataInteractionClient) -> None:
    w = Manual(client)
    engine = w.engine
    engine.intake.write("a", X, 1.0)
    w.commit()
    delivery = w.peek()
    assert delivery is not None
    assert engine.sent(delivery, delivery.next(), 0.0, ClientClosedError("closed")) == Stop()
    with engine.lock:
        assert engine.next_send(time.monotonic()) == Wait(None)
    with pytest.raises(WriterClosedError, match="client was closed"):
        engine.intake.write("a", X + 1, 1.0)
    assert engine.stats().health == "critical"


def test_the_engine_keeps_what_a_full_disk_refused_and_commits_it_when_due_even_stopping(
    client: DataInteractionClient,
) -> None:
    w = Manual(client)
    engine = w.engine
    engine.intake.write("a", X, 1.0)
    with engine.lock:
        engine.ask_sync()
        step = engine.next_commit(time.monotonic())
    assert isinstance(step, Commit)
    append = engine.encode(step)
    engine.commit_failed(append, SpoolDiskFullError("full", path="/spool"))
    assert "progress" in w.signals.seen  # a sync waiting learns of the refusal
    with pytest.raises(SpoolDiskFullError, match="1 points of this call were not kept"):
        engine.intake.write("a", X + 1, 1.0)
    stats = engine.stats()
    assert (stats.health, stats.refused_points, stats.pending_points, stats.pending_batches) == (
        "critical",
        1,
        1,
        0,
    )
    now = time.monotonic()
    with engine.lock:
        assert isinstance(engine.next_commit(now), Wait)  # the retry is not due yet
        engine.stop()
        assert engine.next_commit(now) == Stop()
        assert engine.next_send(now) == Stop()
        assert isinstance(engine.next_commit(now + 1.0), Commit)  # due: it goes before the stop
    w.commit(now + 1.0)
    engine.intake.write("a", X + 1, 1.0)  # the spool takes points again
    stats = engine.stats()
    assert (stats.health, stats.pending_points, stats.pending_batches) == ("ok", 2, 1)


def test_the_engine_closing_gives_up_when_no_connection_can_be_made(client: DataInteractionClient) -> None:
    w = Manual(client, max_retry_delay=30.0)
    engine = w.engine
    engine.intake.write("a", X, 1.0)
    w.commit()
    delivery = w.peek()
    assert delivery is not None
    refused = APIConnectionError("refused", method="POST", path="/set_data")
    refused.__cause__ = httpx.ConnectError("connection refused")
    assert (pause_of(engine.sent(delivery, delivery.next(), 0.0, refused)) or 0) > 0  # open: retried
    with engine.lock:
        through = engine.ask_flush()
        assert engine.begin_close(5.0)
        assert isinstance(engine.next_send(time.monotonic()), Send)  # closing: at once
    assert engine.sent(delivery, delivery.next(), 0.0, refused) == Stop()  # closing: it stops trying
    with engine.lock, pytest.raises(WriterClosedError, match="cannot reach the platform"):
        engine.flush_wait(through, None, None)


def test_the_engine_ends_a_pause_when_closing_begins_and_stops_it_when_stopping(
    client: DataInteractionClient,
) -> None:
    w = Manual(client)
    engine = w.engine
    locked = SpoolError("locked", path="")
    with engine.lock:
        assert engine.pause_left(Pause(time.monotonic(), closing=False)) == 0.0  # over at once: go on
        pause = Pause(time.monotonic() + 30.0, closing=False)
        assert 29.0 < (engine.pause_left(pause) or 0) <= 30.0
    step = engine.spool_failed(locked, "read")
    assert isinstance(step, Pause)
    assert 0.9 < step.until - time.monotonic() <= 1.0  # tried again a second later
    with engine.lock:
        assert engine.begin_close(5.0)
        assert engine.pause_left(pause) == 0.0  # closing began: try once more at once
        closing_pause = Pause(time.monotonic() + 30.0, closing=True)
        assert (engine.pause_left(closing_pause) or 0) > 29.0  # begun closing: the pause holds
        engine.stop()
        assert engine.pause_left(closing_pause) is None
    assert engine.spool_failed(locked, "read") == Stop()


def test_the_engine_says_how_long_a_flush_waits(client: DataInteractionClient) -> None:
    w = Manual(client, flush_interval=60.0)
    engine = w.engine
    with engine.lock:
        assert engine.ask_flush() == 0  # nothing pending
        assert engine.flush_wait(0, None, None) == 0.0
    engine.intake.write("a", X, 1.0)
    w.commit()
    with engine.lock:
        through = engine.ask_flush()
        assert through == w.spool.last_id
        assert isinstance(engine.next_send(time.monotonic()), Send)  # asked: at once, not after 60 s
        assert engine.flush_wait(through, None, None) is None  # no deadline: until there is progress
        assert 0 < (engine.flush_wait(through, time.monotonic() + 5.0, 5.0) or 0) <= 5.0
        with pytest.raises(
            WriterTimeoutError, match=r"flush\(\) did not finish within 5 s \(1 points pending\)"
        ):
            engine.flush_wait(through, time.monotonic() - 0.1, 5.0)
    delivery = w.peek()
    assert delivery is not None
    assert pause_of(engine.sent(delivery, delivery.next(), 0.0, None)) == 0.0
    w.spool.settle(delivery.through, delivery.quarantine)
    with engine.lock:
        assert engine.flush_wait(through, time.monotonic() - 0.1, 5.0) == 0.0  # done: no timeout
