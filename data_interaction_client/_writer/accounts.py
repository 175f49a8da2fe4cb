"""The writer's accounts: what it sent, dropped and refused, its health, and what a close left behind.

No I/O and no lock of its own: the writer calls it with its lock held. The other roles report here
(`Intake` the refusals and the deadband's drops, `Committer` the drops for room, `Sender` the
accepted requests); `stats` reads it with the rest of the writer's state.
"""

from __future__ import annotations

import logging
import math
import time
from types import MappingProxyType

from .options import Health, WriterStats

__all__ = ["Accounts", "Pending"]

log = logging.getLogger("data_interaction_client.writer")

_DROP_LOG_INTERVAL = 10.0
"""At most one WARNING per this many seconds about points dropped for room."""


class Pending:
    """The points a writer holds that the platform has not accepted, by where they are."""

    __slots__ = ("intake", "spool", "taken")

    def __init__(self, intake: int, taken: int, spool: int) -> None:
        self.intake = intake  # written, not yet taken by the committer
        self.taken = taken  # taken by the committer, not yet in the spool (or refused by it)
        self.spool = spool  # in the spool, not yet accepted

    @property
    def total(self) -> int:
        """Every point pending."""
        return self.intake + self.taken + self.spool


class Accounts:
    """Counters of the points that left the writer (sent, dropped, refused) and the health they show."""

    __slots__ = (
        "_drop_logged_at",
        "_dropped_since_log",
        "dropped",
        "dropping",
        "refused",
        "refusing",
        "sent_batches",
        "sent_points",
    )

    def __init__(self) -> None:
        self.sent_points = 0
        self.sent_batches = 0
        self.dropped: dict[str, int] = {}
        self.refused = 0  # points of calls that raised for want of room (writer or disk full)
        self.refusing = False  # the last write was refused for want of room
        self.dropping = False  # the last commit dropped the oldest points for room
        self._dropped_since_log = 0
        self._drop_logged_at = -math.inf

    def drop(self, reason: str, points: int) -> None:
        """``points`` were let go for ``reason`` (a key of ``stats().dropped_points``)."""
        if points:
            self.dropped[reason] = self.dropped.get(reason, 0) + points

    def sent(self, points: int) -> None:
        """The platform accepted one request of ``points``."""
        self.sent_points += points
        self.sent_batches += 1

    def refuse(self, points: int) -> None:
        """A call's ``points`` were not kept (the writer or its disk was full)."""
        self.refused += points

    def full(self, limit: str, pending: int) -> None:
        """The writer refuses points for want of room: say so once, until it has room again."""
        if not self.refusing:
            self.refusing = True
            log.warning(
                "the writer is full (%s, %d points pending): refusing points until the platform accepts some",
                limit,
                pending,
            )

    def room_again(self, pending: int) -> None:
        """The writer has room again after refusing points."""
        if self.refusing:
            self.refusing = False
            log.info("the writer has room again (%d points pending)", pending)

    def overflowed(self, points: int, limit: str, now: float | None = None) -> None:
        """A commit dropped the ``points`` oldest (``overflow="drop_oldest"``); 0: it dropped none."""
        if not points:
            self.dropping = False
            return
        self.dropping = True
        self.drop("overflow", points)
        self._dropped_since_log += points
        now = time.monotonic() if now is None else now
        if now - self._drop_logged_at >= _DROP_LOG_INTERVAL:
            log.warning(
                "the writer is full (%s): dropped the %d oldest pending points to keep the newest "
                "(%d dropped so far; overflow='drop_oldest')",
                limit,
                self._dropped_since_log,
                self.dropped["overflow"],
            )
            self._drop_logged_at = now
            self._dropped_since_log = 0

    def health(self, *, send: Health, disk_refusing: bool, quarantined: int) -> Health:
        """The writer's health from the sender's (``send``), the spool's refusal and the quarantine."""
        if disk_refusing or self.refusing or send == "critical" or quarantined:
            return "critical"
        if send == "degraded" or self.dropping:
            return "degraded"
        return "ok"

    def closed(self, pending: Pending, spool: str | None) -> None:
        """Say what a writer left behind when it closed; count what is lost."""
        left = pending.total
        if not left:
            return
        if spool is None:
            self.drop("closed", left)
            log.error(
                "the memory-only writer closed with %d points the platform had not accepted: they are lost "
                "(a spool keeps them for the next start)",
                left,
            )
            return
        log.warning(
            "the writer closed with %d points not yet accepted by the platform: they stay in the spool "
            "%s and are sent when a writer opens it again",
            pending.spool,
            spool,
        )
        unsaved = left - pending.spool
        if unsaved:
            self.drop("closed", unsaved)
            log.error("%d points could not be stored in the spool before closing: they are lost", unsaved)

    def stats(
        self,
        *,
        pending: Pending,
        records: int,
        oldest_age: float | None,
        spool_bytes: int,
        quarantined: int,
        failures: int,
        last_error: str | None,
        health: Health,
    ) -> WriterStats:
        """The writer's `WriterStats`: these accounts, with the state of its other roles."""
        return WriterStats(
            pending_points=pending.total,
            pending_batches=records,
            oldest_pending_age=oldest_age,
            spool_bytes=spool_bytes,
            sent_points=self.sent_points,
            sent_batches=self.sent_batches,
            dropped_points=MappingProxyType(dict(self.dropped)),
            refused_points=self.refused,
            quarantined_batches=quarantined,
            consecutive_failures=failures,
            last_error=last_error,
            health=health,
        )
