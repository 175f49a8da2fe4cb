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
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels == ["flow", "bad quality", "valve", "o/p"]
    different = tmp_path / "c.png"
    plot_histories(_histories()[:1], path=different)
    assert different.read_bytes() != data


def test_steps_and_bad_quality_marks() -> None:
    figure = plot_histories(_histories()[:2], step=True)
    lines = figure.axes[0].get_lines()
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


def test_bad_input_and_missing_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="list of TagHistory"):
        plot_histories(_histories()[0])  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"data-interaction-client\[plot\]"):
        plot_histories([])
