"""What becomes of the records of one send: request bodies sent, split, set aside; how failures are judged.

No I/O here: the writers post the bodies and settle the records with the spool.
"""

from __future__ import annotations

import logging

import httpx

from .._exceptions import (
    APIConnectionError,
    ClientClosedError,
    DataInteractionError,
    InvalidResponseError,
    PlatformError,
)
from .._spool.contract import QuarantineEntry, Record
from .._spool.record_format import RecordError, parts_of
from .records import RequestBody

__all__ = ["Delivery", "Verdict", "describe", "unexpected", "unreachable"]

log = logging.getLogger("data_interaction_client.writer")


class Delivery:
    """The records of one send and what became of their parts; no I/O.

    The records are sent as one request body; a body the platform finds too large (413) is split in
    two, and so is one it refuses for good (400, 404, 409, 422, ...) while it holds more than one
    part, so that one bad tag does not set aside the points of the others. A part refused alone goes
    to the quarantine.
    """

    def __init__(self, records: list[Record], max_points: int | None = None) -> None:
        self.through = records[-1].id
        self.quarantine: list[QuarantineEntry] = []
        self.accepted = 0
        self.damaged: list[tuple[QuarantineEntry, RecordError]] = []  # set aside, undecodable
        parts = []
        first: Record | None = None
        for record in records:
            try:
                record_parts = parts_of(record)
            except RecordError as exc:
                entry = QuarantineEntry(
                    record_id=record.id,
                    created=record.created,
                    points=record.points,
                    tags=record.tags,
                    data=record.data,
                    error=f"the record cannot be decoded: {exc}",
                    damaged=True,
                )
                self.quarantine.append(entry)
                self.damaged.append((entry, exc))
                log.error(
                    "spool record %d (%d points) cannot be decoded (%s): set aside in the quarantine, "
                    "not sent",
                    record.id,
                    record.points,
                    exc,
                )
                continue
            first = first or record
            parts.extend(record_parts)
        self._bodies: list[RequestBody] = [RequestBody(parts, first)] if first is not None else []
        if max_points is not None:
            self.fit(max_points)

    def fit(self, max_points: int) -> None:
        """Split the bodies left until each holds at most ``max_points`` points (or one point)."""
        fitted: list[RequestBody] = []  # in the order they are sent
        stack = self._bodies
        while stack:
            body = stack.pop()
            halves = body.split(points=True) if body.points > max_points else None
            if halves is None:
                fitted.append(body)
            else:
                stack.extend(reversed(halves))
        self._bodies = fitted[::-1]  # the last is sent first

    def next(self) -> RequestBody | None:
        """The request body to send now, or ``None`` when every body is settled."""
        return self._bodies[-1] if self._bodies else None

    def done(self, body: RequestBody) -> None:
        """The body was accepted."""
        self._bodies.pop()
        self.accepted += body.points

    def split(self, body: RequestBody, *, points: bool) -> bool:
        """Replace the body by its halves (see `RequestBody.split`); ``False`` when it cannot be split."""
        halves = body.split(points=points)
        if halves is None:
            return False
        self._bodies.pop()
        self._bodies.extend(reversed(halves))  # the first half is sent first
        return True

    def set_aside(self, body: RequestBody, error: str, status: int | None) -> None:
        """The body goes to the quarantine."""
        self._bodies.pop()
        self.quarantine.append(body.quarantine_entry(error, status))


class Verdict:
    """What the writer did with a failed send (the failure itself is judged by ``_http.retry.classify``)."""

    RETRY = "retry"  # the same body again, after a backoff
    SPLIT = "split"  # the body was split: its halves go at once
    PERMANENT = "permanent"  # the body was set aside in the quarantine
    STOP = "stop"  # send nothing more: the client was closed, or closing with the platform unreachable


def unreachable(error: BaseException) -> bool:
    """Whether no connection could be made (refused, no such host, connect timeout): nothing was sent."""
    return isinstance(error, APIConnectionError) and isinstance(
        error.__cause__, httpx.ConnectError | httpx.ConnectTimeout
    )


def describe(error: BaseException) -> str:
    """The error as the log and the stats show it."""
    if isinstance(error, APIConnectionError | PlatformError | InvalidResponseError | ClientClosedError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def unexpected(error: BaseException) -> bool:
    """Whether ``error`` is none of the SDK's: a bug somewhere, to be logged with its traceback."""
    return not isinstance(error, DataInteractionError)
