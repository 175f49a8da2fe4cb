"""Reading a long period of history in time windows: the part of ``iter_history`` that does no I/O.

The contract of `HistoryPager`, which the sync and async ``iter_history`` drive in a loop
(``next_request``, then ``get_data``, then ``take``):

- **Stored values only.** Every window is asked with ``actual: true``: a plain read interpolates a
  value at each window's ``from`` and ``to`` (the platform's history rules), which would put points
  into an export that were never stored. ``time_step`` (a resampled grid) and ``format_param`` (ISO
  timestamps, which cannot be compared to page) are refused; ``max_count`` is refused too, the page
  size being ``page_size``.
- **No point missed, none read twice.** Each window asks ``maxCount`` = the page size per tag. A
  window in which any tag has more points than that comes back thinned (``exceed: true``): it is
  thrown away and asked again, shorter (up to the thinned answer's point a quarter of the way in,
  else a quarter as long), until it fits. A window that fits holds every stored point of
  ``[from, to]``. The next window starts at the previous one's ``to`` (inclusive), and per tag only
  points later than the last one already given are kept: whether the platform's ``to`` is inclusive
  or exclusive, the pages hold what one read of the whole period would. Points outside the window
  are dropped.
  Timestamps are whole microseconds and a tag holds at most one point per microsecond (the last write
  wins); ``maxCount`` is at least 2, so the shortest window, ``[t, t + 1]``, always fits: the
  splitting ends, and every window moves the start on.
- **Bounded memory.** ``maxCount`` per tag is ``ceil(page_size / number of tags)`` (at least 2), so a
  page holds at most about ``page_size`` points, whatever the length of the period.
- **Few requests.** Windows adapt to the data: after a page less than a quarter full the next window
  grows (towards half-full pages, at most 16-fold), so sparse data is read in few requests and dense
  data in pages that fit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Final

from ._exceptions import InvalidInputError, InvalidResponseError
from ._request_data import RequestData
from ._results import Point, TagHistory
from ._types import datetime_to_micros

__all__ = ["DEFAULT_PAGE_SIZE", "DEFAULT_WINDOW", "HistoryPager"]

DEFAULT_PAGE_SIZE: Final = 100_000
"""Points per page (per request), all tags together, unless ``page_size`` says otherwise."""
DEFAULT_WINDOW: Final = timedelta(hours=1)
"""The first window's length, unless ``window`` says otherwise; later windows adapt to the data."""
_GET_PATH: Final = "/smt/data/get"


def _micros(value: int | str) -> int:
    """A checked wire timestamp (RequestData has checked it) as microseconds."""
    if type(value) is int:
        return value
    return datetime_to_micros(datetime.fromisoformat(str(value)))


def _window_length(window: object) -> int:
    if isinstance(window, timedelta):
        length = window // timedelta(microseconds=1)
    elif type(window) is int:
        length = window
    else:
        raise InvalidInputError(
            f"window must be a timedelta or integer microseconds, not {type(window).__name__}: {window!r}"
        )
    if length < 1:
        raise InvalidInputError(f"window must be at least one microsecond, not {window!r}")
    return length


