"""A set_data send: which buffered points go in which request, and what happens to them afterwards."""

from __future__ import annotations

import operator
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeAlias

from ._exceptions import DuplicateTagWarning, InvalidInputError, NoDataToSendError
from ._points import caller_level
from ._tag import Tag, claim_tags, settle_tags
from ._types import PointDict

__all__ = ["SendBatch"]


_Part: TypeAlias = tuple[int, int, int]
"""One request's points: ``(index of the tag, start, end)`` for ``buffers[index][start:end]``, or `_ALL`
for every claimed point (the common case of a send that fits one request)."""
_Parts: TypeAlias = list[_Part]
_ALL: Final[_Parts] = []


class SendBatch:
    """The buffered points of some tags, split into requests of at most ``max_points`` points.

    Creating it claims the tags' buffered points for this send (``claim_tags``: a tag can be in one
    send at a time); points added later are not part of it. Use it as a context manager: on exit, each
    tag is settled (``settle_tags``): its accepted points are gone, the rest are back in its buffer
    before any added since, whatever happened.
    """

    def __init__(self, tags: Tag | Sequence[Tag], max_points: int) -> None:
        if type(tags) is list:
            given: list[Any] = tags
        elif isinstance(tags, Tag):
            given = [tags]
        elif isinstance(tags, Iterable) and not isinstance(tags, str | bytes | Mapping):
            given = list(tags)
        else:
            raise InvalidInputError(f"set_data takes a Tag or a list of Tag, not {type(tags).__name__}")
        if not set(map(type, given)) <= _TAG_TYPE and not all(map(_is_tag, given)):
            for index, tag in enumerate(given):
                if not isinstance(tag, Tag):
                    raise InvalidInputError(
                        f"set_data takes a Tag or a list of Tag; item {index} is a {type(tag).__name__}"
                    )
        # Distinct tag ids mean distinct objects too: one pass for both in the common case.
        unique = len(set(map(_ID, given))) == len(given)
        if not unique and len(set(map(id, given))) != len(given):
            given = list(dict.fromkeys(given))  # the same object twice is sent once
        self._tags, self._buffers = claim_tags(given)
        self._accepted: list[int] | None = [0] * len(self._tags)
        if not self._tags:
            names = ", ".join(repr(tag.id) for tag in given) or "none given"
            raise NoDataToSendError(f"no buffered points to send in the tags given ({names})")
        self.total = sum(map(len, self._buffers))
        self._max_points = max_points
        if not unique and len(set(map(_ID, self._tags))) != len(self._tags):
            self._warn_duplicates()

    def _warn_duplicates(self) -> None:
        """Warn of each tag held twice: the platform keeps one point per tag and x, the last sent."""
        by_id: dict[Any, list[list[PointDict]]] = {}
        for tag, buffer in zip(self._tags, self._buffers, strict=True):
            by_id.setdefault(tag._id, []).append(buffer)
        for tag_id, buffers in by_id.items():
            if len(buffers) < 2:
                continue
            sent = sum(map(len, buffers))
            kept = len({point["x"] for buffer in buffers for point in buffer})
            warnings.warn(
                f"tag {tag_id!r} is given {len(buffers)} times in one send (Tag objects with one id): "
                f"all {sent} points are sent and counted, and the platform keeps one point per x, the "
                f"last sent: {kept} of them; give each tag once",
                DuplicateTagWarning,
                stacklevel=caller_level(),
            )

    def __enter__(self) -> SendBatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release()

    @property
    def accepted(self) -> int:
        """How many points the platform has accepted so far."""
        return self.total if self._accepted is None else sum(self._accepted)

    def requests(self) -> Iterator[_Parts]:
        """The requests, in order: tags in the order given, each tag's points oldest first."""
        if self.total <= self._max_points:  # the common case: one request
            yield _ALL
            return
        parts: _Parts = []
        room = self._max_points
        for index, buffer in enumerate(self._buffers):
            start, size = 0, len(buffer)
            while start < size:
                end = min(size, start + room)
                parts.append((index, start, end))
                room -= end - start
                start = end
                if room == 0:
                    yield parts
                    parts, room = [], self._max_points
        if parts:
            yield parts

    def body(self, parts: _Parts) -> dict[str, Any]:
        """The JSON body of one request (the points are the buffer's own objects, not copies)."""
        if parts is _ALL:
            # A claimed buffer is no tag's list any more: nothing changes it while it is sent.
            return {
                "data": [
                    {"tagId": tag._wire_id, "data": buffer}
                    for tag, buffer in zip(self._tags, self._buffers, strict=True)
                ]
            }
        tags, buffers = self._tags, self._buffers
        return {
            "data": [
                {"tagId": tags[index]._wire_id, "data": buffers[index][start:end]}
                for index, start, end in parts
            ]
        }

    def mark_accepted(self, parts: _Parts) -> None:
        """Note that the platform accepted the request made of ``parts``."""
        if parts is _ALL:
            self._accepted = None  # every point
            return
        accepted = self._accepted
        assert accepted is not None
        for index, _, end in parts:
            accepted[index] = end

    def explicit(self, parts: _Parts) -> _Parts:
        """``parts`` with every tag's range spelled out (the one-request case names none)."""
        if parts is _ALL:
            return [(index, 0, len(buffer)) for index, buffer in enumerate(self._buffers)]
        return parts

    def points(self, parts: _Parts) -> int:
        """How many points the request made of ``parts`` holds."""
        return sum(end - start for _, start, end in self.explicit(parts))

    def halves(self, parts: _Parts) -> tuple[_Parts, _Parts] | None:
        """The points of one request in two requests of half as many each, in order; ``None`` for one point.

        For a request the platform (or a proxy) refused as too large (HTTP 413).
        """
        parts = self.explicit(parts)
        total = sum(end - start for _, start, end in parts)
        if total < 2:
            return None
        room = total // 2
        first: _Parts = []
        second: _Parts = []
        for index, start, end in parts:
            if room >= end - start:
                first.append((index, start, end))
                room -= end - start
            elif room > 0:
                first.append((index, start, start + room))
                second.append((index, start + room, end))
                room = 0
            else:
                second.append((index, start, end))
        return first, second

    def _release(self) -> None:
        # The points not accepted go back to their tags, before any given while the send was under way.
        settle_tags(self._tags, self._accepted)


def _is_tag(value: object) -> bool:
    return type(value) is Tag or isinstance(value, Tag)


_ID: Final = operator.attrgetter("_id")
_TAG_TYPE: Final = frozenset((Tag,))
