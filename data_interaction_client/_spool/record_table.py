"""The queue in the spool file: the table ``batches``, one row per record with a CRC-32 of its bytes.

(``batches`` is the name the format's first version gave the table of records; it stays.) Ids grow
in append order; the rows up to the delivery watermark are delivered, and wait for `Tidy` to delete
them. `RecordCache` keeps the oldest pending records in memory too, so that most peeks read nothing.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from .contract import NewRecord, QuarantineEntry, Record, record_crc
from .quarantine import damaged_on_disk
from .schema import READ_ERRORS, Database, set_meta, spool_error
from .tidy import Tidy
from .watermarks import WatermarkTable

__all__ = ["Dropped", "Limit", "RecordCache", "RecordTable", "Row"]

Row = tuple[int, float, int, bytes, bytes, int]
"""A row of ``batches``: id, created, points, tags, data, crc."""
Dropped = tuple[int, int, int]
"""A record a limit dropped: its id, points and bytes."""


class Limit(NamedTuple):
    """What an append must drop to fit a limit: records after ``after`` only, until the excess is gone."""

    after: int  # the records up to it are reserved or delivered: never dropped
    excess_bytes: int | None
    excess_points: int | None
    dropped_before: int  # the points dropped ever, before this append (kept in the file's meta)


class RecordTable:
    """The table ``batches``; each call with ``_db_lock`` held, inside a transaction where it writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(
        self,
        rows: Sequence[Row],
        watermarks: Mapping[str, bytes] | None,
        sweep_through: int | None,
        limit: Limit | None = None,
    ) -> list[Dropped]:
        """An append's transaction: ``rows`` and ``watermarks`` stored, all or nothing.

        With ``sweep_through``, the delivered rows up to it are deleted in it; with ``limit``, the
        oldest records it allows are dropped (returned).
        """
        dropped: list[Dropped] = []
        with self._db.transaction("write") as conn:
            if sweep_through is not None:
                Tidy.delete_in(conn, sweep_through)
            conn.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
            if watermarks:
                WatermarkTable.store(conn, watermarks)
            if limit is not None:
                dropped = self.drop(conn, limit.after, limit.excess_bytes, limit.excess_points)
                if dropped:
                    set_meta(conn, "dropped", limit.dropped_before + sum(p for _, p, _ in dropped))
        return dropped

    @staticmethod
    def delete(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
        """Delete the records of ``ids`` (in the transaction of ``conn``)."""
        conn.executemany("DELETE FROM batches WHERE id = ?", [(record_id,) for record_id in ids])

    @staticmethod
    def drop(
        conn: sqlite3.Connection, after: int, excess_bytes: int | None, excess_points: int | None
    ) -> list[Dropped]:
        """Delete the oldest records after ``after`` until the excess is gone; return what went."""
        dropped: list[Dropped] = []
        freed_bytes = freed_points = 0
        cursor = conn.execute(
            "SELECT id, points, length(tags) + length(data) FROM batches WHERE id > ? ORDER BY id", (after,)
        )
        for record_id, points, size in cursor:
            if (excess_bytes is None or freed_bytes >= excess_bytes) and (
                excess_points is None or freed_points >= excess_points
            ):
                break
            dropped.append((record_id, points, size))
            freed_bytes += size
            freed_points += points
        cursor.close()
        if dropped:
            conn.execute("DELETE FROM batches WHERE id > ? AND id <= ?", (after, dropped[-1][0]))
        return dropped

    def read(self, after: int, max_points: int) -> tuple[list[Record], list[QuarantineEntry]]:
        """The oldest records after ``after`` (at least one, more while they fit in ``max_points``).

        With them, the records that failed their checksum on the way, as quarantine entries: the
        first one found stops the reading, unless no record came before it.
        """
        chosen: list[Record] = []
        damaged: list[QuarantineEntry] = []
        total = 0
        try:
            cursor = self._db.conn.execute(
                "SELECT id, created, points, tags, data, crc FROM batches WHERE id > ? ORDER BY id", (after,)
            )
            for record_id, created, points, raw_tags, raw_data, crc in cursor:
                if chosen and total + points > max_points:
                    break
                record = Record(record_id, created, points, bytes(raw_tags), bytes(raw_data))
                if record_crc(record.tags, record.data) != crc:
                    damaged.append(damaged_on_disk(record, crc))
                    if not chosen:
                        continue
                    break
                chosen.append(record)
                total += points
            cursor.close()
        except READ_ERRORS as exc:
            raise spool_error(exc, self._db.path, "read") from exc
        return chosen, damaged

    def head(self, after: int) -> tuple[int | None, float | None]:
        """The id and time of the oldest record after ``after``, or ``(None, None)``."""
        row = self._db.conn.execute(
            "SELECT id, created FROM batches WHERE id > ? ORDER BY id LIMIT 1", (after,)
        ).fetchone()
        return (None, None) if row is None else (int(row[0]), float(row[1]))

    def held(self, after: int) -> tuple[int, int, int]:
        """The points, records and bytes after ``after``."""
        points, records, size = self._db.conn.execute(
            "SELECT COALESCE(SUM(points), 0), COUNT(*), COALESCE(SUM(length(tags) + length(data)), 0) "
            "FROM batches WHERE id > ?",
            (after,),
        ).fetchone()
        return int(points), int(records), int(size)

    def last_id(self) -> int:
        """The highest id in the table (0: none)."""
        return int(self._db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM batches").fetchone()[0])

    def points_of(self, after: int, upto: int) -> int:
        """The points of the records ``after`` + 1 to ``upto``."""
        (points,) = self._db.conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM batches WHERE id > ? AND id <= ?", (after, upto)
        ).fetchone()
        return int(points)

    def ids_of(self, after: int, upto: int) -> set[int]:
        """The ids of the records ``after`` + 1 to ``upto`` still in the table."""
        return {
            row[0]
            for row in self._db.conn.execute("SELECT id FROM batches WHERE id > ? AND id <= ?", (after, upto))
        }


class RecordCache:
    """The oldest pending records, in id order (a prefix of the queue); not thread-safe (``_lock`` held).

    While ``whole`` holds it is every pending record, so that records appended may join it; once
    ``limit`` bytes are reached the rest is read from the file, until nothing is pending again.
    """

    def __init__(self, limit: int) -> None:
        self.records: OrderedDict[int, Record] = OrderedDict()
        self.bytes = 0
        self.whole = False
        self.limit = limit

    def appended(self, records: Sequence[NewRecord], rows: Sequence[Row], dropped: Iterable[int]) -> None:
        """Forget the records a limit ``dropped``; keep those appended, while they fit and ``whole``."""
        gone = set(dropped)
        for record_id in gone:
            cached = self.records.pop(record_id, None)
            if cached is not None:
                self.bytes -= cached.size
        if not self.whole:
            return
        for record, row in zip(records, rows, strict=True):
            if row[0] in gone:
                continue
            if self.bytes + record.size > self.limit:
                self.whole = False  # the rest is read from the file
                return
            self.records[row[0]] = Record(row[0], row[1], record.points, record.tags, record.data)
            self.bytes += record.size

    def head(self) -> tuple[int, float] | None:
        """The id and time of the first record, or ``None`` when none is kept."""
        for record in self.records.values():
            return record.id, record.created
        return None

    def forget_through(self, upto: int) -> None:
        """Forget the records with ids up to ``upto`` (delivered)."""
        records = self.records
        while records:
            record_id = next(iter(records))
            if record_id > upto:
                break
            self.bytes -= records.pop(record_id).size

    def clear(self) -> None:
        """Forget every record; what is appended next is read from the file."""
        self.records.clear()
        self.bytes = 0
        self.whole = False
