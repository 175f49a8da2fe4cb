"""The writer's spool: an ordered queue of records that survives crashes, and a quarantine beside it.

It knows nothing of HTTP or of points: a record is opaque, ``points`` (a count), ``tags`` and ``data``
(bytes); a watermark is opaque too, a small value kept per key (a tag's resume point). (The file on
disk names its table of records ``batches``, a quarantine entry's record ``batch`` and its table of
watermarks ``states``: the format keeps its names; the public API speaks of batches too, as in
``stats().pending_batches`` and `QuarantinedBatch`.) The contract the writer relies on:

- **One owner.** ``SqliteSpool(directory)`` creates the directory if need be (``0700``) and takes it
  for itself with an OS lock on the directory itself (``flock``; on Windows ``<directory>/lock``,
  which cannot be deleted while held), held until `close` or the end of the process, however it ends
  (``kill -9`` included); deleting any file inside does not free it. A second spool on the same
  directory, in this process or another one, raises
  [`SpoolLockedError`][data_interaction_client.SpoolLockedError] naming the holder's pid (written in
  ``<directory>/lock``). The spool file itself is opened exclusively.
- **Storage.** The records live in ``<directory>/spool.sqlite3`` (SQLite with a rollback journal: a
  commit is in the main file when it returns), one row per record with a CRC-32 of its bytes. On open
  the file must pass ``PRAGMA quick_check``: a file that does not, is no database, or is of a format
  this version does not know, is renamed aside to ``spool.sqlite3.corrupt-<UTC time>`` (never
  deleted, never refused: a writer always starts), logged at ERROR with the points it held when the
  ledger knows them, and a fresh spool is started.
- **Nothing synced disappears silently.** The ledger (``<directory>/acked``) counts what the file
  should hold (the last id appended, the points pending, the points dropped for room). A file that
  holds fewer points than that (emptied, truncated, replaced, rolled back) is reported at ERROR on
  open with the number of points missing. A ledger that is damaged itself is reported at WARNING:
  at worst records are handed out again.
- **append** stores records in the order given, with the keys' ``watermarks``, in one transaction, and
  returns once it is committed: with ``fsync=True`` (``synchronous=FULL``) after the disk was asked to
  flush it, so it survives power loss on disks that honour flushes; with ``fsync=False`` it survives a
  crash of the process but maybe not of the machine. All or nothing: on failure nothing was stored and
  the error is [`SpoolDiskFullError`][data_interaction_client.SpoolDiskFullError] (SQLITE_FULL, ENOSPC)
  or [`SpoolError`][data_interaction_client.SpoolError]. With a limit (``max_bytes``, ``max_points``),
  the oldest records that are not reserved are dropped in the same transaction until the records not
  reserved fit (the records just given included, oldest first); the result counts them. The reserved
  records (those in flight) come on top of the limit.
- **Watermarks** are kept after their records are delivered, and across restarts: `watermarks`
  returns them all. A watermark never names a record the spool did not store: it is committed with
  them. A watermark whose checksum fails on open is forgotten, at ERROR.
- **Order.** Ids grow in append order and are never reused while the spool is open. `peek`
  returns the oldest records (at least one, then more while they fit in ``max_points``) and reserves
  them: a reserved record is never dropped. A record whose checksum fails is moved to the quarantine
  (logged at ERROR) instead of being returned.
- **Removal.** `settle` marks the reserved records up to an id delivered: it moves the
  delivery watermark kept in the ledger (two slots written in turn, each with the spool file's random
  generation id and a CRC-32; flushed to the disk with ``fsync=True``), after storing the quarantine
  entries, if any, with the delivery watermark in one transaction. A record leaves the queue that way, by the
  limit's drops, or to the quarantine, and no other; until then it is handed out again after a
  restart: every record is delivered at least once, oldest first, and only the records reserved
  when the process died can be handed out twice. A torn ledger slot leaves the other one, and a
  ledger of another spool file is not believed (at worst, records are handed out again). The rows
  under the delivery watermark are deleted later, in bulk (`sweep`).
- **Quarantine.** Entries (`QuarantineEntry`) hold the bytes and the error; `quarantined` lists them,
  `requeue` moves them back to the end of the queue (damaged ones stay), `purge` deletes
  them.
- **Counters** (``points``, ``records``, ``bytes``, ``head`` and ``oldest_created`` (the id and the time of
  the oldest record), ``last_id``, ``quarantined_records``) are kept
  in memory and exact after every call; ``bytes`` counts the records' bytes (the file is somewhat
  larger: SQLite's pages, and the rollback journal kept beside it).
- **Files changed under it.** A spool file or ledger deleted or replaced while the spool is open
  (``rm spool/*``, ``rm -rf spool``, a file copied over it) is noticed by `verify` and by every
  ``append`` before it stores (two ``stat`` calls: the path no longer names the file open), said at
  ERROR, and the spool is made again: the directory, the ledger and a new spool file holding what
  the open file still holds (the pending records, the quarantine, the watermarks), so that an ``append``
  that returns is on a disk the next writer opens. A replacing file is renamed aside, never
  overwritten. What cannot be carried over is said at ERROR and counted (`take_lost`); while the
  spool cannot be made again, its calls raise `SpoolError` and ``trouble`` says why.
- **What it refuses.** The directory and the files are the spool's own (see `files`: owner,
  mode, links). A spool file SQLite would open read-only on a writable disk (a header's write version
  it does not know) or whose tables are not the spool's is damage: renamed aside, as above. A disk
  mounted read-only, or a directory or file this user may not write, is a `SpoolError` saying which;
  so is a ``spool.sqlite3-journal`` that is a directory or a link (the spool file is left alone).
- Every method is thread-safe. `SqliteSpool` keeps the contract on disk;
  `MemorySpool` keeps it in memory, without the lock file or any durability.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

__all__ = [
    "AppendResult",
    "MemorySpool",
    "NewRecord",
    "QuarantineEntry",
    "Record",
    "Spool",
    "first_records",
    "record_crc",
]


class NewRecord(NamedTuple):
    """A record to append: ``points`` counted, ``tags`` and ``data`` stored as they are."""

    points: int
    tags: bytes
    data: bytes

    @property
    def size(self) -> int:
        """The bytes the record takes in the spool's accounts."""
        return len(self.tags) + len(self.data)


