"""Making the spool again after its files were deleted or replaced under it, and carrying over what it held.

`HostFiles.renew` makes the directory, the ledger and an empty spool file again; `carry_over` copies
into that file what the open one still holds: the records not yet delivered and the quarantine as
they are (ids, times, checksums), and, from memory (exact), the delivery watermark, the counters
and the tags' watermarks. What cannot be read is counted lost.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import NamedTuple

from .schema import READ_ERRORS, set_meta
from .watermarks import WatermarkTable

__all__ = ["Carried", "Kept", "carry_over"]


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
