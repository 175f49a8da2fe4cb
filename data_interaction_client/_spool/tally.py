"""What the spool holds, counted in memory, so that its calls need not ask the file: `Tally`.

The contract's counters (``points``, ``records``, ``bytes``, ``last_id``, ``quarantined_records``,
``head`` and ``oldest_created``) and the id reserved through (``_reserved``) stay the `Spool`'s own
attributes: the writer reads them after every commit, without a call or a lock. `Tally` is what
changes them, by what an append stored and dropped, a peek reserved, a settle removed, or the
quarantine took and gave back. Beside them it keeps the rest of the spool's memory: the
reservation's records, the delivery watermark, the points dropped ever, the bytes of delivered rows
still in the file, the tags' watermarks, the points lost and not yet told, and the `RecordCache`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .contract import NewRecord, Record, Spool
from .ledger import LedgerState
from .opening import Opened
from .rebuild import Kept
from .record_table import Dropped, Limit, RecordCache, Row

__all__ = ["Tally"]

Head = tuple[int | None, float | None]
"""The id and time of the oldest record, or ``(None, None)``."""


class Tally:
    """The spool's memory; not thread-safe: every call, and every attribute, with ``_lock`` held.

    ``_lock`` is the spool's (`Spool`). No call here takes a lock or does I/O, so that the spool can
    hold ``_lock`` across an append's transaction that drops records for a limit (no peek may
    reserve a record it drops) and take it inside ``_db_lock`` and ``_ledger_lock``, in that order.
    ``acked`` changes with ``_ledger_lock`` held too (`settled`): the ledger is written first. Only
    ``unswept`` is read without ``_lock``, as a hint (`SqliteSpool.needs_sweep`).

    A call that changes what the spool holds returns ``False`` when only the file can tell the head:
    the spool reads it (``_db_lock`` held) and gives it to `file_head`.
    """

    def __init__(self, spool: Spool, opened: Opened, cache_bytes: int) -> None:
        self._spool = spool
        self.generation = opened.generation  # the file's random id: a ledger of another file is not believed
        self.acked = opened.acked  # the delivery watermark
        self.dropped = opened.dropped  # the points the limit has dropped, ever
        self.unswept = opened.unswept  # the bytes of delivered rows still in the file
        self.watermarks = opened.watermarks
        self.lost = 0  # points that could not be carried over to a spool made again, not yet told
        self.reserved_records: list[Dropped] = []  # (id, points, bytes) of the last peek
        self.cache = RecordCache(cache_bytes)
        self.cache.whole = not opened.records
        spool.points, spool.records, spool.bytes = opened.points, opened.records, opened.size
        spool.last_id, spool.quarantined_records = opened.last_id, opened.quarantined
        spool.head, spool.oldest_created = opened.head, opened.oldest_created

    def over(self, max_bytes: int | None, max_points: int | None, added: tuple[int, int]) -> Limit | None:
        """What an append of ``added`` (points, bytes) must drop to fit, or ``None``.

        The reserved records (in flight) come on top of the limit: they are neither counted nor dropped.
        """
        spool = self._spool
        held_bytes = spool.bytes - sum(size for _, _, size in self.reserved_records)
        held_points = spool.points - sum(points for _, points, _ in self.reserved_records)
        excess_bytes = None if max_bytes is None else held_bytes + added[1] - max_bytes
        excess_points = None if max_points is None else held_points + added[0] - max_points
        if (excess_bytes or 0) <= 0 and (excess_points or 0) <= 0:
            return None
        return Limit(max(spool._reserved, self.acked), excess_bytes, excess_points, self.dropped)

    def appended(
        self,
        records: Sequence[NewRecord],
        rows: list[Row],
        dropped: list[Dropped],
        swept: int,
        watermarks: Mapping[str, bytes] | None,
    ) -> bool:
        """Count what an append stored, dropped and swept (``swept`` bytes); cache what it stored."""
        spool = self._spool
        self.unswept -= swept
        self.dropped += sum(p for _, p, _ in dropped)
        spool.last_id = rows[-1][0] if rows else spool.last_id
        spool.points += sum(r.points for r in records) - sum(p for _, p, _ in dropped)
        spool.bytes += sum(r.size for r in records) - sum(b for _, _, b in dropped)
        spool.records += len(rows) - len(dropped)
        self.cache.appended(records, rows, [record_id for record_id, _, _ in dropped])
        if watermarks:
            self.watermarks.update(watermarks)
        return self.set_head()

    def reserve(self, chosen: list[Record]) -> list[Record]:
        """Reserve the records ``chosen`` by a peek; return them."""
        self._spool._reserved = chosen[-1].id if chosen else 0
        self.reserved_records = [(r.id, r.points, r.size) for r in chosen]
        return chosen

    def settling(self, through: int) -> tuple[int, list[Dropped]]:
        """Where a settle ``through`` moves the delivery watermark to, and the reserved records it removes."""
        upto = min(through, self._spool._reserved)
        gone = [entry for entry in self.reserved_records if entry[0] <= upto]
        return max(upto, self.acked), gone

    def settled(self, upto: int, gone: list[Dropped], quarantined: int) -> bool:
        """Count a settle (see `settling`) that stored ``quarantined`` entries; nothing stays reserved."""
        spool = self._spool
        self.acked = max(self.acked, upto)
        for _, points, size in gone:
            spool.records -= 1
            spool.points -= points
            spool.bytes -= size
            self.unswept += size
        self.cache.forget_through(upto)
        if not spool.records:
            self.cache.whole = True  # nothing pending: records appended from now on are cached
        spool.quarantined_records += quarantined
        spool._reserved = 0
        self.reserved_records = []
        return self.set_head()

    def moved(self, points: int, size: int, records: int, last_id: int | None) -> bool:
        """Count records that came from the quarantine (or went to it: negative); ``last_id``, if it moved."""
        spool = self._spool
        spool.points += points
        spool.bytes += size
        spool.records += records
        spool.quarantined_records -= records
        spool.last_id = spool.last_id if last_id is None else last_id
        return self.set_head()

    def set_head(self) -> bool:
        """Set ``head`` from memory; ``False`` when only the file can tell."""
        spool = self._spool
        head = self.cache.head() if spool.records else (None, None)
        if head is not None:
            spool.head, spool.oldest_created = head
        return head is not None

    def file_head(self, head: Head) -> None:
        """Set ``head`` as the file told it, unless memory can tell by now."""
        if not self.set_head():
            self._spool.head, self._spool.oldest_created = head

    def ledger_state(self, acked: int | None = None, less: int = 0) -> LedgerState:
        """The ledger's state: as it is, or as a settle up to ``acked`` removing ``less`` points makes it."""
        return LedgerState(
            generation=self.generation,
            acked=self.acked if acked is None else max(acked, self.acked),
            last=self._spool.last_id,
            pending=max(0, self._spool.points - less),
            dropped=self.dropped,
        )

    def kept(self) -> Kept:
        """What a spool made again carries over from memory."""
        return Kept(self.acked, self.dropped, self.generation, dict(self.watermarks), self._spool.points)

    def remade(self, lost: int) -> None:
        """The spool file was made again: its delivered rows stayed behind, ``lost`` points not carried."""
        self.unswept = 0
        self.lost += lost

    def take_lost(self) -> int:
        """The points lost since the last call."""
        lost, self.lost = self.lost, 0
        return lost

    def recounted(self, held: tuple[int, int, int], quarantined: int, head: Head, present: set[int]) -> None:
        """Counters, head and cache as the file tells them, after records were lost.

        ``held``: the points, records and bytes pending; ``present``: the reserved ids still in the file.
        """
        spool = self._spool
        spool.points, spool.records, spool.bytes = held
        spool.quarantined_records = quarantined
        spool.head, spool.oldest_created = head
        self.cache.clear()
        self.reserved_records = [r for r in self.reserved_records if r[0] in present]
