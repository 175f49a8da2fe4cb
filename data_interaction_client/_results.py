"""What the platform answers, as the SDK's own small types."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import attrs
import msgspec

from ._tag import Tag, TagAttributes
from ._types import Attributes, PointDict, TagId, Timestamp

if TYPE_CHECKING:  # the optional extras: only the annotations name them
    import pandas  # type: ignore[import-untyped,unused-ignore]
    import polars
    from matplotlib.figure import Figure

__all__ = ["Columns", "Connection", "DataSourceAttributes", "Point", "TagHistory", "TagInfo"]


class DataSourceAttributes(Attributes):
    """A data source's attributes: a read-only mapping with typed accessors for the known ones."""

    __slots__ = ()

    @property
    def active(self) -> bool:
        """``smtActive``: false when the data source is switched off."""
        return self._data.get("smtActive") is True

    @property
    def config(self) -> Any:
        """``smtJsonConfigString``, the connector's own configuration, parsed from its JSON text.

        ``None`` when absent; the raw text when it is not JSON.
        """
        return self._json_text("smtJsonConfigString")


@attrs.frozen
class TagInfo:
    """A tag the platform asks the connector to feed: its id and attributes."""

    id: TagId
    attributes: TagAttributes


_NO_ERROR: dict[str, Any] = {"id": 0, "message": ""}


@attrs.frozen
class Connection(Sequence[Tag]):
    """The answer to ``connect``: the data source's attributes and the tags to feed.

    It is also the list of ready [`Tag`][data_interaction_client.Tag] objects, one per tag in ``tags``, made
    with the client's ``precision`` and ``check_values``, and readable as the original client's answer
    dict, so that code written for any version of the original client runs:

    ```python
    conn = client.connect("1")
    conn.attributes.active, conn.tags[0].id     # typed
    conn[0].add_data(1530008100000000, 21.5)    # the first tag, the same object each time
    client.set_data(conn)                       # every tag of the connection
    conn["tags"], conn["attributes"], conn["error"]
    ```
    """

    data_source_id: str
    attributes: DataSourceAttributes
    tags: list[TagInfo]
    _ready: list[Tag] | None = attrs.field(default=None, eq=False, repr=False, alias="ready")
    _error: Mapping[str, Any] = attrs.field(default=_NO_ERROR, eq=False, repr=False, alias="error")

    @property
    def _tag_objects(self) -> list[Tag]:
        """The tags as `Tag` objects: those the client made, or plain ones made once, when first read."""
        if self._ready is None:
            object.__setattr__(self, "_ready", [Tag(info.id, info.attributes) for info in self.tags])
        assert self._ready is not None
        return self._ready

    @overload
    def __getitem__(self, key: Literal["tags"]) -> list[TagInfo]: ...
    @overload
    def __getitem__(self, key: Literal["attributes"]) -> DataSourceAttributes: ...
    @overload
    def __getitem__(self, key: Literal["error"]) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, key: int) -> Tag: ...
    @overload
    def __getitem__(self, key: slice) -> list[Tag]: ...
    def __getitem__(self, key: str | int | slice) -> Any:
        """A tag by position (``conn[0]``), or ``conn["tags"]``, ``conn["attributes"]``, ``conn["error"]``."""
        if isinstance(key, str):
            if key == "tags":
                return self.tags
            if key == "attributes":
                return self.attributes
            if key == "error":
                return dict(self._error)
            raise KeyError(key)
        return self._tag_objects[key]

    def __len__(self) -> int:
        """The number of tags."""
        return len(self.tags)

    def __iter__(self) -> Iterator[Tag]:
        """The tags as `Tag` objects: ``for tag in conn``."""
        return iter(self._tag_objects)


class Point(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One point read back by ``get_data``: timestamp ``x``, value ``y``, quality code ``q``.

    It reads like the dict the platform wrote, ``{"x": ..., "y": ..., "q": ...}``: ``p["x"]``,
    ``p.get("q")``, ``dict(p)``, and it compares equal to that dict (a ``q`` the platform left out
    reads as ``None``). It is immutable and costs a fraction of a dict, so that a million points decode
    fast; it is a `Mapping` for ``isinstance`` and can be given back to
    [`Tag.update`][data_interaction_client.Tag.update]. Build one by keyword:
    ``Point(x=1530008100000000, y=21.5, q=0)``.
    """

    # The fields are in the order of the platform's array form, [y, x, q], so that ArrayPoint can
    # decode that form straight into a Point; keyword-only, so that the order never matters to users.
    y: Any
    x: Timestamp
    q: int | None = None

    def __repr__(self) -> str:
        return f"Point(x={self.x!r}, y={self.y!r}, q={self.q!r})"

    def __getitem__(self, key: str) -> Any:
        if key == "x":
            return self.x
        if key == "y":
            return self.y
        if key == "q":
            return self.q
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` ("x", "y" or "q"), or ``default`` for any other key."""
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self) -> tuple[str, str, str]:
        """``("x", "y", "q")``."""
        return _POINT_KEYS

    def __iter__(self) -> Iterator[str]:
        return iter(_POINT_KEYS)

    def __len__(self) -> int:
        return 3

    def __contains__(self, key: object) -> bool:
        return key in _POINT_KEYS

    def to_dict(self) -> PointDict:
        """The point as a dict ``{"x": ..., "y": ..., "q": ...}``."""
        return {"x": self.x, "y": self.y, "q": self.q}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Point):
            return self.x == other.x and self.y == other.y and self.q == other.q
        if isinstance(other, dict):
            return (
                other.keys() <= _POINT_KEY_SET
                and "x" in other
                and "y" in other
                and self.x == other["x"]
                and self.y == other["y"]
                and self.q == other.get("q")
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.x, self.y, self.q))


