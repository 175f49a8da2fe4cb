"""The writer's sender: when to send; what a request's outcome means (accepted, retried, split, set aside).

No I/O: the writer's send loop peeks the spool, posts each request body of a `Delivery`, hands each outcome
here (`Sender.accepted`, `Sender.failed`) and settles the records with the spool. The sender takes
the oldest records (up to ``request_points`` points: ``batch_points``, or half of what a 413
refused) once ``batch_points`` are pending, once the oldest
has waited ``flush_interval``, or when asked (``flush``, ``close``). It reads the spool's counters
(kept in memory) only.

The callbacks (``on_accepted``, ``on_retry``, ``on_quarantined``) are called from here, without the
writer's lock, on the sender's thread (or the event loop).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from .._constants import WRITER_INITIAL_RETRY_DELAY
from .._exceptions import PlatformError, SpoolError
from .._http.retry import Failure, backoff, classify
from .._spool.contract import Record, Spool
from .accounts import Accounts
from .delivery import Delivery, Verdict, describe, unexpected
from .options import CheckedOptions, Health, WriteEvent
from .records import RequestBody

__all__ = ["Sender"]

log = logging.getLogger("data_interaction_client.writer")
Callback = Literal["on_accepted", "on_retry", "on_quarantined"]
"""The name of one of the writer's callbacks (an option)."""
# Seconds without a request refused as too large after which the writer tries requests twice as large.
_REGROW_AFTER = 600.0


