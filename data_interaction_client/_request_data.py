"""RequestData: what ``get_data`` asks the platform for, checked when it is set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, ClassVar, TypeAlias, TypedDict, Unpack

from ._constants import MAX_TIMESTAMP
from ._exceptions import InvalidInputError
from ._points import _json_value
from ._tag import Tag
from ._types import (
    JsonValue,
    TagId,
    TagIdLike,
    Timestamp,
    TimestampLike,
    tag_id_from,
    timestamp_micros,
    timestamp_problem,
)

__all__ = ["RequestData", "RequestFields", "TagIds", "check_field_names"]

TagIds: TypeAlias = TagIdLike | Tag | Sequence[TagIdLike | Tag]
"""What ``tag_id`` takes: one tag (an id, or a [`Tag`][data_interaction_client.Tag]) or a sequence of them."""

_MAX_COUNT = 2**31 - 1


class RequestFields(TypedDict, total=False):
    """The fields of a `RequestData` as keywords, each one optional: what ``update`` and ``get_data`` take.

    ``None`` means "not set", as in `RequestData`; a field not given stays as it is.
    """

    tag_id: TagIds
    from_time: TimestampLike | None
    to_time: TimestampLike | None
    max_count: int | None
    time_step: int | timedelta | None
    value: JsonValue
    format_param: bool | None
    actual: bool | None


def check_field_names(fields: dict[str, Any], call: str) -> None:
    """Refuse a keyword that is no field, as Python refuses an unknown keyword: with a `TypeError`."""
    for name in fields:
        if name not in _FIELDS:
            raise TypeError(f"{call}() got an unexpected keyword argument {name!r}")


def _tag_ids(value: object) -> TagId | list[TagId]:
    if value is None:
        raise InvalidInputError("tag_id is required: one tag id or a list of them")
    if isinstance(value, Tag):
        return value.id
    if isinstance(value, list | tuple):
        if not value:
            raise InvalidInputError("tag_id: the list of tag ids is empty")
        ids = []
        for index, item in enumerate(value):
            try:
                ids.append(item.id if isinstance(item, Tag) else tag_id_from(item))
            except InvalidInputError as exc:
                raise InvalidInputError(f"tag_id[{index}]: {exc}") from None
        return ids
    try:
        return tag_id_from(value)
    except InvalidInputError as exc:
        raise InvalidInputError(f"tag_id: {exc}") from None


def _timestamp(name: str) -> Callable[[object], Timestamp | None]:
    def check(value: object) -> Timestamp | None:
        if value is None:
            return None
        wire, problem = timestamp_problem(value)
        if problem is not None:
            raise InvalidInputError(f"{name}: {problem}")
        return wire

    return check


def _positive(name: str, maximum: int, allow_timedelta: bool = False) -> Callable[[object], int | None]:
    def check(value: object) -> int | None:
        if value is None:
            return None
        if allow_timedelta and isinstance(value, timedelta):
            value = value // timedelta(microseconds=1)
        if type(value) is not int or not 1 <= value <= maximum:
            raise InvalidInputError(f"{name} must be an integer from 1 to {maximum}, not {value!r}")
        return value

    return check


def _flag(name: str) -> Callable[[object], bool | None]:
    def check(value: object) -> bool | None:
        if value is None or type(value) is bool:
            return value
        raise InvalidInputError(f"{name} must be True, False or None, not {value!r}")

    return check


def _value(value: object) -> Any:
    if value is None:
        return None
    try:
        return _json_value("", None, value, "value")
    except InvalidInputError as exc:
        raise InvalidInputError(f"value filter: {getattr(exc, 'problem', exc)}") from None


_FIELDS: dict[str, Callable[[object], Any]] = {
    "tag_id": _tag_ids,
    "from_time": _timestamp("from_time"),
    "to_time": _timestamp("to_time"),
    "max_count": _positive("max_count", _MAX_COUNT),
    "time_step": _positive("time_step", MAX_TIMESTAMP, allow_timedelta=True),
    "value": _value,
    "format_param": _flag("format_param"),
    "actual": _flag("actual"),
}


class RequestData:
    """What ``get_data`` reads: which tags, which period, and how.

    Every field is checked when it is set, at creation or by `update`; ``None`` means "not set"
    (the platform's default).:

    ```python
    req = client.create_request_data(tag_id=["temperature"], from_time="2018-06-26 10:00:00")
    req.update(max_count=100, format_param=True)   # from_time stays as it was
    ```

    Fields: ``tag_id`` (one tag id or a list), ``from_time`` and ``to_time`` (microseconds, ISO 8601
    string or ``datetime``; ``to_time`` defaults to now on the platform), ``max_count`` (at most this
    many points per tag), ``time_step`` (microseconds or a ``timedelta`` between resampled points),
    ``value`` (keep only points whose value equals this, or one of a list), ``format_param`` (true:
    timestamps come back as ISO 8601 strings), ``actual`` (true: only stored points, none
    interpolated).
    """

    __slots__ = tuple(_FIELDS)

    tag_id: TagId | list[TagId]
    from_time: Timestamp | None
    to_time: Timestamp | None
    max_count: int | None
    time_step: int | None
    value: JsonValue
    format_param: bool | None
    actual: bool | None

    def __init__(
        self,
        tag_id: TagIds,
        from_time: TimestampLike | None = None,
        to_time: TimestampLike | None = None,
        max_count: int | None = None,
        time_step: int | timedelta | None = None,
        value: JsonValue = None,
        format_param: bool | None = None,
        actual: bool | None = None,
    ) -> None:
        self._apply(
            {
                "tag_id": tag_id,
                "from_time": from_time,
                "to_time": to_time,
                "max_count": max_count,
                "time_step": time_step,
                "value": value,
                "format_param": format_param,
                "actual": actual,
            }
        )

    def update(self, **changes: Unpack[RequestFields]) -> None:
        """Change the fields given, and only those; ``None`` unsets a field.

        All changes are checked first: if one is refused, none is made.
        """
        check_field_names(dict(changes), "update")
        self._apply(dict(changes))

    def _apply(self, changes: dict[str, Any]) -> None:
        checked = _check(changes, current=self)  # unset fields (at creation) read as None
        for name, field_value in checked.items():
            object.__setattr__(self, name, field_value)

    def __setattr__(self, name: str, value: object) -> None:
        if name not in _FIELDS:
            raise AttributeError(f"RequestData has no field {name!r}; the fields are {list(_FIELDS)}")
        self._apply({name: value})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestData):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    __hash__: ClassVar[None] = None  # type: ignore[assignment]  # mutable: not hashable

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in _FIELDS if getattr(self, name) is not None
        )
        return f"RequestData({fields})"


def _check(changes: dict[str, Any], current: RequestData | None) -> dict[str, Any]:
    checked = {name: _FIELDS[name](value) for name, value in changes.items()}
    start = checked["from_time"] if "from_time" in checked else getattr(current, "from_time", None)
    end = checked["to_time"] if "to_time" in checked else getattr(current, "to_time", None)
    if start is not None and end is not None and timestamp_micros(start) > timestamp_micros(end):
        raise InvalidInputError(f"from_time ({start!r}) is after to_time ({end!r})")
    return checked
