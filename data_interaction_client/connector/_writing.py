"""The two things the runtime asks of the writer: a writer that reports each request, and watermarks."""

from __future__ import annotations

from typing import Any

from .._types import TagId, Timestamp
from .._writer.options import WriterOptions
from ._state import Core

__all__ = ["spool_watermark", "writer_options"]


def writer_options(core: Core, options: dict[str, Any]) -> dict[str, Any]:
    """The writer's options, with the callbacks that feed the request metrics (where the writer has them)."""
    platform = core.platform
    callbacks = {
        "on_accepted": platform.accepted,
        "on_retry": platform.retrying,
        "on_quarantined": platform.quarantined,
    }
    known = WriterOptions.__annotations__
    return {**{key: value for key, value in callbacks.items() if key in known}, **options}


def spool_watermark(writer: Any, tag_id: TagId) -> Timestamp | None:
    """The ``x`` of the last point of ``tag_id`` the writer has committed to its spool."""
    value: Timestamp | None = writer.watermark(tag_id)
    return value
