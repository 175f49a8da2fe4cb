"""Small value types shared by the public API: tag ids, timestamps, the NOT_GIVEN sentinel."""

from __future__ import annotations

import operator
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NotRequired, TypeAlias, TypedDict

import attrs
import orjson

from ._constants import MAX_TIMESTAMP
from ._exceptions import InvalidInputError

__all__ = [
    "NOT_GIVEN",
    "JsonValue",
    "NotGiven",
    "PointDict",
    "TagId",
    "TagIdLike",
    "TagPath",
    "Timestamp",
    "TimestampLike",
]


class NotGiven:
    """The type of `NOT_GIVEN`: "use the client's default", as opposed to ``None``."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:  # one instance, so `is NOT_GIVEN` works everywhere
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
"""The default of the per-call options (``timeout``, ``max_retries``, ...): "use the client's setting"."""


@attrs.frozen(order=True)
class TagPath:
    """A tag id given as a name within a parent object: ``{"tagName": ..., "parentObjectId": ...}``.

    Hashable and ordered, so it can key a dict or be sorted:

    ```python
    TagPath("pressure", "boiler-7")
    ```
    """

    tag_name: str
    parent_object_id: str

    def __attrs_post_init__(self) -> None:
        for name, value in (("tagName", self.tag_name), ("parentObjectId", self.parent_object_id)):
            if type(value) is not str or not value:
                raise InvalidInputError(f"TagPath: {name} must be a non-empty string, not {value!r}")
            check_text(value, f"TagPath: {name}")

    def to_dict(self) -> dict[str, str]:
        """The id as the platform writes it."""
        return {"tagName": self.tag_name, "parentObjectId": self.parent_object_id}

    # The id also reads as the dict the original client kept, so that its code runs as written:
    # ``tag.id["tagName"]``, ``tag.id == {"tagName": ..., "parentObjectId": ...}``, ``dict(tag.id)``.

    def __getitem__(self, key: str) -> str:
        if key == "tagName":
            return self.tag_name
        if key == "parentObjectId":
            return self.parent_object_id
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """``"tagName"`` or ``"parentObjectId"``, as from the id's dict; ``default`` for any other key."""
        return self.to_dict().get(key, default)

    def keys(self) -> tuple[str, str]:
        """``("tagName", "parentObjectId")``, the keys of the id's dict."""
        return ("tagName", "parentObjectId")

    def items(self) -> list[tuple[str, str]]:
        """The id's dict as pairs."""
        return list(self.to_dict().items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TagPath):
            return self.tag_name == other.tag_name and self.parent_object_id == other.parent_object_id
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.tag_name, self.parent_object_id))

    def __str__(self) -> str:
        return f"{self.parent_object_id}/{self.tag_name}"


class Attributes(Mapping[str, Any]):
    """Attributes as the platform gives them: a read-only mapping; subclasses add typed accessors."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def _json_text(self, key: str) -> Any:
        """The attribute ``key`` parsed from its JSON text; the raw value when it is not JSON text."""
        raw = self._data.get(key)
        if not isinstance(raw, str):
            return raw
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw


TagId: TypeAlias = str | TagPath
"""A tag's id: a plain name, or a name within a parent object."""
TagIdLike: TypeAlias = str | TagPath | Mapping[str, Any]
"""What the SDK accepts as a tag id: also the platform's dict form."""
Timestamp: TypeAlias = int | str
"""A timestamp as the platform writes it: integer microseconds since the epoch, or an ISO 8601 string."""
TimestampLike: TypeAlias = int | str | datetime
"""What the SDK accepts as a timestamp: also a ``datetime`` (aware, or naive meaning UTC)."""
#: A JSON value: what a point's ``y`` or a value filter may be.
if TYPE_CHECKING:  # recursive for type checkers; at run time annotations must resolve without it
    JsonValue: TypeAlias = bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
else:
    JsonValue = bool | int | float | str | Sequence[Any] | Mapping[str, Any] | None


class PointDict(TypedDict):
    """A point as the platform writes it: ``x`` timestamp, ``y`` any JSON value, ``q`` quality code."""

    x: Timestamp
    y: Any
    q: NotRequired[int | None]


def tag_id_from(value: object) -> TagId:
    """Turn what the user or the platform gives as a tag id into a `TagId`; refuse anything else."""
    if type(value) is str:
        if not value:
            raise InvalidInputError("a tag id must not be empty")
        check_text(value, "a tag id")
        return value
    if isinstance(value, TagPath):
        return value
    if isinstance(value, Mapping):
        if set(value) == {"tagName", "parentObjectId"}:
            name, parent = value["tagName"], value["parentObjectId"]
            if type(name) is str and type(parent) is str and name and parent:
                return TagPath(name, parent)
        raise InvalidInputError(
            f"a tag id given as a mapping must have exactly the non-empty string keys "
            f"'tagName' and 'parentObjectId', not {dict(value)!r}"
        )
    raise InvalidInputError(f"a tag id must be a string or a TagPath, not {type(value).__name__}: {value!r}")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot go into JSON (a lone surrogate is not UTF-8), or ``None`` when it can."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{value!r} is not valid Unicode text ({exc.reason} at position {exc.start})"
    return None


