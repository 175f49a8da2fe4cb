"""The spool on disk: `SqliteSpool` keeps the contract of `contract` in a directory.

``<directory>/spool.sqlite3`` holds the records, the quarantine and the tags' states, one row each,
with a CRC-32; ``<directory>/acked`` is the ledger (`ledger`); the directory itself is
locked (`files`); ``<directory>/reserve`` is room kept for tidying a full disk.

Why SQLite, and why with a rollback journal. SQLite gives atomic commits across tables (points and
the tags' states in one step), torn-write safety and an integrity check, with no dependency. In WAL
mode, though, committed transactions live in the ``-wal`` file until a checkpoint, and SQLite reads
that file only up to its first bad checksum, silently: one flipped byte there loses every later
commit without a trace. With a rollback journal (``journal_mode=PERSIST``) a commit returns once its
pages are in the main file, where ``PRAGMA quick_check`` and the records' CRCs see any damage; the
journal holds only the old pages of the transaction under way. Measured on this project's machines
(2 cores, one disk), appending 4 MB per commit with ``synchronous=FULL`` ran at 37-69 MB/s against
44-77 MB/s in WAL mode (WAL's later checkpoint copies the data a second time on top of that); with
400 KB per commit, 30 ms against 16 ms per commit. The file is opened in exclusive locking mode: no
other process can read or write it while a spool has it.

What the file cannot tell, the ledger does: an emptied, truncated or replaced file holds fewer
records than the ledger counted, and the spool says so at ERROR with the number of points.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import sqlite3
import stat
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

from .._exceptions import SpoolDiskFullError, SpoolError, SpoolLockedError
from .contract import (
    AppendResult,
    NewRecord,
    QuarantinedRecord,
    QuarantineEntry,
    Record,
    Spool,
    first_records,
    record_crc,
)
from .files import (
    LOCK_NAME,
    DirectoryLock,
    FileId,
    file_id,
    open_file,
    read_at,
    side_file_problem,
    why_not,
    write_at,
)
from .ledger import LEDGER_NAME, Ledger, LedgerState

__all__ = ["DB_NAME", "LEDGER_NAME", "LOCK_NAME", "RESERVE_NAME", "Connect", "SqliteSpool", "open_connection"]

log = logging.getLogger("data_interaction_client.spool")

FORMAT = 2
"""The version of the file's layout; a file of a newer one is renamed aside, not touched."""
DB_NAME = "spool.sqlite3"
_CACHE_BYTES = 8 * 1024 * 1024
"""Bytes of just-appended records also kept in memory, so that the sender need not read them back."""
_SWEEP_BYTES = 64 * 1024 * 1024
"""Bytes of delivered records left in the file before an append deletes them in the same transaction."""
_SWEEP_STEP = 8
"""Records deleted per transaction by a sweep on a full disk."""
RESERVE_NAME = "reserve"
_RESERVE_BYTES = 256 * 1024
"""Bytes of ``<directory>/reserve``, given back when a full disk leaves no room to tidy the file."""
# The format's names stay as the first version wrote them: the table of records is ``batches``, and a
# quarantine entry's record id is ``batch`` (`QuarantineEntry.record_id`).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    points INTEGER NOT NULL,
    tags BLOB NOT NULL,
    data BLOB NOT NULL,
    crc INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch INTEGER NOT NULL,
    created REAL NOT NULL,
    quarantined REAL NOT NULL,
    points INTEGER NOT NULL,
    tags BLOB NOT NULL,
    data BLOB NOT NULL,
    crc INTEGER NOT NULL,
    error TEXT NOT NULL,
    status INTEGER,
    damaged INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS states (key TEXT PRIMARY KEY, value BLOB NOT NULL, crc INTEGER NOT NULL);
"""
_BUSY_CODES = frozenset((sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))
_NOT_DAMAGE_CODES = _BUSY_CODES | {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_INTERRUPT,
}
"""Errors that say something about the disk or the system, not about the file's content."""


class _Damaged(Exception):
    """The spool file passed its check, but reading it failed as a damaged file does."""


# What reading a damaged file may raise: SQLite's errors, and a UnicodeDecodeError when a flipped byte
# lands in text SQLite hands back (the schema quoted in an error message, a TEXT value).
_READ_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)


def _damage(exc: BaseException) -> bool:
    """Whether an error met while opening or reading the file means its content is damaged."""
    return _code(exc) not in _NOT_DAMAGE_CODES


Connect = Callable[[str], sqlite3.Connection]
"""Opens SQLite's connection to a spool file, given its path (see `SqliteSpool`)."""


def open_connection(path: str) -> sqlite3.Connection:
    """SQLite's connection to the spool file at ``path``, in autocommit mode, used from several threads."""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