class Record(NamedTuple):
    """A stored record: its id, when it was stored (seconds since the epoch) and its content."""

    id: int
    created: float
    points: int
    tags: bytes
    data: bytes

    @property
    def size(self) -> int:
        """The bytes the record takes in the spool's accounts."""
        return len(self.tags) + len(self.data)


class QuarantineEntry(NamedTuple):
    """An entry of the quarantine: the record it came from, its content (maybe a part of it) and why.

    Given to `Spool.settle` to be set aside, before it has an ``id`` or a ``quarantined`` time (both
    0), and listed by `Spool.quarantined` with them.
    """

    record_id: int
    created: float
    points: int
    tags: bytes
    data: bytes
    error: str
    status: int | None = None
    damaged: bool = False
    id: int = 0
    """The entry's own id (what `Spool.requeue` and `Spool.purge` take); 0 until it is stored."""
    quarantined: float = 0.0
    """When it was set aside, in seconds since the epoch; 0 until it is stored."""


"""The name the writer gives a listed entry; one type with `QuarantineEntry`."""


class AppendResult(NamedTuple):
    """What `Spool.append` did: the ids given (``first`` to ``last``) and what the limit dropped."""

    first: int
    last: int
    dropped_records: int = 0
    dropped_points: int = 0


def record_crc(tags: bytes, data: bytes) -> int:
    """The CRC-32 kept beside a record's bytes."""
    return zlib.crc32(data, zlib.crc32(tags))


