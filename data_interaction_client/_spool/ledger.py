"""The spool's ledger: what the spool file should hold, kept in a small file beside it.

``<directory>/acked`` has two slots of 64 bytes, written in turn (LMDB keeps its meta pages so): a
write that is torn by a crash damages one slot only, and the other still holds the state before it.
Each slot holds a sequence number, the spool file's random generation id, the delivery watermark
(``acked``: every record up to this id is delivered), the last record id appended, the points pending
in the records between them, and the points the limit has dropped so far, with a CRC-32 over all of
it. Reading takes the valid slot with the highest sequence number.

It does two jobs. Deliveries only move the delivery watermark here (one 64-byte slot and a flush, never
waiting for the spool file), and, because it knows what the file should hold, it lets an opening
spool tell a file that lost records (emptied, replaced, or damaged where SQLite cannot see it) from
one that is whole.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import NamedTuple

from .files import file_id, moved, open_file, read_at, sync_data, write_at

__all__ = ["LEDGER_NAME", "Ledger", "LedgerState", "read_state"]

LEDGER_NAME = "acked"
_MAGIC = b"DICL"
_SLOT = struct.Struct("<4sQQQQQQ")  # magic, seq, generation, acked, last, pending, dropped
_SLOT_SIZE = 64
_OLD = struct.Struct("<QQ")  # the first format: generation, acked, then a CRC-32


class LedgerState(NamedTuple):
    """What the ledger says: the generation, delivery watermark, last id, points pending and dropped."""

    generation: int
    acked: int
    last: int = 0
    pending: int = 0
    dropped: int = 0


class Ledger:
    """The ledger file, open; not thread-safe (the spool serialises its use)."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, LEDGER_NAME)
        self._fd = open_file(directory, LEDGER_NAME)  # never through a link, 0600
        #: The file's `FileId` (`moved` compares its path with it).
        self.id = file_id(os.fstat(self._fd))
        self._seq = 0
        #: Whether the file held bytes that make no valid state (both slots torn or damaged).
        self.damaged = False

    def read(self) -> LedgerState | None:
        """The newest valid state, or ``None`` when there is none (a new spool, or damage)."""
        raw = read_at(self._fd, 2 * _SLOT_SIZE, 0)
        best = _newest(raw)
        self.damaged = best is None and any(raw)
        if best is None:
            return None
        self._seq = best[0]
        return best[1]

    def write(self, state: LedgerState, *, flush: bool) -> None:
        """Write ``state`` into the older slot; with ``flush``, ask the disk to keep it."""
        self._seq += 1
        body = _SLOT.pack(_MAGIC, self._seq, *state)
        slot = body + struct.pack("<I", zlib.crc32(body))
        write_at(self._fd, slot.ljust(_SLOT_SIZE, b"\0"), (self._seq % 2) * _SLOT_SIZE)
        if flush:
            sync_data(self._fd)

    def moved(self) -> bool:
        """Whether the ledger's path no longer names this file (deleted, or replaced)."""
        return moved(self.path, self.id)

    def keep_copy(self, path: str) -> None:
        """Write what the file holds now to the new file ``path`` (``0600``, never through a link)."""
        raw = read_at(self._fd, 2 * _SLOT_SIZE, 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o600)
        try:
            write_at(fd, raw, 0)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def read_state(path: str) -> LedgerState | None:
    """The newest valid state of the ledger file ``path``, read without writing (``None``: none)."""
    try:
        with open(path, "rb") as file:
            raw = file.read(2 * _SLOT_SIZE)
    except OSError:
        return None
    best = _newest(raw)
    return None if best is None else best[1]


def _newest(raw: bytes) -> tuple[int, LedgerState] | None:
    """The newest valid slot of a ledger's bytes, with its sequence number."""
    best: tuple[int, LedgerState] | None = None
    for slot in range(2):
        state = _parse(raw[slot * _SLOT_SIZE : (slot + 1) * _SLOT_SIZE])
        if state is not None and (best is None or state[0] > best[0]):
            best = state
    if best is None and len(raw) >= _OLD.size + 4:
        best = _parse_old(raw[: _OLD.size + 4])
    return best


def _parse(raw: bytes) -> tuple[int, LedgerState] | None:
    size = _SLOT.size
    if len(raw) < size + 4 or raw[:4] != _MAGIC:
        return None
    if zlib.crc32(raw[:size]) != struct.unpack_from("<I", raw, size)[0]:
        return None
    _, seq, *fields = _SLOT.unpack_from(raw)
    return seq, LedgerState(*fields)


def _parse_old(raw: bytes) -> tuple[int, LedgerState] | None:
    """A ledger of the first format (generation and delivery watermark only): counts unknown."""
    if zlib.crc32(raw[: _OLD.size]) != struct.unpack_from("<I", raw, _OLD.size)[0]:
        return None
    generation, acked = _OLD.unpack_from(raw)
    return 0, LedgerState(generation, acked, last=acked)