class SqliteSpool(Spool):
    """The spool's contract on disk, in ``<directory>/spool.sqlite3``; see the module's docstring.

    How it stays fast with a committer and a sender at work at once: records just appended are also
    kept in memory (up to ``_CACHE_BYTES``), so the sender seldom reads them back; a delivery moves a
    watermark kept in the ledger (written in place, and flushed with ``fsync=True``) rather than
    deleting rows, so it never waits for an append to commit; the rows under the watermark are
    deleted in bulk by `sweep` when the writer has a moment (or by `append` once they take
    much room). Three locks, taken in this order when more than one: ``_db_lock`` serializes the use
    of the connection, ``_ledger_lock`` the ledger's writes, and ``_lock`` guards the counters and the
    cache and is held briefly.

    ``connect`` opens SQLite's connection to the file (`open_connection`, by default): the seam a test
    replaces, as a disk that fills up (``PRAGMA max_page_count`` on the connection it made).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: bool = True,
        shared: bool = False,
        connect: Connect = open_connection,
    ) -> None:
        super().__init__()
        self.path: str = os.fspath(directory)
        self._open_connection = connect
        self.fsync = fsync
        self.shared = shared
        self._db_path = os.path.join(self.path, DB_NAME)
        self._db_lock = threading.Lock()
        self._ledger_lock = threading.Lock()
        self._closed = False
        self._generation = 0  # the file's random id: a ledger of another file is not believed
        self._acked = 0  # every record with an id up to this one is delivered (the watermark)
        self._dropped_total = 0  # points the limit has dropped, ever (kept in the file and the ledger)
        self._unswept = 0  # bytes of delivered records still in the file
        self._reserved_records: list[tuple[int, int, int]] = []  # (id, points, bytes) of the last peek
        self._states: dict[str, bytes] = {}
        # The oldest pending records, in order (a prefix of the queue); while ``_cache_all`` holds,
        # every pending record, so that records appended may join it.
        self._cache: OrderedDict[int, Record] = OrderedDict()
        self._cache_bytes = 0
        self._cache_all = False
        self._db_id: FileId = (0, 0)  # the spool file's id: a file deleted or replaced is noticed
        self._lost = 0  # points that could not be carried over to a spool made again, not yet told
        self._directory = DirectoryLock(self.path, shared=shared)
        try:
            self._ledger = Ledger(self.path)
            self._conn = self._open()
            try:
                self._load(self._conn, self._ledger)
            except _Damaged as exc:  # the check passed, but reading the file failed
                self._conn.close()
                self._aside = (self._rename_aside(), str(exc))
                self._conn = self._fresh()
                self._load(self._conn, self._ledger)
            self._db_id = self._opened_id(self._conn)
            self._keep_reserve()
        except OSError as exc:
            self._release_files()
            raise _spool_error(exc, self.path, "be opened") from exc
        except BaseException:
            self._release_files()
            raise

    _conn: sqlite3.Connection
    _ledger: Ledger

    def _release_files(self) -> None:
        if "_conn" in self.__dict__:
            with contextlib.suppress(Exception):
                self._conn.close()
        if "_ledger" in self.__dict__:
            with contextlib.suppress(OSError):
                self._ledger.close()
        self._directory.release()

    # --- opening -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """A connection to the spool file, made ``0600`` here first and never opened through a link."""
        for suffix in ("-journal", "-wal"):
            problem = side_file_problem(self._db_path + suffix)
            if problem is not None:
                raise SpoolError(
                    f"the spool {self.path} cannot be opened: {problem}", path=self._db_path + suffix
                )
            with contextlib.suppress(FileNotFoundError):  # an earlier version's, maybe readable by all
                os.close(open_file(self.path, DB_NAME + suffix, create=False))
        os.close(open_file(self.path, DB_NAME))  # SQLite's own open follows links and makes it 0644
        conn = self._open_connection(self._db_path)
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("PRAGMA journal_mode = PERSIST")
            # Builds with SECURE_DELETE (Debian's) zero every page a delete frees, so that the journal
            # takes a copy of each: tidying delivered records would need as much free space as they
            # take, which a full disk never has. FAST zeroes only what costs no extra page written.
            conn.execute("PRAGMA secure_delete = FAST")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.executescript(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    @property
    def _synchronous(self) -> str:
        # With a rollback journal, OFF still survives a crash of the process (the system has the
        # writes); FULL flushes the journal and the file at each commit, for power cuts too.
        return "FULL" if self.fsync else "OFF"

    def _opened_id(self, conn: sqlite3.Connection) -> FileId:
        """The id of the file ``conn`` has open (it has read it), by its path; a link there is refused.

        `_connect` made it with O_NOFOLLOW just before SQLite opened it by its path: only someone who
        may write into the directory (``shared=True``) could have swapped it in between.
        """
        info = os.lstat(self._db_path)
        if not stat.S_ISREG(info.st_mode):
            conn.close()
            raise SpoolError(
                f"the spool file {self._db_path} was replaced while it was opened: see who can write "
                "into the directory",
                path=self._db_path,
            )
        return file_id(info)

    def _open(self) -> sqlite3.Connection:
        """The connection to a spool file that passed its check; a damaged one is renamed aside first."""
        problem: str | None = _header_problem(self.path)
        conn: sqlite3.Connection | None = None
        try:
            if problem is None:
                conn = self._connect()
                problem = _check(conn)
        except _READ_ERRORS as exc:
            if conn is not None:
                conn.close()
            if _code(exc) in _BUSY_CODES:
                raise SpoolLockedError(
                    f"the spool file {self._db_path} is in use by another process: "
                    "give each writer its own spool directory",
                    path=self.path,
                ) from exc
            if _code(exc) == sqlite3.SQLITE_READONLY:
                where = _read_only_place(self.path)
                if where is not None:
                    raise SpoolError(
                        f"the spool {self.path} cannot be written: {where}", path=self.path
                    ) from exc
                # Nothing on the disk refuses writes: the file's header does (a write version SQLite
                # does not know makes it read-only). Not a spool file this writer can use.
                problem = f"SQLite opens it read-only ({exc}) though its disk and directory are writable"
            elif not _damage(exc):
                raise _spool_error(exc, self._db_path, "open") from exc
            else:
                problem = f"{type(exc).__name__}: {exc}"
            conn = None
        if problem is None and conn is not None:
            return conn
        if conn is not None:
            conn.close()
        self._aside = (self._rename_aside(), problem or "")
        return self._fresh()

    def _fresh(self) -> sqlite3.Connection:
        """A new, empty spool file (the damaged one was renamed aside)."""
        try:
            conn = self._connect()
            _check(conn)
        except _READ_ERRORS as exc:
            raise _spool_error(exc, self._db_path, "create") from exc
        return conn

    _aside: tuple[str, str] | None = None  # the file renamed aside on opening, and why
    _quarantine_carried = True  # whether the last carry-over took the whole quarantine

    def _rename_aside(self) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = f"{self._db_path}.corrupt-{stamp}"
        for suffix in ("", "-journal", "-wal", "-shm"):
            source = self._db_path + suffix
            if os.path.exists(source):
                try:
                    os.replace(source, aside + suffix)
                except OSError as exc:
                    raise SpoolError(
                        f"the spool file {source} is damaged and cannot be renamed aside: {exc}",
                        path=source,
                    ) from exc
        # The ledger is rewritten for the fresh file: a copy beside the renamed one keeps its
        # watermark, so that a salvage of that file leaves out what was delivered.
        with contextlib.suppress(OSError):
            self._ledger.keep_copy(aside + ".acked")
        return aside

    def _load(self, conn: sqlite3.Connection, ledger: Ledger) -> None:
        """Read the counters and the states; compare the file with the ledger; say what was lost."""
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            self._generation = int(meta["generation"])
            self._dropped_total = self._meta_value(meta, "dropped")
            known = ledger.read()
            if ledger.damaged:
                log.warning(
                    "spool %s: its ledger %s is damaged: records delivered before may be sent again, and "
                    "losses of the spool file cannot be checked this time",
                    self.path,
                    ledger.path,
                )
            acked = self._meta_value(meta, "acked")
            if known is not None and known.generation == self._generation:
                # The file's watermark may be ahead of the ledger's by one settle (a crash between
                # the two writes), never beyond the last record the ledger knows of.
                acked = known.acked if acked > known.last else max(acked, known.acked)
            if self._aside is not None:
                self._report_aside(self._aside, known)
            elif known is not None:
                self._check_against(conn, known, same_file=known.generation == self._generation)
            self._acked = acked
            try:
                self._delete_delivered(acked)
            except SpoolDiskFullError:  # the ledger keeps the watermark: `sweep` deletes them later
                self._unswept = 1
            points, records, size, last = conn.execute(
                "SELECT COALESCE(SUM(points), 0), COUNT(*), COALESCE(SUM(length(tags) + length(data)), 0), "
                "COALESCE(MAX(id), 0) FROM batches"
            ).fetchone()
            self.quarantined_records = conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
            self.head, self.oldest_created = self._head_from_file()
            self._states = self._read_states(conn)
        except _READ_ERRORS as exc:
            if self._aside is None and _damage(exc):
                raise _Damaged(f"{type(exc).__name__}: {exc}") from exc
            raise _spool_error(exc, self._db_path, "read") from exc
        self.points, self.records, self.bytes = int(points), int(records), int(size)
        last_known = known.last if known is not None and known.generation == self._generation else 0
        self.last_id = max(int(last), self._acked, last_known)
        self._cache_all = not self.records
        self._write_ledger(flush=True)

    def _meta_value(self, meta: Mapping[str, object], key: str) -> int:
        """A counter of the file's ``meta`` table, or 0 (and a WARNING) when its check value is wrong."""
        value = meta.get(key, 0)
        check = meta.get(key + "_check")  # absent in the first format's files
        if type(value) is int and (check is None or check == _meta_check(value)):
            return value
        log.warning(
            "spool %s: its %r counter was damaged on disk (%r): records may be sent again",
            self.path,
            key,
            value,
        )
        return 0

    def _check_against(self, conn: sqlite3.Connection, known: LedgerState, *, same_file: bool) -> None:
        """Say at ERROR how many points the ledger counted that the file no longer holds."""
        if not same_file:
            log.warning(
                "spool %s: the spool file %s is not the one its ledger knows (its generation id differs): "
                "records delivered before may be sent again",
                self.path,
                self._db_path,
            )
        if not known.pending:
            return
        window = (known.acked, known.last)
        (present,) = conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM batches WHERE id > ? AND id <= ?", window
        ).fetchone()
        (aside,) = conn.execute(
            "SELECT COALESCE(SUM(points), 0) FROM quarantine WHERE batch > ? AND batch <= ?", window
        ).fetchone()
        dropped = max(0, self._dropped_total - known.dropped)
        lost = known.pending - int(present) - int(aside) - dropped
        if lost > 0:
            log.error(
                "spool %s: %d points of records %d to %d that the spool had stored are missing from %s "
                "(the file was damaged, truncated, emptied or replaced outside this writer): they are lost",
                self.path,
                lost,
                known.acked + 1,
                known.last,
                self._db_path,
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
            self._db_path,
            problem,
            path,
            held,
        )

    def _read_states(self, conn: sqlite3.Connection) -> dict[str, bytes]:
        states: dict[str, bytes] = {}
        damaged = []
        for key, raw, crc in conn.execute("SELECT key, value, crc FROM states"):
            value = bytes(raw)
            if _state_crc(key, value) == crc:
                states[key] = value
            else:
                damaged.append(key)
        if damaged:
            log.error(
                "spool %s: the state of %d tags (%s) failed its checksum: it was damaged on disk and is "
                "forgotten (a connector resumes those tags from the start of what its source still has)",
                self.path,
                len(damaged),
                ", ".join(damaged[:5]) + (", ..." if len(damaged) > 5 else ""),
            )
        return states

    def _head_from_file(self) -> tuple[int | None, float | None]:
        """The id and time of the oldest pending record, read from the file (``_db_lock`` held)."""
        row = self._conn.execute(
            "SELECT id, created FROM batches WHERE id > ? ORDER BY id LIMIT 1", (self._acked,)
        ).fetchone()
        return (None, None) if row is None else (int(row[0]), float(row[1]))

    def _set_head(self) -> bool:
        """Set ``head`` from memory (``_lock`` held); ``False`` when only the file can tell."""
        if self._cache:
            first = next(iter(self._cache.values()))
            self.head, self.oldest_created = first.id, first.created
        elif not self.records:
            self.head = self.oldest_created = None
        else:
            return False
        return True

    def _refresh_head(self) -> None:
        """Set ``head`` from memory, or from the file (call with neither lock held)."""
        with self._lock:
            if self._set_head():
                return
        with self._db_lock:
            if self._closed:
                return
            try:
                head = self._head_from_file()
            except sqlite3.Error:
                return  # a later call sets it
            with self._lock:
                if not self._set_head():
                    self.head, self.oldest_created = head

    # --- transactions ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, doing: str, *, synchronous: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction (``_db_lock`` held); a failure rolls it back as a `SpoolError`.

        ``synchronous="NORMAL"`` skips the flush to the disk for a transaction whose loss to a power
        cut only costs work done again (a sweep); the next flushed commit flushes it too (flushing
        the spool file flushes every write made to it before).
        """
        if self._closed:
            raise SpoolError(f"the spool {self.path} is closed", path=self.path)
        conn = self._conn
        relaxed = synchronous is not None and synchronous != self._synchronous
        try:
            if relaxed:
                conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error | OSError):
                raise _spool_error(exc, self._db_path, doing) from exc
            raise
        finally:
            if relaxed:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(f"PRAGMA synchronous = {self._synchronous}")

    def append(
        self,
        records: Sequence[NewRecord],
        *,
        max_bytes: int | None = None,
        max_points: int | None = None,
        states: Mapping[str, bytes] | None = None,
    ) -> AppendResult:
        """Store ``records`` and ``states`` in one transaction; drop the oldest records to fit a limit."""
        now = time.time()
        crcs = [record_crc(r.tags, r.data) for r in records]
        added_points = sum(r.points for r in records)
        added_bytes = sum(r.size for r in records)
        with self._db_lock:
            # Two stats per commit: records stored in a file deleted meanwhile would be confirmed to
            # a caller and found by no writer.
            self._verify_locked()
            with self._lock:
                first = self.last_id + 1
                sweep = self._unswept >= _SWEEP_BYTES
                acked = self._acked
                swept = self._unswept
                held_bytes, held_points = self._held()
                limited = (max_bytes is not None and held_bytes + added_bytes > max_bytes) or (
                    max_points is not None and held_points + added_points > max_points
                )
            rows = [
                (first + i, now, r.points, r.tags, r.data, crc)
                for i, (r, crc) in enumerate(zip(records, crcs, strict=True))
            ]
            dropped: list[tuple[int, int, int]] = []
            if limited:
                # Dropping depends on what is reserved: no peek may reserve meanwhile.
                self._lock.acquire()
            try:
                with self._transaction("write") as conn:
                    if sweep:
                        conn.execute("DELETE FROM batches WHERE id <= ?", (acked,))
                        _set_meta(conn, "acked", acked)
                    conn.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
                    if states:
                        conn.executemany(
                            "INSERT OR REPLACE INTO states VALUES (?, ?, ?)",
                            [(key, value, _state_crc(key, value)) for key, value in states.items()],
                        )
                    if limited:
                        held_bytes, held_points = self._held()
                        excess_bytes = None if max_bytes is None else held_bytes + added_bytes - max_bytes
                        excess_points = (
                            None if max_points is None else held_points + added_points - max_points
                        )
                        dropped = self._drop(conn, excess_bytes, excess_points)
                        if dropped:
                            _set_meta(conn, "dropped", self._dropped_total + sum(p for _, p, _ in dropped))
                if limited:  # still under _lock: no peek may reserve a record just dropped
                    known = self._count_appended(records, rows, dropped, swept if sweep else 0)
            finally:
                if limited:
                    self._lock.release()
            if not limited:
                with self._lock:
                    known = self._count_appended(records, rows, dropped, swept if sweep else 0)
            if not known:
                head = self._head_from_file()
                with self._lock:
                    self.head, self.oldest_created = head
            if states:
                self._states.update(states)
            # Not flushed: the file holds these records already; the ledger only needs to know of
            # them to notice if the file loses them, and a later flushed write carries this one.
            self._write_ledger(flush=False)
            return AppendResult(first, self.last_id, len(dropped), sum(p for _, p, _ in dropped))

    def states(self) -> dict[str, bytes]:
        """Every tag's state, as last appended with its records (survives deliveries and restarts)."""
        with self._lock:
            return dict(self._states)

    def _count_appended(
        self,
        records: Sequence[NewRecord],
        rows: list[tuple[int, float, int, bytes, bytes, int]],
        dropped: list[tuple[int, int, int]],
        swept: int,
    ) -> bool:
        """Count what an append stored and dropped, cache what it stored (``_db_lock`` and ``_lock`` held).

        ``False`` when only the file can tell the head.
        """
        self._unswept -= swept
        self._dropped_total += sum(p for _, p, _ in dropped)
        self.last_id = rows[-1][0] if rows else self.last_id
        self.points += sum(r.points for r in records) - sum(p for _, p, _ in dropped)
        self.bytes += sum(r.size for r in records) - sum(b for _, _, b in dropped)
        self.records += len(rows) - len(dropped)
        gone = {record_id for record_id, _, _ in dropped}
        for record_id in gone:
            cached = self._cache.pop(record_id, None)
            if cached is not None:
                self._cache_bytes -= cached.size
        for record, row in zip(records, rows, strict=True):
            if row[0] in gone or not self._cache_all:
                continue
            if self._cache_bytes + record.size > _CACHE_BYTES:
                self._cache_all = False  # the rest is read from the file
                continue
            self._cache[row[0]] = Record(row[0], row[1], record.points, record.tags, record.data)
            self._cache_bytes += record.size
        return self._set_head()

    def _held(self) -> tuple[int, int]:
        """Bytes and points pending but not in flight (``_lock`` held)."""
        return (
            self.bytes - sum(size for _, _, size in self._reserved_records),
            self.points - sum(points for _, points, _ in self._reserved_records),
        )

    def _drop(
        self, conn: sqlite3.Connection, excess_bytes: int | None, excess_points: int | None
    ) -> list[tuple[int, int, int]]:
        """Delete the oldest unreserved records until the excess is gone; return (id, points, bytes)."""
        dropped: list[tuple[int, int, int]] = []
        freed_bytes = freed_points = 0
        after = max(self._reserved, self._acked)
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

    def peek(self, max_points: int) -> list[Record]:
        """The oldest records, at least one and more while they fit in ``max_points``; reserve them.

        A record whose checksum fails is moved to the quarantine instead.
        """
        with self._lock:
            if self._closed:
                raise SpoolError(f"the spool {self.path} is closed", path=self.path)
            if self._cache:
                return self._reserve(first_records(self._cache.values(), max_points))
        with self._db_lock:
            chosen, damaged = self._peek_file(max_points)
            if damaged:
                self._set_aside(damaged)
            with self._lock:
                return self._reserve(chosen)

    def _reserve(self, chosen: list[Record]) -> list[Record]:
        self._reserved = chosen[-1].id if chosen else 0
        self._reserved_records = [(r.id, r.points, r.size) for r in chosen]
        return chosen

    def _peek_file(self, max_points: int) -> tuple[list[Record], list[QuarantineEntry]]:
        """The oldest records read from the file, and those that failed their checksum (``_db_lock``)."""
        chosen: list[Record] = []
        damaged: list[QuarantineEntry] = []
        total = 0
        try:
            cursor = self._conn.execute(
                "SELECT id, created, points, tags, data, crc FROM batches WHERE id > ? ORDER BY id",
                (self._acked,),
            )
            for record_id, created, points, raw_tags, raw_data, crc in cursor:
                if chosen and total + points > max_points:
                    break
                tags, data = bytes(raw_tags), bytes(raw_data)
                if record_crc(tags, data) != crc:
                    damaged.append(
                        QuarantineEntry(
                            record_id=record_id,
                            created=created,
                            points=points,
                            tags=tags,
                            data=data,
                            error=(
                                f"the record failed its checksum (stored {crc:#010x}, computed "
                                f"{record_crc(tags, data):#010x}): it was damaged on disk"
                            ),
                            damaged=True,
                        )
                    )
                    if not chosen:
                        continue
                    break
                chosen.append(Record(record_id, created, points, tags, data))
                total += points
            cursor.close()
        except _READ_ERRORS as exc:
            raise _spool_error(exc, self._db_path, "read") from exc
        return chosen, damaged

    def _set_aside(self, damaged: list[QuarantineEntry]) -> None:
        """Move damaged records to the quarantine (``_db_lock`` held)."""
        with self._transaction("quarantine") as conn:
            self._insert_quarantine(conn, damaged)
            conn.executemany("DELETE FROM batches WHERE id = ?", [(e.record_id,) for e in damaged])
        head = self._head_from_file()
        with self._lock:
            for entry in damaged:
                log.error(
                    "spool %s: record %d (%d points) set aside in the quarantine, not sent: %s",
                    self.path,
                    entry.record_id,
                    entry.points,
                    entry.error,
                )
                self.points -= entry.points
                self.bytes -= len(entry.tags) + len(entry.data)
                self.records -= 1
            self.quarantined_records += len(damaged)
            self.head, self.oldest_created = head
            self._newly_set_aside.extend(damaged)
        self._write_ledger(flush=self.fsync)

    @staticmethod
    def _insert_quarantine(conn: sqlite3.Connection, entries: Sequence[QuarantineEntry]) -> None:
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

    def settle(self, through: int, quarantine: Sequence[QuarantineEntry] = ()) -> None:
        """Remove the reserved records with ids up to ``through`` and store ``quarantine``, atomically.

        The removal moves the watermark (in the ledger, and with ``quarantine`` in the file too, in
        the transaction that stores it); `sweep` deletes the rows later.
        """
        with self._lock:
            if self._closed:
                raise SpoolError(f"the spool {self.path} is closed", path=self.path)
            upto = min(through, self._reserved)
            gone = [entry for entry in self._reserved_records if entry[0] <= upto]
            upto = max(upto, self._acked)
        if quarantine:
            with self._db_lock, self._transaction("remove") as conn:
                self._insert_quarantine(conn, quarantine)
                _set_meta(conn, "acked", upto)
        gone_points = sum(points for _, points, _ in gone)
        with self._ledger_lock:
            if gone or upto > self._acked:
                self._write_ledger_locked(flush=self.fsync, acked=upto, less=gone_points)
            with self._lock:
                self._acked = max(self._acked, upto)
                for _, points, size in gone:
                    self.records -= 1
                    self.points -= points
                    self.bytes -= size
                    self._unswept += size
                for record_id in [record_id for record_id in self._cache if record_id <= upto]:
                    self._cache_bytes -= self._cache.pop(record_id).size
                if not self.records:
                    self._cache_all = True  # nothing pending: records appended from now on are cached
                self.quarantined_records += len(quarantine)
                self._reserved = 0
                self._reserved_records = []
        self._refresh_head()

    def _write_ledger(self, *, flush: bool) -> None:
        """Write the current state into the ledger."""
        with self._ledger_lock:
            self._write_ledger_locked(flush=flush)

    def _write_ledger_locked(self, *, flush: bool, acked: int | None = None, less: int = 0) -> None:
        """Write the state into the ledger (``_ledger_lock`` held): as it is, or as a settle makes it."""
        with self._lock:
            state = LedgerState(
                generation=self._generation,
                acked=self._acked if acked is None else max(acked, self._acked),
                last=self.last_id,
                pending=max(0, self.points - less),
                dropped=self._dropped_total,
            )
        try:
            self._ledger.write(state, flush=flush)
        except OSError as exc:
            raise _spool_error(exc, self.path, "record a delivery in") from exc

    @property
    def needs_sweep(self) -> bool:
        """Whether delivered records still take room in the file."""
        return self._unswept > 0 and not self._closed

    def sweep(self) -> bool:
        """Delete the rows of delivered records from the file; ``False`` when there were none."""
        with self._db_lock:
            with self._lock:
                if not self._unswept or self._closed:
                    return False
                acked, swept = self._acked, self._unswept
            self._delete_delivered(acked)
            with self._lock:
                self._unswept -= swept
            return True

    def _delete_delivered(self, acked: int) -> None:
        """Delete the rows of records up to ``acked`` (``_db_lock`` held); a full disk, a few at a time.

        The rollback journal needs room for a copy of each page a delete changes: on a full disk one
        delete of many records fails for want of the room it would give back. A few records at a
        time change a few pages, which fit in the room the journal kept from earlier transactions;
        each step frees pages of the file that the next appends reuse.
        """
        try:
            with self._transaction("sweep", synchronous="NORMAL") as conn:
                conn.execute("DELETE FROM batches WHERE id <= ?", (acked,))
                _set_meta(conn, "acked", acked)
        except SpoolDiskFullError:
            pass
        else:
            return
        while True:
            row = self._conn.execute(
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
        # The file's copy of the watermark changes one more page: left behind when even that does
        # not fit, as the ledger has it and the rows under it are gone.
        with (
            contextlib.suppress(SpoolDiskFullError),
            self._transaction("sweep", synchronous="NORMAL") as conn,
        ):
            _set_meta(conn, "acked", acked)

    def _delete_step(self, upto: int) -> None:
        with self._transaction("sweep", synchronous="NORMAL") as conn:
            conn.execute("DELETE FROM batches WHERE id <= ?", (upto,))

    def _keep_reserve(self) -> None:
        """Make ``<directory>/reserve`` when it is missing and the disk has room; else leave it be.

        The room a sweep's journal needs on a disk the spool filled to the last byte, so that the
        room of the delivered records can be reused: without it no delete fits.
        """
        path = os.path.join(self.path, RESERVE_NAME)
        try:
            fd = open_file(self.path, RESERVE_NAME)  # an earlier one made 0600 too
            try:
                if os.fstat(fd).st_size < _RESERVE_BYTES:
                    # Written, not a hole: a sparse file would take no room to give back.
                    write_at(fd, bytes(_RESERVE_BYTES), 0)
            finally:
                os.close(fd)
        except OSError:  # no room for it now: made at a later opening
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _give_reserve_back(self) -> bool:
        """Delete the reserve (a full disk); ``False`` when there was none."""
        try:
            os.unlink(os.path.join(self.path, RESERVE_NAME))
        except OSError:
            return False
        log.warning(
            "spool %s: its disk is full: the %d bytes it kept in reserve are given back, to delete the "
            "delivered records and reuse their room",
            self.path,
            _RESERVE_BYTES,
        )
        return True

    def quarantined(self) -> list[QuarantinedRecord]:
        """Every quarantine entry, oldest first."""
        with self._db_lock:
            if self._closed:
                raise SpoolError(f"the spool {self.path} is closed", path=self.path)
            try:
                rows = self._conn.execute(
                    "SELECT id, batch, created, quarantined, points, tags, data, crc, error, status, damaged "
                    "FROM quarantine ORDER BY id"
                ).fetchall()
            except _READ_ERRORS as exc:
                raise _spool_error(exc, self._db_path, "read") from exc
        result = []
        for row in rows:
            (
                row_id,
                batch,
                created,
                quarantined,
                points,
                raw_tags,
                raw_data,
                crc,
                stored_error,
                status,
                flag,
            ) = row
            tags, data = bytes(raw_tags), bytes(raw_data)
            damaged = bool(flag)
            error = stored_error
            if not damaged and record_crc(tags, data) != crc:
                damaged = True
                error = f"{error}; then the entry failed its checksum: it was damaged on disk"
            result.append(
                QuarantinedRecord(
                    row_id, batch, created, quarantined, points, tags, data, error, status, damaged
                )
            )
        return result

    def requeue(self, ids: Iterable[int] | None = None) -> int:
        """Move quarantine entries back to the end of the queue; damaged ones stay."""
        entries = [e for e in self.quarantined() if not e.damaged]
        if ids is not None:
            wanted = set(ids)
            entries = [e for e in entries if e.id in wanted]
        if not entries:
            return 0
        now = time.time()
        with self._db_lock:
            with self._lock:
                first = self.last_id + 1
                self._cache_all = False  # requeued records are read from the file
            rows = [
                (first + i, now, e.points, e.tags, e.data, record_crc(e.tags, e.data))
                for i, e in enumerate(entries)
            ]
            with self._transaction("requeue") as conn:
                conn.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
                conn.executemany("DELETE FROM quarantine WHERE id = ?", [(e.id,) for e in entries])
            with self._lock:
                self.last_id = first + len(rows) - 1
                self.points += sum(e.points for e in entries)
                self.bytes += sum(len(e.tags) + len(e.data) for e in entries)
                self.records += len(rows)
                self.quarantined_records -= len(entries)
                known = self._set_head()
            if not known:
                head = self._head_from_file()
                with self._lock:
                    self.head, self.oldest_created = head
            self._write_ledger(flush=self.fsync)
        return len(entries)

    def purge(self, ids: Iterable[int] | None = None) -> tuple[int, int]:
        """Delete quarantine entries; return ``(entries, points)`` deleted."""
        with self._db_lock:
            with self._transaction("purge") as conn:
                if ids is None:
                    count, points = conn.execute(
                        "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM quarantine"
                    ).fetchone()
                    conn.execute("DELETE FROM quarantine")
                else:
                    count = points = 0
                    for entry_id in set(ids):
                        row = conn.execute(
                            "SELECT points FROM quarantine WHERE id = ?", (entry_id,)
                        ).fetchone()
                        if row is not None:
                            conn.execute("DELETE FROM quarantine WHERE id = ?", (entry_id,))
                            count += 1
                            points += row[0]
            with self._lock:
                self.quarantined_records -= count
            return int(count), int(points)

    def close(self) -> None:
        """Close the file and give the directory up (the lock is released).

        Files deleted under the spool are made again first: what it holds is left where the next
        writer opens it (or said lost, at ERROR).
        """
        with self._db_lock:
            if not self._closed:
                try:
                    self._verify_locked()
                except SpoolError as exc:
                    log.error(
                        "spool %s: closing with %d points pending in a spool file no writer will open "
                        "(%s): they are lost",
                        self.path,
                        self.points,
                        exc,
                    )
        with self._db_lock, self._ledger_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            self._cache.clear()
            self._release_files()

    # --- files changed under the spool ---------------------------------------------------------

    def verify(self) -> None:
        """Make sure what the spool holds is where the next writer opens it: make the spool again if not.

        Two ``stat`` calls when nothing changed. A `SpoolError` when the spool cannot be made again
        (``trouble`` says why until it can).
        """
        with self._db_lock:
            self._verify_locked()

    def take_lost(self) -> int:
        """Points lost since the last call: pending in files deleted under the spool, not carried over."""
        with self._lock:
            lost, self._lost = self._lost, 0
            return lost

    def _verify_locked(self) -> None:
        """`verify`, ``_db_lock`` held."""
        if self._closed:
            return
        problem = self._files_problem()
        if problem is None:
            return
        try:
            self._make_again(problem)
        except SpoolError as exc:
            self.trouble = str(exc)
            raise
        except (OSError, *_READ_ERRORS) as exc:
            self.trouble = f"the spool {self.path} could not be made again: {type(exc).__name__}: {exc}"
            raise SpoolError(self.trouble, path=self.path) from exc
        self.trouble = None

    def _files_problem(self) -> str | None:
        """What happened to the spool's files behind its back, or ``None`` (they are where they were)."""
        try:
            now = file_id(os.stat(self._db_path))
        except FileNotFoundError:
            if not os.path.isdir(self.path):
                return f"its directory {self.path} was removed"
            return f"the spool file {self._db_path} was deleted"
        except OSError as exc:
            return f"the spool file {self._db_path} cannot be looked at ({exc})"
        if now != self._db_id:
            return f"the spool file {self._db_path} was replaced by another file"
        if self._ledger.moved():
            return f"its ledger {self._ledger.path} was deleted or replaced"
        return None

    def _db_moved(self) -> bool:
        """Whether the spool file's path no longer names the file open."""
        try:
            return file_id(os.stat(self._db_path)) != self._db_id
        except OSError:
            return True

    def _make_again(self, problem: str) -> None:
        """Make the spool's files again and carry over what the open file holds (``_db_lock`` held)."""
        with self._lock:
            pending, records = self.points, self.records
        if self.trouble is None:
            log.error(
                "spool %s: %s while the writer ran (outside it): making the spool again, with the %d points "
                "in %d batches not yet delivered that the writer still holds in the file it has open",
                self.path,
                problem,
                pending,
                records,
            )
        directory = DirectoryLock(self.path, shared=self.shared) if self._directory.moved() else None
        ledger: Ledger | None = None
        conn: sqlite3.Connection | None = None
        try:
            if directory is None:
                self._directory.name_holder()
            db_moved = self._db_moved()
            if directory is not None or self._ledger.moved():
                ledger = Ledger(self.path)
            carried = lost = 0
            if db_moved:
                if os.path.lexists(self._db_path):  # another file took its place: kept, aside
                    log.error(
                        "spool %s: the file now at %s is not the spool's: renamed to %s",
                        self.path,
                        self._db_path,
                        self._rename_aside(),
                    )
                conn = self._connect()
                _check(conn)
                carried, lost = self._carry(self._conn, conn)
        except BaseException:
            if conn is not None:
                conn.close()
            if ledger is not None:
                ledger.close()
            if directory is not None:
                directory.release()
            raise
        self._swap_in(conn, ledger, directory)
        if conn is not None and (lost or not self._quarantine_carried):
            self._recount()
        self._write_ledger(flush=True)
        self._report_carried(conn is not None, carried, lost)

    def _swap_in(
        self, conn: sqlite3.Connection | None, ledger: Ledger | None, directory: DirectoryLock | None
    ) -> None:
        """Use the files made again, and close the old ones (``_db_lock`` held)."""
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = conn
            self._db_id = self._opened_id(conn)
        if ledger is not None:
            with self._ledger_lock:  # a settle may be writing the old one
                old, self._ledger = self._ledger, ledger
            with contextlib.suppress(OSError):
                old.close()
        if directory is not None:
            self._directory.release()
            self._directory = directory

    def _report_carried(self, made: bool, carried: int, lost: int) -> None:
        """Say what the spool made again holds; count what it lost."""
        if lost:
            with self._lock:
                self._lost += lost
            log.error(
                "spool %s: %d points pending in the deleted spool file could not be read to be carried over: "
                "they are lost (%d points carried over)",
                self.path,
                lost,
                carried,
            )
        elif made:
            log.warning("spool %s: made again; %d points carried over, none lost", self.path, carried)
        else:
            log.warning("spool %s: its ledger was written again; the spool file is whole", self.path)

    def _carry(self, old: sqlite3.Connection, new: sqlite3.Connection) -> tuple[int, int]:
        """Copy what the old file holds into the new one, in one transaction: (points carried, lost).

        The counters, the watermark and the states come from memory (exact); the records not yet
        delivered and the quarantine from the old file, as they are (ids, times, checksums).
        """
        with self._lock:
            pending = self.points
            states = dict(self._states)
        carried = 0
        new.execute("BEGIN IMMEDIATE")
        try:
            _set_meta(new, "acked", self._acked)
            _set_meta(new, "dropped", self._dropped_total)
            new.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (self._generation,))
            new.executemany(
                "INSERT OR REPLACE INTO states VALUES (?, ?, ?)",
                [(key, value, _state_crc(key, value)) for key, value in states.items()],
            )
            try:
                new.executemany(
                    "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    old.execute("SELECT * FROM quarantine ORDER BY id").fetchall(),
                )
                self._quarantine_carried = True
            except _READ_ERRORS as exc:  # not pending points: said, and counted again from the file
                self._quarantine_carried = False
                log.error("spool %s: its quarantine could not be carried over (%s)", self.path, exc)
            try:
                cursor = old.execute(
                    "SELECT id, created, points, tags, data, crc FROM batches WHERE id > ? ORDER BY id",
                    (self._acked,),
                )
                while rows := cursor.fetchmany(256):
                    new.executemany("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?)", rows)
                    carried += sum(int(row[2]) for row in rows)
            except _READ_ERRORS:
                pass  # what was read is carried; the rest is counted lost
            new.execute("COMMIT")
        except BaseException:
            if new.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    new.execute("ROLLBACK")
            raise
        with self._lock:
            self._unswept = 0  # the delivered rows stayed behind
        return carried, max(0, pending - carried)

    def _recount(self) -> None:
        """Counters, head and cache from the file, after records were lost (``_db_lock`` held)."""
        points, records, size = self._conn.execute(
            "SELECT COALESCE(SUM(points), 0), COUNT(*), COALESCE(SUM(length(tags) + length(data)), 0) "
            "FROM batches WHERE id > ?",
            (self._acked,),
        ).fetchone()
        quarantined = self._conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
        head = self._head_from_file()
        present = {
            row[0]
            for row in self._conn.execute(
                "SELECT id FROM batches WHERE id > ? AND id <= ?",
                (self._acked, max(self._reserved, self._acked)),
            )
        }
        with self._lock:
            self.points, self.records, self.bytes = int(points), int(records), int(size)
            self.quarantined_records = int(quarantined)
            self.head, self.oldest_created = head
            self._cache.clear()
            self._cache_bytes = 0
            self._cache_all = False
            self._reserved_records = [r for r in self._reserved_records if r[0] in present]


