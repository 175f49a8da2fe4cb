"""The spool's contract (see data_interaction_client/_spool/contract.py), on disk and in memory."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from data_interaction_client import SpoolDiskFullError, SpoolError, SpoolLockedError
from data_interaction_client._spool.contract import MemorySpool, NewRecord, QuarantineEntry, Spool
from data_interaction_client._spool.sqlite import DB_NAME, SqliteSpool, open_connection

from .writer_helpers import FillingDisk, mount_tmpfs


def rec(n: int, tag: bytes = b"t") -> NewRecord:
    return NewRecord(points=n, tags=tag, data=b"x" * n)


@pytest.fixture(params=["sqlite", "memory"])
def spool(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Spool]:
    made: Spool = SqliteSpool(tmp_path / "spool") if request.param == "sqlite" else MemorySpool()
    yield made
    made.close()


def test_append_peek_settle_keep_order_and_counters(spool: Spool) -> None:
    result = spool.append([rec(3), rec(4)])
    assert (result.first, result.last) == (1, 2)
    spool.append([rec(5)])
    assert (spool.points, spool.records, spool.bytes, spool.head, spool.last_id) == (12, 3, 15, 1, 3)
    assert spool.oldest_created is not None
    records = spool.peek(7)
    assert [r.id for r in records] == [1, 2]
    assert [r.points for r in records] == [3, 4]
    assert records[0].data == b"xxx"
    spool.settle(2)
    assert (spool.points, spool.records, spool.head) == (5, 1, 3)
    assert [r.id for r in spool.peek(1)] == [3]  # at least one, even when larger than max_points
    spool.settle(3)
    assert (spool.points, spool.records, spool.bytes, spool.head, spool.oldest_created) == (
        0,
        0,
        0,
        None,
        None,
    )
    assert spool.peek(10) == []
    assert spool.append([rec(1)]).first == 4  # ids are not reused


def test_settle_removes_only_reserved_records_and_stores_quarantine(spool: Spool) -> None:
    spool.append([rec(1), rec(2), rec(3)])
    spool.peek(1)
    entry = QuarantineEntry(record_id=1, created=1.0, points=1, tags=b"t", data=b"x", error="bad", status=422)
    spool.settle(3, [entry])  # only record 1 was reserved
    assert spool.head == 2
    assert spool.quarantined_records == 1
    (listed,) = spool.quarantined()
    assert (listed.record_id, listed.error, listed.status, listed.damaged, listed.data) == (
        1,
        "bad",
        422,
        False,
        b"x",
    )
    spool.peek(10)
    spool.release()
    spool.settle(3)  # released: nothing is removed
    assert spool.records == 2


def test_limit_drops_the_oldest_records_not_in_flight(spool: Spool) -> None:
    spool.append([rec(9), rec(9), rec(9)])  # ids 1-3, 10 bytes each
    spool.peek(9)  # record 1 is in flight: reserved, and not counted against the limit
    result = spool.append([rec(9)], max_bytes=20)  # 2, 3 and 4: 30 bytes
    assert (result.dropped_records, result.dropped_points) == (1, 9)
    assert [r.id for r in spool.peek(100)] == [1, 3, 4]
    assert spool.points == 27
    spool.release()
    spool.peek(9)
    result = spool.append([rec(4), rec(4)], max_points=10)  # 3, 4, 5, 6: 26 points
    assert (result.dropped_records, result.dropped_points) == (2, 18)
    assert [r.id for r in spool.peek(100)] == [1, 5, 6]
    result = spool.append([rec(30)], max_points=10)  # all others in flight: the new one goes
    assert (result.dropped_records, result.dropped_points) == (1, 30)
    spool.release()
    spool.peek(9)
    result = spool.append([rec(30)], max_points=10)  # too big itself: everything not in flight goes
    assert (result.dropped_records, result.dropped_points) == (3, 38)
    assert [r.id for r in spool.peek(100)] == [1]


def test_requeue_and_purge(spool: Spool) -> None:
    spool.append([rec(1), rec(2)])
    spool.peek(10)
    entries = [
        QuarantineEntry(record_id=1, created=1.0, points=1, tags=b"t", data=b"x", error="a"),
        QuarantineEntry(record_id=2, created=1.0, points=2, tags=b"t", data=b"xx", error="b", damaged=True),
    ]
    spool.settle(2, entries)
    assert spool.records == 0
    ids = [e.id for e in spool.quarantined()]
    assert spool.requeue() == 1  # the damaged one stays
    assert (spool.records, spool.points, spool.quarantined_records) == (1, 1, 1)
    assert spool.peek(10)[0].data == b"x"
    assert spool.requeue([ids[0]]) == 0
    assert spool.purge([12345]) == (0, 0)
    assert spool.purge() == (1, 2)
    assert spool.quarantined() == []


def test_sqlite_spool_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(3), rec(4)])
    spool.peek(3)
    spool.settle(1, [QuarantineEntry(record_id=1, created=1.0, points=3, tags=b"t", data=b"xxx", error="e")])
    spool.close()
    spool.close()  # twice is fine
    again = SqliteSpool(path, fsync=False)
    try:
        assert (again.points, again.records, again.bytes, again.head, again.last_id) == (4, 1, 5, 2, 2)
        assert again.quarantined_records == 1
        assert again.peek(10)[0].points == 4
    finally:
        again.close()
    with pytest.raises(SpoolError, match="closed"):
        again.peek(1)


def test_a_record_damaged_on_disk_goes_to_the_quarantine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(1), rec(2), rec(3)])
    spool.close()
    with closing(sqlite3.connect(path / DB_NAME)) as conn, conn:
        conn.execute("UPDATE batches SET data = ? WHERE id = 2", (b"yy",))
    spool = SqliteSpool(path)
    try:
        with caplog.at_level(logging.ERROR, "data_interaction_client"):
            assert [r.id for r in spool.peek(100)] == [1]  # stops at the damaged one
            spool.settle(1)
            assert [r.id for r in spool.peek(100)] == [3]
        assert "record 2 (2 points) set aside in the quarantine" in caplog.text
        (entry,) = spool.quarantined()
        assert entry.damaged
        assert "checksum" in entry.error
        assert (spool.points, spool.records) == (3, 1)
        assert spool.requeue() == 0
    finally:
        spool.close()


def test_a_quarantine_entry_is_listed_as_given_with_its_id_and_time(spool: Spool) -> None:
    spool.append([rec(1)])
    spool.peek(1)
    entry = QuarantineEntry(record_id=1, created=1.0, points=1, tags=b"t", data=b"x", error="e", status=400)
    assert (entry.id, entry.quarantined) == (0, 0.0)  # not stored yet
    before = time.time()
    spool.settle(1, [entry])
    (listed,) = spool.quarantined()
    assert listed.id > 0
    assert listed.quarantined >= before
    assert listed._replace(id=0, quarantined=0.0) == entry  # one type, given and listed


def test_watermarks_accumulate_over_appends(spool: Spool) -> None:
    spool.append([rec(1)], watermarks={"a": b"1"})
    spool.append([rec(1)], watermarks={"b": b"2"})
    assert spool.watermarks() == {"a": b"1", "b": b"2"}


def test_a_damaged_quarantine_entry_is_reported_damaged(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(1)])
    spool.peek(1)
    spool.settle(1, [QuarantineEntry(record_id=1, created=1.0, points=1, tags=b"t", data=b"x", error="e")])
    spool.close()
    with closing(sqlite3.connect(path / DB_NAME)) as conn, conn:
        conn.execute("UPDATE quarantine SET data = ?", (b"z",))
    spool = SqliteSpool(path)
    try:
        (entry,) = spool.quarantined()
        assert entry.damaged
        assert "damaged on disk" in entry.error
    finally:
        spool.close()


@pytest.mark.parametrize("damage", ["garbage", "truncated-page"])
def test_a_corrupt_spool_file_is_renamed_aside_and_a_fresh_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([NewRecord(1, b"t", os.urandom(20_000)) for _ in range(20)])
    spool.close()
    db = path / DB_NAME
    raw = bytearray(db.read_bytes())
    if damage == "garbage":
        raw[:100] = b"\x00" * 100  # the header: no longer a database
    else:
        page = 4096
        raw[page * 3 : page * 6] = os.urandom(page * 3)  # b-tree pages in the middle
    db.write_bytes(bytes(raw))
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        fresh = SqliteSpool(path)
    try:
        assert (fresh.points, fresh.records) == (0, 0)
        fresh.append([rec(1)])
        assert fresh.peek(1)[0].points == 1
    finally:
        fresh.close()
    aside = [p for p in path.iterdir() if ".corrupt-" in p.name]
    assert aside, list(path.iterdir())
    assert any(p.read_bytes() == bytes(raw) for p in aside if not p.name.endswith(("-wal", "-shm")))
    assert "failed its integrity check" in caplog.text
    assert "renamed to" in caplog.text


def test_a_spool_of_a_newer_format_is_kept_aside_whole_and_a_fresh_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool"
    SqliteSpool(path).close()
    with closing(sqlite3.connect(path / DB_NAME)) as conn, conn:
        conn.execute("UPDATE meta SET value = 99 WHERE key = 'format'")
    raw = (path / DB_NAME).read_bytes()
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        fresh = SqliteSpool(path)  # a writer always starts
    try:
        fresh.append([rec(1)])
    finally:
        fresh.close()
    (aside,) = [
        p
        for p in path.iterdir()
        if p.name.startswith(DB_NAME + ".corrupt-")
        and not p.name.endswith(("-journal", "-wal", "-shm", ".acked"))
    ]
    assert aside.read_bytes() == raw  # not touched
    assert "spool format 99 is not one this version knows" in caplog.text


def test_one_spool_per_directory_in_this_process(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    first = SqliteSpool(path)
    try:
        with pytest.raises(SpoolLockedError, match=f"process {os.getpid()}") as info:
            SqliteSpool(path)
        assert info.value.path == str(path)
    finally:
        first.close()
    SqliteSpool(path).close()  # free again once closed


def test_one_spool_per_directory_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    code = (
        "import sys, time\n"
        "from data_interaction_client._spool.sqlite import SqliteSpool\n"
        f"s = SqliteSpool({str(path)!r})\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            with pytest.raises(SpoolLockedError, match=f"process {child.pid}"):
                SqliteSpool(path)
        finally:
            child.kill()  # the lock goes with the process, however it ends
            child.wait(timeout=30)
    SqliteSpool(path).close()


def test_a_full_disk_stores_nothing_and_says_so(tmp_path: Path) -> None:
    disk = FillingDisk()
    spool = SqliteSpool(tmp_path / "spool", connect=disk)
    try:
        spool.append([rec(1)])
        disk.limit(disk.pages() + 2)
        with pytest.raises(SpoolDiskFullError, match="disk is full"):
            spool.append([NewRecord(1, b"t", os.urandom(100_000))])
        assert (spool.points, spool.records, spool.last_id) == (1, 1, 1)
        disk.limit(1_000_000)
        assert spool.append([rec(2)]).first == 2
        assert [r.id for r in spool.peek(10)] == [1, 2]
    finally:
        spool.close()


def test_a_directory_that_cannot_be_made_is_a_spool_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SpoolError, match="could not be created") as info:
        SqliteSpool(blocker / "spool")
    assert not isinstance(info.value, SpoolLockedError)


def test_delivered_records_stay_delivered_and_are_swept(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(1), rec(2), rec(3)])
    spool.peek(3)
    spool.settle(2)
    assert spool.needs_sweep
    spool.close()
    again = SqliteSpool(path)  # the ledger says 1 and 2 are delivered; opening sweeps them
    try:
        assert [r.id for r in again.peek(10)] == [3]
        assert again.points == 3
        assert not again.needs_sweep
        again.settle(3)
        assert again.sweep()
        assert not again.sweep()
        assert again.append([rec(1)]).first == 4  # ids go on above the watermark
    finally:
        again.close()
    with closing(sqlite3.connect(path / DB_NAME)) as conn, conn:
        assert [row[0] for row in conn.execute("SELECT id FROM batches")] == [4]


class NoRoomToDelete:
    """A connection on a disk too full for any delete: SQLite's own, but a delete fails with SQLITE_FULL."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)

    def execute(self, sql: str, *args: object) -> object:
        if sql.startswith("DELETE FROM batches"):
            full = sqlite3.OperationalError("database or disk is full")
            full.sqlite_errorcode = sqlite3.SQLITE_FULL
            raise full
        return self.conn.execute(sql, *args)


