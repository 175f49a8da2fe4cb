"""The writer's committer: the intake taken, encoded in records and appended to the spool, with watermarks.

No I/O: the writer's commit loop calls the spool (``append``, ``sweep``) and hands the outcome back
(`Committer.stored`, `Committer.store_failed`, `Committer.sweep_failed`). The committer takes all
that waits, whatever its size, so that a thread writing flat out gets few, large commits; records
hold at most ``batch_points`` points. Records the spool refused (a full disk) are kept and tried
again every second, first in the next append.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import orjson

from .._exceptions import SpoolError
from .._spool.contract import AppendResult, NewRecord, Spool
from .._spool.record_format import tight
from .._types import TagId, tag_id_from, tag_id_to_wire
from .accounts import Accounts
from .intake import Intake, Take, wire_points
from .options import CheckedOptions
from .records import EncodedPart, encode_records

__all__ = ["Committer", "Watermarks", "watermark_key", "watermark_value"]

log = logging.getLogger("data_interaction_client.writer")

_STORE_RETRY_DELAY = 1.0
"""Seconds between retries of a commit the spool refused (full disk)."""
_INITIAL_BYTES_PER_POINT = 48
"""Spool bytes per point assumed before the first commit measures it."""


class Watermarks:
    """Each tag's last x in the spool, and those of the records being committed (the lock held)."""

    __slots__ = ("due", "stored")

    def __init__(self, stored: dict[str, bytes]) -> None:
        self.stored = stored
        self.due: dict[str, bytes] = {}

    def stored_due(self) -> None:
        """The spool took the records the due watermarks follow."""
        self.stored.update(self.due)
        self.due = {}

    def of(self, tag_id: TagId) -> int | str | None:
        """The watermark of a tag in the spool (`Writer.watermark`), or ``None``."""
        raw = self.stored.get(watermark_key(tag_id_to_wire(tag_id)))
        return None if raw is None else watermark_value(raw)

    def all(self) -> dict[TagId, int | str]:
        """Every tag's watermark in the spool."""
        return {tag_id_from(orjson.loads(key)): watermark_value(raw) for key, raw in self.stored.items()}


