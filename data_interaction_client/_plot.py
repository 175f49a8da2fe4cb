"""Plots of history with matplotlib (the ``plot`` extra): ``plot_histories`` and ``TagHistory.plot``.

One line per tag against UTC time; a step tag drawn as steps (each value held until the next); a point
whose quality code is not good (not 0 or null) marked with a red cross (at its value, or at the bottom
of the axes when its value is null); the title says the source, the period and whether the platform
thinned the data (``exceed``). Values that are not numbers leave gaps; booleans are drawn as 0 and 1.

The figure is made without pyplot (no GUI backend, no global state) and drawn by Agg; a PNG carries
no date and no software version, so the same data gives the same bytes on the same installation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from os import PathLike
from typing import Any, Final

from ._exceptions import InvalidInputError
from ._results import TagHistory
from ._types import TagId, datetime_to_micros

__all__ = ["plot_histories"]

_GOOD: Final = (0, None)
_FIGSIZE: Final = (10.0, 5.0)
_DPI: Final = 100


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
    if isinstance(y, bool):
        return float(y)
    if isinstance(y, int | float):
        return float(y)
    return float("nan")


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


def plot_histories(
    histories: Sequence[TagHistory],
    *,
    path: str | PathLike[str] | None = None,
    ax: Any = None,
    step: bool | Collection[TagId] = (),
    source: str | None = None,
    title: str | None = None,
) -> Any:
    """Draw histories, one line per tag against UTC time; return the matplotlib ``Figure``.

    Args:
        histories: What ``get_data`` returned (or some of it).
        path: Save the figure there too (PNG, or any format matplotlib knows by the extension).
        ax: Draw on these matplotlib axes instead of a new figure.
        step: The ids of the step tags, drawn as steps (or ``True`` for all): ``tag.attributes.step``
            says which tags are; ``connect`` gives them.
        source: The data source, named in the title.
        title: The whole title, instead of the one made of the source, period and thinning.

    Needs matplotlib: ``pip install 'data-interaction-client[plot]'``. ::

        plot_histories(client.get_data(req), path="today.png", source="1")

    """
    matplotlib, figure_class, canvas_class = _matplotlib()
    if isinstance(histories, TagHistory) or not all(isinstance(h, TagHistory) for h in histories):
        raise InvalidInputError("plot_histories takes a list of TagHistory, as get_data returns")
    import numpy as np
    from matplotlib import dates

    if ax is None:
        figure = figure_class(figsize=_FIGSIZE, dpi=_DPI)
        canvas_class(figure)
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    all_times: list[int] = []
    bad_label = "bad quality"  # one legend entry for every tag's crosses
    for history in histories:
        label = str(history.tag_id)
        xs = [_micros(p["x"]) for p in history.points]
        all_times += xs
        when = np.array(xs, dtype=np.int64).view("datetime64[us]")
        values = np.array([_number(p["y"]) for p in history.points], dtype=np.float64)
        if step is True or (step is not False and history.tag_id in step):
            ax.step(when, values, where="post", label=label)
        else:
            ax.plot(when, values, label=label)
        bad = [i for i, p in enumerate(history.points) if p.get("q") not in _GOOD]
        if bad:
            marks = values[bad]
            on_value = ~np.isnan(marks)
            ax.plot(
                when[bad][on_value],
                marks[on_value],
                "x",
                color="red",
                markersize=7,
                zorder=3,
                label=bad_label,
            )
            bad_label = "_nolegend_"
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
    locator = dates.AutoDateLocator()  # type: ignore[no-untyped-call,unused-ignore]
    ax.xaxis.set_major_locator(locator)
    formatter = dates.ConciseDateFormatter(locator, tz=UTC)  # type: ignore[no-untyped-call,unused-ignore]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel("time (UTC)")
    ax.set_title(title if title is not None else _title(histories, source, all_times), fontsize=10)
    if histories:
        ax.legend(loc="best", fontsize=8)
    ax.grid(True, alpha=0.3)
    if path is not None:
        # No date or version in the file: the same data gives the same bytes.
        figure.savefig(path, dpi=_DPI, metadata={"Software": None})
    return figure