def test_delivered_records_a_full_disk_keeps_in_the_file_are_not_counted_pending(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(1), rec(2), rec(3)])
    spool.peek(3)
    spool.settle(2)
    spool.close()
    again = SqliteSpool(path, connect=lambda p: NoRoomToDelete(open_connection(p)))  # type: ignore[arg-type,return-value]
    try:
        assert again.needs_sweep  # records 1 and 2 are still in the file: swept once there is room
        assert (again.points, again.records, again.bytes, again.head) == (3, 1, 4, 3)
        assert [r.id for r in again.peek(10)] == [3]
    finally:
        again.close()


def test_a_torn_ledger_only_means_handing_records_out_again(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(1), rec(2)])
    spool.peek(10)
    spool.settle(2)
    spool.close()
    ledger = path / "acked"
    ledger.write_bytes(ledger.read_bytes()[:10])  # torn
    again = SqliteSpool(path)
    try:
        assert [r.id for r in again.peek(10)] == [1, 2]  # sent again, never lost
    finally:
        again.close()


def test_a_ledger_of_another_spool_file_is_not_believed(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(1) for _ in range(5)])
    spool.peek(10)
    spool.settle(5)  # the ledger says: up to 5 delivered
    spool.close()
    (path / DB_NAME).write_bytes(b"\x00" * 4096)  # the file is lost; the ledger stays
    fresh = SqliteSpool(path)
    try:
        fresh.append([rec(7)])
        assert [r.points for r in fresh.peek(10)] == [7]  # not taken for delivered
    finally:
        fresh.close()


