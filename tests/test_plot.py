"""plot_histories / TagHistory.plot: a PNG is made, and the same data makes the same bytes."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from data_interaction_client import InvalidInputError, Point, TagHistory, TagPath, plot_histories

B = 1_600_000_000_000_000
S = 1_000_000


def _histories() -> list[TagHistory]:
    return [
        TagHistory(
            "flow", [Point(x=B + i * 60 * S, y=i * 1.5, q=0 if i != 5 else 102) for i in range(20)], False
        ),
        TagHistory(
            "valve", [Point(x=B + i * 120 * S, y=i % 2, q=None if i != 3 else 100) for i in range(10)], True
        ),
        TagHistory(
            TagPath("p", "o"),
            [Point(x=B, y="text"), Point(x=B + S, y=None, q=102), Point(x=B + 2 * S, y=True)],
            False,
        ),
    ]


def test_png_is_made_and_the_same_data_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    figure = plot_histories(_histories(), path=first, step={"valve"}, source="1")
    plot_histories(_histories(), path=second, step={"valve"}, source="1")
    data = first.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000
    assert hashlib.sha256(data).digest() == hashlib.sha256(second.read_bytes()).digest()
    assert b"Software" not in data  # no version or date in the file
    assert isinstance(figure, Figure)
    title = figure.axes[0].get_title()
    assert (
        title
        == "source 1, 2020-09-13 12:26:40 .. 2020-09-13 12:45:40 UTC, thinned by the platform (1 of 3 tags)"
    )
    labels = [[text.get_text() for text in ax.get_legend().get_texts()] for ax in figure.axes]
    assert labels == [["flow", "bad quality"], ["valve", "bad quality"], ["o/p", "bad quality"]]
    different = tmp_path / "c.png"
    plot_histories(_histories()[:1], path=different)
    assert different.read_bytes() != data


def test_one_panel_per_tag_on_one_time_axis() -> None:
    small = TagHistory("small", [Point(x=B + i * S, y=i * 0.001) for i in range(5)], False)
    large = TagHistory("large", [Point(x=B + i * S, y=i * 1e6) for i in range(5)], False)
    figure = plot_histories([small, large])
    first, second = figure.axes
    assert first.get_shared_x_axes().joined(first, second)
    low, high = first.get_ylim()
    assert high - low < 0.01  # the small tag keeps a scale of its own
    assert second.get_ylim()[1] > 1e6
    assert plot_histories([small, large] * 2).get_figheight() > 5.0  # room for each panel


def test_text_and_discrete_tags_are_steps_on_a_categorical_axis() -> None:
    status = TagHistory(
        "status",
        [
            Point(x=B, y="run"),
            Point(x=B + S, y="stop"),
            Point(x=B + 2 * S, y=None, q=102),
            Point(x=B + 3 * S, y="run"),
        ],
        False,
    )
    valve = TagHistory("valve", [Point(x=B + i * S, y=i % 3) for i in range(6)], False)
    flag = TagHistory("flag", [Point(x=B, y=True), Point(x=B + S, y=False)], False)
    figure = plot_histories([status, valve, flag], categorical={"valve"})
    for ax, ticks in zip(figure.axes, (["run", "stop"], ["0", "1", "2"], ["false", "true"]), strict=True):
        line = ax.get_lines()[0]
        assert line.get_drawstyle() == "steps-post"
        assert [label.get_text() for label in ax.get_yticklabels()] == ticks
    status_values = figure.axes[0].get_lines()[0].get_ydata()
    assert list(status_values[[0, 1, 3]]) == [0, 1, 0]
    # The time axis is the period's, not 1970's.
    low, _ = figure.axes[0].get_xlim()
    assert low > 18_000  # days since 1970: 2020
    # On one given axes the tags are all categorical, or all numbers.
    shared = Figure().add_subplot()
    plot_histories([status, flag], ax=shared)
    assert [label.get_text() for label in shared.get_yticklabels()] == ["run", "stop", "false", "true"]
    with pytest.raises(InvalidInputError, match="'status' are categorical"):
        plot_histories([status, _histories()[0]], ax=Figure().add_subplot())


def test_steps_and_bad_quality_marks() -> None:
    figure = plot_histories(_histories()[:2], step=True)
    lines = [line for ax in figure.axes for line in ax.get_lines()]
    assert [line.get_drawstyle() for line in lines if line.get_label() in ("flow", "valve")] == [
        "steps-post"
    ] * 2
    crosses = [line for line in lines if line.get_marker() == "x"]
    assert [len(line.get_xdata()) for line in crosses] == [1, 1]
    assert list(crosses[0].get_ydata()) == [7.5]
    assert "every point" in plot_histories(_histories()[:1]).axes[0].get_title()


def test_history_plot_on_given_axes(tmp_path: Path) -> None:
    figure = Figure()
    ax = figure.add_subplot()
    assert _histories()[0].plot(ax=ax, title="mine") is figure
    assert ax.get_title() == "mine"
    assert "no points" in TagHistory("a", [], False).plot().axes[0].get_title()
    iso = TagHistory("a", [Point(x="2020-09-13T12:26:40Z", y=1), Point(x="2020-09-13 12:27:40", y=2)], False)
    iso.plot(path=tmp_path / "iso.png")
    assert (tmp_path / "iso.png").stat().st_size > 0


def test_axes_in_a_subfigure_give_the_whole_figure_which_is_saved(tmp_path: Path) -> None:
    figure = Figure()
    left, _ = figure.subfigures(1, 2)
    ax = left.add_subplot()
    assert plot_histories(_histories()[:1], ax=ax, path=tmp_path / "sub.png") is figure
    assert (tmp_path / "sub.png").stat().st_size > 0


def test_bad_input_and_missing_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="list of TagHistory"):
        plot_histories(_histories()[0])  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"data-interaction-client\[plot\]"):
        plot_histories([])


# --- gaps and the value held at the end of the period -----------------------------------------------


def _line(figure: Figure, panel: int = 0) -> tuple[list[float], list[float]]:
    """The tag's line on a panel: x in seconds from B (NaN-separated parts), y."""
    import numpy as np

    line = figure.axes[panel].get_lines()[0]
    xs = np.asarray(line.get_xdata()).astype("datetime64[us]").astype(np.int64)
    return [(x - B) / S for x in xs], [float(y) for y in line.get_ydata()]


