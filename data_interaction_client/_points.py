"""Checking points as they are given, fast.

A point is kept in the wire form ``{"x": ..., "y": ..., "q": ...}`` so that a send is a single
``orjson.dumps`` of the buffers. A dict that already is in that form is kept as it is (not copied); any
other accepted form (a tuple, a ``datetime`` timestamp, a numpy scalar) becomes a new dict. Anything
invalid raises [`InvalidPointError`][data_interaction_client.InvalidPointError] naming the tag, the point's
index and the field.

How one tag's points are checked is a `PointRules`: the tag's id, the values its type takes
(``smtTagValueTypeCode``) and the unit of its integer timestamps. The checks take rules or a bare tag
id (no value type, microseconds).

Values by type code (``null`` is always taken: a missing value, sent with a quality code):

- 0 integer: ``int``; a float with an integral value (``3.0``) is sent as an int; not ``bool``.
- 1 float: ``float`` or ``int``; not ``bool``.
- 2 string: ``str``.
- 3 discrete: ``int`` or ``bool`` (a state).
- 4 JSON, or no type code: any JSON value.
"""

from __future__ import annotations

import math
import operator
import os
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import repeat
from typing import Annotated, Any, Final, Literal, TypeAlias, get_args

import msgspec

from ._constants import MAX_QUALITY, MAX_TIMESTAMP, MIN_QUALITY, SMALL_TIMESTAMP
from ._exceptions import InvalidInputError, InvalidPointError, TimestampUnitWarning
from ._types import PointDict, TagId, text_problem, timestamp_problem

# Integers orjson can write: signed or unsigned 64-bit.
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**64 - 1
_NONE_TYPE: Final = type(None)
_POINT_KEYS: Final = frozenset(("x", "y", "q"))
_PLAIN_Y: Final[frozenset[type]] = frozenset((float, int, str, bool, _NONE_TYPE))
_FAST_Y: Final[dict[frozenset[type], frozenset[type]]] = {}
"""The sets ``PointRules.fast_y`` can be, each kept once."""
_DICT_GET: Final = dict.__getitem__
_MAX_FLOAT: Final = sys.float_info.max
# Where msgspec says the first refused point is: "... - at `$[123].y`".
_FAILED_INDEX: Final = re.compile(r"at `\$\[(\d+)\]")


