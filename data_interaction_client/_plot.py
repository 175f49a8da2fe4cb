"""Plots of history with matplotlib (the ``plot`` extra): ``plot_histories`` and ``TagHistory.plot``.

One panel per tag, all on one UTC time axis, so that a tag of small values is not flattened by a tag
of large ones. A number tag is a line (a text value in it leaves a gap); a step tag is drawn as
steps (each value held until the next); a categorical tag (text, booleans, JSON values, or a discrete
tag named in ``categorical``) is drawn as steps on an axis of its values. A point whose quality code
is not good (not 0 or null) is marked with a red cross (at its value, or at the bottom of the panel
when its value is null); the title says the source, the period and whether the platform thinned the
data (``exceed``).

A gap is drawn as a gap: where two points of a number tag lie more than five times further apart than
its usual interval (the median one), or more than ``gap`` seconds for any tag, the line stops and
starts again after it, and a point alone between gaps is a dot. A last point that repeats the value
and quality of the one before it is the value the platform holds at the end of the period asked
(past the last stored point, the last value again): it is not drawn unless ``hold_last=True``, so that
a connector that has stopped sending does not look alive.

The figure is made without pyplot (no GUI backend, no global state) and drawn by Agg; a PNG carries
no date and no software version, so the same data gives the same bytes on the same installation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from os import PathLike
from typing import TYPE_CHECKING, Any, Final

import orjson

from ._exceptions import InvalidInputError
from ._results import TagHistory
from ._types import TagId, datetime_to_micros

if TYPE_CHECKING:  # the plot extra: only the annotations name it
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_histories"]

_GOOD: Final = (0, None)
_WIDTH: Final = 10.0
_HEIGHT: Final = 5.0  # of a figure of one panel, and the least of any
_PANEL_HEIGHT: Final = 1.8  # inches per panel when there are several
_DPI: Final = 100
_GAP_FACTOR: Final = 5.0  # times the median interval: a longer one is a gap in a number tag's line
_GAP_MIN_INTERVALS: Final = 3  # fewer intervals than this tell no usual interval


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'data-interaction-client[plot]'") from exc
    return matplotlib, Figure, FigureCanvasAgg


def _micros(x: object) -> int:
    """A timestamp as the platform wrote it (integer, or ISO with ``format_param``) in microseconds."""
    return x if type(x) is int else datetime_to_micros(datetime.fromisoformat(str(x)))


def _number(y: object) -> float:
    if isinstance(y, int | float) and not isinstance(y, bool):
        return float(y)
    return float("nan")


def _is_number(y: object) -> bool:
    return isinstance(y, int | float) and not isinstance(y, bool)


def _category(y: object) -> str:
    """A value's name on a categorical axis."""
    if type(y) is str:
        return y
    return orjson.dumps(y).decode()


def _category_order(values: list[Any]) -> list[Any]:
    """The distinct values of a categorical tag, bottom to top: numbers (and booleans) first, then text."""
    seen: dict[str, Any] = {}
    for value in values:
        if value is not None:
            seen.setdefault(_category(value), value)
    numbers = sorted((v for v in seen.values() if isinstance(v, int | float)), key=float)
    others = sorted(_category(v) for v in seen.values() if not isinstance(v, int | float))
    return [*map(_category, numbers), *others]


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _title(histories: Sequence[TagHistory], source: str | None, times: list[int]) -> str:
    parts = [f"source {source}"] if source is not None else []
    if times:
        parts.append(f"{_iso(min(times))} .. {_iso(max(times))} UTC")
    else:
        parts.append("no points")
    thinned = [h for h in histories if h.exceed]
    if thinned:
        parts.append(f"thinned by the platform ({len(thinned)} of {len(histories)} tags)")
    else:
        parts.append("every point")
    return ", ".join(parts)


def _is_categorical(history: TagHistory, categorical: bool | Collection[TagId]) -> bool:
    """Named in ``categorical``, or values none of which is a number (text, booleans, JSON)."""
    if categorical is True or (categorical is not False and history.tag_id in categorical):
        return True
    values = [p["y"] for p in history.points if p["y"] is not None]
    return bool(values) and not any(_is_number(y) for y in values)