def test_records_beyond_the_cache_are_read_from_the_file_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("data_interaction_client._spool.sqlite._CACHE_BYTES", 25)
    spool = SqliteSpool(tmp_path / "spool")
    try:
        spool.append([rec(9), rec(9), rec(9), rec(9)])  # 10 bytes each: two fit in the cache
        seen = []
        while spool.records:
            records = spool.peek(9)
            seen += [r.id for r in records]
            spool.settle(records[-1].id)
        assert seen == [1, 2, 3, 4]
        assert spool.head is None
        spool.append([rec(1)])  # nothing pending: cached again
        assert spool.peek(1)[0].id == 5
    finally:
        spool.close()


def test_delivered_records_are_deleted_on_a_real_full_disk_and_the_spool_reopens(tmp_path: Path) -> None:
    # Not one byte is given back: the room the delivered records take in the file must be
    # reusable, though one delete of them all needs more journal than the disk has.
    disk = tmp_path / "disk"
    disk.mkdir()
    if not mount_tmpfs(disk, "3m"):
        pytest.skip("mounting a tmpfs is not allowed here (it needs root)")
    spool: SqliteSpool | None = None
    try:
        spool = SqliteSpool(disk / "s", fsync=False)
        stored = 0
        while True:
            try:
                spool.append([NewRecord(100, b"a", os.urandom(20_000))])
            except SpoolDiskFullError:
                break
            stored += 1
        while spool.points:
            spool.settle(spool.peek(1_000_000)[-1].id)
        assert spool.sweep()
        spool.append([NewRecord(100, b"a", os.urandom(20_000))])  # into the room the delete freed
        spool.close()
        spool = SqliteSpool(disk / "s", fsync=False)
        assert (spool.points, spool.records, spool.last_id) == (100, 1, stored + 1)
    finally:
        if spool is not None:
            spool.close()
        subprocess.run(["umount", str(disk)], capture_output=True, check=False)
