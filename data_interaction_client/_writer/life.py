"""The writer's life: open, closing, stopping, closed; its client closed under it; a close given up.

A part of the engine (`WriterEngine` holds one and changes it with its lock held), with the messages
that say what becomes of the points left: where they stay (the spool, for the next writer) or that
they are lost (a memory-only writer). No I/O.
"""

from __future__ import annotations

import logging

from .._exceptions import WriterClosedError

__all__ = ["Life"]

log = logging.getLogger("data_interaction_client.writer")


class Life:
    """Where the writer is in its life (read and changed with the engine's lock held).

    ``closing``: it takes no more points (``close`` began); ``stopping``: its loops are to return;
    ``closed``: they have, and what was left is said; ``client_closed``: its client was closed under
    it, so it takes and sends nothing more; ``gave_up``: closing, the platform could not be reached,
    so it sends nothing more. ``spool`` is the spool's directory (``None``: memory only).
    """

    __slots__ = ("client_closed", "closed", "closing", "gave_up", "spool", "stopping")

    def __init__(self, spool: str | None) -> None:
        self.spool = spool
        self.closing = False
        self.closed = False
        self.stopping = False
        self.client_closed = False
        self.gave_up = False

    @property
    def taking(self) -> bool:
        """Whether the writer takes points: neither closing nor with its client closed."""
        return not (self.closing or self.client_closed)

    def check_open(self) -> None:
        """Raise `WriterClosedError` once the writer is closed."""
        if self.closed:
            raise WriterClosedError(
                "the writer is closed: what it held is in its spool (or was reported lost)"
            )

    def check_taking(self, pending: int) -> None:
        """Raise `WriterClosedError` when the writer takes no more points (``pending``: for the message)."""
        if self.client_closed:
            raise WriterClosedError(self.client_closed_message(pending))
        if self.closing:
            raise WriterClosedError("the writer is closed: it takes no more points")

    def check_sending(self, pending: int) -> None:
        """Raise `WriterClosedError` when the writer will send nothing more."""
        if self.client_closed:
            raise WriterClosedError(self.client_closed_message(pending))
        if self.gave_up:
            raise WriterClosedError("the writer is closing and cannot reach the platform")

    def lose_client(self, pending: int) -> bool:
        """The client was closed: nothing more is taken or sent; ``False`` when nothing changes."""
        if self.client_closed or self.closed:
            return False
        self.client_closed = True
        where = (
            "are lost when the writer closes (a memory-only writer)"
            if self.spool is None
            else f"stay in the spool {self.spool} and are sent when a writer opens it again"
        )
        log.warning(
            "the client of a writer was closed before the writer: the writer takes no more points and "
            "sends nothing more; its %d pending points %s",
            pending,
            where,
        )
        return True

    def client_closed_message(self, pending: int) -> str:
        """What a call refused because the client was closed says."""
        where = (
            "a memory-only writer loses them"
            if self.spool is None
            else f"they stay in the spool {self.spool} for the next writer"
        )
        return (
            "the writer's client was closed: the writer takes no more points and sends nothing more "
            f"({pending} points pending: {where}); close the writer before its client"
        )

    def begin_close(self, pending: int, timeout: float, failing: str | None) -> bool:
        """Closing begins: say what is pending (``failing``: the last error while delivery fails).

        ``False`` when the writer was closing already.
        """
        if self.closing:
            return False
        self.closing = True
        if pending and not self.client_closed:
            log.log(
                logging.WARNING if failing is not None else logging.INFO,
                "closing the writer with %d points pending%s: delivering them for at most %g s "
                "(close_timeout), then %s",
                pending,
                f" while the platform does not accept points ({failing})" if failing is not None else "",
                timeout,
                self.left_behind(),
            )
        return True

    def give_up(self, error: str, pending: int) -> None:
        """Closing, and the platform cannot be reached (``error`` says how): nothing more is sent."""
        self.gave_up = True
        log.warning(
            "the writer is closing and no connection to the platform can be made (%s): it stops "
            "trying; %d points pending: %s",
            error,
            pending,
            self.left_behind(rest=False),
        )

    def left_behind(self, *, rest: bool = True) -> str:
        """What becomes of the points a closing writer could not deliver ("the rest ..." or "they ...")."""
        if self.spool is None:
            return ("the rest is" if rest else "they are") + " lost (a memory-only writer)"
        stay = "the rest stays" if rest else "they stay"
        return f"{stay} in the spool {self.spool} for the next writer"
