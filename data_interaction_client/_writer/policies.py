"""Tag policies of the writer, from the platform's tag attributes: scale and deadband.

- **scale**: a numeric value (an int or a float, not a bool) is multiplied by ``smtTagValueScale``
  before it is stored and sent (the platform family defines that the connector applies it). An int
  times an integral scale stays an int; otherwise the value becomes a float, which must be finite.
- **deadband** (exception reporting, as historians' collectors do it): a point is dropped when its
  value differs from the last point *kept* by less than ``smtTagMaxDev``; kept are the first point,
  any change of quality (``None`` and ``0`` both mean good), a point at least ``max_interval`` seconds
  (by the points' timestamps) after the last one kept (a heartbeat), and for a value that is not a
  number, any change of value. The deadband compares scaled values (``smtTagMaxDev`` is in the tag's
  units on the platform). A tag without the attribute is not affected.

The state of the deadband lives in memory: after a restart the first point of each tag is kept.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .._exceptions import InvalidPointError
from .._tag import TagAttributes
from .._types import PointDict, TagId, datetime_to_micros

__all__ = ["TagPolicy", "make_policy"]


class TagPolicy:
    """What to do to one tag's points before they are kept; the deadband's memory of the last kept."""

    __slots__ = ("_has_last", "_last_q", "_last_x", "_last_y", "heartbeat", "max_dev", "scale", "scale_int")

    def __init__(self, scale: float | None, max_dev: float | None, heartbeat: int | None) -> None:
        self.scale = scale
        self.scale_int = int(scale) if scale is not None and scale.is_integer() else None
        self.max_dev = max_dev
        self.heartbeat = heartbeat  # microseconds
        self._has_last = False
        self._last_y: Any = None
        self._last_q = 0
        self._last_x: int | None = None

    def apply(self, tag_id: TagId, index: int | None, point: PointDict) -> PointDict | None:
        """The point to keep (a new dict when scaled), or ``None`` when the deadband drops it."""
        if self.scale is not None:
            point = self._scaled(tag_id, index, point)
        if self.max_dev is not None and not self._keep(point):
            return None
        return point

    def apply_many(self, tag_id: TagId, points: list[PointDict]) -> tuple[list[PointDict], int]:
        """The points to keep and how many the deadband dropped."""
        kept = []
        for index, point in enumerate(points):
            result = self.apply(tag_id, index, point)
            if result is not None:
                kept.append(result)
        return kept, len(points) - len(kept)

    def _scaled(self, tag_id: TagId, index: int | None, point: PointDict) -> PointDict:
        y = point["y"]
        kind = type(y)
        if kind is not int and kind is not float:
            return point
        assert self.scale is not None
        if kind is int and self.scale_int is not None:
            value: int | float = y * self.scale_int
        else:
            value = y * self.scale
            if not math.isfinite(value):
                raise InvalidPointError(
                    tag_id, index, "y", f"{y!r} times the tag's scale {self.scale!r} is not a finite number"
                )
        scaled: PointDict = {"x": point["x"], "y": value}
        if "q" in point:
            scaled["q"] = point["q"]
        return scaled

    def _keep(self, point: PointDict) -> bool:
        y = point["y"]
        q = point.get("q") or 0
        x = _micros(point["x"])
        keep = (
            not self._has_last
            or q != self._last_q
            or (
                self.heartbeat is not None
                and x is not None
                and self._last_x is not None
                and x - self._last_x >= self.heartbeat
            )
            or _changed(y, self._last_y, self.max_dev)
        )
        if keep:
            self._has_last = True
            self._last_y = y
            self._last_q = q
            self._last_x = x
        return keep


def _changed(y: Any, last: Any, max_dev: float | None) -> bool:
    """Whether ``y`` differs enough from the last kept value to be kept."""
    if _is_number(y) and _is_number(last):
        return bool(abs(y - last) >= (max_dev or 0.0))
    return type(y) is not type(last) or bool(y != last)


def _is_number(value: object) -> bool:
    return type(value) is int or type(value) is float


def _micros(x: object) -> int | None:
    """A wire timestamp as microseconds (an ISO string is parsed), ``None`` if it cannot be."""
    if type(x) is int:
        return x
    if type(x) is str:
        try:
            return datetime_to_micros(datetime.fromisoformat(x))
        except ValueError:
            return None
    return None


def make_policy(
    attributes: TagAttributes | None, *, scale: bool, deadband: bool, max_interval: float | None
) -> TagPolicy | None:
    """The policy for a tag with these attributes, or ``None`` when it changes nothing."""
    if attributes is None:
        return None
    factor = attributes.scale if scale else None
    if factor == 1:
        factor = None  # nothing to do
    max_dev = attributes.max_deviation if deadband else None
    if max_dev is not None and not (math.isfinite(max_dev) and max_dev >= 0):
        max_dev = None
    if factor is None and max_dev is None:
        return None
    heartbeat = None if max_interval is None else round(max_interval * 1_000_000)
    return TagPolicy(factor, max_dev, heartbeat)
