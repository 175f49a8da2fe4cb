"""What the spool asks of the operating system: a lock on its directory, writes in place, and flushes.

POSIX systems (Linux, macOS) lock the directory itself with ``flock``: no file inside it can be deleted
to steal the lock (a temp cleaner removing an idle ``lock`` file, say). Windows cannot open a directory
for locking, so there the lock is ``msvcrt.locking`` on ``<directory>/lock``, which Windows does not let
anyone delete while it is open. Either way the lock goes with the process, however it ends.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path

from ._exceptions import SpoolError, SpoolLockedError

__all__ = ["LOCK_NAME", "DirectoryLock", "read_at", "sync_data", "write_at"]

LOCK_NAME = "lock"
"""The file that names the process holding the spool (and, on Windows, holds the lock itself)."""

_WINDOWS = sys.platform == "win32"


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

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"the spool {path} could not be created: {exc}", path=path) from exc
        self._fds: list[int] = []
        try:
            self._take()
        except BaseException:
            self.release()
            raise

    def _open(self, name: str | None) -> int:
        target = self.path if name is None else os.path.join(self.path, name)
        flags = os.O_RDONLY if name is None else os.O_RDWR | os.O_CREAT
        try:
            fd = os.open(target, flags, 0o644)
        except OSError as exc:
            raise SpoolError(f"the spool {self.path} could not be created: {exc}", path=self.path) from exc
        self._fds.append(fd)
        return fd

    def _take(self) -> None:
        pid_fd = self._open(LOCK_NAME)
        try:
            if _WINDOWS:  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(pid_fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl

                fcntl.flock(self._open(None), fcntl.LOCK_EX | fcntl.LOCK_NB)
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

    def release(self) -> None:
        """Give the directory up (closing the descriptors releases the lock)."""
        fds, self._fds = self._fds, []
        for fd in reversed(fds):
            with contextlib.suppress(OSError):
                os.close(fd)