def _drawn_spans(xs: list[float], ys: list[float]) -> list[tuple[float, float]]:
    """The (from, to) of each part of the line between NaNs."""
    spans: list[tuple[float, float]] = []
    part: list[float] = []
    for x, y in [*zip(xs, ys, strict=True), (float("nan"), float("nan"))]:
        if y == y:
            part.append(x)
        elif part:  # NaN (or the end): the part ends
            spans.append((part[0], part[-1]))
            part = []
    return spans


def test_a_gap_in_the_data_is_drawn_as_a_gap() -> None:
    """Every second for 10 s, nothing for 10 minutes, then every second again: two parts, no line across."""
    seconds = [*range(10), *range(610, 620)]
    history = TagHistory("flow", [Point(x=B + s * S, y=float(s % 7)) for s in seconds], False)
    xs, ys = _line(history.plot())
    assert _drawn_spans(xs, ys) == [(0, 9), (610, 619)]
    # Asked not to break (or a wider gap), the line joins the two parts as before.
    assert _drawn_spans(*_line(history.plot(gap=float("inf")))) == [(0, 619)]
    assert _drawn_spans(*_line(history.plot(gap=601))) == [(0, 619)]


def test_steps_break_at_the_gap_given_and_a_point_alone_is_a_dot() -> None:
    valve = TagHistory("valve", [Point(x=B + s * S, y=s % 2) for s in (0, 1, 2, 100, 200, 201)], False)
    figure = plot_histories([valve], step=True)
    assert _drawn_spans(*_line(figure)) == [(0, 201)]  # steps hold their value whatever the interval
    figure = plot_histories([valve], step=True, gap=10)
    xs, ys = _line(figure)
    assert _drawn_spans(xs, ys) == [(0, 2), (100, 100), (200, 201)]
    dots = figure.axes[0].get_lines()[1]
    assert dots.get_marker() == "."
    assert [float(y) for y in dots.get_ydata()] == [0.0]  # the point at 100 s, with gaps on both sides


def test_the_last_value_is_not_drawn_past_the_last_stored_point() -> None:
    """A connector that stopped at 30 s, read up to 1 hour: the platform's answer ends with the last value
    again at 1 h (its value at the end of the period). The line stops at 30 s unless asked."""
    stored = [Point(x=B + s * S, y=20.0 + s / 10, q=0) for s in range(0, 31, 5)]
    held = Point(x=B + 3600 * S, y=stored[-1].y, q=0)
    for step in (False, True):
        history = TagHistory("temperature", [*stored, held], False)
        xs, ys = _line(plot_histories([history], step=step))
        assert _drawn_spans(xs, ys) == [(0, 30)], step
        xs, ys = _line(plot_histories([history], step=step, hold_last=True))
        assert _drawn_spans(xs, ys) == [(0, 3600)], step
    # The title still gives the period the answer covers.
    assert (
        plot_histories([history]).axes[0].get_title()
        == "2020-09-13 12:26:40 .. 2020-09-13 13:26:40 UTC, every point"
    )


def test_gap_must_be_a_number_of_seconds() -> None:
    history = TagHistory("flow", [Point(x=B, y=1.0)], False)
    for bad in (0, -1, "10", True):
        with pytest.raises(InvalidInputError, match="gap must be a number of seconds > 0"):
            history.plot(gap=bad)
