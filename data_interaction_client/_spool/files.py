"""What the spool asks of the operating system: a directory of its own, locked; files opened safely.

POSIX systems (Linux, macOS) lock the directory itself with ``flock``: no file inside it can be deleted
to steal the lock (a temp cleaner removing an idle ``lock`` file, say). Windows cannot open a directory
for locking, so there the lock is ``msvcrt.locking`` on ``<directory>/lock``, which Windows does not let
anyone delete while it is open. Either way the lock goes with the process, however it ends.

The directory holds the points, and a writer often runs as root: whoever else can write into it can
plant links there (``lock`` -> a file of root's, which the writer would then overwrite) or read the
points. So an existing directory must belong to the user the writer runs as and be writable by no one
else (unless the writer is told it is shared, ``shared=True``); a new one is made ``0700`` and the files
``0600``; and no spool file is opened through a link (``O_NOFOLLOW``). Windows has no ``O_NOFOLLOW``
for `os.open`: there a file that is a link or another reparse point is refused before it is opened
and the open file is checked to be the one looked at (a narrow race remains, in a directory others may
write to); its owner and mode checks are left to the directory's ACL.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from pathlib import Path

from .._exceptions import SpoolError, SpoolLockedError

__all__ = [
    "LOCK_NAME",
    "DirectoryLock",
    "FileId",
    "check_directory",
    "file_id",
    "moved",
    "open_file",
    "read_at",
    "side_file_problem",
    "sync_data",
    "why_not",
    "write_at",
]

LOCK_NAME = "lock"
"""The file that names the process holding the spool (and, on Windows, holds the lock itself)."""

_WINDOWS = sys.platform == "win32"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_MODE = 0o600
_DIRECTORY_MODE = 0o700

FileId = tuple[int, int]
"""What names a file whatever its path: its device and inode."""


def file_id(result: os.stat_result) -> FileId:
    """The `FileId` of a `os.stat` result."""
    return result.st_dev, result.st_ino


def moved(path: str, known: FileId) -> bool:
    """Whether ``path`` no longer names the file ``known`` (deleted, replaced, or out of reach)."""
    try:
        return file_id(os.stat(path)) != known
    except OSError:
        return True


def open_file(directory: str, name: str, *, create: bool = True) -> int:
    """Open ``<directory>/<name>`` for reading and writing, never through a link; created ``0600``.

    A link, or anything but a regular file, is a `SpoolError` naming the path (nothing is opened
    through it). A file of this user's that others may read is made ``0600``.
    """
    path = os.path.join(directory, name)
    flags = os.O_RDWR | _NOFOLLOW | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    if create:
        flags |= os.O_CREAT
    if _WINDOWS:  # pragma: no cover - Windows: no O_NOFOLLOW; refuse a reparse point before opening
        before = _refuse_link(path)
    try:
        fd = os.open(path, flags, _FILE_MODE)
    except OSError as exc:
        # Linux and macOS say ELOOP for a link under O_NOFOLLOW, FreeBSD EMLINK.
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise _link_error(path) from exc
        raise
    try:
        info = os.fstat(fd)
        if _WINDOWS and before is not None and file_id(info) != before:  # pragma: no cover - Windows
            raise SpoolError(f"the spool file {path} changed while it was opened: try again", path=path)
        if not stat.S_ISREG(info.st_mode):
            raise SpoolError(
                f"the spool file {path} is not a regular file ({_kind(info.st_mode)}): remove it; the spool "
                "uses only files it made",
                path=path,
            )
        if info.st_nlink > 1:
            raise SpoolError(
                f"the spool file {path} has {info.st_nlink} names (hard links): one of them may be any "
                "file of the user the writer runs as; remove this one, and see who could write into the "
                "directory",
                path=path,
            )
        if hasattr(os, "geteuid") and info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.fchmod(fd, _FILE_MODE)  # made by an earlier version, readable by others: not any more
    except BaseException:
        os.close(fd)
        raise
    return fd


def _link_error(path: str) -> SpoolError:
    return SpoolError(
        f"the spool file {path} is a link: the spool never opens its files through a link (it could point "
        "at any file of the user the writer runs as); remove it, and see who could write into the directory",
        path=path,
    )


def _refuse_link(path: str) -> FileId | None:  # pragma: no cover - Windows
    """The file's id when it exists; a `SpoolError` when it is a link or another reparse point."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode) or getattr(info, "st_file_attributes", 0) & getattr(
        stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0
    ):
        raise _link_error(path)
    return file_id(info)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file"