def plot_histories(
    histories: Sequence[TagHistory],
    *,
    path: str | PathLike[str] | None = None,
    ax: Axes | None = None,
    step: bool | Collection[TagId] = (),
    categorical: bool | Collection[TagId] = (),
    source: str | None = None,
    title: str | None = None,
    gap: float | None = None,
    hold_last: bool = False,
) -> Figure:
    """Draw histories, one panel per tag on a shared UTC time axis; return the matplotlib ``Figure``.

    Args:
        histories: What ``get_data`` returned (or some of it).
        path: Save the figure there too (PNG, or any format matplotlib knows by the extension).
        ax: Draw every tag on these matplotlib axes instead of one panel per tag in a new figure
            (then the tags are either all numbers or all categorical).
        step: The ids of the step tags, drawn as steps (or ``True`` for all): ``tag.attributes.step``
            says which tags are; ``connect`` gives them.
        categorical: The ids of tags drawn as steps on an axis of their values (or ``True`` for
            all): discrete tags, whose integers are states. A tag whose values are text, booleans or
            JSON values (no number) is drawn so anyway.
        source: The data source, named in the title.
        title: The whole title, instead of the one made of the source, period and thinning.
        gap: Seconds between two points beyond which the line of any tag breaks (``float("inf")``:
            never). By default a number tag's line breaks where an interval is more than five times
            its median one, and steps are held whatever the interval.
        hold_last: Draw the line on to a last point that repeats the value before it (the platform's
            value at the end of the period, past the last stored point); by default the line stops at
            the point before it.

    Needs matplotlib: ``pip install 'data-interaction-client[plot]'``.:

    ```python
    plot_histories(client.get_data(req), path="today.png", source="1")
    ```

    """
    matplotlib, figure_class, canvas_class = _matplotlib()
    if gap is not None and (isinstance(gap, bool) or not isinstance(gap, int | float) or not gap > 0):
        raise InvalidInputError(f"gap must be a number of seconds > 0 (or None: from the data), not {gap!r}")
    if isinstance(histories, TagHistory) or not all(isinstance(h, TagHistory) for h in histories):
        raise InvalidInputError("plot_histories takes a list of TagHistory, as get_data returns")
    kinds = [_is_categorical(history, categorical) for history in histories]
    if ax is not None:
        if len(set(kinds)) > 1:
            names = ", ".join(repr(str(h.tag_id)) for h, kind in zip(histories, kinds, strict=True) if kind)
            raise InvalidInputError(
                f"the tags {names} are categorical (text, booleans or discrete states) and the others are "
                "numbers: they cannot share one axis; leave ax out to draw one panel per tag"
            )
        # The whole figure, also when ax is in a subfigure (which cannot be saved on its own).
        figure = ax.get_figure(root=True)
        if figure is None:
            raise InvalidInputError("ax belongs to no figure: give axes made by a Figure (figure.subplots())")
        panels = [ax] * len(histories)
        top = bottom = ax
    else:
        count = max(1, len(histories))
        height = _HEIGHT if count == 1 else max(_HEIGHT, _PANEL_HEIGHT * count + 1.0)
        figure = figure_class(figsize=(_WIDTH, height), dpi=_DPI, layout="constrained")
        canvas_class(figure)
        axes = figure.subplots(count, 1, sharex=True, squeeze=False)[:, 0]
        panels = list(axes[: len(histories)])
        top, bottom = axes[0], axes[-1]
    all_times: list[int] = []
    categories: list[str] = []  # of a shared axes: every categorical tag's values
    bad_label = "bad quality"  # one legend entry on a shared axes
    for history, panel, kind in zip(histories, panels, kinds, strict=True):
        times = [_micros(p["x"]) for p in history.points]
        all_times += times
        if ax is None:
            bad_label = "bad quality"
            categories = []
        _draw_tag(matplotlib, panel, history, times, kind, step, categories, bad_label, gap, hold_last)
        if any(p.get("q") not in _GOOD for p in history.points):
            bad_label = "_nolegend_"
        if ax is None and not history.points:
            panel.text(0.5, 0.5, "no points", transform=panel.transAxes, ha="center", va="center")
    from matplotlib import dates

    if all_times:
        locator = dates.AutoDateLocator()  # type: ignore[no-untyped-call,unused-ignore]
        bottom.xaxis.set_major_locator(locator)
        formatter = dates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call,unused-ignore]
        bottom.xaxis.set_major_formatter(formatter)
    else:
        bottom.set_xticks([])  # no time at all: no axis of 1970
    bottom.set_xlabel("time (UTC)")
    top.set_title(title if title is not None else _title(histories, source, all_times), fontsize=10)
    if path is not None:
        # No date or version in the file: the same data gives the same bytes.
        figure.savefig(path, dpi=_DPI, metadata={"Software": None})
    return figure


