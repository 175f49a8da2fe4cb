"""The quarantine in the spool file: records set aside, with their bytes and why, until requeued or purged.

One row of the table ``quarantine`` per `QuarantineEntry`, with a CRC-32 of its bytes: an entry whose
bytes fail it is listed as damaged, and never requeued.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence

from .contract import QuarantineEntry, Record, record_crc
from .schema import READ_ERRORS, Database, spool_error

__all__ = ["QuarantineTable", "damaged_on_disk"]

log = logging.getLogger("data_interaction_client.spool")


def damaged_on_disk(record: Record, stored_crc: int) -> QuarantineEntry:
    """The quarantine entry of a record whose bytes fail the CRC-32 stored with them."""
    return QuarantineEntry(
        record_id=record.id,
        created=record.created,
        points=record.points,
        tags=record.tags,
        data=record.data,
        error=(
            f"the record failed its checksum (stored {stored_crc:#010x}, computed "
            f"{record_crc(record.tags, record.data):#010x}): it was damaged on disk"
        ),
        damaged=True,
    )


class QuarantineTable:
    """The table ``quarantine``; each call with ``_db_lock`` held, inside a transaction where it writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def insert(conn: sqlite3.Connection, entries: Sequence[QuarantineEntry]) -> None:
        """Store ``entries`` (in the transaction of ``conn``)."""
        now = time.time()
        conn.executemany(
            "INSERT INTO quarantine (batch, created, quarantined, points, tags, data, crc, error, status, "
            "damaged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.record_id,
                    e.created,
                    now,
                    e.points,
                    e.tags,
                    e.data,
                    record_crc(e.tags, e.data),
                    e.error,
                    e.status,
                    int(e.damaged),
                )
                for e in entries
            ],
        )

    def entries(self) -> list[QuarantineEntry]:
        """Every entry, oldest first; one whose bytes fail their CRC-32 is marked damaged."""
        try:
            rows = self._db.conn.execute(
                "SELECT id, batch, created, quarantined, points, tags, data, crc, error, status, damaged "
                "FROM quarantine ORDER BY id"
            ).fetchall()
        except READ_ERRORS as exc:
            raise spool_error(exc, self._db.path, "read") from exc
        result = []
        for (
            entry_id,
            record_id,
            created,
            quarantined,
            points,
            raw_tags,
            raw_data,
            crc,
            stored,
            status,
            flag,
        ) in rows:
            tags, data = bytes(raw_tags), bytes(raw_data)
            damaged, error = bool(flag), str(stored)
            if not damaged and record_crc(tags, data) != crc:
                damaged = True
                error = f"{error}; then the entry failed its checksum: it was damaged on disk"
            result.append(
                QuarantineEntry(
                    record_id=record_id,
                    created=created,
                    points=points,
                    tags=tags,
                    data=data,
                    error=error,
                    status=status,
                    damaged=damaged,
                    id=entry_id,
                    quarantined=quarantined,
                )
            )
        return result

    def requeue(self, ids: Iterable[int] | None, first: int) -> list[QuarantineEntry]:
        """Move the entries of ``ids`` (all: ``None``) to the end of the queue, as records ``first`` on.

        Damaged entries stay. One transaction; returns the entries moved.
        """
        entries = [e for e in self.entries() if not e.damaged]
        if ids is not None:
            wanted = set(ids)
            entries = [e for e in entries if e.id in wanted]
        if not entries:
            return []
        now = time.time()
        rows = [
            (first + i, now, e.points, e.tags, e.data, record_crc(e.tags, e.data))
            for i, e in enumerate(entries)
        ]
        with self._db.transaction("requeue") as conn:
            conn.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("DELETE FROM quarantine WHERE id = ?", [(e.id,) for e in entries])
        return entries

    def set_aside(self, damaged: Sequence[QuarantineEntry]) -> None:
        """Move records found damaged from the queue into the quarantine, in one transaction; say so."""
        with self._db.transaction("quarantine") as conn:
            self.insert(conn, damaged)
            conn.executemany("DELETE FROM batches WHERE id = ?", [(e.record_id,) for e in damaged])
        for entry in damaged:
            log.error(
                "spool %s: record %d (%d points) set aside in the quarantine, not sent: %s",
                self._db.directory,
                entry.record_id,
                entry.points,
                entry.error,
            )

    def purge(self, ids: Iterable[int] | None) -> tuple[int, int]:
        """Delete the entries of ``ids`` (all: ``None``); return ``(entries, points)`` deleted."""
        with self._db.transaction("purge") as conn:
            if ids is None:
                count, points = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM quarantine"
                ).fetchone()
                conn.execute("DELETE FROM quarantine")
                return int(count), int(points)
            count = points = 0
            for entry_id in set(ids):
                row = conn.execute("SELECT points FROM quarantine WHERE id = ?", (entry_id,)).fetchone()
                if row is not None:
                    conn.execute("DELETE FROM quarantine WHERE id = ?", (entry_id,))
                    count += 1
                    points += row[0]
            return count, int(points)

    def count(self) -> int:
        """How many entries the table holds."""
        return int(self._db.conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])

    def points_of(self, after: int, upto: int) -> int:
        """The points of the entries that came from records ``after`` + 1 to ``upto``."""
        (points,) = self._db.conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM quarantine WHERE batch > ? AND batch <= ?", (after, upto)
        ).fetchone()
        return int(points)