class Spool:
    """What both spools share: the counters and the lock."""

    path: str | None = None
    """The directory, or ``None`` in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.points = 0
        self.records = 0
        self.bytes = 0
        self.oldest_created: float | None = None
        self.head: int | None = None  # the id of the oldest record
        self.quarantined_records = 0
        self.last_id = 0
        self._reserved = 0  # records with an id up to this one are reserved by peek
        self._newly_set_aside: list[QuarantineEntry] = []  # what peek moved to the quarantine, not yet told

    # The operations; see the module's docstring.

    def append(
        self,
        records: Sequence[NewRecord],
        *,
        max_bytes: int | None = None,
        max_points: int | None = None,
        watermarks: Mapping[str, bytes] | None = None,
    ) -> AppendResult:
        """Store ``records`` and ``watermarks`` in one step, all or nothing; drop the oldest to fit limits."""
        raise NotImplementedError

    def watermarks(self) -> dict[str, bytes]:
        """Every key's watermark, as last appended with records (kept after deliveries and restarts)."""
        raise NotImplementedError

    def peek(self, max_points: int) -> list[Record]:
        """The oldest records, at least one and more while they fit in ``max_points``; reserve them."""
        raise NotImplementedError

    def settle(self, through: int, quarantine: Sequence[QuarantineEntry] = ()) -> None:
        """Remove the reserved records with ids up to ``through`` and store ``quarantine``, atomically."""
        raise NotImplementedError

    def take_set_aside(self) -> list[QuarantineEntry]:
        """The records `peek` moved to the quarantine since the last call (damaged on disk)."""
        with self._lock:
            taken, self._newly_set_aside = self._newly_set_aside, []
            return taken

    trouble: str | None = None
    """Why the spool cannot keep its promise now (its files deleted and not yet made again), or ``None``."""

    def verify(self) -> None:
        """Check that what the spool holds is where the next writer will find it; make it so if not."""

    def take_lost(self) -> int:
        """Points lost since the last call: held in files deleted under the spool, and not carried over."""
        return 0

    def release(self) -> None:
        """Give up the reservation of the last `peek` (its records stay, at the head)."""
        with self._lock:
            self._reserved = 0

    def sweep(self) -> bool:
        """Tidy the storage after deliveries (see `SqliteSpool`); ``False`` when nothing to do."""
        return False

    @property
    def needs_sweep(self) -> bool:
        """Whether `sweep` has something to do."""
        return False

    def quarantined(self) -> list[QuarantineEntry]:
        """Every quarantine entry, oldest first."""
        raise NotImplementedError

    def requeue(self, ids: Iterable[int] | None = None) -> int:
        """Move quarantine entries (all, or those of ``ids``) back to the end of the queue.

        Damaged entries stay. Returns how many entries moved.
        """
        raise NotImplementedError

    def purge(self, ids: Iterable[int] | None = None) -> tuple[int, int]:
        """Delete quarantine entries (all, or those of ``ids``); return ``(entries, points)`` deleted."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the storage and give the directory up."""


