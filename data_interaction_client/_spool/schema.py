"""The spool file's format: its tables, the checks a file must pass to be used, and what SQLite's errors mean.

`Database` is the open file: SQLite's connection and its write transactions. The parts of
`SqliteSpool` that keep a table (`RecordTable`, `QuarantineTable`, `WatermarkTable`) and the tidy
(`Tidy`) use it, always with the spool's ``_db_lock`` held.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import sqlite3
import zlib
from collections.abc import Iterator, Mapping

from .._exceptions import SpoolDiskFullError, SpoolError
from .files import open_file, read_at, why_not

__all__ = [
    "BUSY_CODES",
    "DB_NAME",
    "FORMAT",
    "READ_ERRORS",
    "SCHEMA",
    "Damaged",
    "Database",
    "check",
    "error_code",
    "header_problem",
    "is_damage",
    "meta_check",
    "meta_value",
    "prepare",
    "read_only_place",
    "set_meta",
    "spool_error",
]

FORMAT = 2
"""The version of the file's layout; a file of a newer one is renamed aside, not touched."""
DB_NAME = "spool.sqlite3"
# The format's names stay as the first version wrote them: the table of records is ``batches``, a
# quarantine entry's record id is ``batch`` (`QuarantineEntry.record_id`), and the tags' watermarks
# are the table ``states``.
SCHEMA = """
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
BUSY_CODES = frozenset((sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))
_NOT_DAMAGE_CODES = BUSY_CODES | {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_INTERRUPT,
}
"""Errors that say something about the disk or the system, not about the file's content."""

# What reading a damaged file may raise: SQLite's errors, and a UnicodeDecodeError when a flipped byte
# lands in text SQLite hands back (the schema quoted in an error message, a TEXT value).
READ_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)


class Damaged(Exception):
    """The spool file passed its check, but reading it failed as a damaged file does."""


def error_code(exc: BaseException) -> int:
    """SQLite's primary result code of ``exc`` (-1 masked: none)."""
    return int(getattr(exc, "sqlite_errorcode", -1)) & 0xFF


def is_damage(exc: BaseException) -> bool:
    """Whether an error met while opening or reading the file means its content is damaged."""
    return error_code(exc) not in _NOT_DAMAGE_CODES


def spool_error(exc: BaseException, path: str, doing: str) -> SpoolError:
    """The `SpoolError` that ``exc``, met while ``doing`` something, stands for."""
    full = error_code(exc) == sqlite3.SQLITE_FULL or (isinstance(exc, OSError) and exc.errno == errno.ENOSPC)
    if full:
        return SpoolDiskFullError(
            f"the spool's disk is full ({path}: {exc}); free some space: the writer goes on once it can",
            path=path,
        )
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return SpoolError(f"the spool {path} could not {doing}: {why_not(exc)}", path=path)
    return SpoolError(f"the spool {path} could not {doing}: {type(exc).__name__}: {exc}", path=path)


def synchronous_mode(fsync: bool) -> str:
    """SQLite's ``synchronous`` for a spool that flushes (``fsync``) or not."""
    # With a rollback journal, OFF still survives a crash of the process (the system has the
    # writes); FULL flushes the journal and the file at each commit, for power cuts too.
    return "FULL" if fsync else "OFF"


def prepare(conn: sqlite3.Connection, synchronous: str) -> None:
    """Set a new connection up as the spool's: its locking, its journal, its flushes, its tables."""
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    # A rollback journal, not WAL: see the docstring of `sqlite`.
    conn.execute("PRAGMA journal_mode = PERSIST")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.executescript(SCHEMA)


class Database:
    """The open spool file: SQLite's connection, and one write transaction at a time.

    Not thread-safe: every call, and every use of ``conn``, is made with the spool's ``_db_lock``
    held. ``conn`` changes when the spool is made again (`SqliteSpool.verify`).
    """

    def __init__(self, conn: sqlite3.Connection, directory: str, synchronous: str) -> None:
        self.conn = conn
        self.directory = directory
        self.path = os.path.join(directory, DB_NAME)
        self.synchronous = synchronous
        self.closed = False

    @contextlib.contextmanager
    def transaction(self, doing: str, *, synchronous: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction; a failure rolls it back and is raised as a `SpoolError`.

        ``synchronous="NORMAL"`` skips the flush to the disk for a transaction whose loss to a power
        cut only costs work done again (a sweep); the next flushed commit flushes it too (flushing
        the spool file flushes every write made to it before).
        """
        if self.closed:
            raise SpoolError(f"the spool {self.directory} is closed", path=self.directory)
        conn = self.conn
        relaxed = synchronous is not None and synchronous != self.synchronous
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
                raise spool_error(exc, self.path, doing) from exc
            raise
        finally:
            if relaxed:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute(f"PRAGMA synchronous = {self.synchronous}")

    def close(self) -> None:
        """Close the connection; every transaction after raises `SpoolError`."""
        self.closed = True
        with contextlib.suppress(Exception):
            self.conn.close()


def meta_check(value: int) -> int:
    """The check value kept beside each counter of the ``meta`` table (a flipped bit shows)."""
    return zlib.crc32(str(value).encode())


def set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    """Write a counter of the ``meta`` table, with its check value."""
    conn.executemany(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        [(key, value), (key + "_check", meta_check(value))],
    )


def meta_value(meta: Mapping[str, object], key: str) -> int | None:
    """A counter of the ``meta`` table (0 when absent), or ``None`` when its check value is wrong."""
    value = meta.get(key, 0)
    check = meta.get(key + "_check")  # absent in the first format's files
    if type(value) is int and (check is None or check == meta_check(value)):
        return value
    return None


def check(conn: sqlite3.Connection) -> str | None:
    """What is wrong with an open spool file, or ``None`` when it can be used as it is.

    A file of the first format is upgraded here (its tables are the same), and a new one is given
    its format and generation id.
    """
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
    elif meta["format"] < FORMAT:  # the first format: same tables, and the journal set by `prepare`
        conn.execute("UPDATE meta SET value = ? WHERE key = 'format'", (FORMAT,))
    if "generation" not in meta:
        conn.execute("INSERT INTO meta (key, value) VALUES ('generation', ?)", (secrets.randbits(62),))
    # A write, undone: SQLite may open a file read-only (its disk, its mode, its header), which
    # only a write shows; `Opening` tells which.
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
    """The schema a spool file has: `SCHEMA` as SQLite keeps it."""
    if not _EXPECTED:
        with contextlib.closing(sqlite3.connect(":memory:")) as conn:
            conn.executescript(SCHEMA)
            _EXPECTED.update(_schema_of(conn))
    return _EXPECTED


def header_problem(directory: str) -> str | None:
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


def read_only_place(directory: str) -> str | None:
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
