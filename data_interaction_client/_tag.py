"""Tags: a tag's id and attributes, and the buffer of points waiting to be sent."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ._columns import check_columns
from ._points import check_points, point
from ._types import Attributes, PointDict, TagId, TagIdLike, TimestampLike, tag_id_from, tag_id_to_wire

__all__ = ["Tag", "TagAttributes", "ValueType"]


class ValueType(enum.IntEnum):
    """The kind of value a tag holds (the ``smtTagValueTypeCode`` attribute)."""

    INTEGER = 0
    FLOAT = 1
    STRING = 2
    DISCRETE = 3
    JSON = 4


class TagAttributes(Attributes):
    """A tag's attributes as the platform gives them: a read-only mapping with typed accessors.

    The known attributes have properties; any other key is read as from a dict::

        tag.attributes.value_type        # ValueType.FLOAT
        tag.attributes["smtTagMaxDev"]   # 0.5
    """

    __slots__ = ()

    @property
    def value_type(self) -> ValueType | None:
        """``smtTagValueTypeCode`` as a :class:`ValueType`, or ``None`` when absent or unknown."""
        code = self._data.get("smtTagValueTypeCode")
        if type(code) is not int or code not in ValueType._value2member_map_:
            return None
        return ValueType(code)

    @property
    def scale(self) -> float | None:
        """``smtTagValueScale``: the scale factor of the value."""
        return self._number("smtTagValueScale")

    @property
    def max_deviation(self) -> float | None:
        """``smtTagMaxDev``: the deadband; a change smaller than this need not be sent."""
        return self._number("smtTagMaxDev")

    @property
    def source(self) -> Any:
        """``smtTagSource``, where the connector reads the value, parsed from its JSON text.

        The raw text when it is not JSON; ``None`` when absent.
        """
        return self._json_text("smtTagSource")

    @property
    def step(self) -> bool:
        """``smtStep``: true for a step tag, whose value holds until the next point."""
        return self._data.get("smtStep") is True

    def _number(self, key: str) -> float | None:
        value = self._data.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class Tag:
    """A tag (named time series) and the points buffered for it until the platform accepts them.

    Fill the buffer with :meth:`update` (replaces it), :meth:`add_data` (one point) or :meth:`extend`,
    then send it with ``client.set_data(tag)``; the points are removed from the buffer only once the
    platform has accepted them. Every point is checked when it is given: a bad one raises
    :class:`InvalidPointError` and leaves the buffer as it was. Filling a tag from several threads
    while another sends it is safe.

    A point is a dict ``{"x": timestamp, "y": value, "q": quality}`` (``q`` optional) or a tuple
    ``(x, y)`` / ``(x, y, q)``; the timestamp is integer microseconds since the epoch, an ISO 8601
    string (no zone means UTC) or a ``datetime`` (naive means UTC). Dicts already in that form are kept
    as given, not copied: do not change them afterwards. ::

        tag = Tag("temperature")
        tag.update([{"x": "2018-06-26 10:15:00", "y": 1}, {"x": 1530008101000000, "y": 2}])
        tag.add_data(datetime.now(UTC), 21.5)
    """

    __slots__ = ("_attributes", "_id", "_lock", "_points", "_sending", "_wire_id")

    def __init__(self, id: TagIdLike, attributes: Mapping[str, Any] | None = None) -> None:
        self._id: TagId = tag_id_from(id)
        self._wire_id = tag_id_to_wire(self._id)
        self._attributes = attributes if isinstance(attributes, TagAttributes) else TagAttributes(attributes)
        self._lock = threading.Lock()
        self._points: list[PointDict] = []
        self._sending = False

    @property
    def id(self) -> TagId:
        """The tag's id: a string, or a :class:`TagPath` for the ``{tagName, parentObjectId}`` form."""
        return self._id

    @property
    def attributes(self) -> TagAttributes:
        """The tag's attributes, as the platform gave them on connect."""
        return self._attributes

    @property
    def points(self) -> list[PointDict]:
        """A copy of the buffered points, oldest first."""
        with self._lock:
            return list(self._points)

    def __len__(self) -> int:
        """The number of buffered points."""
        return len(self._points)

    def __repr__(self) -> str:
        return f"Tag({self._id!r}, buffered={len(self._points)})"

    def update(self, points: Iterable[Any]) -> None:
        """Replace the buffered points with ``points``, after checking every one of them."""
        checked = check_points(self._id, points)
        with self._lock:
            self._points = checked

    def extend(self, points: Iterable[Any]) -> None:
        """Append ``points`` to the buffer, after checking every one of them."""
        checked = check_points(self._id, points)
        with self._lock:
            self._points.extend(checked)

    def update_columns(self, x: Any, y: Any, q: Any = 0) -> None:
        """Replace the buffered points with the points given by column, after checking every one.

        ``x`` (timestamps), ``y`` (values) and ``q`` (quality codes) are sequences of the same length,
        numpy arrays or pandas Series; ``q`` may also be one integer for every point (default 0, good,
        as for :meth:`add_data`), or ``None`` for points without a quality code. Timestamps are given
        as for :meth:`update`, or as a ``datetime64`` array (naive means UTC). Numpy arrays of plain
        dtypes are checked vectorized::

            tag.update_columns(df["time"], df["value"])
        """
        checked = check_columns(self._id, x, y, q)
        with self._lock:
            self._points = checked

    def extend_columns(self, x: Any, y: Any, q: Any = 0) -> None:
        """Append points given by column to the buffer; see :meth:`update_columns`."""
        checked = check_columns(self._id, x, y, q)
        with self._lock:
            self._points.extend(checked)

    def add_data(self, x: TimestampLike, y: Any, q: int | None = 0) -> None:
        """Append one point: timestamp ``x``, value ``y`` and quality code ``q`` (0: good)."""
        checked = point(self._id, x, y, q)
        with self._lock:
            self._points.append(checked)

    def clear_data(self) -> None:
        """Drop every buffered point."""
        with self._lock:
            self._points = []
