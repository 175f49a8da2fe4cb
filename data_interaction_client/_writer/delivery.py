"""What becomes of the records of one send: the pieces sent, split and set aside; how a failure is judged.

No I/O here: the writers send the pieces and settle the records with the spool.
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
from .records import Piece, RecordError, parts_of

__all__ = ["Delivery", "Verdict", "describe", "unexpected", "unreachable"]

log = logging.getLogger("data_interaction_client.writer")


class Delivery:
    """The records of one send and what became of their parts; no I/O.

    The records are sent as one piece; a piece the platform finds too large (413) is split in two,
    and so is one it refuses for good (400, 404, 409, 422, ...) while it holds more than one part,
    so that one bad tag does not set aside the points of the others. A part refused alone goes to
    the quarantine.
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
        self._pieces: list[Piece] = [Piece(parts, first)] if first is not None else []
        if max_points is not None:
            self.fit(max_points)

    def fit(self, max_points: int) -> None:
        """Split the pieces left until each holds at most ``max_points`` points (or one point)."""
        fitted: list[Piece] = []  # in the order they are sent
        stack = self._pieces
        while stack:
            piece = stack.pop()
            halves = piece.split(points=True) if piece.points > max_points else None
            if halves is None:
                fitted.append(piece)
            else:
                stack.extend(reversed(halves))
        self._pieces = fitted[::-1]  # the last is sent first

    def next(self) -> Piece | None:
        """The piece to send now, or ``None`` when every piece is settled."""
        return self._pieces[-1] if self._pieces else None

    def done(self, piece: Piece) -> None:
        """The piece was accepted."""
        self._pieces.pop()
        self.accepted += piece.points

    def split(self, piece: Piece, *, points: bool) -> bool:
        """Replace the piece by its halves (see `Piece.split`); ``False`` when it cannot be split."""
        halves = piece.split(points=points)
        if halves is None:
            return False
        self._pieces.pop()
        self._pieces.extend(reversed(halves))  # the first half is sent first
        return True

    def set_aside(self, piece: Piece, error: str, status: int | None) -> None:
        """The piece goes to the quarantine."""
        self._pieces.pop()
        self.quarantine.append(piece.quarantine_entry(error, status))


class Verdict:
    """What the writer did with a failed send (the failure itself is judged by ``_http.retry.classify``)."""

    RETRY = "retry"  # the same piece again, after a backoff
    SPLIT = "split"  # the piece was split: its halves go at once
    PERMANENT = "permanent"  # the piece was set aside in the quarantine
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
