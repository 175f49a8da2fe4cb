"""The one module that speaks the generated client's language.

Paths and the bodies of the small requests come from the client generated from ``openapi.yaml``
(``data_interaction_platform_api``); so does the parsing of the connect answer. Bulk points never pass
through generated models: ``set_data`` bodies are the tags' buffers as they are, and ``get_data``
answers are decoded and checked in one pass by msgspec, straight into [`Point`][data_interaction_client.Point]
structs. Nothing generated leaves this module.

The generated client is imported when first needed (a request's path or body, a connect answer), not
with the package: it is a third of the package's import time.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from .._request_data import RequestData
from .._results import ArrayPoint, Connection, DataSourceAttributes, Point, TagHistory, TagInfo
from .._tag import TagAttributes
from .._types import TagId, tag_id_from
from .._types import TagPath as OurTagPath

if TYPE_CHECKING:
    from data_interaction_platform_api.models import TagPath

# The paths of the three calls, as the generated client builds them: set by __getattr__ on first use.
CONNECT_PATH: str
SET_DATA_PATH: str
GET_DATA_PATH: str


@functools.cache
def _paths() -> dict[str, str]:
    from data_interaction_platform_api.api.platform import connect, get_data, set_data
    from data_interaction_platform_api.models import ConnectRequest, GetDataRequest, SetDataRequest

    return {
        "CONNECT_PATH": connect._get_kwargs(body=ConnectRequest(id="-"))["url"],
        "SET_DATA_PATH": set_data._get_kwargs(body=SetDataRequest(data=[]))["url"],
        "GET_DATA_PATH": get_data._get_kwargs(body=GetDataRequest(tag_id="-"))["url"],
    }


def __getattr__(name: str) -> str:
    """``CONNECT_PATH``, ``SET_DATA_PATH`` and ``GET_DATA_PATH``, from the generated client on first use."""
    paths = _paths()
    if name not in paths:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals().update(paths)  # later reads find them without this call
    return paths[name]


class ResponseShapeError(ValueError):
    """The answer decoded as JSON but does not have the contract's shape."""


def connect_body(data_source_id: str) -> dict[str, Any]:
    """The body of a connect request."""
    from data_interaction_platform_api.models import ConnectRequest

    return ConnectRequest(id=data_source_id).to_dict()


def parse_connect(data_source_id: str, payload: dict[str, Any]) -> Connection:
    """The connect answer as a `Connection`; `ResponseShapeError` when it is malformed."""
    from data_interaction_platform_api.models import ConnectResponse

    try:
        answer = ConnectResponse.from_dict(payload)
        attributes = answer.attributes.to_dict()
        tags = answer.tags if isinstance(answer.tags, list) else []
        infos = [
            TagInfo(id=_tag_id(tag.id), attributes=TagAttributes(tag.attributes.to_dict())) for tag in tags
        ]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ResponseShapeError(f"the connect answer does not have the contract's shape: {exc!r}") from exc
    if not isinstance(attributes.get("smtActive"), bool):
        raise ResponseShapeError("the connect answer's attributes.smtActive is not a boolean")
    return Connection(data_source_id=data_source_id, attributes=DataSourceAttributes(attributes), tags=infos)


def _tag_id(value: object) -> TagId:
    from data_interaction_platform_api.models import TagPath

    if isinstance(value, TagPath):
        value = value.to_dict()
    return tag_id_from(value)


def get_body(request: RequestData) -> dict[str, Any]:
    """The body of a get request."""
    from data_interaction_platform_api.models import GetDataRequest, TagPath
    from data_interaction_platform_api.types import UNSET

    def wire_id(tag_id: TagId) -> str | TagPath:
        if isinstance(tag_id, OurTagPath):
            return TagPath(tag_name=tag_id.tag_name, parent_object_id=tag_id.parent_object_id)
        return tag_id

    tag_ids = request.tag_id
    model = GetDataRequest(
        tag_id=[wire_id(tag_id) for tag_id in tag_ids] if isinstance(tag_ids, list) else wire_id(tag_ids),
        from_=UNSET if request.from_time is None else request.from_time,
        to=UNSET if request.to_time is None else request.to_time,
        max_count=UNSET if request.max_count is None else request.max_count,
        time_step=UNSET if request.time_step is None else request.time_step,
        format_=UNSET if request.format_param is None else request.format_param,
        actual=UNSET if request.actual is None else request.actual,
        value=UNSET if request.value is None else request.value,
    )
    return model.to_dict()


