"""``get TAG...``: the history of tags, to a table, a file of points or a plot."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import click
from rich.console import Console

from data_interaction_client import (
    DataInteractionClient,
    TagHistory,
    TagId,
    ValueType,
    plot_histories,
)

from ._files import cell_value, tag_text
from ._history_files import open_history_file
from ._output import HistoryTable
from ._params import CliError, DurationParam, GlobalOptions, TimeParam, file_type, tag_argument
from ._times import DURATION_HELP, TIME_HELP, format_time

__all__ = ["PLOT_POINTS", "TABLE_ROWS", "get"]

PLOT_POINTS: Final = 2000
"""Points per tag of the read behind ``--plot`` when ``--max-count`` is not given: a chart's width."""
TABLE_ROWS: Final = 1000
"""Rows of the table ``get`` prints on a terminal when --limit is not given."""


def _value_filter(values: tuple[str, ...]) -> Any:
    parsed = [cell_value(value) for value in values]
    if not parsed:
        return None
    return parsed[0] if len(parsed) == 1 else parsed


@dataclass
class _DataSourceTags:
    """What ``--source`` says of the tags: which it has, which are steps, which are categorical."""

    name: str
    ids: set[TagId]
    steps: set[TagId]
    categorical: set[TagId]


def _data_source_tags(client: DataInteractionClient, source: str | None) -> _DataSourceTags | None:
    if source is None:
        return None
    tags = client.connect(source).tags
    categorical = {ValueType.STRING, ValueType.DISCRETE}
    return _DataSourceTags(
        source,
        {info.id for info in tags},
        {info.id for info in tags if info.attributes.step},
        {info.id for info in tags if info.attributes.value_type in categorical},
    )


def _check_period(from_: int | None, to: int | None) -> None:
    """A usage error, in the times as they were typed, for a period that ends before it starts."""
    if from_ is None or to is None or from_ <= to:
        return
    given = click.get_current_context().meta
    raise click.UsageError(
        f"the period ends before it starts: --from {given.get('time:from_', from_)} "
        f"({format_time(from_)}) is after --to {given.get('time:to', to)} ({format_time(to)})"
    )


