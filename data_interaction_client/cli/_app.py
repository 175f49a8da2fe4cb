"""The commands of ``data-interaction-client``: click for parsing, rich for tables and progress.

Every command talks to the platform through the package's public API only, as a user's script would.
Errors are one line on standard error (``error: ...``); the exit status is 2 for a usage error (a bad
option, time, file name or tag id), 1 for a call or a file that failed, 0 otherwise; ``--debug``
adds the traceback. The token is never printed.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import click
import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from data_interaction_client import (
    AuthenticationError,
    DataInteractionClient,
    DataInteractionError,
    DataSourceNotActiveError,
    InvalidInputError,
    TagHistory,
    TagId,
    ValueType,
    __version__,
    plot_histories,
)

from .._options import check_token
from ._files import (
    CsvDialect,
    FileError,
    Source,
    check_encoding,
    format_of,
    open_source,
    open_writer,
    tag_text,
)
from ._send import SendReport, WriterSink, open_sink, send_files
from ._times import DURATION_HELP, TIME_HELP, format_time, parse_duration, parse_time

__all__ = ["cli", "run"]

PROG: Final = "data-interaction-client"
URL_ENV: Final = "DATA_INTERACTION_URL"
TOKEN_ENV: Final = "DATA_INTERACTION_TOKEN"
DEFAULT_URL: Final = "http://127.0.0.1:8000"
PLOT_POINTS: Final = 2000
"""Points per tag of the read behind ``--plot`` when ``--max-count`` is not given: a chart's width."""
CHUNK_ROWS: Final = 100_000
"""Rows read, checked and sent together by ``send``."""

log = logging.getLogger("data_interaction_client.cli")