def side_file_problem(path: str) -> str | None:
    """Why a file SQLite makes beside the spool file (``-journal``) cannot be used, or ``None``.

    SQLite opens it by its path, following links, and takes a directory in its place for a sign of
    damage: both are refused before SQLite sees them.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISLNK(info.st_mode):
        return str(_link_error(path).args[0])
    return (
        f"{path} is {_kind(info.st_mode)}, not the file SQLite keeps there: remove it (the spool file "
        "beside it was left as it is)"
    )


def check_directory(path: str, info: os.stat_result, *, shared: bool) -> None:
    """Refuse a directory another user owns or may write into, unless ``shared``."""
    if shared or not hasattr(os, "geteuid"):  # Windows: the directory's ACL decides
        return
    uid = os.geteuid()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != uid:
        problem = f"belongs to another user (uid {info.st_uid}; the writer runs as uid {uid})"
    elif mode & 0o022:
        who = {0o022: "its group and others", 0o020: "its group"}.get(mode & 0o022, "others")
        problem = f"may be written by {who} (mode {mode:04o})"
    else:
        return
    raise SpoolError(
        f"the spool directory {path} {problem}: whoever else can write into it could plant links that "
        "make the writer overwrite other files, or read the points. Use a directory of this user's own "
        "(systemd's StateDirectory=, $XDG_STATE_HOME, %LOCALAPPDATA%), make it so (chown to this user, "
        "chmod 700), or pass shared_spool=True if it is shared on purpose",
        path=path,
    )


def why_not(exc: OSError) -> str:
    """What an error met while writing a spool's file or directory says: which refuses, and why."""
    where = exc.filename or "it"
    if exc.errno == errno.EROFS:
        return f"the disk holding {where} is mounted read-only ({exc.strerror})"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{where} may not be written by this user ({exc.strerror})"
    return str(exc)


def write_at(fd: int, data: bytes, offset: int) -> None:
    """Write ``data`` at ``offset`` of the open file ``fd``."""
    if hasattr(os, "pwrite"):
        written = os.pwrite(fd, data, offset)
    else:  # pragma: no cover - Windows
        os.lseek(fd, offset, os.SEEK_SET)
        written = os.write(fd, data)
    if written != len(data):  # pragma: no cover - a short write to a regular file is a full disk
        raise OSError(errno.ENOSPC, f"short write: {written} of {len(data)} bytes")


def read_at(fd: int, size: int, offset: int) -> bytes:
    """Read at most ``size`` bytes at ``offset`` of the open file ``fd``."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, size)  # pragma: no cover - Windows


def sync_data(fd: int) -> None:
    """Ask the disk to keep what was written to ``fd`` (``fdatasync`` where it exists, else ``fsync``)."""
    getattr(os, "fdatasync", os.fsync)(fd)


class DirectoryLock:
    """The spool directory, taken for this process until `release` or the process's end.

    Creating it creates the directory if need be; another holder (this process or another one) makes
    it raise [`SpoolLockedError`][data_interaction_client.SpoolLockedError] naming the holder's pid, as
    written in ``<directory>/lock``.
    """

    def __init__(self, path: str, *, shared: bool = False) -> None:
        self.path = path
        self.shared = shared
        try:
            Path(path).mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"the spool {path} could not be created: {why_not(exc)}", path=path) from exc
        self._fds: list[int] = []
        #: The directory's `FileId` when it was taken (`moved` compares its path with it).
        self.id: FileId = (0, 0)
        try:
            self._take()
        except BaseException:
            self.release()
            raise

    def _open(self, name: str | None) -> int:
        try:
            if name is None:
                fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            else:
                fd = open_file(self.path, name)
        except OSError as exc:
            raise SpoolError(
                f"the spool {self.path} could not be created: {why_not(exc)}", path=self.path
            ) from exc
        self._fds.append(fd)
        return fd

    def _take(self) -> None:
        # POSIX: the directory that is locked, whatever its path names later.
        info = os.stat(self.path) if _WINDOWS else os.fstat(self._open(None))
        self.id = file_id(info)
        check_directory(self.path, info, shared=self.shared)
        pid_fd = self._pid_fd = self._open(LOCK_NAME)
        try:
            if _WINDOWS:  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(pid_fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(self._fds[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK):
                raise SpoolError(f"the spool {self.path} could not be locked: {exc}", path=self.path) from exc
            holder = ""
            with contextlib.suppress(OSError, ValueError):
                holder = read_at(pid_fd, 32, 0).decode().strip()
            who = f" (process {holder})" if holder else ""
            raise SpoolLockedError(
                f"the spool {self.path} is in use by another writer{who}: "
                "give each writer its own spool directory",
                path=self.path,
            ) from None
        with contextlib.suppress(OSError):
            os.ftruncate(pid_fd, 0)
            write_at(pid_fd, f"{os.getpid()}\n".encode(), 0)

    _pid_fd = -1

    def name_holder(self) -> None:
        """Write ``<directory>/lock`` again if it was deleted or replaced (it names this process)."""
        if _WINDOWS:  # pragma: no cover - Windows: the lock is that file, which cannot be deleted
            return
        path = os.path.join(self.path, LOCK_NAME)
        with contextlib.suppress(OSError):
            if file_id(os.stat(path)) == file_id(os.fstat(self._pid_fd)):
                return
        fd = self._open(LOCK_NAME)
        self._fds.remove(self._pid_fd)
        os.close(self._pid_fd)
        self._pid_fd = fd
        with contextlib.suppress(OSError):
            write_at(fd, f"{os.getpid()}\n".encode(), 0)

    def moved(self) -> bool:
        """Whether the directory's path no longer names the directory taken (removed, or replaced)."""
        return moved(self.path, self.id)

    def release(self) -> None:
        """Give the directory up (closing the descriptors releases the lock)."""
        fds, self._fds = self._fds, []
        for fd in reversed(fds):
            with contextlib.suppress(OSError):
                os.close(fd)
