"""The engine's steps: what a writer's loop does next, as small frozen classes the loops ``match`` on.

The commit loop gets `Wait`, `Stop`, `Commit` or `Sweep` from `WriterEngine.next_commit`; a
`Commit` encoded is an `Append`. The send loop gets `Wait`, `Stop` or `Send` from
`WriterEngine.next_send`, and `Pause` or `Stop` after each post. ``sync`` waits for a `SyncTarget`.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._spool.contract import NewRecord
from .intake import Take

__all__ = ["STOP", "SWEEP", "Append", "Commit", "Pause", "Send", "Stop", "Sweep", "SyncTarget", "Wait"]


@attrs.frozen
class Wait:
    """Wait ``seconds`` (``None``: until woken), then ask again."""

    seconds: float | None


@attrs.frozen
class Stop:
    """The writer is stopping (or can send nothing more): the loop returns."""


@attrs.frozen
class Commit:
    """Append ``take`` to the spool (``None``: only the records the spool refused before)."""

    take: Take | None


@attrs.frozen
class Sweep:
    """Tidy the spool (delete the rows delivered)."""


@attrs.frozen
class Send:
    """Take the oldest records of the spool, up to ``max_points`` points, and deliver them."""

    max_points: int


@attrs.frozen
class Append:
    """A commit encoded: ``records`` go to the spool's ``append`` with ``limits`` (its keyword arguments).

    ``records`` are those the spool refused before, then ``new``, the records of ``take``.
    """

    take: Take | None
    new: list[NewRecord]
    records: list[NewRecord]
    limits: dict[str, Any]


@attrs.frozen
class Pause:
    """The send loop pauses until ``until`` (monotonic); ``closing``: whether the writer was closing then."""

    until: float
    closing: bool


@attrs.frozen
class SyncTarget:
    """What ``sync`` waits for: ``points`` written in the spool; ``refusals``: the refusals by then."""

    points: int
    refusals: int


STOP = Stop()
SWEEP = Sweep()