def _meta_check(value: int) -> int:
    """The check value kept beside each counter of the ``meta`` table (a flipped bit shows)."""
    return zlib.crc32(str(value).encode())


def _set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(key, value), (key + "_check", _meta_check(value))],
    )


def _state_crc(key: str, value: bytes) -> int:
    return zlib.crc32(value, zlib.crc32(key.encode()))


def _check(conn: sqlite3.Connection) -> str | None:
    """What is wrong with an open spool file, or ``None`` when it can be used as it is."""
    rows = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if rows != ["ok"]:
        return "quick_check: " + "; ".join(map(str, rows[:5]))
    schema = _schema_of(conn)
    expected = _expected_schema()
    if schema != expected:
        # quick_check reads the schema, it does not judge it: a definition changed by damage (a
        # byte of a hot journal rolled back into it) would fail later, on every call that uses it.
        odd = sorted(set(schema.items()) ^ set(expected.items()))
        return "its tables are not the spool's: " + "; ".join(f"{name}: {sql}" for name, sql in odd[:3])
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if "format" not in meta:
        if conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0]:
            return "the file holds batches but no format: it is not a spool this version made"
        conn.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (FORMAT,))
    elif not isinstance(meta["format"], int) or meta["format"] > FORMAT:
        # Never refused: a writer always starts. A newer version's file is kept whole, aside.
        return f"spool format {meta['format']!r} is not one this version knows (newest: {FORMAT})"
    elif meta["format"] < FORMAT:  # the first format: same tables, and the journal set above
        conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT,))
    if "generation" not in meta:
        conn.execute("INSERT INTO meta (key, value) VALUES ('generation', ?)", (secrets.randbits(62),))
    # A write, undone: SQLite may open a file read-only (its disk, its mode, its header), which
    # only a write shows; `SqliteSpool._open` tells which.
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE meta SET value = value WHERE key = 'format'")
    finally:
        conn.execute("ROLLBACK")
    return None