def _draw_tag(
    matplotlib: Any,
    ax: Any,
    history: TagHistory,
    times: list[int],
    categorical: bool,
    step: bool | Collection[TagId],
    categories: list[str],
    bad_label: str,
    gap: float | None,
    hold_last: bool,
) -> None:
    """Draw one tag on ``ax``: its line, steps or categories, and crosses at its bad points."""
    import numpy as np

    label = str(history.tag_id)
    points = history.points
    held = len(points) >= 2 and _same(points[-1], points[-2])
    if held and not hold_last:
        points, times = points[:-1], times[:-1]  # the value held to the end of the period: not stored
    when = np.array(times, dtype=np.int64).view("datetime64[us]")
    ys = [p["y"] for p in points]
    stepped = categorical or step is True or (step is not False and history.tag_id in step)
    breaks = _breaks(times, gap * 1e6 if gap is not None else None if stepped else _usual_gap(times))
    if held and hold_last:
        breaks = breaks[breaks != len(times) - 2]  # asked to: the line goes on to the value held
    if categorical:
        for name in _category_order(ys):
            if name not in categories:
                categories.append(name)
        index = {name: position for position, name in enumerate(categories)}
        values = np.array([np.nan if y is None else index[_category(y)] for y in ys], dtype=np.float64)
        ax.set_yticks(range(len(categories)), categories)
        ax.set_ylim(-0.5, max(len(categories), 1) - 0.5)
    else:
        values = np.array([_number(y) for y in ys], dtype=np.float64)
    # A NaN right after the last point before each gap: the line (or step) stops there.
    line_when = np.insert(when, breaks + 1, when[breaks]) if len(breaks) else when
    line_values = np.insert(values, breaks + 1, np.nan) if len(breaks) else values
    if stepped:
        (line,) = ax.step(line_when, line_values, where="post", label=label)
    else:
        (line,) = ax.plot(line_when, line_values, label=label)
    alone = _alone(len(times), breaks)
    if alone:  # a point with a gap (or the end) on both sides draws no line: a dot
        ax.plot(when[alone], values[alone], ".", color=line.get_color(), label="_nolegend_")
    bad = [i for i, p in enumerate(points) if p.get("q") not in _GOOD]
    if bad:
        marks = values[bad]
        on_value = ~np.isnan(marks)
        ax.plot(
            when[bad][on_value], marks[on_value], "x", color="red", markersize=7, zorder=3, label=bad_label
        )
        if (~on_value).any():  # a null value: a cross at the bottom, where the value would be
            bottom = matplotlib.transforms.blended_transform_factory(ax.transData, ax.transAxes)
            ax.plot(
                when[bad][~on_value],
                np.full(int((~on_value).sum()), 0.02),
                "x",
                color="red",
                markersize=7,
                transform=bottom,
                clip_on=False,
            )
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, alpha=0.3)


def _same(last: Any, before: Any) -> bool:
    """Whether the last point repeats the value and quality of the one before (the platform's hold)."""
    return bool(
        type(last["y"]) is type(before["y"]) and last["y"] == before["y"] and last.get("q") == before.get("q")
    )


def _usual_gap(times: list[int]) -> float | None:
    """Microseconds beyond which an interval of these points is a gap: five times the median one."""
    import numpy as np

    intervals = np.diff(np.array(times, dtype=np.int64))
    if len(intervals) < _GAP_MIN_INTERVALS:
        return None
    median = float(np.median(intervals))
    return _GAP_FACTOR * median if median > 0 else None


def _breaks(times: list[int], threshold: float | None) -> Any:
    """The indices of the points followed by a gap (an interval longer than ``threshold`` µs)."""
    import numpy as np

    if threshold is None or len(times) < 2:
        return np.array([], dtype=np.int64)
    return np.flatnonzero(np.diff(np.array(times, dtype=np.float64)) > threshold)


def _alone(count: int, breaks: Any) -> list[int]:
    """The points with a gap, or the start or end of the data, on both sides."""
    if not len(breaks):
        return [0] if count == 1 else []
    after = {int(i) for i in breaks}  # a gap follows these
    return [i for i in range(count) if (i == 0 or i - 1 in after) and (i == count - 1 or i in after)]
