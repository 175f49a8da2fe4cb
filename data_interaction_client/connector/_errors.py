"""The connector runtime's errors."""

from __future__ import annotations

from .._exceptions import DataInteractionError

__all__ = ["OpenError", "SourceLinkLost", "fatal_open_error"]


class OpenError(DataInteractionError):
    """The connector cannot start: ``open()`` failed for good, or the data source does not exist."""


class SourceLinkLost(DataInteractionError):
    """Raised by a hook: the link to the data source is lost; the runtime closes and opens it again.

    ```python
    def poll(self, tags):
        if not self.device.connected:
            raise SourceLinkLost("the device hung up")
    ```

    Every tag gets one ``q=102`` mark, the connector is closed, then opened again with backoff (and
    subscribed again); the window is read again through ``backfill`` once the link is back. From
    ``open`` it is tried again as an ``OSError`` is.
    """


def fatal_open_error(error: BaseException) -> OpenError:
    """The error that ends a run whose ``open()`` raised ``error``."""
    return OpenError(f"open() failed: {type(error).__name__}: {error}")
