"""What becomes of the records of one send: the pieces sent, split and set aside; how a failure is judged.

No I/O here: the writers send the pieces and settle the records with the spool.
"""

from __future__ import annotations

import logging

from ._exceptions import (
    APIConnectionError,
    ClientClosedError,
    DataInteractionError,
    InvalidResponseError,
    PlatformError,
)
from ._spool import QuarantineEntry, Record
from ._writer_records import Piece, RecordError, parts_of

__all__ = ["Delivery", "Verdict", "describe", "unexpected", "verdict"]

log = logging.getLogger("data_interaction_client.writer")


class Delivery:
    """The records of one send and what became of their parts; no I/O.

    The records are sent as one piece; a piece the platform finds too large (413) is split in two,
    and so is one it refuses for good (400, 404, 409, 422, ...) while it holds more than one part,
    so that one bad tag does not set aside the points of the others. A part refused alone goes to
    the quarantine.
    """

    def __init__(self, records: list[Record]) -> None:
        self.through = records[-1].id
        self.quarantine: list[QuarantineEntry] = []
        self.accepted = 0
        parts = []
        first: Record | None = None
        for record in records:
            try:
                record_parts = parts_of(record)
            except RecordError as exc:
                self.quarantine.append(
                    QuarantineEntry(
                        batch=record.id,
                        created=record.created,
                        points=record.points,
                        tags=record.tags,
                        data=record.data,
                        error=f"the record cannot be decoded: {exc}",
                        damaged=True,
                    )
                )
                log.error(
                    "spool record %d cannot be decoded (%s): set aside in the quarantine", record.id, exc
                )
                continue
            first = first or record
            parts.extend(record_parts)
        self._pieces: list[Piece] = [Piece(parts, first)] if first is not None else []

    def next(self) -> Piece | None:
        """The piece to send now, or ``None`` when every piece is settled."""
        return self._pieces[-1] if self._pieces else None

    def done(self, piece: Piece) -> None:
        """The piece was accepted."""
        self._pieces.pop()
        self.accepted += piece.points

    def split(self, piece: Piece, *, points: bool) -> bool:
        """Replace the piece by its halves (see :meth:`Piece.split`); ``False`` when it cannot be split."""
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
    """What a failed send calls for."""

    RETRY = "retry"  # transient: try the same piece again after a backoff
    REFUSED = "refused"  # the platform refuses the writer itself (token, redirect): retry, critical
    SPLIT = "split"  # too large: split the piece
    PERMANENT = "permanent"  # refused for good: split it, or set it aside


def verdict(error: BaseException) -> str:
    """Classify a failed send (see the README's "Long-running connectors")."""
    if isinstance(error, ClientClosedError):
        return Verdict.REFUSED  # the connector closed the client: nothing goes until it restarts
    if isinstance(error, PlatformError):
        status = error.status_code
        if status == 413:
            return Verdict.SPLIT
        if status in (408, 429) or status >= 500:
            return Verdict.RETRY
        if status in (401, 403, 407) or 300 <= status < 400:
            return Verdict.REFUSED
        return Verdict.PERMANENT  # 400, 404, 409, 422, any other 4xx; a 2xx with an error envelope
    # Connection errors and timeouts; an answer that is not the contract's JSON (a proxy's page with
    # HTTP 200, a truncated body); anything unexpected: the batch itself is not at fault.
    return Verdict.RETRY


def describe(error: BaseException) -> str:
    """The error as the log and the stats show it."""
    if isinstance(error, APIConnectionError | PlatformError | InvalidResponseError | ClientClosedError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def unexpected(error: BaseException) -> bool:
    """Whether ``error`` is none of the SDK's: a bug somewhere, to be logged with its traceback."""
    return not isinstance(error, DataInteractionError)
