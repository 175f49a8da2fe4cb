"""Opening a spool file: its check, a damaged file renamed aside, and what it holds compared with the ledger.

`Opening.open` runs once, in `SqliteSpool`'s constructor, before the spool is shared (no lock): it
gives the open `Database` and what the spool keeps in memory (`Opened`), having said at ERROR
what was renamed aside and what the ledger counted that the file no longer holds.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import NamedTuple

from .._exceptions import SpoolDiskFullError, SpoolError, SpoolLockedError
from .host import HostFiles
from .ledger import LedgerState
from .quarantine import QuarantineTable
from .record_table import RecordTable
from .schema import (
    BUSY_CODES,
    READ_ERRORS,
    Damaged,
    Database,
    check,
    error_code,
    header_problem,
    is_damage,
    meta_value,
    read_only_place,
    spool_error,
)
from .tidy import Tidy
from .watermarks import WatermarkTable

__all__ = ["Opened", "Opening"]

log = logging.getLogger("data_interaction_client.spool")


class Opened(NamedTuple):
    """What an opened spool file holds, for the spool to keep in memory."""

    generation: int  # the file's random id: a ledger of another file is not believed
    acked: int  # the delivery watermark
    dropped: int  # points the limit has dropped, ever
    unswept: int  # bytes of delivered records still in the file (1: some, not counted)
    points: int
    records: int
    size: int  # bytes
    last_id: int
    quarantined: int
    head: int | None
    oldest_created: float | None
    watermarks: dict[str, bytes]


class Opening:
    """Opens the spool file of ``host``: `open`, once."""

    def __init__(self, host: HostFiles) -> None:
        self._host = host
        self._path = host.path
        self._aside: tuple[str, str] | None = None  # the file renamed aside, and why

    def open(self) -> tuple[Database, Opened]:
        """The spool file open and loaded; a damaged one renamed aside and a fresh one made first."""
        db = Database(self._checked(), self._path, self._host.synchronous)
        try:
            try:
                opened = self._load(db)
            except Damaged as exc:  # the check passed, but reading the file failed
                db.conn.close()
                self._aside = (self._host.set_aside(), str(exc))
                db.conn = self._fresh()
                opened = self._load(db)
            self._host.note_opened(db.conn)
        except BaseException:
            db.close()
            raise
        return db, opened

    def _checked(self) -> sqlite3.Connection:
        """The connection to a spool file that passed its check; a damaged one is renamed aside first."""
        problem = header_problem(self._path)
        conn: sqlite3.Connection | None = None
        try:
            if problem is None:
                conn = self._host.connect()
                problem = check(conn)
        except READ_ERRORS as exc:
            if conn is not None:
                conn.close()
            conn = None
            problem = self._judge(exc)
        if problem is None and conn is not None:
            return conn
        if conn is not None:
            conn.close()
        self._aside = (self._host.set_aside(), problem or "")
        return self._fresh()

    def _judge(self, exc: BaseException) -> str:
        """What an error opening the file says is wrong with it; raised when it is not the file's fault."""
        db_path = self._host.db_path
        if error_code(exc) in BUSY_CODES:
            raise SpoolLockedError(
                f"the spool file {db_path} is in use by another process: "
                "give each writer its own spool directory",
                path=self._path,
            ) from exc
        if error_code(exc) == sqlite3.SQLITE_READONLY:
            where = read_only_place(self._path)
            if where is not None:
                raise SpoolError(
                    f"the spool {self._path} cannot be written: {where}", path=self._path
                ) from exc
            # Nothing on the disk refuses writes: the file's header does (a write version SQLite
            # does not know makes it read-only). Not a spool file this writer can use.
            return f"SQLite opens it read-only ({exc}) though its disk and directory are writable"
        if not is_damage(exc):
            raise spool_error(exc, db_path, "open") from exc
        return f"{type(exc).__name__}: {exc}"

    def _fresh(self) -> sqlite3.Connection:
        """A new, empty spool file (the damaged one was renamed aside)."""
        try:
            conn = self._host.connect()
            check(conn)
        except READ_ERRORS as exc:
            raise spool_error(exc, self._host.db_path, "create") from exc
        return conn

    def _load(self, db: Database) -> Opened:
        """Read the counters and the watermarks; compare the file with the ledger; say what was lost."""
        conn, ledger = db.conn, self._host.ledger
        records = RecordTable(db)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            generation = int(meta["generation"])
            dropped = self._meta_value(meta, "dropped")
            known = ledger.read()
            if ledger.damaged:
                log.warning(
                    "spool %s: its ledger %s is damaged: records delivered before may be sent again, and "
                    "losses of the spool file cannot be checked this time",
                    self._path,
                    ledger.path,
                )
            acked = self._meta_value(meta, "acked")
            same_file = known is not None and known.generation == generation
            if known is not None and same_file:
                # The file's delivery watermark may be ahead of the ledger's by one settle (a crash
                # between the two writes), never beyond the last record the ledger knows of.
                acked = known.acked if acked > known.last else max(acked, known.acked)
            if self._aside is not None:
                self._report_aside(self._aside, known)
            elif known is not None:
                self._check_against(db, known, dropped, same_file=same_file)
            unswept = 0
            try:
                Tidy(db).delete_delivered(acked)
            except SpoolDiskFullError:  # the ledger keeps the delivery watermark: `sweep` deletes them later
                unswept = 1
            # Pending only: the delivered rows a full disk kept in the file are not (`sweep` deletes them).
            points, count, size = records.held(acked)
            last = records.last_id()
            quarantined = QuarantineTable(db).count()
            head, oldest = records.head(acked)
            watermarks, damaged = WatermarkTable.read(conn)
        except READ_ERRORS as exc:
            if self._aside is None and is_damage(exc):
                raise Damaged(f"{type(exc).__name__}: {exc}") from exc
            raise spool_error(exc, db.path, "read") from exc
        if damaged:
            log.error(
                "spool %s: the watermark of %d tags (%s) failed its checksum: it was damaged on disk and is "
                "forgotten (a connector resumes those tags from the start of what its source still has)",
                self._path,
                len(damaged),
                ", ".join(damaged[:5]) + (", ..." if len(damaged) > 5 else ""),
            )
        last_known = known.last if known is not None and same_file else 0
        return Opened(
            generation=generation,
            acked=acked,
            dropped=dropped,
            unswept=unswept,
            points=points,
            records=count,
            size=size,
            last_id=max(last, acked, last_known),
            quarantined=quarantined,
            head=head,
            oldest_created=oldest,
            watermarks=watermarks,
        )

    def _meta_value(self, meta: Mapping[str, object], key: str) -> int:
        """A counter of the file's ``meta`` table, or 0 (and a WARNING) when its check value is wrong."""
        value = meta_value(meta, key)
        if value is not None:
            return value
        log.warning(
            "spool %s: its %r counter was damaged on disk (%r): records may be sent again",
            self._path,
            key,
            meta.get(key),
        )
        return 0

    def _check_against(self, db: Database, known: LedgerState, dropped: int, *, same_file: bool) -> None:
        """Say at ERROR how many points the ledger counted that the file no longer holds."""
        if not same_file:
            log.warning(
                "spool %s: the spool file %s is not the one its ledger knows (its generation id differs): "
                "records delivered before may be sent again",
                self._path,
                db.path,
            )
        if not known.pending:
            return
        present = RecordTable(db).points_of(known.acked, known.last)
        aside = QuarantineTable(db).points_of(known.acked, known.last)
        lost = known.pending - present - aside - max(0, dropped - known.dropped)
        if lost > 0:
            log.error(
                "spool %s: %d points of records %d to %d that the spool had stored are missing from %s "
                "(the file was damaged, truncated, emptied or replaced outside this writer): they are lost",
                self._path,
                lost,
                known.acked + 1,
                known.last,
                db.path,
            )

    def _report_aside(self, aside: tuple[str, str], known: LedgerState | None) -> None:
        """Say at ERROR which file was renamed aside, why, and what the ledger knew it held."""
        path, problem = aside
        held = (
            f"it held {known.pending} points not yet delivered (records {known.acked + 1} to "
            f"{known.last}): they stay in the renamed file, not sent"
            if known is not None and known.pending
            else "the renamed file keeps whatever it held"
        )
        log.error(
            "the spool file %s failed its integrity check (%s): renamed to %s and a fresh spool started; %s",
            self._host.db_path,
            problem,
            path,
            held,
        )