class Committer:
    """What the commit loop does, and what is between the intake and the spool.

    ``lock`` is the writer's one lock: `encode` takes it briefly; the other methods are called with
    it held. ``stored`` is the spool's watermarks when the writer opened.
    """

    def __init__(
        self,
        options: CheckedOptions,
        intake: Intake,
        lock: threading.Lock,
        accounts: Accounts,
        stored: dict[str, bytes],
    ) -> None:
        self._options = options
        self._intake = intake
        self._lock = lock
        self._accounts = accounts
        self.watermarks = Watermarks(stored)
        self.committed = 0  # points written (counted by Intake.written) that are in the spool
        self.committing = 0  # points taken from the intake, not yet in the spool
        self.unsaved: list[NewRecord] = []  # records the spool refused, kept to try again
        self.unsaved_points = 0
        self._unsaved_mark = 0
        self.refusal: SpoolError | None = None  # the spool's failure, while it lasts
        self.refusals = 0  # failed attempts to store, counted (a sync waits for the next one)
        self._store_retry_at = 0.0
        self._sweep_after = 0.0
        self.bytes_per_point = _INITIAL_BYTES_PER_POINT

    @property
    def held(self) -> int:
        """Points taken from the intake and not yet in the spool (being committed, or refused by it)."""
        return self.committing + self.unsaved_points

    def unsaved_bytes(self) -> int:
        """Bytes of the records the spool refused, kept to try again."""
        return sum(record.size for record in self.unsaved)

    def room(self, spool: Spool) -> tuple[int, int]:
        """The points the writer takes before the overflow policy applies, and those it holds when empty.

        What the spool holds and the committer holds count; a spool on disk is bounded in bytes (as many
        points as the bytes per point measured so far make). ``drop_oldest`` has no bound: it makes room.
        """
        options = self._options
        if options["spool"] is None:
            capacity = options["max_pending_points"]
        else:
            capacity = options["max_spool_bytes"] // self.bytes_per_point
        if options["overflow"] == "drop_oldest":
            return sys.maxsize, capacity
        if options["spool"] is None:
            return options["max_pending_points"] - (spool.points + self.held), capacity
        free = options["max_spool_bytes"] - spool.bytes - self.unsaved_bytes()
        return free // self.bytes_per_point - self.committing, capacity

    def due_in(self, now: float, closing: bool) -> float | None:
        """Seconds until the next commit is due: 0 now, ``None`` when there is nothing to commit."""
        if self.unsaved:
            return max(0.0, self._store_retry_at - now)
        return self._intake.due_in(now, closing)

    def take(self) -> Take | None:
        """Take the intake for a commit that is due; ``None`` when only refused records are to be tried."""
        if not self._intake.count:
            return None
        take = self._intake.take()
        self.committing += take.points
        return take

    def sweep_due(self, needs_sweep: bool, now: float) -> bool:
        """Whether the idle committer should tidy the spool (delete delivered rows) now."""
        return needs_sweep and now >= self._sweep_after

    def sweep_failed(self, error: SpoolError, now: float) -> None:
        """The spool could not be tidied: try again later."""
        log.warning("the writer could not tidy its spool (%s); it tries again later", error)
        self._sweep_after = now + _STORE_RETRY_DELAY

    def encode(self, take: Take | None) -> list[NewRecord]:
        """The records of a take (the CPU part of a commit: the lock is taken only at the end)."""
        if take is None:
            return []
        by_tag = [
            (wire, points if isinstance(points, EncodedPart) else wire_points(points))
            for wire, points in take.by_tag
        ]
        records, problems = encode_records(by_tag, self._options["batch_points"])
        # Each tag's last x, committed with its points: what the writer holds for the tag goes
        # up to there (resume points for a connector).
        watermarks = {
            watermark_key(wire): points.last_x
            if isinstance(points, EncodedPart)
            else tight(orjson.dumps(points[-1]["x"]))
            for wire, points in by_tag
            if points
        }
        for wire, index, problem in problems:
            log.error(
                "point %d given for tag %r could not be encoded (%s): it was changed after it was given; "
                "dropped",
                index,
                wire,
                problem,
            )
        with self._lock:
            self.watermarks.due.update(watermarks)
            if problems:
                self._accounts.drop("invalid", len(problems))
                self.committing -= len(problems)
                take.points -= len(problems)
        return records

    def to_append(self, records: list[NewRecord]) -> tuple[list[NewRecord], dict[str, Any]]:
        """What to append (records refused before come first) and the spool's keyword arguments."""
        options = self._options
        limit: dict[str, Any] = {}
        if options["overflow"] == "drop_oldest":
            if options["spool"] is None:
                limit["max_points"] = options["max_pending_points"]
            else:
                limit["max_bytes"] = options["max_spool_bytes"]
        if self.watermarks.due:
            limit["watermarks"] = dict(self.watermarks.due)
        return self.unsaved + records, limit

    def stored(self, take: Take | None, records: list[NewRecord], result: AppendResult | None) -> int:
        """The spool took ``records`` (the refused ones included); return the points it dropped for room."""
        if take is not None:
            self.committing -= take.points
            self.committed = take.mark
        elif self.unsaved:
            self.committed = max(self.committed, self._unsaved_mark)
        self.watermarks.stored_due()
        points = sum(r.points for r in records)
        if points:
            self.bytes_per_point = max(1, sum(r.size for r in records) // points)
        self.unsaved = []
        self.unsaved_points = 0
        if self.refusal is not None:
            log.info("the spool %s takes points again", self._options["spool"])
            self.refusal = None
        return 0 if result is None else result.dropped_points

    def store_failed(
        self, take: Take | None, records: list[NewRecord], error: SpoolError, now: float
    ) -> None:
        """The spool refused the records: keep them to try again at ``now`` plus a second."""
        if take is not None:
            self.committing -= take.points
            self.unsaved.extend(records)
            self.unsaved_points += take.points
            self._unsaved_mark = take.mark
        if self.refusal is None:
            log.error(
                "%s; %d points taken before are kept in memory and stored once it can; new points are "
                "refused meanwhile",
                error.args[0],
                self.unsaved_points,
            )
        self.refusal = error
        self.refusals += 1
        self._store_retry_at = now + _STORE_RETRY_DELAY


def watermark_key(wire: str | dict[str, str]) -> str:
    """The spool's key of a tag's state: its wire id as canonical JSON."""
    return orjson.dumps(wire, option=orjson.OPT_SORT_KEYS).decode()


def watermark_value(raw: bytes) -> int | str:
    """A watermark as the spool keeps it (JSON), as the writer gives it: an int or a string."""
    value = orjson.loads(raw)
    if type(value) is int or type(value) is str:
        return value
    raise SpoolError(f"a watermark in the spool is not a timestamp: {raw!r}", path="")