def _schema_of(conn: sqlite3.Connection) -> dict[str, str]:
    """Every object of a file's schema, by type and name: its SQL, spaces made one."""
    return {
        f"{kind} {name}": " ".join(str(sql).split())
        for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")
    }


_EXPECTED: dict[str, str] = {}


def _expected_schema() -> dict[str, str]:
    """The schema a spool file has: `_SCHEMA` as SQLite keeps it."""
    if not _EXPECTED:
        with contextlib.closing(sqlite3.connect(":memory:")) as conn:
            conn.executescript(_SCHEMA)
            _EXPECTED.update(_schema_of(conn))
    return _EXPECTED


def _header_problem(directory: str) -> str | None:
    """What in the spool file's header makes it no file this writer can use, or ``None``.

    Bytes 18 and 19 are the versions needed to write and read it (1: rollback journal, 2: WAL):
    SQLite opens a file with a higher write version read-only, and one with a higher read version
    not at all.
    """
    try:
        fd = open_file(directory, DB_NAME, create=False)
    except FileNotFoundError:
        return None
    try:
        header = read_at(fd, 100, 0)
    finally:
        os.close(fd)
    if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
        return None  # empty (new) or no database: SQLite and the check say which
    write, read = header[18], header[19]
    if write in (1, 2) and read in (1, 2):
        return None
    return f"its header names file format versions this SQLite cannot write (write {write}, read {read})"


def _read_only_place(directory: str) -> str | None:
    """Which of the disk, the directory and the spool file refuses writes, or ``None``."""
    with contextlib.suppress(OSError, AttributeError):
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return f"the disk holding {directory} is mounted read-only"
    if not os.access(directory, os.W_OK):
        return f"the directory {directory} is not writable by this user"
    path = os.path.join(directory, DB_NAME)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"the file {path} is not writable by this user"
    return None


def _code(exc: BaseException) -> int:
    return int(getattr(exc, "sqlite_errorcode", -1)) & 0xFF


def _spool_error(exc: BaseException, path: str, doing: str) -> SpoolError:
    """The `SpoolError` that ``exc``, met while ``doing`` something, stands for."""
    full = _code(exc) == sqlite3.SQLITE_FULL or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
    if full:
        return SpoolDiskFullError(
            f"the spool's disk is full ({path}: {exc}); free some space: the writer goes on once it can",
            path=path,
        )
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return SpoolError(f"the spool {path} could not {doing}: {why_not(exc)}", path=path)
    return SpoolError(f"the spool {path} could not {doing}: {type(exc).__name__}: {exc}", path=path)
