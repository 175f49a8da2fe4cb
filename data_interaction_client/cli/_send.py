"""``send FILE...``: the points of files of points to the platform, every row checked (see `_send_files`)."""

from __future__ import annotations

import sys
from typing import Any, Final

import click

from data_interaction_client import DataInteractionError, TagId

from ._files import FileError
from ._input_files import CsvDialect, open_input_file
from ._output import SendProgress
from ._params import CliError, GlobalOptions, delimiter_option, encoding_option, file_type
from ._send_files import SendReport, WriterSink, open_sink, send_files

__all__ = ["CHUNK_ROWS", "send"]

CHUNK_ROWS: Final = 100_000
"""Rows read, checked and sent together by ``send``."""


@click.command()
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
    callback=encoding_option,
    help="The CSV files' encoding, e.g. cp1251 or utf-8 (default: detected: UTF-8, with or without a "
    "BOM, UTF-16 with a BOM, or else cp1251, as a Russian Excel saves 'CSV').",
)
@click.option(
    "--delimiter",
    callback=delimiter_option,
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
    options: GlobalOptions,
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
        file_type(path, "FILES")
    dialect = CsvDialect(encoding, delimiter, decimal)
    inputs = [open_input_file(path, precision, dialect) for path in files]
    left = 0
    with options.client() as client:
        allowed: dict[TagId, Any] | None = None
        if source is not None:
            allowed = {info.id: info.attributes for info in client.connect(source).tags}
        sink = None if dry_run else open_sink(client, spool=spool, flush_timeout=flush_timeout)
        if isinstance(sink, WriterSink):
            left = sink.left
        report = SendReport()
        with SendProgress(inputs, dry_run) as reporter:
            try:
                send_files(
                    inputs,
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
