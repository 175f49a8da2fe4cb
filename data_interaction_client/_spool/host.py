"""The spool's files on the host: the directory taken, the ledger open, the spool file's path and identity.

`HostFiles` opens the spool file safely (`HostFiles.connect`: never through a link, made ``0600``,
the files SQLite keeps beside it looked at first), remembers which file it opened, notices when a
path no longer names the file open (`HostFiles.problem`: deleted, replaced, its directory removed),
renames a file aside, and makes the directory, the ledger and the spool file again after they were
deleted (`HostFiles.renew`, then `HostFiles.adopt`). What the files hold is not its business:
`SqliteSpool` carries that over. The rules it keeps (owner, mode, links) are `files`'.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from .._exceptions import SpoolError
from .files import DirectoryLock, FileId, file_id, moved, open_file, side_file_problem
from .ledger import Ledger
from .schema import DB_NAME, check, prepare
from .tidy import Tidy

__all__ = ["Connect", "HostFiles", "Renewal", "open_connection"]

Connect = Callable[[str], sqlite3.Connection]
"""Opens SQLite's connection to a spool file, given its path (see `SqliteSpool`)."""


def open_connection(path: str) -> sqlite3.Connection:
    """SQLite's connection to the spool file at ``path``, in autocommit mode, used from several threads."""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


class Renewal(NamedTuple):
    """What `HostFiles.renew` made again (``None``: that one was where it was)."""

    directory: DirectoryLock | None
    ledger: Ledger | None
    conn: sqlite3.Connection | None  # a new, empty spool file, its tables made
    replaced: str | None  # where a file found at the spool file's path was renamed to

    def discard(self) -> None:
        """Close what was made (the spool goes on with its old files)."""
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
        if self.ledger is not None:
            with contextlib.suppress(OSError):
                self.ledger.close()
        if self.directory is not None:
            self.directory.release()


class HostFiles:
    """The directory, the ledger and the spool file's identity; not thread-safe (``_db_lock`` held).

    Creating it takes the directory (`DirectoryLock`) and opens the ledger; `release` gives both up.
    """

    def __init__(self, path: str, *, shared: bool, connect: Connect, synchronous: str) -> None:
        self.path = path
        self.shared = shared
        self.db_path = os.path.join(path, DB_NAME)
        self.synchronous = synchronous
        self._open_connection = connect
        self.directory = DirectoryLock(path, shared=shared)
        try:
            self.ledger = Ledger(path)
        except BaseException:
            self.directory.release()
            raise
        #: The spool file's `FileId` once opened: a file deleted or replaced is noticed.
        self.db_id: FileId = (0, 0)

    def connect(self) -> sqlite3.Connection:
        """A connection to the spool file, made ``0600`` here first and never opened through a link."""
        for suffix in ("-journal", "-wal"):
            problem = side_file_problem(self.db_path + suffix)
            if problem is not None:
                raise SpoolError(
                    f"the spool {self.path} cannot be opened: {problem}", path=self.db_path + suffix
                )
            with contextlib.suppress(FileNotFoundError):  # an earlier version's, maybe readable by all
                os.close(open_file(self.path, DB_NAME + suffix, create=False))
        os.close(open_file(self.path, DB_NAME))  # SQLite's own open follows links and makes it 0644
        conn = self._open_connection(self.db_path)
        try:
            prepare(conn, self.synchronous)
            Tidy.prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def note_opened(self, conn: sqlite3.Connection) -> None:
        """Remember the file ``conn`` has open (it has read it), by its path; a link there is refused.

        `connect` made it with O_NOFOLLOW just before SQLite opened it by its path: only someone who
        may write into the directory (``shared=True``) could have swapped it in between.
        """
        info = os.lstat(self.db_path)
        if not stat.S_ISREG(info.st_mode):
            conn.close()
            raise SpoolError(
                f"the spool file {self.db_path} was replaced while it was opened: see who can write "
                "into the directory",
                path=self.db_path,
            )
        self.db_id = file_id(info)

    def problem(self) -> str | None:
        """What happened to the spool's files behind its back, or ``None`` (they are where they were)."""
        try:
            now = file_id(os.stat(self.db_path))
        except FileNotFoundError:
            if not os.path.isdir(self.path):
                return f"its directory {self.path} was removed"
            return f"the spool file {self.db_path} was deleted"
        except OSError as exc:
            return f"the spool file {self.db_path} cannot be looked at ({exc})"
        if now != self.db_id:
            return f"the spool file {self.db_path} was replaced by another file"
        if self.ledger.moved():
            return f"its ledger {self.ledger.path} was deleted or replaced"
        return None

    def set_aside(self) -> str:
        """Rename the spool file (and the files SQLite keeps beside it) aside; return its new path."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = f"{self.db_path}.corrupt-{stamp}"
        for suffix in ("", "-journal", "-wal", "-shm"):
            source = self.db_path + suffix
            if os.path.exists(source):
                try:
                    os.replace(source, aside + suffix)
                except OSError as exc:
                    raise SpoolError(
                        f"the spool file {source} is damaged and cannot be renamed aside: {exc}",
                        path=source,
                    ) from exc
        # The ledger is rewritten for the fresh file: a copy beside the renamed one keeps its
        # delivery watermark, so that a salvage of that file leaves out what was delivered.
        with contextlib.suppress(OSError):
            self.ledger.keep_copy(aside + ".acked")
        return aside

    def renew(self, set_aside: Callable[[str], None]) -> Renewal:
        """Make again what was deleted or replaced: the directory, the ledger, an empty spool file.

        A file found at the spool file's path is renamed aside, never overwritten, and ``set_aside``
        is told where to. The files in use are left as they are: `adopt` swaps them in, or
        `Renewal.discard` closes what was made.
        """
        directory = DirectoryLock(self.path, shared=self.shared) if self.directory.moved() else None
        ledger: Ledger | None = None
        conn: sqlite3.Connection | None = None
        replaced: str | None = None
        try:
            if directory is None:
                self.directory.name_holder()
            db_moved = moved(self.db_path, self.db_id)
            if directory is not None or self.ledger.moved():
                ledger = Ledger(self.path)
            if db_moved:
                if os.path.lexists(self.db_path):  # another file took its place: kept, aside
                    replaced = self.set_aside()
                    set_aside(replaced)
                conn = self.connect()
                check(conn)
        except BaseException:
            Renewal(directory, ledger, conn, None).discard()
            raise
        return Renewal(directory, ledger, conn, replaced)

    def adopt(self, renewal: Renewal) -> None:
        """Use what `renew` made and close what it replaces (``_ledger_lock`` held too: a new ledger)."""
        if renewal.conn is not None:
            try:
                self.note_opened(renewal.conn)
            except BaseException:
                renewal.discard()
                raise
        if renewal.ledger is not None:
            old, self.ledger = self.ledger, renewal.ledger
            with contextlib.suppress(OSError):
                old.close()
        if renewal.directory is not None:
            self.directory.release()
            self.directory = renewal.directory

    def release(self) -> None:
        """Close the ledger and give the directory up."""
        with contextlib.suppress(OSError):
            self.ledger.close()
        self.directory.release()
