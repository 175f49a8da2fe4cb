"""What the platform answers, as the SDK's own small types."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal, overload

import attrs
import orjson

from ._tag import TagAttributes
from ._types import PointDict, TagId

__all__ = ["Connection", "DataSourceAttributes", "TagHistory", "TagInfo"]


class DataSourceAttributes(Mapping[str, Any]):
    """A data source's attributes: a read-only mapping with typed accessors for the known ones."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"DataSourceAttributes({self._data!r})"

    @property
    def active(self) -> bool:
        """``smtActive``: false when the data source is switched off."""
        return self._data.get("smtActive") is True

    @property
    def config(self) -> Any:
        """``smtJsonConfigString``, the connector's own configuration, parsed from its JSON text.

        ``None`` when absent; the raw text when it is not JSON.
        """
        raw = self._data.get("smtJsonConfigString")
        if not isinstance(raw, str):
            return raw
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw


@attrs.frozen
class TagInfo:
    """A tag the platform asks the connector to feed: its id and attributes."""

    id: TagId
    attributes: TagAttributes


@attrs.frozen
class Connection:
    """The answer to ``connect``: the data source's attributes and the tags to feed.

    Also readable as the original client's dict: ``conn["tags"]`` and ``conn["attributes"]``.
    """

    data_source_id: str
    attributes: DataSourceAttributes
    tags: list[TagInfo]

    @overload
    def __getitem__(self, key: Literal["tags"]) -> list[TagInfo]: ...
    @overload
    def __getitem__(self, key: Literal["attributes"]) -> DataSourceAttributes: ...
    def __getitem__(self, key: str) -> list[TagInfo] | DataSourceAttributes:
        """``conn["tags"]`` or ``conn["attributes"]``, as with the original client."""
        if key == "tags":
            return self.tags
        if key == "attributes":
            return self.attributes
        raise KeyError(key)


@attrs.frozen
class TagHistory:
    """The points of one tag read by ``get_data``, sorted by ``x``.

    ``exceed`` is true when the period held more than ``max_count`` points and the platform thinned
    them. ``points`` are dicts as the platform wrote them: ``{"x": ..., "y": ..., "q": ...}``.
    """

    tag_id: TagId
    points: list[PointDict]
    exceed: bool

    def __len__(self) -> int:
        """The number of points."""
        return len(self.points)