class CliError(Exception):
    """A failure to report in one line, with its exit status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Settings:
    """The global options, shared by every command."""

    url: str
    token: str | None
    timeout: float
    retries: int
    debug: bool

    def client(self) -> DataInteractionClient:
        """A client for the platform at ``--url``."""
        try:
            check_token(self.token)  # a bad token is reported as one, not as a bad --url
        except InvalidInputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--token'") from None
        try:
            return DataInteractionClient(
                self.url, token=self.token, timeout=self.timeout, max_retries=self.retries
            )
        except InvalidInputError as exc:
            raise click.BadParameter(str(exc), param_hint="'--url'") from None


class _Time(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            micros = parse_time(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if ctx is not None and param is not None:
            ctx.meta[f"time:{param.name}"] = value  # as typed, for messages
        return micros


class _Duration(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _tag_argument(text: str) -> Any:
    """A tag given on the command line: a plain id, or a path's JSON object."""
    if text.startswith("{"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise click.BadParameter(
                f"{text!r} starts with '{{' but is not JSON: a tag path is "
                '\'{"tagName": "pressure", "parentObjectId": "boiler-7"}\''
            ) from None
    return text


def _encoding_option(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_encoding(value)
    except FileError as exc:
        raise click.BadParameter(str(exc)) from None


def _delimiter_option(context: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    delimiter = "\t" if value in ("tab", "\\t") else value
    if len(delimiter) != 1 or delimiter in '"\r\n' or delimiter.isalnum():
        raise click.BadParameter(f"{value!r}: give one character such as ',' or ';', or 'tab'")
    return delimiter


def _file_type(path: str, param: str) -> str:
    try:
        return format_of(path)
    except FileError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--url",
    envvar=URL_ENV,
    default=DEFAULT_URL,
    show_default=True,
    show_envvar=True,
    help="The platform's address.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    default=None,
    show_envvar=True,
    help="Bearer token, never printed (the variable or --token-file keep it out of the shell's history).",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Read the token from this file.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds per request attempt.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Retries after a connection error, a timeout, HTTP 408, 429 or 5xx.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(
    ctx: click.Context,
    url: str,
    token: str | None,
    token_file: str | None,
    timeout: float,
    retries: int,
    debug: bool,
) -> None:
    """Talk to the industrial data platform: connect a source, send files of points, read history."""
    if token_file is not None:
        if ctx.get_parameter_source("token") == click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("give --token or --token-file, not both")
        token = Path(token_file).read_text(encoding="utf-8").strip()
        if not token:
            raise click.BadParameter("the file is empty", param_hint="'--token-file'")
    ctx.obj = Settings(url=url, token=token or None, timeout=timeout, retries=retries, debug=debug)


# --- connect ---------------------------------------------------------------------------------------


def _json_attributes(attributes: Any) -> dict[str, Any]:
    return dict(attributes.items())


@cli.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def connect(settings: Settings, source: str, as_json: bool) -> int:
    """The state of data source SOURCE and its tags with their attributes.

    The exit status is 1 when the source is switched off.
    """
    with settings.client() as client:
        try:
            conn = client.connect(source)
        except DataSourceNotActiveError:
            if as_json:
                _echo_json({"id": source, "active": False, "attributes": None, "tags": []})
            raise
    tags = [
        {
            "id": info.id.to_dict() if not isinstance(info.id, str) else info.id,
            "attributes": _json_attributes(info.attributes),
        }
        for info in conn.tags
    ]
    if as_json:
        _echo_json(
            {"id": source, "active": True, "attributes": _json_attributes(conn.attributes), "tags": tags}
        )
        return 0
    console = Console(highlight=False)
    terminal = console.is_terminal  # rich only on a terminal; plain lines into a pipe or a file
    if terminal:
        console.print(f"data source {source}: [bold green]active[/], {len(tags)} tags")
    else:
        click.echo(f"data source {source}: active, {len(tags)} tags")
    config = conn.attributes.config
    if config is not None:
        line = f"configuration: {orjson.dumps(config).decode()}"
        if terminal:
            console.print(Text(line))
        else:
            click.echo(line)
    header = ("tag", "type", "scale", "max dev", "step", "source", "other attributes")
    known = {"smtTagValueTypeCode", "smtTagValueScale", "smtTagMaxDev", "smtTagSource", "smtStep"}
    rows = []
    for info in conn.tags:
        attributes = info.attributes
        value_type = attributes.value_type
        other = {key: value for key, value in attributes.items() if key not in known}
        rows.append(
            (
                tag_text(info.id),
                "" if value_type is None else value_type.name.lower(),
                _cell(attributes.scale),
                _cell(attributes.max_deviation),
                "yes" if attributes.step else "",
                _cell(attributes.source),
                orjson.dumps(other).decode() if other else "",
            )
        )
    if not terminal:  # tab-separated lines, nothing cut
        for row in (header, *rows):
            click.echo("\t".join(" ".join(cell.split()) for cell in row))
        return 0
    table = Table(*header)
    # A tag's path is never cut: the other columns fold first.
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max((len(row[0]) for row in rows), default=3)
    for column in table.columns[1:]:
        column.overflow = "fold"
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


# --- send ------------------------------------------------------------------------------------------


class _RateColumn(ProgressColumn):
    """Points so far and points per second, as of the last chunk sent (not decaying in between)."""

    def render(self, task: Task) -> Text:
        points = int(task.fields.get("points", 0))
        rate = task.fields.get("rate")
        shown = f", {rate:,.0f} points/s" if rate else ""
        return Text(f"{points:,} points{shown}")


class _Reporter:
    """Progress of ``send``: a bar on a terminal, one line per chunk otherwise; bad rows as lines."""

    def __init__(self, sources: list[Source], dry_run: bool) -> None:
        self.console = Console(stderr=True, highlight=False)
        self.verb = "checked" if dry_run else "sent"
        self.bar: Progress | None = None
        self.tasks: dict[int, Any] = {}
        self.started = time.perf_counter()
        self.last_line = ""
        if self.console.is_terminal:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                _RateColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
        self.sources = sources

    def __enter__(self) -> _Reporter:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def bad_row(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.print(Text(line))
        else:
            sys.stderr.write(line + "\n")

    def _task(self, source: Source) -> Any:
        assert self.bar is not None
        key = id(source)
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(source.path, total=source.total or None, points=0)
        return self.tasks[key]

    def tick(self, source: Source, position: int) -> None:
        """Reading goes on: the bar moves (nothing is printed without a terminal)."""
        if self.bar is not None:
            self.bar.update(self._task(source), completed=position)

    def progress(self, source: Source, position: int, points: int) -> None:
        """A chunk is done: the bar moves, or one line (never the same line twice)."""
        if self.bar is not None:
            elapsed = time.perf_counter() - self.started
            rate = points / elapsed if elapsed > 0 else None
            self.bar.update(self._task(source), completed=position, points=points, rate=rate)
            return
        share = f", {100 * position / source.total:.0f} % of {source.path}" if source.total else ""
        line = f"{points:,} points {self.verb}{share}"
        if line != self.last_line:
            sys.stderr.write(line + "\n")
            self.last_line = line


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--source",
    help="Check every tag against this data source (connects it first), and each value against its "
    "tag's value type.",
)
@click.option(
    "--no-check-values",
    "check_values",
    flag_value=False,
    default=True,
    help="With --source: send any JSON value, whatever the tag's value type.",
)
@click.option(
    "--precision",
    type=click.Choice(["s", "ms", "us", "ns"]),
    help="The unit of integer timestamps in the files (default: us, microseconds).",
)
@click.option(
    "--encoding",
    callback=_encoding_option,
    help="The CSV files' encoding, e.g. cp1251 or utf-8 (default: detected: UTF-8, with or without a "
    "BOM, UTF-16 with a BOM, or else cp1251, as a Russian Excel saves 'CSV').",
)
@click.option(
    "--delimiter",
    callback=_delimiter_option,
    help="The CSV files' cell separator: ',', ';' or 'tab' (default: detected from the header).",
)
@click.option(
    "--decimal",
    type=click.Choice([".", ","]),
    help="The CSV files' decimal separator (default: ',' when cells are separated by ';' or tabs, "
    "else '.'): with ',', a cell such as 21,5 is the number 21.5.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report the bad ones; send nothing.")
@click.option(
    "--chunk",
    type=click.IntRange(min=1),
    default=CHUNK_ROWS,
    show_default=True,
    help="Rows read and sent together.",
)
@click.option(
    "--spool",
    type=click.Path(file_okay=False),
    help="Go through the store-and-forward writer on this directory: points are on disk before they "
    "are sent, and what the platform has not accepted stays there for the next run.",
)
@click.option(
    "--flush-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="With --spool: seconds to wait at the end for the platform to accept every point.",
)
@click.pass_obj
def send(
    settings: Settings,
    files: tuple[str, ...],
    source: str | None,
    check_values: bool,
    precision: str | None,
    encoding: str | None,
    delimiter: str | None,
    decimal: str | None,
    dry_run: bool,
    chunk: int,
    spool: str | None,
    flush_timeout: float,
) -> int:
    """Send the points of FILE... (CSV, JSON Lines or Parquet, by extension).

    Long form: the columns tag, x, y and q (optional); wide form: x and one column per tag. x is
    integer microseconds (or --precision's unit) or ISO 8601 (UTC unless a zone is given). A bad row
    is reported with its file, line and field and left out; the exit status is then 1, as it is
    when no file has a row. A CSV file's encoding, cell separator and decimal separator are
    detected (a Russian Excel's CSV reads as it is) unless --encoding, --delimiter or --decimal
    say them. With --source, each value is checked against its tag's value type.
    With --spool, the points go to the spool directory first and are sent from there; a failure
    keeps them on disk.
    """
    for path in files:
        _file_type(path, "FILES")
    dialect = CsvDialect(encoding, delimiter, decimal)
    sources = [open_source(path, precision, dialect) for path in files]
    left = 0
    with settings.client() as client:
        allowed: dict[TagId, Any] | None = None
        if source is not None:
            allowed = {info.id: info.attributes for info in client.connect(source).tags}
        sink = None if dry_run else open_sink(client, spool=spool, flush_timeout=flush_timeout)
        if isinstance(sink, WriterSink):
            left = sink.left
        report = SendReport()
        with _Reporter(sources, dry_run) as reporter:
            try:
                send_files(
                    sources,
                    sink,
                    chunk=chunk,
                    report=reporter.bad_row,
                    progress=reporter.progress,
                    tick=reporter.tick,
                    allowed=allowed,
                    where=f"data source {source!r}",
                    check_values=check_values,
                    result=report,
                )
            except (DataInteractionError, FileError):
                click.echo(report.summary(dry_run) + " before the failure")  # what did go, then the error
                raise
            finally:
                if sink is not None:
                    sink.close()
    empty = ", ".join(report.empty)
    if report.rows == 0:
        if left:  # an earlier run's points, delivered from the spool
            click.echo(f"no rows in {empty}; delivered the {left:,} points left in the spool {spool}")
            return 0
        raise CliError(f"no rows in {empty}: nothing to {'check' if dry_run else 'send'}")
    if report.empty:
        sys.stderr.write(f"note: no rows in {empty}\n")
    click.echo(report.summary(dry_run))
    return 1 if report.bad else 0


# --- get -------------------------------------------------------------------------------------------


TABLE_ROWS: Final = 1000
"""Rows of the table ``get`` prints on a terminal when --limit is not given."""


class _TableOutput:
    """The points as a rich table (the caller stops at ``--limit``)."""

    def __init__(self) -> None:
        self.table = Table("tag", "x (UTC)", "y", "q")

    def write(self, page: list[TagHistory]) -> None:
        for history in page:
            tag = Text(tag_text(history.tag_id))
            for point in history.points:
                x = point.x
                self.table.add_row(
                    tag,
                    format_time(x) if type(x) is int else str(x),
                    Text(_cell(point.y)),
                    "" if point.q is None else str(point.q),
                )

    def close(self) -> None:
        Console(highlight=False).print(self.table)

    def discard(self) -> None:
        self.close()


def _value_filter(values: tuple[str, ...]) -> Any:
    from ._files import _cell_value

    parsed = [_cell_value(value) for value in values]
    if not parsed:
        return None
    return parsed[0] if len(parsed) == 1 else parsed


@dataclass
class _SourceTags:
    """What ``--source`` says of the tags: which it has, which are steps, which are categorical."""

    name: str
    ids: set[TagId]
    steps: set[TagId]
    categorical: set[TagId]


def _source_tags(client: DataInteractionClient, source: str | None) -> _SourceTags | None:
    if source is None:
        return None
    tags = client.connect(source).tags
    categorical = {ValueType.STRING, ValueType.DISCRETE}
    return _SourceTags(
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


@cli.command()
@click.argument("tags", nargs=-1, required=True)
@click.option("--from", "from_", type=_Time(), help=f"Start of the period: {TIME_HELP}.")
@click.option("--to", type=_Time(), help="End of the period (default: now).")
@click.option(
    "--max-count",
    type=click.IntRange(min=1),
    help="At most this many points per tag (thinned by the platform).",
)
@click.option("--time-step", type=_Duration(), help=f"Resample on this grid: {DURATION_HELP}.")
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
    "--window", type=_Duration(), default="1h", show_default=True, help="First time window of a paged read."
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
    settings: Settings,
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
        _file_type(output, "'--output'")
    if plot is not None and Path(plot).suffix.lower() != ".png":
        raise click.BadParameter("the plot is a PNG file: give a name ending in .png", param_hint="'--plot'")
    _check_period(from_, to)
    ids = [_tag_argument(tag) for tag in tags]
    started = time.perf_counter()
    with settings.client() as client:
        request = client.create_request_data(
            ids,
            from_time=from_,
            to_time=to,
            max_count=max_count,
            time_step=time_step,
            value=_value_filter(value),
            actual=actual or None,
        )
        known = _source_tags(client, source)
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


def _note_empty(requested: list[TagId], counts: dict[TagId, int], known: _SourceTags | None) -> None:
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
    writer: Any
    if output is not None:
        writer = open_writer(output)
    else:
        kind = fmt or ("table" if Console().is_terminal else "csv")
        if kind == "table":
            writer = _TableOutput()
            limit = TABLE_ROWS if limit is None else limit
        else:
            writer = open_writer("-", stdout=sys.stdout, kind=kind)
    points = 0
    counts: dict[TagId, int] = {}
    thinned: list[str] = []
    more = False
    try:
        for given in pages:
            page = given
            if limit is not None and points + sum(len(h.points) for h in page) > limit:
                page, more = _cut(page, limit - points), True
            writer.write(page)
            for history in page:
                points += len(history.points)
                counts[history.tag_id] = counts.get(history.tag_id, 0) + len(history.points)
            thinned += [tag_text(h.tag_id) for h in page if h.exceed]
            if more:
                break
    except BaseException:
        writer.discard()
        raise
    writer.close()
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
    known: _SourceTags | None,
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


# --- platform --------------------------------------------------------------------------------------


@cli.group()
def platform() -> None:
    """The reference platform (needs the 'platform' extra)."""


@platform.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> int:
    """Serve the reference platform (the same as data-interaction-platform; --help for its options)."""
    try:
        from data_interaction_client.emulator.__main__ import main
    except ImportError as exc:
        raise CliError(str(exc)) from None
    return main(list(args))


from ._run import run_command  # noqa: E402  (the connector runtime: its module, its options)

cli.add_command(run_command)

from ._spool import spool  # noqa: E402  (spool inspect, spool salvage)

cli.add_command(spool)

# --- running ---------------------------------------------------------------------------------------


def _auth_message(error: AuthenticationError) -> str:
    """A 401 in the command line's words: the token comes from --token-file or the variable."""
    text = str(error)
    hint = type(error).hint
    if hint:
        text = text.replace(f" ({hint})", "")
    return (
        f"{text} (give the platform's token with --token-file FILE or the variable {TOKEN_ENV}, "
        "or check the one given)"
    )


def _fail(message: str, exit_code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    return exit_code


# click >= 8.2 raises this for a group run without a command; older versions print the help themselves.
_NO_ARGS: Final[Any] = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args[: args.index("--")] if "--" in args else "--debug" in args
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except _NO_ARGS as exc:  # a group given no command: its help, as click shows it
        sys.stderr.write(exc.ctx.get_help() + "\n" if exc.ctx is not None else str(exc))
        return 2
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _fail(exc.format_message() + where, 2, debug)
    except click.Abort:
        return _fail("interrupted", 130, debug)
    except KeyboardInterrupt:
        return _fail("interrupted", 130, debug)
    except CliError as exc:
        return _fail(str(exc), exc.exit_code, debug)
    except InvalidInputError as exc:
        return _fail(str(exc), 2, debug)
    except AuthenticationError as exc:
        return _fail(_auth_message(exc), 1, debug)
    except (DataInteractionError, FileError) as exc:
        return _fail(str(exc), 1, debug)
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{name}{exc.strerror or exc}", 1, debug)
    except SystemExit as exc:  # the reference platform's own argument parser
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:
        log.debug("the command line failed unexpectedly", exc_info=True)
        hint = "" if debug else " (--debug shows the traceback)"
        return _fail(f"unexpected {type(exc).__name__}: {exc}{hint}", 1, debug)
    return result if isinstance(result, int) else 0