class _FastPoint(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """What the fast check accepts; anything else takes the complete check (``check_point``).

    Floats must be finite (NaN and infinities fail the bounds), integers fit in 64 bits; a float or
    int subclass (e.g. ``numpy.float64``), a nested value or a non-integer timestamp is refused here,
    and so is a timestamp so small it may be in another unit (the complete check warns about it).
    """

    x: Annotated[int, msgspec.Meta(ge=SMALL_TIMESTAMP, le=MAX_TIMESTAMP)]
    y: (
        Annotated[float, msgspec.Meta(ge=-_MAX_FLOAT, le=_MAX_FLOAT)]
        | Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
        | str
        | bool
        | None
    )
    q: Annotated[int, msgspec.Meta(ge=MIN_QUALITY, le=MAX_QUALITY)] | None = None


_FAST_POINTS: Final = list[_FastPoint]

Precision: TypeAlias = Literal["s", "ms", "us", "ns"]
"""The unit of integer timestamps: seconds, milliseconds, microseconds (the platform's) or nanoseconds."""
PRECISIONS: Final[tuple[str, ...]] = get_args(Precision)
# Integer timestamps become microseconds as x * factor // divisor.
_SCALE: Final = {"s": (1_000_000, 1), "ms": (1_000, 1), "us": (1, 1), "ns": (1, 1_000)}
# The value types of smtTagValueTypeCode that restrict values, and the Python types they take.
_VALUE_TYPES: Final[dict[int, tuple[frozenset[type], str]]] = {
    0: (frozenset((int, _NONE_TYPE)), "integers (smtTagValueTypeCode 0)"),
    1: (frozenset((float, int, _NONE_TYPE)), "numbers (smtTagValueTypeCode 1, float)"),
    2: (frozenset((str, _NONE_TYPE)), "strings (smtTagValueTypeCode 2)"),
    3: (frozenset((int, bool, _NONE_TYPE)), "discrete states, int or bool (smtTagValueTypeCode 3)"),
}


def check_precision(precision: object) -> Precision | None:
    """``precision`` when it is one of ``"s"``, ``"ms"``, ``"us"``, ``"ns"`` or ``None``; else raise."""
    if precision is None or (type(precision) is str and precision in PRECISIONS):
        return precision  # type: ignore[return-value]
    raise InvalidInputError(
        f"precision is the unit of integer timestamps, one of {', '.join(PRECISIONS)}, not {precision!r}"
    )


class PointRules:
    """How the points of one tag are checked: its id, the values its type takes, its timestamps' unit.

    ``value_type`` is the tag's ``smtTagValueTypeCode`` (anything else, or ``check_values=False``,
    takes any JSON value). ``precision`` is the unit of integer timestamps; ``None`` means
    microseconds, with a [`TimestampUnitWarning`][data_interaction_client.TimestampUnitWarning] (once per
    rules object, so once per [`Tag`][data_interaction_client.Tag]) for a timestamp so small it is likely in
    another unit.
    """

    __slots__ = (
        "allowed",
        "divisor",
        "factor",
        "fast_y",
        "given_digits",
        "precision",
        "tag_id",
        "value_type",
        "warned",
    )

    def __init__(
        self,
        tag_id: TagId,
        *,
        value_type: object = None,
        precision: Precision | None = None,
        check_values: bool = True,
    ) -> None:
        self.tag_id = tag_id
        self.precision = check_precision(precision)
        self.factor, self.divisor = _SCALE[precision or "us"]
        kind = value_type if check_values and type(value_type) is int else None
        self.value_type: int | None = kind if kind in _VALUE_TYPES else None
        self.allowed: frozenset[type] | None = (
            None if self.value_type is None else _VALUE_TYPES[self.value_type][0]
        )
        self.warned = precision is not None  # a unit given: nothing to warn about
        #: Whether a point was given a timestamp as a string of digits (a `DigitsPoint`): only then
        #: does ``Tag.points`` look for such points to show them as given.
        self.given_digits = False
        #: The value types ``Tag.add_data`` takes without a call (an integer timestamp in microseconds):
        #: the plain JSON types the tag's type allows; none when timestamps are in another unit.
        fast_y = frozenset() if self.scaled else _PLAIN_Y if self.allowed is None else _PLAIN_Y & self.allowed
        # One set per kind, shared: a set of its own took 216 bytes for each tag (20 MB for 100,000).
        self.fast_y: frozenset[type] = _FAST_Y.setdefault(fast_y, fast_y)

    @property
    def scaled(self) -> bool:
        """Whether integer timestamps are in another unit than microseconds."""
        return self.factor != 1 or self.divisor != 1

    def micros(self, x: int) -> int:
        """The integer timestamp ``x``, in this unit, as microseconds."""
        return x * self.factor // self.divisor


@lru_cache(maxsize=4096)
def _rules_of_id(tag_id: TagId) -> PointRules:
    """The rules of a tag given by id alone (one object per id, so its unit warning comes once)."""
    return PointRules(tag_id)


def rules_for(tag: TagId | PointRules) -> PointRules:
    """``tag``'s rules: as given, or the plain rules of a tag id."""
    return tag if type(tag) is PointRules else _rules_of_id(tag)


def check_points(tag: TagId | PointRules, points: Iterable[Any]) -> list[PointDict]:
    """Check every point of ``points`` and return them in wire form, or raise on the first bad one."""
    rules = rules_for(tag)
    tag_id = rules.tag_id
    if isinstance(points, str | bytes | Mapping) or not isinstance(points, Iterable):
        raise InvalidPointError(
            tag_id, None, None, f"points must be a sequence of points, not {type(points).__name__}"
        )
    # A new list in any case: the buffer must not share the caller's list.
    given: list[Any] = points.copy() if type(points) is list else list(points)
    if rules.scaled:
        _rescale(rules, given)
    allowed = rules.allowed
    # The hot path of a bulk send: plain dicts of an integer timestamp, a number, string, bool or null
    # value and an optional integer quality are checked by msgspec and builtins, in C, without a
    # Python loop; they are kept as given. On the first point msgspec refuses (another form, or a bad
    # point), the points before it are known good and the rest take the complete check, point by
    # point, which also says what is wrong.
    start = 0
    if given:
        try:
            msgspec.convert(given, _FAST_POINTS, strict=True)
        except msgspec.ValidationError as exc:
            found = _FAILED_INDEX.search(str(exc))
            start = int(found.group(1)) if found else 0
        else:
            # msgspec also takes any Mapping, a Decimal for a float and subclasses of int and str:
            # only dicts whose y is of exactly these types are kept as given (orjson writes them as
            # they are). dict.__getitem__ refuses anything but a dict.
            try:
                value_types = set(map(type, map(_DICT_GET, given, repeat("y"))))
            except TypeError:
                value_types = {dict}
            # Strings are looked at one by one only when there are some: a lone surrogate is no JSON.
            if value_types <= _PLAIN_Y and (str not in value_types or _texts_are_json(given)):
                if allowed is None or value_types <= allowed:
                    return given
                return _check_types(rules, given)
    for index in range(start, len(given)):
        point = given[index]
        if type(point) is not dict or not _is_wire_point(point):
            given[index] = check_point(rules, index, point)
        elif point["x"] < SMALL_TIMESTAMP:
            warn_small_timestamp(rules, point["x"])
    return given if allowed is None else _check_types(rules, given)


def _check_types(rules: PointRules, points: list[Any]) -> list[PointDict]:
    """Check every value of the wire points ``points`` against the tag's value type (in place)."""
    allowed = rules.allowed
    assert allowed is not None
    for index, value in enumerate(map(_DICT_GET, points, repeat("y"))):
        if type(value) not in allowed:
            points[index] = _typed(rules, index, points[index])
    return points


def _typed(rules: PointRules, index: int | None, point: PointDict) -> PointDict:
    """The wire point whose value is not of the tag's type: an integral float for an integer tag, or raise."""
    value = point["y"]
    if rules.value_type == 0 and type(value) is float and value.is_integer():
        return {**point, "y": int(value)}
    kind = rules.value_type
    assert kind is not None
    raise InvalidPointError(
        rules.tag_id,
        index,
        "y",
        f"the tag holds {_VALUE_TYPES[kind][1]}, not {type(value).__name__}: {value!r} "
        "(check_values=False sends any JSON value)",
    )


def _rescale(rules: PointRules, points: list[Any]) -> None:
    """Turn the integer timestamps of ``points`` into microseconds, in new points (in place)."""
    for index, point in enumerate(points):
        if type(point) is dict and "x" in point:
            x = point["x"]
            if not isinstance(x, bool) and hasattr(x, "__index__"):
                points[index] = {**point, "x": rules.micros(operator.index(x))}
        elif isinstance(point, tuple | list) and point:
            x = point[0]
            if not isinstance(x, bool) and hasattr(x, "__index__"):
                points[index] = (rules.micros(operator.index(x)), *point[1:])


def _texts_are_json(points: list[Any]) -> bool:
    """Whether every string value can be written as JSON (no lone surrogates); quick for ASCII."""
    return all(
        y.isascii() or text_problem(y) is None for y in map(_DICT_GET, points, repeat("y")) if type(y) is str
    )


def _is_wire_point(point: dict[Any, Any]) -> bool:
    """Whether ``point`` is a dict of the common wire form, to be kept as it is (a quick check)."""
    size = len(point)
    if not (size == 2 or (size == 3 and "q" in point)):
        return False
    x = point.get("x", point)
    y = point.get("y", point)
    q = point.get("q")
    ty = type(y)
    return (
        type(x) is int
        and 0 <= x <= MAX_TIMESTAMP
        and (
            (ty is float and y - y == 0.0)
            or (ty is int and MIN_INT <= y <= MAX_INT)
            or (ty is str and y.isascii())
            or ty is bool
            or ty is _NONE_TYPE
        )
        and (q is None or (type(q) is int and MIN_QUALITY <= q <= MAX_QUALITY))
    )


def check_point(tag: TagId | PointRules, index: int | None, point: object) -> PointDict:
    """Check one point of any accepted form and return it in wire form (its timestamp in microseconds)."""
    rules = rules_for(tag)
    tag_id = rules.tag_id
    if isinstance(point, Mapping):
        unknown = set(point) - _POINT_KEYS
        if unknown:
            raise InvalidPointError(
                tag_id, index, None, f"unknown keys {sorted(map(str, unknown))}: a point has only x, y and q"
            )
        for key in ("x", "y"):
            if key not in point:
                raise InvalidPointError(tag_id, index, key, "is missing")
        x, y, q = point["x"], point["y"], point.get("q")
        has_q = "q" in point
    elif isinstance(point, tuple | list):
        if not 2 <= len(point) <= 3:
            raise InvalidPointError(
                tag_id, index, None, f"a point given as a sequence is (x, y) or (x, y, q), not {point!r}"
            )
        x, y = point[0], point[1]
        q = point[2] if len(point) == 3 else None
        has_q = len(point) == 3
    else:
        raise InvalidPointError(
            tag_id,
            index,
            None,
            f"a point is a dict {{'x': ..., 'y': ..., 'q': ...}} or a tuple (x, y[, q]), "
            f"not {type(point).__name__}",
        )
    given_x = x
    if type(x) is str and x.isdigit() and x.isascii():
        x = rules.micros(int(x))  # the integer it stands for, in the tag's unit (see DigitsPoint)
    wire_x, problem = timestamp_problem(x)
    if problem is not None:
        raise InvalidPointError(tag_id, index, "x", problem)
    _note_unit(rules, x, wire_x)
    wire_y = _json_value(tag_id, index, y, "y")
    wire_q = _quality(tag_id, index, q)
    if type(point) is dict and wire_x is given_x and wire_y is y and wire_q is q:
        return point  # type: ignore[return-value]
    result: PointDict = {"x": wire_x, "y": wire_y}  # type: ignore[typeddict-item]
    if has_q:
        result["q"] = wire_q
    return result if given_x is x else _digits_point(rules, result, given_x)


def point(tag: TagId | PointRules, x: object, y: object, q: object) -> PointDict:
    """Check the point that ``Tag.add_data(x, y, q)`` is given and return it in wire form."""
    rules = tag if type(tag) is PointRules else rules_for(tag)
    allowed = rules.allowed
    # The common case first, inline: an integer timestamp, a plain value and an integer quality.
    if type(x) is int and SMALL_TIMESTAMP <= x <= MAX_TIMESTAMP and rules.factor == rules.divisor:
        ty = type(y)
        if (
            (ty is float and y - y == 0.0)  # type: ignore[operator]
            or (ty is int and MIN_INT <= y <= MAX_INT)  # type: ignore[operator]
            or (ty is str and y.isascii())  # type: ignore[attr-defined]
            or ty is bool
            or ty is _NONE_TYPE
        ) and (
            (q is None or (type(q) is int and MIN_QUALITY <= q <= MAX_QUALITY))
            and (allowed is None or ty in allowed)
        ):
            return {"x": x, "y": y, "q": q}
    tag_id = rules.tag_id
    given_x = x
    if type(x) is str and x.isdigit() and x.isascii():
        x = int(x)  # the integer it stands for, scaled below as any integer (see DigitsPoint)
    if rules.scaled and not isinstance(x, bool) and hasattr(x, "__index__"):
        x = rules.micros(operator.index(x))
    wire_x, problem = timestamp_problem(x)
    if problem is not None:
        raise InvalidPointError(tag_id, None, "x", problem)
    _note_unit(rules, x, wire_x)
    result: PointDict = {"x": wire_x, "y": _json_value(tag_id, None, y, "y")}  # type: ignore[typeddict-item]
    result["q"] = _quality(tag_id, None, q)
    if allowed is not None and type(result["y"]) not in allowed:
        result = _typed(rules, None, result)
    return result if type(given_x) is not str or given_x is x else _digits_point(rules, result, given_x)


class DigitsPoint(dict[str, Any]):
    """A point whose timestamp was given as a string of digits, such as ``"1530035820000000"``.

    The original client sent its points in a query string, where ``"563"`` and ``563`` were the same
    integer; here such a string is that integer count of microseconds (in the tag's ``precision``,
    with the same unit warning). The dict holds the point in wire form, so that a send writes the
    integer; ``given_x`` is the string, so that ``Tag.data`` shows the point as it was given.
    """

    __slots__ = ("given_x",)

    given_x: str

    def shown(self) -> PointDict:
        """The point as it was given: its timestamp the string of digits."""
        shown: PointDict = {**self, "x": self.given_x}  # type: ignore[typeddict-item]
        return shown


def _digits_point(rules: PointRules, point: PointDict, given_x: str) -> PointDict:
    """``point`` as a `DigitsPoint` that remembers the string of digits ``given_x``."""
    kept = DigitsPoint(point)
    kept.given_x = given_x
    rules.given_digits = True
    return kept  # type: ignore[return-value]


def shown_points(points: list[PointDict]) -> list[PointDict]:
    """``points`` as they were given: a `DigitsPoint` with its string of digits (a new list)."""
    return [point.shown() if type(point) is DigitsPoint else point for point in points]


def _quality(tag_id: TagId, index: int | None, q: object) -> int | None:
    if q is None:
        return None
    if isinstance(q, bool) or not hasattr(q, "__index__"):
        raise InvalidPointError(
            tag_id, index, "q", f"a quality code is an integer or None, not {type(q).__name__}: {q!r}"
        )
    value = operator.index(q)
    if not MIN_QUALITY <= value <= MAX_QUALITY:
        raise InvalidPointError(tag_id, index, "q", f"{value} is out of the 32-bit range of quality codes")
    return value


def _json_value(tag_id: TagId, index: int | None, value: object, path: str) -> Any:
    """Check that ``value`` is a JSON value (numpy scalars become Python ones); return the wire value."""
    kind = type(value)
    if kind is str:
        problem = text_problem(value)  # type: ignore[arg-type]
        if problem is not None:
            raise InvalidPointError(tag_id, index, "y", f"{_at(path)}{problem}")
        return value
    if kind is bool or value is None:
        return value
    if kind is float or kind is int or isinstance(value, float | int):
        return _number(tag_id, index, value, path)
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "shape", None) == ():
        return _json_value(tag_id, index, value.item(), path)  # a numpy scalar
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if type(key) is not str or text_problem(key) is not None:
                raise InvalidPointError(
                    tag_id, index, "y", f"{_at(path)}object keys must be strings, not {type(key).__name__}"
                )
            result[key] = _json_value(tag_id, index, item, f"{path}[{key!r}]")
        return result
    if isinstance(value, list | tuple):
        return [_json_value(tag_id, index, item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise InvalidPointError(
        tag_id, index, "y", f"{_at(path)}{type(value).__name__} is not a JSON value: {value!r}"
    )


def _number(tag_id: TagId, index: int | None, value: Any, path: str) -> int | float:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not MIN_INT <= value <= MAX_INT:
            raise InvalidPointError(tag_id, index, "y", f"{_at(path)}{value} does not fit in 64 bits")
        return int(value)
    if not math.isfinite(value):
        raise InvalidPointError(
            tag_id,
            index,
            "y",
            f"{_at(path)}{value} is not a JSON number; "
            + (
                "send y=None with a quality code (q) instead"
                if path.startswith("y")
                else "filter on a number, a string, a bool or None"
            ),
        )
    return float(value)


def _at(path: str) -> str:
    """Where in a value the problem is, when inside it (``"at y[1]: "``); nothing for the value itself."""
    return f"at {path}: " if "[" in path else ""


_PACKAGE_DIR: Final = os.path.dirname(__file__)


def _note_unit(rules: PointRules, given: object, wire_x: object) -> None:
    """Warn when an integer timestamp is so small it is likely not microseconds (a date is left be)."""
    is_integer = not isinstance(given, bool) and hasattr(given, "__index__")  # not a date of any kind
    if is_integer and type(wire_x) is int and wire_x < SMALL_TIMESTAMP:
        warn_small_timestamp(rules, wire_x)


def warn_small_timestamp(tag: TagId | PointRules, x: int) -> None:
    """Warn, once per rules object (so once per tag object), that ``x`` is likely not in microseconds."""
    rules = rules_for(tag)
    if rules.warned:
        return
    rules.warned = True
    tag_id = rules.tag_id
    when = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=x)).isoformat()
    unit, factor, precision = ("seconds", "1_000_000", "s") if x < 10**11 else ("milliseconds", "1_000", "ms")
    warnings.warn(
        f"tag {tag_id!r}: the integer timestamp x={x} means {when} (integer timestamps are microseconds "
        f"since the epoch); if it is in {unit}, give precision={precision!r} (to the tag or the client), "
        f"multiply it by {factor}, or give a datetime",
        TimestampUnitWarning,
        stacklevel=caller_level(),
    )


def caller_level() -> int:
    """The ``stacklevel`` of the first frame outside this package: the user's call."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _PACKAGE_DIR:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