def check_text(value: str, what: str) -> None:
    """Raise `InvalidInputError` when ``value`` cannot be written as JSON text."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInputError(f"{what}: {problem}")


def tag_id_to_wire(tag_id: TagId) -> str | dict[str, str]:
    """The tag id as it goes into a JSON body."""
    return tag_id if isinstance(tag_id, str) else tag_id.to_dict()


# The contract's Timestamp string pattern (openapi.yaml); a test keeps the two identical.
ISO_TIMESTAMP_PATTERN: Final = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
_ISO_TIMESTAMP = re.compile(ISO_TIMESTAMP_PATTERN)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_LATEST: Final = (_EPOCH + MAX_TIMESTAMP * _MICROSECOND).isoformat().replace("+00:00", "Z")


def iso_timestamp_problem(value: str) -> str | None:
    """Why ``value`` is not an ISO 8601 timestamp the platform accepts, or ``None`` when it is one."""
    if _ISO_TIMESTAMP.match(value) is None:
        return f"{value!r} is not an ISO 8601 timestamp: {_iso_hint(value)}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        return f"{value!r} is not a valid date and time ({exc})"
    problem = _range_problem(repr(value), datetime_to_micros(moment))
    if problem is None and moment.tzinfo is not None:
        problem = _edge_zone_problem(value, moment)
    return problem


def _edge_zone_problem(value: str, moment: datetime) -> str | None:
    """The contract's pattern, a plain regular expression, takes fewer zones at the range's ends.

    A string dated 1969-12-31, or 1970-01-01 with a zone east of UTC, or 2255-06-04 or later with a
    zone west of UTC, does not match it even when its instant is within the range.
    """
    offset = moment.utcoffset() or timedelta(0)
    day = moment.date().isoformat()
    east, west = offset > timedelta(0), offset < timedelta(0)
    if not (day < "1970-01-01" or (day == "1970-01-01" and east) or (day >= "2255-06-04" and west)):
        return None
    utc = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return f"{value!r}: near the ends of the range the platform takes this instant only in UTC: {utc!r}"


_EXAMPLE: Final = "write it like '2018-06-26 10:15:00' or '2018-06-26T10:15:00.5+03:00'"
_FRACTION: Final = re.compile(r"[T ]\d{2}:\d{2}:\d{2}\.(\d+)")
_OFFSET_WITHOUT_COLON: Final = re.compile(r"[+-]\d{4}$")


def _iso_hint(value: str) -> str:
    """What is most likely wrong with a string that is not an ISO 8601 timestamp."""
    if value != value.strip():
        return f"it has white space at its start or end; {_EXAMPLE}"
    fraction = _FRACTION.search(value)
    if fraction and len(fraction.group(1)) > 6:
        return f"{len(fraction.group(1))} fractional digits, at most 6 (microseconds) are allowed"
    if _OFFSET_WITHOUT_COLON.search(value) and len(value) > 10:
        return f"the zone offset {value[-5:]!r} needs a colon: {value[-5:-2] + ':' + value[-2:]!r}"
    return _EXAMPLE


def _range_problem(shown: str, micros: int) -> str | None:
    """Why a timestamp of ``micros`` is out of the platform's range, or ``None``."""
    if micros < 0:
        return f"{shown} is before 1970-01-01T00:00:00Z, the earliest timestamp"
    if micros > MAX_TIMESTAMP:
        return f"{shown} is after {_LATEST}, the latest timestamp (2**53 - 1 microseconds)"
    return None


def datetime_to_micros(value: datetime) -> int:
    """Microseconds since the epoch; a naive ``datetime`` is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


def timestamp_micros(value: Timestamp) -> int:
    """A checked wire timestamp as microseconds since the epoch (an ISO string without zone is UTC)."""
    return value if type(value) is int else datetime_to_micros(datetime.fromisoformat(str(value)))


def timestamp_problem(value: object) -> tuple[Timestamp | None, str | None]:
    """Check and normalize one timestamp: ``(wire value, None)`` or ``(None, what is wrong)``."""
    if type(value) is int:
        if 0 <= value <= MAX_TIMESTAMP:
            return value, None
        return None, f"{value} is out of range: integer microseconds go from 0 to {MAX_TIMESTAMP} ({_LATEST})"
    if type(value) is str:
        if value.isdigit() and value.isascii():
            # A string of digits is the integer it stands for, as in the original client's query
            # strings: from_time="100" is 100 microseconds.
            return timestamp_problem(int(value))
        problem = iso_timestamp_problem(value)
        return (value, None) if problem is None else (None, problem)
    if isinstance(value, datetime):
        micros = datetime_to_micros(value)
        problem = _range_problem(value.isoformat(), micros)
        return (micros, None) if problem is None else (None, problem)
    if not isinstance(value, bool) and hasattr(value, "__index__"):  # an int-like such as numpy.int64
        return timestamp_problem(operator.index(value))
    if getattr(getattr(value, "dtype", None), "kind", None) == "M":  # a numpy.datetime64 (naive: UTC)
        if str(value) == "NaT":
            return None, "NaT (not a time) is not a timestamp"
        return timestamp_problem(int(value.astype("datetime64[us]").astype("int64")))  # type: ignore[attr-defined]
    return None, (
        f"a timestamp must be integer microseconds, an ISO 8601 string or a datetime, "
        f"not {type(value).__name__}: {value!r}"
    )
