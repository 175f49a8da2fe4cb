"""The request bodies of one ``set_data`` call: which buffered points go in which, and what becomes of them.

`RequestBodies` is the part of ``set_data`` that does no I/O, which the sync and async clients drive
in a loop of a few lines:

```python
with RequestBodies(tags, max_points) as bodies:
    for body in bodies:               # the JSON of the next request to post
        try:
            answer = post(body)
        except APIError as error:
            if not split(bodies, error):  # refused as too large: bodies.split() sends it in halves
                raise
        else:
            bodies.accepted(answer)
```

Whether a refusal calls for a split is the failure policy's to say (``_http/retry.py``), not this
module's: it only knows how to halve a body.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, TypeAlias

from ._exceptions import DuplicateTagWarning, InvalidInputError, NoDataToSendError
from ._points import caller_level
from ._tag import Tag, claim_tags, settle_tags
from ._types import PointDict

__all__ = ["RequestBodies"]


_Span: TypeAlias = tuple[int, int, int]
"""Some points of one tag in a request body: ``(index of the tag, start, end)`` for
``buffers[index][start:end]``."""
_BodySpans: TypeAlias = list[_Span]
"""The points of one request body, tag by tag; `_ALL` for every claimed point (the common case of a
send that fits one request)."""
_ALL: Final[_BodySpans] = []


class RequestBodies:
    """The buffered points of some tags, in request bodies of at most ``max_points`` points each.

    Creating it claims the tags' buffered points for this send (``claim_tags``: a tag can be in one
    send at a time); points added later are not part of it. Use it as a context manager: on exit, each
    tag is settled (``settle_tags``): its accepted points are gone, the rest are back in its buffer
    before any added since, whatever happened.

    Iterating gives each request body's JSON in order, tags in the order given and each tag's points
    oldest first; after each, the driver says what became of it: `accepted`, or `split` (refused as too
    large: its halves come next), or it stops (an error: the points not accepted stay buffered).
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
        self._pending: list[_BodySpans] = []  # the bodies to post next, the last first
        self._current: _BodySpans | None = None  # the body posted last, until it is accepted or split
        self.answer: dict[str, Any] = {}
        """The platform's answer to the last request body accepted."""
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

    def __enter__(self) -> RequestBodies:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release()

    @property
    def points_accepted(self) -> int:
        """How many points the platform has accepted so far."""
        return self.total if self._accepted is None else sum(self._accepted)

    @property
    def points_posted(self) -> int:
        """How many points the request body posted last holds."""
        assert self._current is not None, "points_posted follows a body"
        return sum(end - start for _, start, end in self._explicit(self._current))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for spans in self._spans():
            self._pending.append(spans)
            while self._pending:
                self._current = self._pending.pop()
                yield self._body(self._current)
                assert self._current is None, "each body is accepted or split before the next"

    def accepted(self, answer: dict[str, Any]) -> None:
        """The platform accepted the request body posted last, with ``answer``."""
        spans, self._current = self._current, None
        assert spans is not None, "accepted follows a body"
        self.answer = answer
        if spans is _ALL:
            self._accepted = None  # every point
            return
        accepted = self._accepted
        assert accepted is not None
        for index, _, end in spans:
            accepted[index] = end

    def split(self) -> bool:
        """Post the request body posted last again as two of half as many points each, in order.

        For a body the platform (or a proxy) refused as too large (HTTP 413); ``False``, and nothing
        changes, for a body of one point.
        """
        assert self._current is not None, "split follows a body"
        spans = self._explicit(self._current)
        total = sum(end - start for _, start, end in spans)
        if total < 2:
            return False
        room = total // 2
        first: _BodySpans = []
        second: _BodySpans = []
        for index, start, end in spans:
            if room >= end - start:
                first.append((index, start, end))
                room -= end - start
            elif room > 0:
                first.append((index, start, start + room))
                second.append((index, start + room, end))
                room = 0
            else:
                second.append((index, start, end))
        self._pending += (second, first)  # the first half is posted first
        self._current = None
        return True

    def _spans(self) -> Iterator[_BodySpans]:
        """The request bodies, in order: tags in the order given, each tag's points oldest first."""
        if self.total <= self._max_points:  # the common case: one request
            yield _ALL
            return
        spans: _BodySpans = []
        room = self._max_points
        for index, buffer in enumerate(self._buffers):
            start, size = 0, len(buffer)
            while start < size:
                end = min(size, start + room)
                spans.append((index, start, end))
                room -= end - start
                start = end
                if room == 0:
                    yield spans
                    spans, room = [], self._max_points
        if spans:
            yield spans

    def _body(self, spans: _BodySpans) -> dict[str, Any]:
        """The JSON of one request body (the points are the buffer's own objects, not copies)."""
        if spans is _ALL:
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
                for index, start, end in spans
            ]
        }

    def _explicit(self, spans: _BodySpans) -> _BodySpans:
        """``spans`` with every tag's range spelled out (the one-request case names none)."""
        if spans is _ALL:
            return [(index, 0, len(buffer)) for index, buffer in enumerate(self._buffers)]
        return spans

    def _release(self) -> None:
        # The points not accepted go back to their tags, before any given while the send was under way.
        settle_tags(self._tags, self._accepted)


def _is_tag(value: object) -> bool:
    return type(value) is Tag or isinstance(value, Tag)


_ID: Final = operator.attrgetter("_id")
_TAG_TYPE: Final = frozenset((Tag,))
