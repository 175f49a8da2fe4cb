"""The connector runtime's errors."""

from __future__ import annotations

from .._exceptions import DataInteractionError

__all__ = ["OpenError", "fatal_open_error"]


class OpenError(DataInteractionError):
    """The connector cannot start: ``open()`` failed for good, or the data source does not exist."""


def fatal_open_error(error: BaseException) -> OpenError:
    """The error that ends a run whose ``open()`` raised ``error``."""
    return OpenError(f"open() failed: {type(error).__name__}: {error}")
