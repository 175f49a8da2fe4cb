"""The history rules of the platform family: what ``/smt/data/get`` answers for one tag.

- Neither ``from`` nor ``to``: one point stamped now, the value at now. Only ``to``: one point, the value
  at ``to``. With ``actual: true`` these give the last stored point at or before that time instead.
- ``from`` (``to`` defaults to now): the value at ``from``, the stored points strictly inside the period,
  the value at ``to``. ``from`` after ``to`` gives no point.
- The value at ``t``: the stored point at ``t``; before all data ``y: null, q: null``; past the last point
  the last value again; between two points the linear interpolation for numbers (``q`` of the previous
  point), the previous value for a step tag or a non-numeric value. Interpolation never bridges a point
  whose ``q`` is not 0/null: the value there is ``null`` with that ``q``.
- ``actual: true``: the stored points in ``[from, to]`` only.
- ``timeStep``: the values at ``from, from + step, ...`` up to ``to`` (``actual`` has no effect then).
  A grid of more than [`GRID_LIMIT`][data_interaction_client.emulator.GRID_LIMIT] points is thinned evenly to
  that many and ``exceed`` is set.
- ``value``: only the points whose ``y`` equals it (or one of them, given a list); JSON equality, so
  ``1`` equals ``1.0`` but not ``true``.
- ``maxCount``: more points than that are thinned to evenly spaced ones, keeping the first and the last,
  and ``exceed`` is set. As in the platform family, an answer item carries ``exceed`` only when the
  request had ``maxCount`` (absent means false), or when it is true (a ``timeStep`` grid thinned to
  [`GRID_LIMIT`][data_interaction_client.emulator.GRID_LIMIT] without ``maxCount``): an answer never hides
  that it was thinned.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ._json import loads
from ._store import Row
from ._timestamps import format_iso

GRID_LIMIT = 100_000
"""The most points a ``timeStep`` grid yields per tag; a larger grid is thinned evenly (``exceed: true``)."""

_GOOD = (0, None)


@dataclass(frozen=True)
class HistoryQuery:
    """A validated ``GetDataRequest``, timestamps in microseconds."""

    start: int | None = None
    end: int | None = None
    max_count: int | None = None
    time_step: int | None = None
    actual: bool = False
    iso: bool = False
    values: tuple[Any, ...] | None = None


def json_equal(left: Any, right: Any) -> bool:
    """Compare two JSON values: numbers by value, but a boolean equals only a boolean."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    return type(left) is type(right) and bool(left == right)


def thin_indices(count: int, limit: int) -> list[int]:
    """Indices of ``limit`` evenly spaced items among ``count``, the first and last kept (all if fewer)."""
    if count <= limit:
        return list(range(count))
    if limit == 1:
        return [0]
    span, gaps = count - 1, limit - 1
    return [(2 * k * span + gaps) // (2 * gaps) for k in range(limit)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_NULL = "null"


class _Series:
    """The stored points around a period, to compute the value of a tag at any time inside it.

    A value is a row ``(x, y as JSON text, q)``, computed or stored alike.
    """

    def __init__(self, rows: Sequence[Row], step: bool) -> None:
        self.rows = rows
        self.xs = [row[0] for row in rows]
        self.step = step

    def value_at(self, t: int) -> Row:
        index = bisect_right(self.xs, t)
        if index == 0:
            return (t, _NULL, None)  # before all data
        previous = self.rows[index - 1]
        if previous[0] == t or index == len(self.rows) or self.step:
            return (t, previous[1], previous[2])  # a stored point, past the last one, or a step tag
        following = self.rows[index]
        if previous[2] not in _GOOD:
            return (t, _NULL, previous[2])
        if following[2] not in _GOOD:
            return (t, _NULL, following[2])
        y0, y1 = loads(previous[1]), loads(following[1])
        if not (_is_number(y0) and _is_number(y1)):
            return (t, previous[1], previous[2])
        x0, x1 = previous[0], following[0]
        try:
            y = y0 + (y1 - y0) * (t - x0) / (x1 - x0)
        except OverflowError:  # integers beyond a float's range: no interpolation
            return (t, previous[1], previous[2])
        if not math.isfinite(y):
            return (t, previous[1], previous[2])
        return (t, orjson.dumps(y).decode(), previous[2])

    def inside(self, start: int, end: int, closed: bool) -> Sequence[Row]:
        """The stored points within ``[start, end]`` (closed) or ``(start, end)``."""
        if closed:
            return self.rows[bisect_left(self.xs, start) : bisect_right(self.xs, end)]
        return self.rows[bisect_right(self.xs, start) : bisect_left(self.xs, end)]


def compute(
    query: HistoryQuery,
    window: Callable[[int, int], Sequence[Row]],
    step: bool,
    now: int,
    *,
    arrays: bool = False,
) -> tuple[list[Any], bool]:
    """Answer one tag: its points (y as ``orjson.Fragment``) and the ``exceed`` flag.

    Points are ``{"x", "y", "q"}`` dicts, or ``[y, x, q]`` lists with ``arrays`` (the platform family's
    documented form).
    """
    exceed = False
    values: Sequence[Row]
    if query.start is None:
        moment = now if query.end is None else query.end
        series = _Series(window(moment, moment), step)
        values = series.inside(0, moment, closed=True)[-1:] if query.actual else [series.value_at(moment)]
    else:
        start = query.start
        end = now if query.end is None else query.end
        if start > end:
            values = []
        else:
            series = _Series(window(start, end), step)
            if query.time_step is not None:
                count = (end - start) // query.time_step + 1
                cap = GRID_LIMIT
                if query.values is None and query.max_count is not None:
                    cap = min(cap, query.max_count)
                exceed = count > cap
                values = [series.value_at(start + k * query.time_step) for k in thin_indices(count, cap)]
            elif query.actual:
                values = series.inside(start, end, closed=True)
            else:
                values = [series.value_at(start), *series.inside(start, end, closed=False)]
                if end > start:
                    values.append(series.value_at(end))
    if query.values is not None:
        wanted = query.values
        values = [row for row in values if any(json_equal(loads(row[1]), w) for w in wanted)]
    if query.max_count is not None and len(values) > query.max_count:
        values = [values[index] for index in thin_indices(len(values), query.max_count)]
        exceed = True
    fragment = orjson.Fragment
    if arrays:
        if query.iso:
            return [[fragment(y), format_iso(x), q] for x, y, q in values], exceed
        return [[fragment(y), x, q] for x, y, q in values], exceed
    if query.iso:
        return [{"x": format_iso(x), "y": fragment(y), "q": q} for x, y, q in values], exceed
    return [{"x": x, "y": fragment(y), "q": q} for x, y, q in values], exceed
