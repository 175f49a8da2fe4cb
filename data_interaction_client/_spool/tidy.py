"""Tidying the spool file after deliveries, a full disk included.

A delivery only moves the delivery watermark (in the ledger); the rows under it are deleted later,
in bulk, by `Tidy.delete_delivered` (`SqliteSpool.sweep`, an append once they take `SWEEP_BYTES`,
an opening). On a disk the spool filled to the last byte a delete needs room too (the rollback
journal keeps a copy of each page it changes): so deletes free no more pages than needed
(``secure_delete = FAST``), fall back to a few records at a time, and, when even that does not fit,
``<directory>/reserve`` is given back to make the room.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3

from .._exceptions import SpoolDiskFullError
from .files import open_file, write_at
from .schema import Database, set_meta

__all__ = ["RESERVE_NAME", "SWEEP_BYTES", "Tidy"]

log = logging.getLogger("data_interaction_client.spool")

SWEEP_BYTES = 64 * 1024 * 1024
"""Bytes of delivered records left in the file before an append deletes them in the same transaction."""
_SWEEP_STEP = 8
"""Records deleted per transaction by a sweep on a full disk."""
RESERVE_NAME = "reserve"
_RESERVE_BYTES = 256 * 1024
"""Bytes of ``<directory>/reserve``, given back when a full disk leaves no room to tidy the file."""


class Tidy:
    """Deletes delivered rows from the spool file, and keeps the reserve; ``_db_lock`` held for each call."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._directory = db.directory

    @staticmethod
    def prepare(conn: sqlite3.Connection) -> None:
        """Set a new connection up so that deletes need as little room as they can."""
        # Builds with SECURE_DELETE (Debian's) zero every page a delete frees, so that the journal
        # takes a copy of each: tidying delivered records would need as much free space as they
        # take, which a full disk never has. FAST zeroes only what costs no extra page written.
        conn.execute("PRAGMA secure_delete = FAST")

    def delete_delivered(self, acked: int) -> None:
        """Delete the rows of records up to ``acked``; on a full disk, a few at a time.

        The rollback journal needs room for a copy of each page a delete changes: on a full disk one
        delete of many records fails for want of the room it would give back. A few records at a
        time change a few pages, which fit in the room the journal kept from earlier transactions;
        each step frees pages of the file that the next appends reuse.
        """
        try:
            with self._db.transaction("sweep", synchronous="NORMAL") as conn:
                self.delete_in(conn, acked)
        except SpoolDiskFullError:
            pass
        else:
            return
        while True:
            row = self._db.conn.execute(
                "SELECT id FROM batches WHERE id <= ? ORDER BY id LIMIT 1 OFFSET ?",
                (acked, _SWEEP_STEP - 1),
            ).fetchone()
            upto = acked if row is None else int(row[0])
            try:
                self._delete_step(upto)
            except SpoolDiskFullError:
                if not self._give_reserve_back():
                    raise
                self._delete_step(upto)  # the journal keeps the room for the steps after
            if upto == acked:
                break
        # The file's copy of the delivery watermark changes one more page: left behind when even
        # that does not fit, as the ledger has it and the rows under it are gone.
        with (
            contextlib.suppress(SpoolDiskFullError),
            self._db.transaction("sweep", synchronous="NORMAL") as conn,
        ):
            set_meta(conn, "acked", acked)

    @staticmethod
    def delete_in(conn: sqlite3.Connection, acked: int) -> None:
        """Delete the rows of records up to ``acked`` in the transaction of ``conn`` (an append's)."""
        conn.execute("DELETE FROM batches WHERE id <= ?", (acked,))
        set_meta(conn, "acked", acked)

    def _delete_step(self, upto: int) -> None:
        with self._db.transaction("sweep", synchronous="NORMAL") as conn:
            conn.execute("DELETE FROM batches WHERE id <= ?", (upto,))

    def keep_reserve(self) -> None:
        """Make ``<directory>/reserve`` when it is missing and the disk has room; else leave it be.

        The room a sweep's journal needs on a disk the spool filled to the last byte, so that the
        room of the delivered records can be reused: without it no delete fits.
        """
        try:
            fd = open_file(self._directory, RESERVE_NAME)  # an earlier one made 0600 too
            try:
                if os.fstat(fd).st_size < _RESERVE_BYTES:
                    # Written, not a hole: a sparse file would take no room to give back.
                    write_at(fd, bytes(_RESERVE_BYTES), 0)
            finally:
                os.close(fd)
        except OSError:  # no room for it now: made at a later opening
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self._directory, RESERVE_NAME))

    def _give_reserve_back(self) -> bool:
        """Delete the reserve (a full disk); ``False`` when there was none."""
        try:
            os.unlink(os.path.join(self._directory, RESERVE_NAME))
        except OSError:
            return False
        log.warning(
            "spool %s: its disk is full: the %d bytes it kept in reserve are given back, to delete the "
            "delivered records and reuse their room",
            self._directory,
            _RESERVE_BYTES,
        )
        return True