class HistoryPager:
    """The windows of a paged history read and the pages made of their answers (see the module)."""

    def __init__(
        self,
        request_data: RequestData,
        *,
        window: timedelta | int = DEFAULT_WINDOW,
        page_size: int = DEFAULT_PAGE_SIZE,
        now: int | None = None,
    ) -> None:
        if not isinstance(request_data, RequestData):
            raise InvalidInputError(
                "iter_history takes a RequestData (see create_request_data), "
                f"not {type(request_data).__name__}"
            )
        if request_data.from_time is None:
            raise InvalidInputError("iter_history needs from_time: the start of the period to read")
        for name, why in (
            ("time_step", "a resampled grid is read in one call: use get_data"),
            ("max_count", "the page size is page_size=; every stored point is read"),
            ("format_param", "pages are made with integer timestamps; convert them afterwards"),
        ):
            if getattr(request_data, name):
                raise InvalidInputError(f"iter_history does not take {name} ({why})")
        if request_data.actual is False:
            raise InvalidInputError("iter_history reads stored values only: leave actual unset or True")
        if type(page_size) is not int or page_size < 1:
            raise InvalidInputError(f"page_size must be an integer >= 1, not {page_size!r}")
        self._length = _window_length(window)
        tag_ids = request_data.tag_id
        self._tag_ids = tag_ids if isinstance(tag_ids, list) else [tag_ids]
        self._per_tag = max(2, math.ceil(page_size / len(self._tag_ids)))
        self._value = request_data.value
        self._start = _micros(request_data.from_time)
        if request_data.to_time is not None:
            self._end = _micros(request_data.to_time)
        else:  # the platform's default, fixed once so that the windows have an end
            self._end = datetime_to_micros(datetime.now(UTC)) if now is None else now
        # Per tag, the timestamp of the last point given: later windows keep only later points.
        self._last: list[int | None] = [None] * len(self._tag_ids)
        self._window_end: int | None = None
        self._done = self._start > self._end

    def next_request(self) -> RequestData | None:
        """The request for the next window, or ``None`` when the period has been read."""
        if self._done:
            return None
        end = min(self._start + self._length, self._end)
        self._window_end = end
        return RequestData(
            tag_id=list(self._tag_ids),
            from_time=self._start,
            to_time=end,
            max_count=self._per_tag,
            value=self._value,
            actual=True,
        )

    def take(self, histories: list[TagHistory]) -> list[TagHistory] | None:
        """The page made of the answer to `next_request`; ``None`` when the window must be asked again.

        An empty list when the window held no new point.
        """
        start, end = self._start, self._window_end
        assert end is not None, "take() follows next_request()"
        if len(histories) != len(self._tag_ids):
            raise InvalidResponseError(
                f"asked for {len(self._tag_ids)} tags, the platform answered {len(histories)}",
                method="POST",
                path=_GET_PATH,
                status_code=200,
                body="",
            )
        if any(history.exceed for history in histories):
            if end - start <= 1:
                raise InvalidResponseError(
                    f"the platform thinned the window [{start}, {end}] of at most two points per tag "
                    "(exceed: true), so paging cannot read every point",
                    method="POST",
                    path=_GET_PATH,
                    status_code=200,
                    body="",
                )
            self._length = self._shorter(histories, start, end)
            return None
        page = []
        fullest = 0
        for index, history in enumerate(histories):
            points = self._new_points(index, history.points, start, end)
            fullest = max(fullest, len(history.points))
            if points:
                self._last[index] = points[-1].x  # type: ignore[assignment]  # ints: checked below
            page.append(TagHistory(tag_id=self._tag_ids[index], points=points, exceed=False))
        if end >= self._end:
            self._done = True
        else:
            # The next window starts where this one ended: see the module's docstring.
            self._start = end
            if fullest * 4 < self._per_tag:
                # Sparse data: grow towards half-full pages, at most 16-fold at a time.
                self._length *= min(16, max(2, self._per_tag // (2 * max(1, fullest))))
        return page if any(history.points for history in page) else []

    @staticmethod
    def _shorter(histories: list[TagHistory], start: int, end: int) -> int:
        """The length of the window to ask instead of ``[start, end]``, which was thinned.

        A thinned answer samples the window's points: up to the sampled point a quarter of the way
        in, the window holds about a quarter of them, wherever they cluster in time. Any shorter
        window is correct; this one is only likely to fit. Without such a point, a quarter as long.
        """
        cuts = [
            x
            for history in histories
            if history.exceed and history.points
            for x in (history.points[len(history.points) // 4].x,)
            if type(x) is int and start < x < end
        ]
        return min(cuts) - start if cuts else max(1, (end - start) // 4)

    def _new_points(self, index: int, points: list[Point], start: int, end: int) -> list[Point]:
        """The points of one tag inside ``[start, end]`` and later than the last one given."""
        if not points:
            return points
        first, last = points[0].x, points[-1].x
        if type(first) is not int or type(last) is not int:
            raise InvalidResponseError(
                "the platform answered ISO timestamps to a request for integer ones",
                method="POST",
                path=_GET_PATH,
                status_code=200,
                body="",
            )
        after = self._last[index]
        low = start if after is None else max(start, after + 1)
        if first >= low and last <= end:
            return points  # the common case: the whole answer is new
        return [p for p in points if low <= p.x <= end]  # type: ignore[operator]
