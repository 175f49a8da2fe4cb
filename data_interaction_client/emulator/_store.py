"""SQLite storage of the points: one row per (tag, x), the last write wins, one transaction per write."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

from ._json import loads

#: A stored point as read back: (x in microseconds, y as JSON text, q or None).
Row = tuple[int, str, int | None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS points (
    tag INTEGER NOT NULL REFERENCES tags(id),
    x INTEGER NOT NULL,
    y TEXT NOT NULL,
    q INTEGER,
    PRIMARY KEY (tag, x)
) WITHOUT ROWID;
"""
_UPSERT = (
    "INSERT INTO points (tag, x, y, q) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (tag, x) DO UPDATE SET y = excluded.y, q = excluded.q"
)


class Store:
    """Points of every tag in one SQLite database (a file, or ``":memory:"``); safe across threads."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)
        self._tag_ids: dict[str, int] = {}

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()

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

    def write(self, batches: Sequence[tuple[str, Iterable[tuple[int, str, int | None]]]]) -> None:
        """Store ``(key, [(x, y_json, q), ...])`` batches atomically: all of them, or nothing on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for key, rows in batches:
                    tag_id = self._tag_id(key, create=True)
                    self._conn.executemany(_UPSERT, ((tag_id, x, y, q) for x, y, q in rows))
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._tag_ids.clear()  # ids created in the rolled-back transaction are gone
                raise
            self._conn.execute("COMMIT")

    def window(self, key: str, start: int, end: int) -> list[Row]:
        """Points with ``start <= x <= end``, plus the last one before ``start`` and the first after ``end``.

        Sorted by x. Enough to compute any value in ``[start, end]``.
        """
        with self._lock:
            tag_id = self._tag_id(key, create=False)
            if tag_id is None:
                return []
            execute = self._conn.execute
            before = execute(
                "SELECT x, y, q FROM points WHERE tag = ? AND x < ? ORDER BY x DESC LIMIT 1", (tag_id, start)
            ).fetchall()
            inside = execute(
                "SELECT x, y, q FROM points WHERE tag = ? AND x >= ? AND x <= ? ORDER BY x",
                (tag_id, start, end),
            ).fetchall()
            after = execute(
                "SELECT x, y, q FROM points WHERE tag = ? AND x > ? ORDER BY x LIMIT 1", (tag_id, end)
            ).fetchall()
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
