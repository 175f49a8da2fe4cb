"""Tags: a tag's id and attributes, and the buffer of points waiting to be sent."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._columns import check_columns
from ._constants import MAX_QUALITY, MAX_TIMESTAMP, MIN_QUALITY, SMALL_TIMESTAMP
from ._exceptions import TagBusyError
from ._points import PointRules, Precision, check_points, point, shown_points
from ._types import Attributes, PointDict, TagId, TagIdLike, TimestampLike, tag_id_from, tag_id_to_wire

# Integers orjson can write: signed or unsigned 64-bit.
_MIN_INT: Final = -(2**63)
_MAX_INT: Final = 2**64 - 1

# One lock guards the buffers of every tag. Each holder does a few list operations, so contention
# costs next to nothing, while a send of many tags claims and settles them all under one
# acquisition instead of one per tag (a send of 100 tags of one point each is dominated by such
# per-tag costs). Nothing that could take it again runs while it is held (no user code, no I/O).
_BUFFERS: Final = threading.Lock()
_acquire: Final = _BUFFERS.acquire
_release: Final = _BUFFERS.release

__all__ = ["Tag", "TagAttributes", "ValueType", "claim_tags", "settle_tags"]


class ValueType(enum.IntEnum):
    """The kind of value a tag holds (the ``smtTagValueTypeCode`` attribute)."""

    INTEGER = 0
    FLOAT = 1
    STRING = 2
    DISCRETE = 3
    JSON = 4


class TagAttributes(Attributes):
    """A tag's attributes as the platform gives them: a read-only mapping with typed accessors.

    The known attributes have properties; any other key is read as from a dict:

    ```python
    tag.attributes.value_type        # ValueType.FLOAT
    tag.attributes["smtTagMaxDev"]   # 0.5
    ```
    """

    __slots__ = ()

    @property
    def value_type(self) -> ValueType | None:
        """``smtTagValueTypeCode`` as a `ValueType`, or ``None`` when absent or unknown."""
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

    Fill the buffer with `update` (replaces it), `add_data` (one point) or `extend`,
    then send it with ``client.set_data(tag)``; the points are removed from the buffer only once the
    platform has accepted them. Every point is checked when it is given: a bad one raises
    [`InvalidPointError`][data_interaction_client.InvalidPointError] and leaves the buffer as it was. Filling
    a tag from several threads while another sends it is safe.

    A point is a dict ``{"x": timestamp, "y": value, "q": quality}`` (``q`` optional) or a tuple
    ``(x, y)`` / ``(x, y, q)``; the timestamp is integer microseconds since the epoch (or in the unit
    ``precision`` gives: ``"s"``, ``"ms"``, ``"us"``, ``"ns"``), an ISO 8601 string (no zone means
    UTC) or a ``datetime`` (naive means UTC). Dicts already in that form are kept as given, not
    copied: do not change them afterwards. A point given without ``q`` has none (``null``, a good
    value), whichever way it is given.:

    ```python
    tag = Tag("temperature")
    tag.update([{"x": "2018-06-26 10:15:00", "y": 1}, {"x": 1530008101000000, "y": 2}])
    tag.add_data(datetime.now(UTC), 21.5)
    ```

    When ``attributes`` give the tag's value type (``smtTagValueTypeCode``: 0 integer, 1 float,
    2 string, 3 discrete, 4 JSON), each value is checked against it
    ([`InvalidPointError`][data_interaction_client.InvalidPointError]); ``check_values=False`` takes any JSON
    value.
    """

    # The buffer protocol, for whoever sends a tag's buffer (``set_data``, a writer):
    #
    #     points = tag._claim()      # the buffered points, taken for this send (TagBusyError if taken)
    #     ...send points...
    #     tag._settle(accepted)      # the first `accepted` went; the rest go back, before any added since
    #     tag._restore()             # none went (same as _settle(0))
    #
    # claim_tags(tags) and settle_tags(tags, accepted) do the same for many tags in one loop.
    # A claim with no points ([]) claims nothing and needs no settling. While claimed, the points stay
    # part of the tag (``points`` and ``len`` include them); update() and clear_data() drop them from
    # the tag, and settling then gives nothing back.
    __slots__ = ("_attributes", "_claimed", "_fast_y", "_id", "_points", "_rules", "_sending", "_wire_id")

    def __init__(
        self,
        id: TagIdLike,
        attributes: Mapping[str, Any] | None = None,
        *,
        precision: Precision | None = None,
        check_values: bool = True,
    ) -> None:
        self._id: TagId = tag_id_from(id)
        self._wire_id = tag_id_to_wire(self._id)
        self._attributes = attributes if isinstance(attributes, TagAttributes) else TagAttributes(attributes)
        self._rules = PointRules(
            self._id,
            value_type=self._attributes.get("smtTagValueTypeCode"),
            precision=precision,
            check_values=check_values,
        )
        self._fast_y = self._rules.fast_y  # read by every add_data: one attribute lookup less
        self._points: list[PointDict] = []  # the points not claimed: all of them, or those added since
        self._claimed: list[PointDict] | None = None  # the claimed points, while they are still the tag's
        self._sending = False  # claimed

    @property
    def id(self) -> TagId:
        """The tag's id: a string, or a `TagPath` for the ``{tagName, parentObjectId}`` form."""
        return self._id

    @property
    def attributes(self) -> TagAttributes:
        """The tag's attributes, as the platform gave them on connect."""
        return self._attributes

    @property
    def precision(self) -> Precision | None:
        """The unit of the integer timestamps given to this tag; ``None``: microseconds (the default)."""
        return self._rules.precision

    @property
    def data(self) -> list[PointDict] | None:
        """The buffered points, as `points`, or ``None`` when there is none (as the original client)."""
        return self.points or None

    @property
    def points(self) -> list[PointDict]:
        """A copy of the buffered points, oldest first, as they were given.

        A timestamp given as a string of digits (``"563"``) is shown as given, though sent as the
        integer it stands for.
        """
        with _BUFFERS:
            claimed = self._claimed
            points = claimed + self._points if claimed else list(self._points)
        return shown_points(points) if self._rules.given_digits else points

    def __len__(self) -> int:
        """The number of buffered points."""
        claimed = self._claimed
        return len(self._points) + (len(claimed) if claimed else 0)

    def __repr__(self) -> str:
        return f"Tag({self._id!r}, buffered={len(self)})"

    def _claim(self) -> list[PointDict]:
        """Take the buffered points for a send; ``[]`` (and no claim) when there are none.

        Raises [`TagBusyError`][data_interaction_client.TagBusyError] when another send holds the tag. Every
        claim with points is ended by `_settle` or `_restore`, whatever happens to the send.
        """
        with _BUFFERS:
            if self._sending:
                raise TagBusyError(
                    f"tag {self._id!r} is already being sent by another call (set_data or a writer); "
                    "send each tag from one place at a time"
                )
            points = self._points
            if points:
                self._points = []
                self._claimed = points
                self._sending = True
            return points

    def _settle(self, accepted: int) -> None:
        """End the claim: the first ``accepted`` claimed points went; the rest go back, first in line."""
        with _BUFFERS:
            claimed = self._claimed
            if claimed is not None and accepted < len(claimed):
                rest = claimed[accepted:] if accepted else claimed
                self._points = rest + self._points if self._points else rest
            self._claimed = None
            self._sending = False

    def _restore(self) -> None:
        """End the claim with nothing sent: the claimed points go back, before any added since."""
        self._settle(0)

    def update(self, points: Iterable[Any]) -> None:
        """Replace the buffered points with ``points``, after checking every one of them."""
        checked = check_points(self._rules, points)
        with _BUFFERS:
            self._points = checked
            self._claimed = None

    def extend(self, points: Iterable[Any]) -> None:
        """Append ``points`` to the buffer, after checking every one of them."""
        checked = check_points(self._rules, points)
        with _BUFFERS:
            self._points.extend(checked)

    def update_columns(self, x: Any, y: Any, q: Any = None) -> None:
        """Replace the buffered points with the points given by column, after checking every one.

        ``x`` (timestamps), ``y`` (values) and ``q`` (quality codes) are sequences of the same length,
        numpy arrays or pandas Series; ``q`` may also be one integer for every point, or ``None``
        (the default) for points without a quality code, as everywhere. Timestamps are given
        as for `update`, or as a ``datetime64`` array (naive means UTC). Numpy arrays of plain
        dtypes are checked vectorized:

        ```python
        tag.update_columns(df["time"], df["value"])
        ```
        """
        checked = check_columns(self._rules, x, y, q)
        with _BUFFERS:
            self._points = checked
            self._claimed = None

    def extend_columns(self, x: Any, y: Any, q: Any = None) -> None:
        """Append points given by column to the buffer; see `update_columns`."""
        checked = check_columns(self._rules, x, y, q)
        with _BUFFERS:
            self._points.extend(checked)

    def add_data(self, x: TimestampLike, y: Any, q: int | None = None) -> None:
        """Append one point: timestamp ``x``, value ``y`` and quality code ``q`` (``None``: none, good)."""
        ty = type(y)
        # The common case inline (a live loop calls this for every tag): an integer timestamp in
        # microseconds, a plain value of the tag's type, an integer quality; anything else is checked
        # completely by point(). The value's own check first, by its type: one comparison for a float.
        if ty is float:
            plain = y - y == 0.0  # finite
        elif ty is int:
            plain = _MIN_INT <= y <= _MAX_INT
        elif ty is str:
            plain = y.isascii()
        else:
            plain = True  # bool and None; any other type is not in _fast_y
        if (
            plain
            and type(x) is int
            and SMALL_TIMESTAMP <= x <= MAX_TIMESTAMP
            and ty in self._fast_y
            and (q is None or (type(q) is int and MIN_QUALITY <= q <= MAX_QUALITY))
        ):
            checked: PointDict = {"x": x, "y": y, "q": q}
        else:
            checked = point(self._rules, x, y, q)
        # acquire/release rather than ``with``: the with statement's method lookups and __exit__ call
        # cost about as much as the lock itself, on a call made for every point of a live loop.
        _acquire()
        try:
            self._points.append(checked)
        finally:
            _release()

    def clear_data(self) -> None:
        """Drop every buffered point."""
        with _BUFFERS:
            self._points = []
            self._claimed = None


