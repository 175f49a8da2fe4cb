"""A set_data send: which buffered points go in which request, and what happens to them afterwards."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from ._exceptions import DuplicateTagWarning, InvalidInputError, NoDataToSendError
from ._points import caller_level
from ._tag import Tag
from ._types import PointDict

__all__ = ["SendBatch"]


class _Claim:
    """One tag taken for this send: the buffer as it was and how much of it the platform accepted."""

    __slots__ = ("accepted", "buffer", "size", "tag")

    def __init__(self, tag: Tag, buffer: list[PointDict]) -> None:
        self.tag = tag
        self.buffer = buffer
        self.size = len(buffer)
        self.accepted = 0


#: The points ``claim.buffer[start:end]`` of one tag, sent in one request: ``(claim, start, end)``.
_Part: TypeAlias = tuple[_Claim, int, int]


class SendBatch:
    """The buffered points of some tags, split into requests of at most ``max_points`` points.

    Creating it claims the tags' buffered points for this send (``Tag._claim``: a tag can be in one
    send at a time); points added later are not part of it. Use it as a context manager: on exit, each
    tag is settled (``Tag._settle``): its accepted points are gone, the rest are back in its buffer
    before any added since, whatever happened.
    """

    def __init__(self, tags: Tag | Sequence[Tag], max_points: int) -> None:
        if isinstance(tags, Tag):
            given = [tags]
        elif isinstance(tags, Iterable) and not isinstance(tags, str | bytes | Mapping):
            given = list(tags)
        else:
            raise InvalidInputError(f"set_data takes a Tag or a list of Tag, not {type(tags).__name__}")
        for index, tag in enumerate(given):
            if not isinstance(tag, Tag):
                raise InvalidInputError(
                    f"set_data takes a Tag or a list of Tag; item {index} is a {type(tag).__name__}"
                )
        self._claims: list[_Claim] = []
        append = self._claims.append
        if len(set(map(id, given))) != len(given):
            given = list(dict.fromkeys(given))  # the same object twice is sent once
        try:
            for tag in given:
                buffer = tag._claim()
                if buffer:
                    append(_Claim(tag, buffer))
        except BaseException:
            self._release()
            raise
        if not self._claims:
            names = ", ".join(repr(tag.id) for tag in given) or "none given"
            raise NoDataToSendError(f"no buffered points to send in the tags given ({names})")
        self.total = sum(claim.size for claim in self._claims)
        self._max_points = max_points
        if len({claim.tag._id for claim in self._claims}) != len(self._claims):
            self._warn_duplicates()

    def _warn_duplicates(self) -> None:
        """Warn of each tag held twice: the platform keeps one point per tag and x, the last sent."""
        by_id: dict[Any, list[_Claim]] = {}
        for claim in self._claims:
            by_id.setdefault(claim.tag._id, []).append(claim)
        for tag_id, claims in by_id.items():
            if len(claims) < 2:
                continue
            sent = sum(claim.size for claim in claims)
            kept = len({point["x"] for claim in claims for point in claim.buffer})
            warnings.warn(
                f"tag {tag_id!r} is given {len(claims)} times in one send (Tag objects with one id): "
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
        return sum(claim.accepted for claim in self._claims)

    def requests(self) -> Iterator[list[_Part]]:
        """The requests, in order: tags in the order given, each tag's points oldest first."""
        if self.total <= self._max_points:  # the common case: one request
            yield [(claim, 0, claim.size) for claim in self._claims]
            return
        parts: list[_Part] = []
        room = self._max_points
        for claim in self._claims:
            start = 0
            while start < claim.size:
                end = min(claim.size, start + room)
                parts.append((claim, start, end))
                room -= end - start
                start = end
                if room == 0:
                    yield parts
                    parts, room = [], self._max_points
        if parts:
            yield parts

    @staticmethod
    def body(parts: list[_Part]) -> dict[str, Any]:
        """The JSON body of one request (the points are the buffer's own objects, not copies)."""
        return {
            "data": [
                {"tagId": claim.tag._wire_id, "data": claim.buffer[start:end]} for claim, start, end in parts
            ]
        }

    @staticmethod
    def mark_accepted(parts: list[_Part]) -> None:
        """Note that the platform accepted the request made of ``parts``."""
        for claim, _, end in parts:
            claim.accepted = end

    def _release(self) -> None:
        # The points not accepted go back to their tags, before any given while the send was under way.
        for claim in self._claims:
            claim.tag._settle(claim.accepted)
