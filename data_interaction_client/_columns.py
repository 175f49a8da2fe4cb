"""Points given by column (``Tag.update_columns``): sequences, numpy arrays or pandas Series.

Columns become the same wire dicts as any other points, so the buffer, ``set_data`` and the errors
stay those of [`Tag.update`][data_interaction_client.Tag.update]. With numpy arrays (or anything numpy turns
into an array of a plain dtype) the columns are checked vectorized and turned into Python values with
``tolist()``; anything else, or a column that fails a vectorized check, takes the per-point check, which names
the tag, the index and the field of the first bad point.
"""

from __future__ import annotations

from typing import Any

from ._constants import MAX_QUALITY, MAX_TIMESTAMP, MIN_QUALITY, SMALL_TIMESTAMP
from ._exceptions import InvalidPointError
from ._points import PointRules, check_points, rules_for
from ._types import PointDict, TagId

__all__ = ["check_columns"]


def check_columns(tag: TagId | PointRules, x: Any, y: Any, q: Any = None) -> list[PointDict]:
    """The points of the columns ``x``, ``y`` and ``q`` in wire form, or raise on the first bad one.

    ``q`` is ``None`` (the points have no quality code), one integer for every point, or a column.
    """
    rules = rules_for(tag)
    tag_id = rules.tag_id
    for name, column in (("x", x), ("y", y)):
        if isinstance(column, str | bytes) or not hasattr(column, "__len__"):
            raise InvalidPointError(
                tag_id, None, name, f"a column is a sequence or an array, not {type(column).__name__}"
            )
    size = len(x)
    if len(y) != size:
        raise InvalidPointError(tag_id, None, None, f"x has {size} values but y has {len(y)}")
    column_q = q is not None and not isinstance(q, int) and hasattr(q, "__len__")
    if column_q and len(q) != size:
        raise InvalidPointError(tag_id, None, None, f"x has {size} values but q has {len(q)}")
    if q is not None and not column_q and not _is_quality(q):
        raise InvalidPointError(tag_id, None, "q", f"a quality code is a 32-bit integer or None, not {q!r}")
    checked = _vectorized(rules, x, y, q if column_q else None)
    if checked is not None:
        xs, ys, qs = checked
        if qs is not None:
            return [{"x": a, "y": b, "q": c} for a, b, c in zip(xs, ys, qs, strict=True)]
        if q is not None:
            return [{"x": a, "y": b, "q": q} for a, b in zip(xs, ys, strict=True)]
        return [
            {
                "x": a,
                "y": b,
            }
            for a, b in zip(xs, ys, strict=True)
        ]
    xs, ys = _as_list(x), _as_list(y)
    if column_q:
        points: list[Any] = [{"x": a, "y": b, "q": c} for a, b, c in zip(xs, ys, _as_list(q), strict=True)]
    elif q is not None:
        points = [{"x": a, "y": b, "q": q} for a, b in zip(xs, ys, strict=True)]
    else:
        points = [
            {
                "x": a,
                "y": b,
            }
            for a, b in zip(xs, ys, strict=True)
        ]
    return check_points(rules, points)


def _is_quality(q: object) -> bool:
    return type(q) is int and MIN_QUALITY <= q <= MAX_QUALITY


def _as_list(column: Any) -> list[Any]:
    """A column as a list of Python values (numpy scalars become Python ones through ``tolist``)."""
    if getattr(getattr(column, "dtype", None), "kind", None) == "M" and hasattr(column, "astype"):
        column = column.astype("datetime64[us]")  # its tolist() gives datetimes (NaT: None)
    tolist = getattr(column, "tolist", None)
    if callable(tolist):
        result = tolist()
        if isinstance(result, list):
            return result
    return list(column)


# The value types each numpy kind gives (floats, signed and unsigned integers, booleans).
_KIND_TYPES = {"f": float, "i": int, "u": int, "b": bool}


def _vectorized(
    rules: PointRules, x: Any, y: Any, q: Any
) -> tuple[list[Any], list[Any], list[Any] | None] | None:
    """The columns as Python lists when numpy can check them all at once; ``None`` otherwise."""
    if not any(hasattr(column, "__array__") for column in (x, y, q)):
        return None  # plain sequences: the per-point check is as fast
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is where __array__ comes from
        return None
    xs = _timestamps(np, x, rules)
    ys = np.asarray(y)
    qs = None if q is None else np.asarray(q)
    if xs is None or xs.ndim != 1 or ys.ndim != 1:
        return None
    if xs.size and (xs.min() < SMALL_TIMESTAMP or xs.max() > MAX_TIMESTAMP):
        return None  # out of range, or to be warned about: the per-point check does both
    kind = ys.dtype.kind
    if kind == "f":
        if not np.isfinite(ys).all():
            return None
    elif kind not in "iub":
        return None  # strings (checked as text), objects, complex numbers, bytes, times: point by point
    if rules.allowed is not None and _KIND_TYPES[kind] not in rules.allowed:
        return None  # not of the tag's value type: the per-point check converts or says why
    if qs is not None:
        if qs.ndim != 1 or qs.dtype.kind not in "iu":
            return None
        if qs.size and (qs.min() < MIN_QUALITY or qs.max() > MAX_QUALITY):
            return None
    return xs.tolist(), ys.tolist(), None if qs is None else qs.tolist()


def _timestamps(np: Any, x: Any, rules: PointRules) -> Any:
    """``x`` as an int64 array of microseconds since the epoch, or ``None`` when it is not one.

    Integers are in the unit of ``rules.precision``; dates are dates.
    """
    dtype = getattr(x, "dtype", None)
    if getattr(dtype, "tz", None) is not None and hasattr(x, "dt"):
        x = x.dt.tz_convert("UTC").dt.tz_localize(None)  # a tz-aware pandas Series
    xs = np.asarray(x)
    if xs.dtype.kind == "M":
        if np.isnat(xs).any():
            return None
        return xs.astype("datetime64[us]").astype(np.int64)
    if xs.dtype.kind in "iu":
        if rules.scaled:
            limit = np.iinfo(np.int64).max // rules.factor
            if xs.size and (xs.min() < 0 or xs.max() > limit):
                return None  # out of range: the per-point check says so
            return xs.astype(np.int64) * rules.factor // rules.divisor
        return xs
    return None
