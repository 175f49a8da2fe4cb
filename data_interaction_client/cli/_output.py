"""What the commands print for people: values in cells, JSON, the table of ``get``, the progress of ``send``.

rich draws only on a terminal; into a pipe or a file the same facts are plain lines.
"""

from __future__ import annotations

import sys
import time
from typing import Any

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

from data_interaction_client import TagHistory

from ._files import tag_text
from ._input_files import InputFile
from ._times import format_time

__all__ = ["HistoryTable", "RateColumn", "SendProgress", "display_text", "echo_json"]


def display_text(value: Any) -> str:
    """A value as a table shows it: nothing for ``None``, text as it is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON, for scripts."""
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


class HistoryTable:
    """The points as a rich table (the caller stops at ``--limit``)."""

    def __init__(self) -> None:
        self.table = Table("tag", "x (UTC)", "y", "q")

    def write(self, page: list[TagHistory]) -> None:
        """Add the points of one page."""
        for history in page:
            tag = Text(tag_text(history.tag_id))
            for point in history.points:
                x = point.x
                self.table.add_row(
                    tag,
                    format_time(x) if type(x) is int else str(x),
                    Text(display_text(point.y)),
                    "" if point.q is None else str(point.q),
                )

    def close(self) -> None:
        """Print the table."""
        Console(highlight=False).print(self.table)

    def discard(self) -> None:
        """Print what came before the failure."""
        self.close()


class RateColumn(ProgressColumn):
    """Points so far and points per second, as of the last chunk sent (not decaying in between)."""

    def render(self, task: Task) -> Text:
        """The points and the rate the last update gave."""
        points = int(task.fields.get("points", 0))
        rate = task.fields.get("rate")
        shown = f", {rate:,.0f} points/s" if rate else ""
        return Text(f"{points:,} points{shown}")


class SendProgress:
    """Progress of ``send``: a bar on a terminal, one line per chunk otherwise; bad rows as lines."""

    def __init__(self, files: list[InputFile], dry_run: bool) -> None:
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
                RateColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
        self.files = files

    def __enter__(self) -> SendProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def bad_row(self, line: str) -> None:
        """Say one bad row (above the bar, on a terminal)."""
        if self.bar is not None:
            self.bar.console.print(Text(line))
        else:
            sys.stderr.write(line + "\n")

    def _task(self, file: InputFile) -> Any:
        assert self.bar is not None
        key = id(file)
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(file.path, total=file.total or None, points=0)
        return self.tasks[key]

    def tick(self, file: InputFile, position: int) -> None:
        """Reading goes on: the bar moves (nothing is printed without a terminal)."""
        if self.bar is not None:
            self.bar.update(self._task(file), completed=position)

    def progress(self, file: InputFile, position: int, points: int) -> None:
        """A chunk is done: the bar moves, or one line (never the same line twice)."""
        if self.bar is not None:
            elapsed = time.perf_counter() - self.started
            rate = points / elapsed if elapsed > 0 else None
            self.bar.update(self._task(file), completed=position, points=points, rate=rate)
            return
        share = f", {100 * position / file.total:.0f} % of {file.path}" if file.total else ""
        line = f"{points:,} points {self.verb}{share}"
        if line != self.last_line:
            sys.stderr.write(line + "\n")
            self.last_line = line