class _Envelope(msgspec.Struct):
    id: int
    message: str | None = None


# What a history's "data" decodes into: msgspec.Raw (each tag's points in their own form, see
# _points_of), list[Point] (objects) or list[ArrayPoint] (the array form).
_Data = TypeVar("_Data")


class _History(msgspec.Struct, Generic[_Data], gc=False):
    tagId: str | dict[str, str]  # the wire's name
    data: _Data
    exceed: bool = False  # the platform family writes it only when the request had maxCount


class _GetAnswer(msgspec.Struct, Generic[_Data]):
    error: _Envelope
    data: list[_History[_Data]]


_GET_ANSWER = msgspec.json.Decoder(_GetAnswer[msgspec.Raw])
# The whole answer in one pass, when every point is in one form: most answers.
_WHOLE_ANSWERS: tuple[msgspec.json.Decoder[_GetAnswer[list[Point]]], ...] = (
    msgspec.json.Decoder(_GetAnswer[list[Point]]),
    msgspec.json.Decoder(_GetAnswer[list[ArrayPoint]]),
)
_OBJECT_POINTS = msgspec.json.Decoder(list[Point])
# A list of ArrayPoint is a list of Point (a subclass); lists are invariant for mypy only.
_ARRAY_POINTS = msgspec.json.Decoder(list[ArrayPoint])
_JSON_SPACE = b" \t\r\n"


def parse_get(content: bytes) -> list[TagHistory]:
    """A successful get answer as one `TagHistory` per tag, decoded straight into `Point`.

    Points may come as objects ``{"x", "y", "q"}`` or in the platform family's array form
    ``[y, x, q]``; unknown keys are ignored, and a missing ``exceed`` reads as false. Raises
    `ResponseShapeError`, naming the place, when the answer is not a success of the contract's
    shape (the caller first looks for an error the answer may carry).
    """
    # One pass over the answer, straight into Points, in the form its first point has (a refusal
    # comes at that point, so trying the other form costs little). Anything else (points of both
    # forms, or an answer that is not of the contract's shape) takes the pass below, which reads each
    # tag's points in their own form and names the place of a problem.
    for decoder in _WHOLE_ANSWERS:
        try:
            whole = decoder.decode(content)
        except msgspec.DecodeError:
            continue
        if whole.error.id != 0:
            break
        return [
            TagHistory(tag_id=_history_id(item.tagId, index), points=item.data, exceed=item.exceed)
            for index, item in enumerate(whole.data)
        ]
    return _parse_get_by_tag(content)


def _parse_get_by_tag(content: bytes) -> list[TagHistory]:
    """`parse_get` tag by tag: each tag's points in their own form, any problem named by its place."""
    try:
        answer = _GET_ANSWER.decode(content)
    except msgspec.DecodeError as exc:  # also msgspec.ValidationError
        raise ResponseShapeError(f"the get answer does not have the contract's shape: {exc}") from None
    if answer.error.id != 0:
        raise ResponseShapeError(f"the get answer carries error {answer.error.id}")
    result = []
    for index, item in enumerate(answer.data):
        tag_id = _history_id(item.tagId, index)
        result.append(TagHistory(tag_id=tag_id, points=_points_of(item.data, index), exceed=item.exceed))
    return result


def _history_id(value: str | dict[str, str], index: int) -> TagId:
    try:
        return tag_id_from(value)
    except ValueError as exc:
        raise ResponseShapeError(f"the get answer's data[{index}].tagId: {exc}") from None


def _points_of(raw: msgspec.Raw, index: int) -> list[Point]:
    """The points of ``data[index].data``: one decoder per form, chosen by the first point's opening."""
    head = bytes(memoryview(raw)[:64]).lstrip(_JSON_SPACE)
    as_arrays = head[1:].lstrip(_JSON_SPACE)[:1] == b"["
    try:
        return _ARRAY_POINTS.decode(raw) if as_arrays else _OBJECT_POINTS.decode(raw)  # type: ignore[return-value]
    except msgspec.DecodeError as exc:
        # msgspec names the place within this list: "at `$[3].x`" becomes "at `$.data[index].data[3].x`".
        message = str(exc).replace("`$", f"`$.data[{index}].data", 1)
        raise ResponseShapeError(f"the get answer does not have the contract's shape: {message}") from None
