"""SQLite storage of the points: one row per (tag, x), the last write wins, one transaction per write.

The points live in an ordinary rowid table with a unique index on (tag, x). A table ``WITHOUT ROWID``
keeps each whole row in its key b-tree, whose inner pages hold copies of whole keys: one large value
stored there was copied again and again as the tree grew, and a write of 100,000 points elsewhere went
from under a second to over a minute. Here the index holds only (tag, x, rowid), whatever the values.
A database made by an earlier version is converted when it is opened.

[`Store.interrupt`][data_interaction_client.emulator.Store.interrupt] stops the write or read in progress (a
write rolls back, as if never sent) and refuses new ones, so that the platform stops promptly whatever it is
doing.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from ._json import loads

Row = tuple[int, str, int | None]
"""A stored point as read back: (x in microseconds, y as JSON text, q or None)."""

logger = logging.getLogger("data_interaction_client.platform")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    tag INTEGER NOT NULL REFERENCES tags(id),
    x INTEGER NOT NULL,
    y TEXT NOT NULL,
    q INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS points_tag_x ON points (tag, x);
"""
# From the layout of earlier versions (points WITHOUT ROWID, keyed by (tag, x)), in one transaction.
_MIGRATION = """
BEGIN IMMEDIATE;
ALTER TABLE points RENAME TO points_without_rowid;
CREATE TABLE points (
    id INTEGER PRIMARY KEY,
    tag INTEGER NOT NULL REFERENCES tags(id),
    x INTEGER NOT NULL,
    y TEXT NOT NULL,
    q INTEGER
);
INSERT INTO points (tag, x, y, q) SELECT tag, x, y, q FROM points_without_rowid ORDER BY tag, x;
DROP TABLE points_without_rowid;
CREATE UNIQUE INDEX points_tag_x ON points (tag, x);
COMMIT;
"""
_UPSERT = (
    "INSERT INTO points (tag, x, y, q) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tag, x) DO UPDATE SET y = excluded.y, q = excluded.q"
)
_CHECK_EVERY = 4096
"""Rows written between two checks of
[`Store.interrupt`][data_interaction_client.emulator.Store.interrupt]."""


class StoreError(Exception):
    """The database cannot be opened or used; the message names the file."""


class StoreClosed(StoreError):
    """The store was interrupted or closed (the platform is stopping): the call did nothing."""


class Store:
    """Points of every tag in one SQLite database (a file, or ``":memory:"``); safe across threads."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stopping = False
        self._tag_ids: dict[str, int] = {}
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path!r}: {exc}") from None
        try:
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot use the database {path!r}: {exc}") from None

    def _migrate(self) -> None:
        row = self._conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'points'"
        ).fetchone()
        if row is not None and "WITHOUT ROWID" in row[0].upper():
            logger.warning("converting %s to the current layout of the points table", self.path)
            self._conn.executescript(_MIGRATION)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def stopping(self) -> bool:
        """Whether `interrupt` or `close` was called: every further call raises StoreClosed."""
        return self._stopping

    def interrupt(self) -> None:
        """Stop the call in progress (a write rolls back) and refuse every new one with StoreClosed."""
        self._stopping = True
        with contextlib.suppress(sqlite3.ProgrammingError):  # already closed
            self._conn.interrupt()

    def close(self, timeout: float = 5.0) -> None:
        """Interrupt what runs, then close the database (waits at most ``timeout`` s for the call to stop)."""
        self.interrupt()
        if not self._lock.acquire(timeout=timeout):
            # A call that does not stop (it cannot be in SQLite, which was interrupted) keeps the
            # connection; the process ending closes it, and SQLite's journal keeps the file consistent.
            logger.warning(
                "the database %s was left open: a call did not stop within %s s", self.path, timeout
            )
            return
        try:
            self._conn.close()
        finally:
            self._lock.release()

    def _enter(self) -> None:
        if self._stopping:
            raise StoreClosed("the platform is stopping")

    def _tag_id(self, key: str, create: bool) -> int | None:
        cached = self._tag_ids.get(key)
        if cached is not None:
            return cached
        if create:
            self._conn.execute("INSERT OR IGNORE INTO tags (key) VALUES (?)", (key,))
        row = self._conn.execute("SELECT id FROM tags WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        tag_id = int(row[0])
        self._tag_ids[key] = tag_id
        return tag_id

    def _checked(self, tag_id: int, rows: Iterable[tuple[int, str, int | None]]) -> Iterator[tuple[Any, ...]]:
        # The rows are often made while they are written (validated, encoded): look at the stop flag
        # now and then, so that a long write ends soon after interrupt() even between SQL statements.
        for count, (x, y, q) in enumerate(rows):
            if not count % _CHECK_EVERY and self._stopping:
                raise StoreClosed("the platform is stopping")
            yield (tag_id, x, y, q)

    def write(self, tag_rows: Iterable[tuple[str, Iterable[tuple[int, str, int | None]]]]) -> None:
        """Store the rows of each tag, ``(key, [(x, y_json, q), ...])``, at once: all, or nothing on error.

        The rows may be produced lazily: an exception they raise rolls everything back and propagates.
        """
        with self._lock:
            self._enter()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                for key, rows in tag_rows:
                    tag_id = self._tag_id(key, create=True)
                    assert tag_id is not None
                    self._conn.executemany(_UPSERT, self._checked(tag_id, rows))
                self._conn.execute("COMMIT")
            except BaseException as exc:
                # An interrupted statement has rolled its transaction back already.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self._tag_ids.clear()  # ids created in the rolled-back transaction are gone
                if self._stopping and isinstance(exc, sqlite3.OperationalError):
                    raise StoreClosed("the platform is stopping") from None
                raise

    def window(self, key: str, start: int, end: int) -> list[Row]:
        """Points with ``start <= x <= end``, plus the last one before ``start`` and the first after ``end``.

        Sorted by x. Enough to compute any value in ``[start, end]``.
        """
        with self._lock:
            self._enter()
            try:
                tag_id = self._tag_id(key, create=False)
                if tag_id is None:
                    return []
                execute = self._conn.execute
                before = execute(
                    "SELECT x, y, q FROM points WHERE tag = ? AND x < ? ORDER BY x DESC LIMIT 1",
                    (tag_id, start),
                ).fetchall()
                inside = execute(
                    "SELECT x, y, q FROM points WHERE tag = ? AND x >= ? AND x <= ? ORDER BY x",
                    (tag_id, start, end),
                ).fetchall()
                after = execute(
                    "SELECT x, y, q FROM points WHERE tag = ? AND x > ? ORDER BY x LIMIT 1", (tag_id, end)
                ).fetchall()
            except sqlite3.OperationalError:
                if self._stopping:
                    raise StoreClosed("the platform is stopping") from None
                raise
        return before + inside + after

    def points(self, key: str) -> list[dict[str, Any]]:
        """Every stored point of a tag as ``{"x": int, "y": value, "q": int | None}``, sorted by x."""
        with self._lock:
            tag_id = self._tag_id(key, create=False)
            if tag_id is None:
                return []
            rows = self._conn.execute(
                "SELECT x, y, q FROM points WHERE tag = ? ORDER BY x", (tag_id,)
            ).fetchall()
        return [{"x": x, "y": loads(y), "q": q} for x, y, q in rows]

    def count(self) -> int:
        """Number of points stored, all tags together."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM points").fetchone()[0])

    def clear(self) -> None:
        """Delete every stored point."""
        with self._lock:
            self._conn.execute("DELETE FROM points")
