"""Making the spool again after its files were deleted or replaced under it, and carrying over what it held.

`Rebuild` has `HostFiles.renew` make the directory, the ledger and an empty spool file again;
`carry_over` copies into that file what the open one still holds: the records not yet delivered and
the quarantine as they are (ids, times, checksums), and, from memory (exact), the delivery
watermark, the counters and the tags' watermarks. What cannot be read is counted lost, and said.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from typing import NamedTuple

from .host import HostFiles, Renewal
from .schema import READ_ERRORS, Database, set_meta
from .watermarks import WatermarkTable

__all__ = ["Carried", "Kept", "Rebuild", "carry_over"]

log = logging.getLogger("data_interaction_client.spool")


class Kept(NamedTuple):
    """What the spool keeps in memory, to be written into the new file."""

    acked: int
    dropped: int
    generation: int
    watermarks: dict[str, bytes]
    pending: int  # points


class Carried(NamedTuple):
    """What `carry_over` did: the points carried and lost, and why the quarantine was not carried."""

    points: int
    lost: int
    quarantine_problem: str | None


def carry_over(old: sqlite3.Connection, new: sqlite3.Connection, kept: Kept) -> Carried:
    """Copy what ``old`` holds into the empty spool file ``new``, in one transaction (``_db_lock`` held)."""
    carried = 0
    problem: str | None = None
    new.execute("BEGIN IMMEDIATE")
    try:
        set_meta(new, "acked", kept.acked)
        set_meta(new, "dropped", kept.dropped)
        new.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (kept.generation,))
        WatermarkTable.store(new, kept.watermarks)
        try:
            new.executemany(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                old.execute("SELECT * FROM quarantine ORDER BY id").fetchall(),
            )
        except READ_ERRORS as exc:  # not pending points: said, and counted again from the file
            problem = str(exc)
        try:
            cursor = old.execute(
                "SELECT id, created, points, tags, data, crc FROM batches WHERE id > ? ORDER BY id",
                (kept.acked,),
            )
            while rows := cursor.fetchmany(256):
                new.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
                carried += sum(int(row[2]) for row in rows)
        except READ_ERRORS:
            pass  # what was read is carried; the rest is counted lost
        new.execute("COMMIT")
    except BaseException:
        if new.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                new.execute("ROLLBACK")
        raise
    return Carried(carried, max(0, kept.pending - carried), problem)


class Rebuild:
    """Makes the spool's files again and carries over what they held; each call with ``_db_lock`` held.

    `renew` makes the files and fills the new spool file, `adopt` (with ``_ledger_lock`` held too)
    puts them in use, `report` says what was carried and what was lost.
    """

    def __init__(self, host: HostFiles, db: Database) -> None:
        self._host = host
        self._db = db
        self._path = host.path

    def renew(self, problem: str, kept: Kept, records: int, *, first: bool) -> tuple[Renewal, Carried | None]:
        """Make the files again after ``problem``; ``None`` carried when the spool file was whole.

        ``first``: the problem is new (not a retry after a failed attempt), and said at ERROR.
        """
        if first:
            log.error(
                "spool %s: %s while the writer ran (outside it): making the spool again, with the %d points "
                "in %d batches not yet delivered that the writer still holds in the file it has open",
                self._path,
                problem,
                kept.pending,
                records,
            )
        renewal = self._host.renew(
            lambda aside: log.error(
                "spool %s: the file now at %s is not the spool's: renamed to %s",
                self._path,
                self._host.db_path,
                aside,
            )
        )
        try:
            carried = None if renewal.conn is None else carry_over(self._db.conn, renewal.conn, kept)
        except BaseException:
            renewal.discard()
            raise
        return renewal, carried

    def adopt(self, renewal: Renewal, carried: Carried | None) -> None:
        """Use the files made again, and close the old ones (``_ledger_lock`` held too)."""
        self._host.adopt(renewal)
        if renewal.conn is not None:
            old, self._db.conn = self._db.conn, renewal.conn
            with contextlib.suppress(sqlite3.Error):
                old.close()
        if carried is not None and carried.quarantine_problem is not None:
            log.error(
                "spool %s: its quarantine could not be carried over (%s)",
                self._path,
                carried.quarantine_problem,
            )

    def report(self, carried: Carried | None) -> None:
        """Say what the spool made again holds, and what it lost (at ERROR)."""
        if carried is None:
            log.warning("spool %s: its ledger was written again; the spool file is whole", self._path)
        elif carried.lost:
            log.error(
                "spool %s: %d points pending in the deleted spool file could not be read to be carried over: "
                "they are lost (%d points carried over)",
                self._path,
                carried.lost,
                carried.points,
            )
        else:
            log.warning("spool %s: made again; %d points carried over, none lost", self._path, carried.points)