@click.command()
@click.argument("tags", nargs=-1, required=True)
@click.option("--from", "from_", type=TimeParam(), help=f"Start of the period: {TIME_HELP}.")
@click.option("--to", type=TimeParam(), help="End of the period (default: now).")
@click.option(
    "--max-count",
    type=click.IntRange(min=1),
    help="At most this many points per tag (thinned by the platform).",
)
@click.option("--time-step", type=DurationParam(), help=f"Resample on this grid: {DURATION_HELP}.")
@click.option("--actual", is_flag=True, help="Stored values only, no interpolated boundary points.")
@click.option(
    "--value", multiple=True, help="Only points whose value equals this (JSON or text; repeat for several)."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write to FILE: .csv, .jsonl or .parquet (renamed into place once complete).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "jsonl"]),
    help="Standard output's format (default: a table on a terminal, CSV otherwise).",
)
@click.option("--plot", type=click.Path(dir_okay=False), help="Draw the points into this PNG file.")
@click.option(
    "--source",
    help="The data source: tags it does not have are named; its step tags are drawn as steps, its "
    "string and discrete tags on an axis of their values; named in the plot's title.",
)
@click.option(
    "--window",
    type=DurationParam(),
    default="1h",
    show_default=True,
    help="First time window of a paged read.",
)
@click.option(
    "--page-size",
    type=click.IntRange(min=2),
    default=100_000,
    show_default=True,
    help="Points per request of a paged read.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help=f"At most this many points written, in any format (default: {TABLE_ROWS:,} for a table, all "
    "otherwise).",
)
@click.pass_obj
def get(
    options: GlobalOptions,
    tags: tuple[str, ...],
    from_: int | None,
    to: int | None,
    max_count: int | None,
    time_step: int | None,
    actual: bool,
    value: tuple[str, ...],
    output: str | None,
    fmt: str | None,
    plot: str | None,
    source: str | None,
    window: int,
    page_size: int,
    limit: int | None,
) -> int:
    """Read the history of TAG... (a path as '{"tagName": ..., "parentObjectId": ...}').

    With --from and neither --max-count nor --time-step, every stored point of the period is read,
    in time windows, and written as it comes: memory stays bounded whatever the period. Otherwise
    one call answers, as the platform's history rules say (interpolated boundaries, thinning).
    A tag of which no point came back is named on standard error.
    """
    if output is not None:
        file_type(output, "'--output'")
    if plot is not None and Path(plot).suffix.lower() != ".png":
        raise click.BadParameter("the plot is a PNG file: give a name ending in .png", param_hint="'--plot'")
    _check_period(from_, to)
    ids = [tag_argument(tag) for tag in tags]
    started = time.perf_counter()
    with options.client() as client:
        request = client.create_request_data(
            ids,
            from_time=from_,
            to_time=to,
            max_count=max_count,
            time_step=time_step,
            value=_value_filter(value),
            actual=actual or None,
        )
        known = _data_source_tags(client, source)
        requested = request.tag_id if isinstance(request.tag_id, list) else [request.tag_id]
        counts: dict[TagId, int] | None = None
        points_written = 0
        if output is not None or plot is None:
            paged = from_ is not None and max_count is None and time_step is None
            pages: Iterator[list[TagHistory]]
            if paged:
                pages = client.iter_history(request, window=window, page_size=page_size)
            else:
                pages = iter([client.get_data(request)])
            points_written, counts = _write_pages(pages, output, fmt, limit, paged)
        if plot is not None:
            drawn = _draw(client, request, plot, known, max_count)
            if counts is None:
                counts = drawn
    if counts is not None:
        _note_empty(requested, counts, known)
    if output is not None or plot is not None:
        done = f"wrote {output}: {points_written:,} points" if output is not None else ""
        drawn_text = f"drew {plot}" if plot is not None else ""
        sys.stderr.write(
            ", ".join(part for part in (done, drawn_text) if part)
            + f" in {time.perf_counter() - started:.2f} s\n"
        )
    return 0


def _note_empty(requested: list[TagId], counts: dict[TagId, int], known: _DataSourceTags | None) -> None:
    """One line on standard error per tag of which no point came back (none at all when cut short)."""
    for tag_id in requested:
        if counts.get(tag_id, 0):
            continue
        line = f"note: no point of {tag_text(tag_id)!r} came back for the period asked"
        if known is not None and tag_id not in known.ids:
            line += f": data source {known.name!r} has no such tag"
        sys.stderr.write(line + "\n")


def _write_pages(
    pages: Iterator[list[TagHistory]], output: str | None, fmt: str | None, limit: int | None, paged: bool
) -> tuple[int, dict[TagId, int] | None]:
    """Write every page; return the points written and the points per tag (``None`` when cut short)."""
    output_to: Any
    if output is not None:
        output_to = open_history_file(output)
    else:
        kind = fmt or ("table" if Console().is_terminal else "csv")
        if kind == "table":
            output_to = HistoryTable()
            limit = TABLE_ROWS if limit is None else limit
        else:
            output_to = open_history_file("-", stdout=sys.stdout, kind=kind)
    points = 0
    counts: dict[TagId, int] = {}
    thinned: list[str] = []
    more = False
    try:
        for given in pages:
            page = given
            if limit is not None and points + sum(len(h.points) for h in page) > limit:
                page, more = _cut(page, limit - points), True
            output_to.write(page)
            for history in page:
                points += len(history.points)
                counts[history.tag_id] = counts.get(history.tag_id, 0) + len(history.points)
            thinned += [tag_text(h.tag_id) for h in page if h.exceed]
            if more:
                break
    except BaseException:
        output_to.discard()
        raise
    output_to.close()
    if more:
        done = "showing" if output is None else f"wrote to {output}"
        sys.stderr.write(f"{done} the first {points:,} points (--limit): a larger --limit for more\n")
    if thinned and not paged:
        sys.stderr.write(f"note: the platform thinned the points of {', '.join(thinned)} (exceed)\n")
    return points, None if more else counts


def _cut(page: list[TagHistory], room: int) -> list[TagHistory]:
    """The first ``room`` points of a page."""
    kept = []
    for history in page:
        points = history.points[: max(room, 0)]
        room -= len(points)
        kept.append(TagHistory(history.tag_id, points, history.exceed))
    return kept


def _draw(
    client: DataInteractionClient,
    request: Any,
    path: str,
    known: _DataSourceTags | None,
    max_count: int | None,
) -> dict[TagId, int]:
    """Draw the plot; return the points per tag it drew."""
    request.update(max_count=max_count or PLOT_POINTS)
    histories = client.get_data(request)
    try:
        plot_histories(
            histories,
            path=path,
            step=known.steps if known is not None else (),
            categorical=known.categorical if known is not None else (),
            source=known.name if known is not None else None,
        )
    except ImportError as exc:  # matplotlib is not installed
        raise CliError(str(exc)) from None
    return {history.tag_id: len(history.points) for history in histories}
