"""What a connector handles: the `Source` it feeds and the `Reading` objects it gives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .._exceptions import InvalidInputError
from .._results import Connection, DataSourceAttributes
from .._tag import Tag
from .._types import TagId, TagIdLike, TimestampLike, tag_id_from

__all__ = ["LINK_LOST", "Reading", "Source", "reading_from", "tags_of"]

LINK_LOST = 102
"""The quality code of a value whose link to the data source is lost (the platform family's 102)."""


@attrs.frozen
class Reading:
    """One value read from the source: ``Reading(tag, y)``, ``Reading(tag, y, x=..., q=...)``.

    ``tag`` is a [`Tag`][data_interaction_client.Tag] or a tag id; ``x`` defaults to the tick's time (integer
    microseconds); ``q`` is the quality code (0: good; ``Reading(tag, y=None, q=102)`` says the link to this
    tag's source is lost). ``poll`` may also give tuples: ``(tag, y)`` or ``(tag, x, y[, q])``.
    """

    tag: Tag | TagIdLike
    y: Any
    x: TimestampLike | None = None
    q: int | None = 0


@attrs.frozen
class Source:
    """The data source a connector feeds, as the platform describes it.

    ``id`` is its id; ``config`` its ``smtJsonConfigString`` parsed (``None`` when absent);
    ``tags`` the tags to feed ([`Tag`][data_interaction_client.Tag] objects with their attributes:
    ``tag.attributes.source`` is where to read each one); ``attributes`` all its attributes.
    """

    id: str
    config: Any
    tags: tuple[Tag, ...]
    attributes: DataSourceAttributes

    @classmethod
    def from_connection(cls, connection: Connection) -> Source:
        """The source of a ``connect`` answer."""
        tags = tuple(Tag(info.id, info.attributes) for info in connection.tags)
        return cls(connection.data_source_id, connection.attributes.config, tags, connection.attributes)


def tags_of(source: Source) -> dict[TagId, Tag]:
    """The source's tags by id."""
    return {tag.id: tag for tag in source.tags}


_SHAPES = "Reading(tag, y), or a tuple (tag, y) or (tag, x, y[, q])"


def reading_from(item: object, index: int, tags: Mapping[TagId, Tag]) -> Reading:
    """A `Reading` of what ``poll`` or ``backfill`` gave, its tag the source's own when it has it.

    Raises [`InvalidInputError`][data_interaction_client.InvalidInputError] naming the item for anything that
    is not a reading.
    """
    if isinstance(item, Reading):
        reading = item
    elif isinstance(item, tuple):
        if len(item) == 2:
            reading = Reading(item[0], item[1])
        elif len(item) == 3:
            reading = Reading(item[0], item[2], x=item[1])
        elif len(item) == 4:
            reading = Reading(item[0], item[2], x=item[1], q=item[3])
        else:
            raise InvalidInputError(f"reading {index} is a tuple of {len(item)} items: give {_SHAPES}")
    else:
        raise InvalidInputError(f"reading {index} is {type(item).__name__} {item!r:.80}: give {_SHAPES}")
    tag = reading.tag
    if not isinstance(tag, Tag):
        try:
            tag_id = tag_id_from(tag)
        except InvalidInputError as exc:
            raise InvalidInputError(f"reading {index}: {exc}") from None
        known = tags.get(tag_id)
        reading = attrs.evolve(reading, tag=known if known is not None else tag_id)
    return reading


def readings_from(items: Iterable[object] | None, tags: Mapping[TagId, Tag]) -> list[Reading]:
    """Every reading of ``items`` (``None``: none), checked."""
    if items is None:
        return []
    if isinstance(items, str | bytes | Mapping):
        raise InvalidInputError(
            f"poll() and backfill() give an iterable of readings, not {type(items).__name__}"
        )
    return [reading_from(item, index, tags) for index, item in enumerate(items)]