# The buffer protocol for many tags at once, as one send takes them: the same steps as Tag._claim and
# Tag._settle, in one loop (a send of 100 tags of one point each is dominated by per-call costs).


def claim_tags(tags: list[Tag]) -> tuple[list[Tag], list[list[PointDict]]]:
    """Claim the buffered points of ``tags`` for one send; return the tags with points and their points.

    Raises [`TagBusyError`][data_interaction_client.TagBusyError] when another send holds one of them (none is
    then left claimed). Each claimed tag is ended by `settle_tags`.
    """
    claimed: list[Tag] = []
    buffers: list[list[PointDict]] = []
    busy = None
    try:
        with _BUFFERS:  # once for all the tags
            for tag in tags:
                if tag._sending:
                    busy = tag
                    break
                points = tag._points
                if points:
                    tag._points = []
                    tag._claimed = points
                    tag._sending = True
                    claimed.append(tag)
                    buffers.append(points)
        if busy is not None:
            raise TagBusyError(
                f"tag {busy._id!r} is already being sent by another call (set_data or a writer); "
                "send each tag from one place at a time"
            )
    except BaseException:
        settle_tags(claimed, [0] * len(claimed))
        raise
    return claimed, buffers


def settle_tags(tags: list[Tag], accepted: list[int] | None) -> None:
    """End the claims of ``tags``: the first ``accepted[i]`` points of each went (``None``: all did)."""
    with _BUFFERS:
        if accepted is None:  # the common case: every point went
            for tag in tags:
                tag._claimed = None
                tag._sending = False
            return
        for tag, sent in zip(tags, accepted, strict=True):
            claimed = tag._claimed
            if claimed is not None and sent < len(claimed):
                rest = claimed[sent:] if sent else claimed
                tag._points = rest + tag._points if tag._points else rest
            tag._claimed = None
            tag._sending = False