class MemorySpool(Spool):
    """The spool's contract in memory: nothing survives the process."""

    def __init__(self) -> None:
        super().__init__()
        self._records: deque[Record] = deque()
        self._quarantine: list[QuarantineEntry] = []
        self._quarantine_id = 0
        self._watermarks: dict[str, bytes] = {}

    def append(
        self,
        records: Sequence[NewRecord],
        *,
        max_bytes: int | None = None,
        max_points: int | None = None,
        watermarks: Mapping[str, bytes] | None = None,
    ) -> AppendResult:
        """Store ``records`` and ``watermarks`` at the end of the queue; drop the oldest to fit a limit."""
        with self._lock:
            if watermarks:
                self._watermarks.update(watermarks)
            now = time.time()
            first = self.last_id + 1
            for record in records:
                self.last_id += 1
                self._records.append(Record(self.last_id, now, record.points, record.tags, record.data))
                self.points += record.points
                self.bytes += record.size
                self.records += 1
            dropped_records, dropped_points = self._fit(max_bytes, max_points)
            self._set_oldest()
            return AppendResult(first, self.last_id, dropped_records, dropped_points)

    def watermarks(self) -> dict[str, bytes]:
        """Every key's watermark, as last appended with records."""
        with self._lock:
            return dict(self._watermarks)

    def _fit(self, max_bytes: int | None, max_points: int | None) -> tuple[int, int]:
        dropped_records = dropped_points = 0
        kept: list[Record] = []
        records = self._records
        while records and records[0].id <= self._reserved:
            kept.append(records.popleft())
        # The records in flight are not counted (see SqliteSpool.append).
        reserved_bytes = sum(record.size for record in kept)
        reserved_points = sum(record.points for record in kept)
        while records and (
            (max_bytes is not None and self.bytes - reserved_bytes > max_bytes)
            or (max_points is not None and self.points - reserved_points > max_points)
        ):
            record = records.popleft()
            self.points -= record.points
            self.bytes -= record.size
            self.records -= 1
            dropped_records += 1
            dropped_points += record.points
        records.extendleft(reversed(kept))
        return dropped_records, dropped_points

    def _set_oldest(self) -> None:
        head = self._records[0] if self._records else None
        self.oldest_created = None if head is None else head.created
        self.head = None if head is None else head.id

    def peek(self, max_points: int) -> list[Record]:
        """The oldest records, at least one and more while they fit in ``max_points``; reserve them."""
        with self._lock:
            chosen = first_records(self._records, max_points)
            self._reserved = chosen[-1].id if chosen else 0
            return chosen

    def settle(self, through: int, quarantine: Sequence[QuarantineEntry] = ()) -> None:
        """Remove the records with ids up to ``through`` and store ``quarantine``."""
        with self._lock:
            now = time.time()
            for entry in quarantine:
                self._quarantine_id += 1
                self._quarantine.append(entry._replace(id=self._quarantine_id, quarantined=now))
            self.quarantined_records = len(self._quarantine)
            records = self._records
            upto = min(through, self._reserved)
            while records and records[0].id <= upto:
                record = records.popleft()
                self.points -= record.points
                self.bytes -= record.size
                self.records -= 1
            self._reserved = 0
            self._set_oldest()

    def quarantined(self) -> list[QuarantineEntry]:
        """Every quarantine entry, oldest first."""
        with self._lock:
            return list(self._quarantine)

    def requeue(self, ids: Iterable[int] | None = None) -> int:
        """Move quarantine entries back to the end of the queue; damaged ones stay."""
        with self._lock:
            wanted = None if ids is None else set(ids)
            moving = [e for e in self._quarantine if (wanted is None or e.id in wanted) and not e.damaged]
            now = time.time()
            for entry in moving:
                self.last_id += 1
                self._records.append(Record(self.last_id, now, entry.points, entry.tags, entry.data))
                self.points += entry.points
                self.bytes += len(entry.tags) + len(entry.data)
                self.records += 1
            moved = {entry.id for entry in moving}
            self._quarantine = [e for e in self._quarantine if e.id not in moved]
            self.quarantined_records = len(self._quarantine)
            self._set_oldest()
            return len(moving)

    def purge(self, ids: Iterable[int] | None = None) -> tuple[int, int]:
        """Delete quarantine entries; return ``(entries, points)`` deleted."""
        with self._lock:
            wanted = None if ids is None else set(ids)
            gone = [e for e in self._quarantine if wanted is None or e.id in wanted]
            self._quarantine = [e for e in self._quarantine if not (wanted is None or e.id in wanted)]
            self.quarantined_records = len(self._quarantine)
            return len(gone), sum(e.points for e in gone)


def first_records(records: Iterable[Record], max_points: int) -> list[Record]:
    """The first records, at least one, then more while they fit in ``max_points``."""
    chosen: list[Record] = []
    total = 0
    for record in records:
        if chosen and total + record.points > max_points:
            break
        chosen.append(record)
        total += record.points
    return chosen