class Sender:
    """What the send loop does, and the state of delivery: failures, health, the records' clock.

    Called with the writer's lock held, but for the callbacks (`delivery`, `tell_set_aside`,
    `report_accepted`, `report_failed`), called without it. ``pending()`` counts the points the
    writer holds, for the log.
    """

    def __init__(
        self, options: CheckedOptions, spool: Spool, accounts: Accounts, pending: Callable[[], int]
    ) -> None:
        self._options = options
        self._spool = spool
        self._accounts = accounts
        self._pending = pending
        self.flush_through = 0  # send at once while records up to this id are pending
        self.failures = 0  # failed attempts since the last accepted request
        self._failing_since = 0.0
        self.last_error: str | None = None
        self.health: Health = "ok"
        # Points per request: batch_points until the platform or a proxy refuses a request as too
        # large (413); then at most half of what was refused, so that every later request does not go
        # out too large first. Every _REGROW_AFTER seconds without a refusal it doubles again (up to
        # batch_points): a limit that was lifted costs no more than that, one that holds one refusal.
        self.request_points = options["batch_points"]
        self._request_points_since = 0.0  # when request_points last changed (monotonic)
        self._failed_callbacks: set[str] = set()  # callbacks that raised (logged once each)
        # When records were appended, on the monotonic clock (a wall-clock jump neither stalls
        # sending nor distorts ages): (the last id of an append, its time), oldest first.
        # _from_before is the last id of the records found in the spool at start (0: none): they
        # are due at once; their age starts from the wall clock's reading of it now, once.
        self._appended: deque[tuple[int, float]] = deque()
        self._from_before = spool.last_id if spool.records else 0
        if self._from_before:
            created = spool.oldest_created
            age = 0.0 if created is None else max(0.0, time.time() - created)
            self._appended.append((spool.last_id, time.monotonic() - age))

    def appended(self, last_id: int, now: float) -> None:
        """Records up to ``last_id`` were appended to the spool at ``now`` (monotonic)."""
        self._appended.append((last_id, now))

    def due_in(self, now: float, closing: bool) -> float | None:
        """Seconds until the next send is due: 0 now, ``None`` when nothing is pending.

        ``now`` is the monotonic clock's: so is every time the writer measures.
        """
        spool = self._spool
        if not spool.records:
            return None
        options = self._options
        head = spool.head
        if (
            closing
            or head is None
            or head <= self.flush_through
            or head <= self._from_before
            or spool.points >= options["batch_points"]
        ):
            return 0.0
        wait = self.head_since(head, now) + options["flush_interval"] - now
        return 0.0 if wait <= 0 else min(wait, options["flush_interval"])

    def head_since(self, head: int, now: float) -> float:
        """When the record ``head`` was appended (monotonic); ``now`` if unknown."""
        appended = self._appended
        while appended and appended[0][0] < head:
            appended.popleft()  # delivered, dropped or set aside
        return appended[0][1] if appended else now

    def flush(self) -> int:
        """Send at once what is pending; the last record id to wait for (0: nothing pending)."""
        spool = self._spool
        if not spool.records:
            return 0
        self.flush_through = max(self.flush_through, spool.last_id)
        return spool.last_id

    # --- outcomes: the lock held ----------------------------------------------------------------------

    def accepted(self, delivery: Delivery, body: RequestBody, now: float) -> None:
        """The platform accepted a request body."""
        delivery.done(body)
        self._accounts.sent(body.points)
        if self.failures:
            log.info(
                "the platform accepts points again, after %d failed attempts in %.1f s; %d points pending",
                self.failures,
                now - self._failing_since,
                self._pending() - body.points,
            )
        elif self.health != "ok":
            log.info("the platform accepts points again")
        self.failures = 0
        self.health = "ok"
        batch_points = self._options["batch_points"]
        if self.request_points < batch_points and now - self._request_points_since >= _REGROW_AFTER:
            self.request_points = min(batch_points, self.request_points * 2)
            self._request_points_since = now
            log.info(
                "no request refused as too large for %d s: trying requests of up to %d points "
                "(batch_points=%d)",
                _REGROW_AFTER,
                self.request_points,
                batch_points,
            )

    def failed(
        self, delivery: Delivery, body: RequestBody, error: BaseException, now: float
    ) -> tuple[float | None, str]:
        """A body was not accepted: seconds to wait before trying again (``None``: go on at once), and why.

        The second value is `Verdict.SPLIT` (the body was split; its halves go at once),
        `Verdict.PERMANENT` (set aside in the quarantine) or `Verdict.RETRY` (the same body again
        after the delay). Transient failures are retried forever with a capped backoff; refusals of
        the writer itself (401, 403, redirects) too, reported as critical; a body too large is
        split; a body refused for good is split, or set aside when it is one part.
        """
        judged = classify(error)
        status = error.status_code if isinstance(error, PlatformError) else None
        if judged is Failure.SPLIT and delivery.split(body, points=True):
            if self._smaller_requests(body.points, now):
                delivery.fit(self.request_points)  # the rest of this send too
            return None, Verdict.SPLIT
        if judged in (Failure.SPLIT, Failure.PERMANENT):
            if judged is Failure.PERMANENT and delivery.split(body, points=False):
                return None, Verdict.SPLIT
            message = describe(error)
            delivery.set_aside(body, message, status)
            tags = ", ".join(repr(t) for t in body.tag_ids()[:5])
            more = "" if len(body.tag_ids()) <= 5 else ", ..."
            log.error(
                "the platform refused %d points of tags %s%s for good (%s): set aside in the quarantine "
                "(see w.quarantined(); w.requeue_quarantined() sends them again)",
                body.points,
                tags,
                more,
                message,
            )
            self.last_error = message
            return None, Verdict.PERMANENT
        self.failures += 1
        self.last_error = describe(error)
        if self.failures == 1 and unexpected(error):
            log.error("sending a request failed unexpectedly; the writer retries", exc_info=error)
        # Retried forever, whatever it is: the writer never drops points; a refusal of the writer
        # itself (token, address, a request that cannot be written) is critical until fixed.
        health: Health = "critical" if judged is Failure.REFUSED else "degraded"
        if self.failures == 1:
            self._failing_since = now
        if health != self.health:
            self._log_failing(health)
        self.health = health
        return self.retry_delay(error), Verdict.RETRY

    def _smaller_requests(self, refused: int, now: float) -> bool:
        """A request of ``refused`` points was too large: later requests carry at most half as many.

        ``True`` when that lowered the limit.
        """
        smaller = max(1, refused // 2)
        if smaller >= self.request_points:
            return False
        self.request_points = smaller
        self._request_points_since = now
        log.info(
            "a request of %d points was refused as too large (HTTP 413): the writer sends at most "
            "%d points per request from now on (batch_points=%d)",
            refused,
            smaller,
            self._options["batch_points"],
        )
        return True

    def _log_failing(self, health: Health) -> None:
        pending = self._pending()
        if health == "critical":
            log.error(
                "the writer's requests are refused (%s); the points stay pending (%d) and the writer "
                "keeps trying until this is fixed",
                self.last_error,
                pending,
            )
        else:
            log.warning(
                "the platform does not accept points (%s): retrying with backoff (at most %g s apart) until "
                "it does; %d points pending",
                self.last_error,
                self._options["max_retry_delay"],
                pending,
            )

    def retry_delay(self, error: BaseException) -> float:
        """The wait before the next try: the client's backoff, from 1 s up to ``max_retry_delay``."""
        return backoff(
            error, self.failures, first=WRITER_INITIAL_RETRY_DELAY, cap=self._options["max_retry_delay"]
        )

    # --- the callbacks: without the lock ------------------------------------------------------------

    def delivery(self, records: list[Record]) -> Delivery:
        """The delivery of peeked records; records damaged on disk are set aside at once."""
        delivery = Delivery(records, self.request_points)
        for entry, error in delivery.damaged:
            self.call_back("on_quarantined", WriteEvent(entry.points, (), 0.0, error))
        return delivery

    def tell_set_aside(self) -> None:
        """``on_quarantined`` for the records the spool's peek set aside (they failed their checksum)."""
        for entry in self._spool.take_set_aside():
            damage = SpoolError(entry.error, path=self._options["spool"] or "")
            self.call_back("on_quarantined", WriteEvent(entry.points, (), 0.0, damage))

    def call_back(self, name: Callback, event: WriteEvent) -> None:
        """Call the callback ``name`` with ``event``; what it raises is logged once per callback."""
        callback = self._options[name]
        if callback is None:
            return
        try:
            callback(event)
        except Exception:
            if name not in self._failed_callbacks:
                self._failed_callbacks.add(name)
                log.exception(
                    "the writer's %s callback raised; the writer ignores it and goes on (logged once)", name
                )

    def report_accepted(self, body: RequestBody, took: float) -> None:
        """``on_accepted`` for a request body the platform accepted in ``took`` seconds."""
        if self._options["on_accepted"] is not None:
            self.call_back("on_accepted", WriteEvent(body.points, tuple(body.tag_ids()), took))

    def report_failed(
        self, body: RequestBody, took: float, error: BaseException, delay: float | None, outcome: str
    ) -> None:
        """``on_retry`` or ``on_quarantined`` for a failed request (see `failed`)."""
        name: Callback = "on_quarantined" if outcome == Verdict.PERMANENT else "on_retry"
        if self._options[name] is None:
            return
        failure = error if isinstance(error, Exception) else Exception(str(error))
        retry_in = None if name == "on_quarantined" else (delay or 0.0)
        self.call_back(name, WriteEvent(body.points, tuple(body.tag_ids()), took, failure, retry_in))