class ArrayPoint(Point, frozen=True, array_like=True):
    """A point the platform wrote in its array form ``[y, x, q]``: a `Point` in every way."""


_POINT_KEYS: tuple[str, str, str] = ("x", "y", "q")
_POINT_KEY_SET = frozenset(_POINT_KEYS)
Mapping.register(Point)


class Columns(NamedTuple):
    """The points of a `TagHistory` as three lists of the same length, oldest first."""

    x: list[Timestamp]
    y: list[Any]
    q: list[int | None]


# repr(TagHistory) shows every point up to this many; a longer history shows its first and last
# _REPR_EDGE points and the count, as numpy and pandas do, so that a log line or a REPL stays short.
_REPR_MAX_POINTS = 10
_REPR_EDGE = 3


@attrs.frozen(repr=False)
class TagHistory:
    """The points of one tag read by ``get_data``, sorted by ``x``.

    ``exceed`` is true when the period held more than ``max_count`` points and the platform thinned
    them. ``points`` are [`Point`][data_interaction_client.Point] objects, read like the platform's dicts:
    ``p["x"]``, ``p["y"]``, ``p["q"]``; `to_columns` and `to_pandas` give them by column.
    """

    tag_id: TagId
    points: list[Point]
    exceed: bool

    def __len__(self) -> int:
        """The number of points."""
        return len(self.points)

    def __repr__(self) -> str:
        """The history, showing only its first and last few points (and their count) when it is long."""
        points = self.points
        if len(points) <= _REPR_MAX_POINTS:
            shown = repr(points)
        else:
            head = ", ".join(map(repr, points[:_REPR_EDGE]))
            tail = ", ".join(map(repr, points[-_REPR_EDGE:]))
            shown = f"[{head}, ..., {tail}] ({len(points)} points)"
        return f"TagHistory(tag_id={self.tag_id!r}, points={shown}, exceed={self.exceed!r})"

    def __iter__(self) -> Iterator[Point]:
        """The points, oldest first: ``for point in history``."""
        return iter(self.points)

    @overload
    def __getitem__(self, index: int) -> Point: ...
    @overload
    def __getitem__(self, index: slice) -> list[Point]: ...
    def __getitem__(self, index: int | slice) -> Point | list[Point]:
        """A point by position (``history[-1]`` is the latest), or a list of them by slice."""
        return self.points[index]

    def to_columns(self) -> Columns:
        """The points as three lists, ``x``, ``y`` and ``q``: ``xs, ys, qs = history.to_columns()``."""
        points = self.points
        try:
            return Columns(list(map(_GET_X, points)), list(map(_GET_Y, points)), list(map(_GET_Q, points)))
        except AttributeError:  # points that are not Point objects: read them as mappings
            return Columns([p["x"] for p in points], [p["y"] for p in points], [p.get("q") for p in points])

    def to_pandas(self, *, x_as: Literal["datetime", "us"] = "datetime") -> pandas.DataFrame:
        """The points as a pandas ``DataFrame`` with the columns ``x``, ``y`` and ``q``.

        ``x`` holds timezone-aware UTC datetimes, or integer microseconds with ``x_as="us"``; ``q`` is
        a nullable integer column. Needs pandas: ``pip install 'data-interaction-client[pandas]'``.
        """
        from ._frames import history_frame

        return history_frame(self, backend="pandas", x_as=x_as)

    def to_polars(self, *, x_as: Literal["datetime", "us"] = "datetime") -> polars.DataFrame:
        """The points as a polars ``DataFrame``, as `to_pandas`.

        Needs polars: ``pip install 'data-interaction-client[polars]'``.
        """
        from ._frames import history_frame

        frame: polars.DataFrame = history_frame(self, backend="polars", x_as=x_as)
        return frame

    def plot(self, **options: Any) -> Figure:
        """Draw the points against UTC time; return the matplotlib ``Figure``.

        The options are those of [`plot_histories`][data_interaction_client.plot_histories] (``path``, ``ax``,
        ``step``, ``categorical``, ``source``, ``title``, ``gap``, ``hold_last``). Needs matplotlib:
        ``pip install 'data-interaction-client[plot]'``.
        """
        from ._plot import plot_histories

        return plot_histories([self], **options)


_GET_X = operator.attrgetter("x")
_GET_Y = operator.attrgetter("y")
_GET_Q = operator.attrgetter("q")
