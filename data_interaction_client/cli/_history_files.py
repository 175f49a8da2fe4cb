"""Files of history written as the pages of a read come: CSV, JSON Lines and Parquet, long form.

A file is written under a temporary name beside it and renamed into place once complete, so that a
read that fails leaves whatever was there as it was (see `_files` for the format of cells).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from data_interaction_client import TagHistory, TagPath

from ._files import FileError, cell_text, format_of, pyarrow_parquet, tag_text
from ._times import format_time

__all__ = ["HistoryFile", "open_history_file"]


def _numeric(points: Iterable[Any]) -> bool:
    return all(type(p.y) in (int, float) or p.y is None for p in points)


class HistoryFile:
    """A file of history, or standard output: pages (long form: tag, x, y, q) written as they come.

    A file is written under a temporary name beside it and renamed to ``path`` by `close`;
    `discard` removes it, so that a read that fails leaves whatever was at ``path`` as it was.
    """

    def __init__(self, stream: IO[Any], kind: str, path: str, temporary: str | None = None) -> None:
        self.stream = stream
        self.kind = kind
        self.path = path
        self.temporary = temporary
        self.points = 0
        self._csv = csv.writer(stream, lineterminator="\n") if kind == "csv" else None
        if self._csv is not None:
            self._csv.writerow(["tag", "x", "y", "q"])
        self._parquet: Any = None
        self._numeric: bool | None = None

    def write(self, page: list[TagHistory]) -> None:
        """Append the points of one page."""
        if self.kind == "parquet" and self._parquet is None and any(h.points for h in page):
            # y's column type is the first page's: float64 when every value is a number, else text.
            self._open_parquet(all(_numeric(h.points) for h in page))
        for history in page:
            if not history.points:
                continue
            self.points += len(history.points)
            if self.kind == "csv":
                self._write_csv(history)
            elif self.kind == "jsonl":
                self._write_jsonl(history)
            else:
                self._write_parquet(history)

    def _write_csv(self, history: TagHistory) -> None:
        assert self._csv is not None
        tag = tag_text(history.tag_id)
        self._csv.writerows(
            [tag, format_time(p.x) if type(p.x) is int else p.x, cell_text(p.y), "" if p.q is None else p.q]
            for p in history.points
        )

    def _write_jsonl(self, history: TagHistory) -> None:
        tag: Any = history.tag_id.to_dict() if isinstance(history.tag_id, TagPath) else history.tag_id
        lines = b"".join(
            orjson.dumps({"tag": tag, "x": format_time(p.x) if type(p.x) is int else p.x, "y": p.y, "q": p.q})
            + b"\n"
            for p in history.points
        )
        if isinstance(self.stream, io.TextIOBase):
            self.stream.write(lines.decode())
        else:
            self.stream.write(lines)

    def _write_parquet(self, history: TagHistory) -> None:
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        xs, ys, qs = history.to_columns()
        if self._numeric and not _numeric(history.points):
            raise FileError(
                f"{self.path}: tag {tag_text(history.tag_id)!r} has values that are not numbers after "
                "numbers: a Parquet column has one type; write .csv or .jsonl instead"
            )
        values = ys if self._numeric else [cell_text(y) if y is not None else None for y in ys]
        table = pa.Table.from_arrays(
            [
                pa.array([tag_text(history.tag_id)] * len(xs), pa.string()),
                pa.array(xs, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
                pa.array(values, self._parquet.schema.field("y").type),
                pa.array(qs, pa.int64()),
            ],
            schema=self._parquet.schema,
        )
        self._parquet.write_table(table)

    def _open_parquet(self, numeric: bool) -> None:
        import pyarrow as pa

        self._numeric = numeric
        schema = pa.schema(
            [
                ("tag", pa.string()),
                ("x", pa.timestamp("us", tz="UTC")),
                ("y", pa.float64() if numeric else pa.string()),
                ("q", pa.int64()),
            ]
        )
        self._parquet = pyarrow_parquet("writing Parquet").ParquetWriter(self.stream, schema)

    def close(self) -> None:
        """Finish the file (a Parquet file gets its footer), close it and give it its name."""
        try:
            if self.kind == "parquet":
                if self._parquet is None:  # no point at all: still a valid file, with its columns
                    self._open_parquet(True)
                self._parquet.close()
        except BaseException:
            self.discard()
            raise
        if self.path == "-":
            self.stream.flush()
            return
        self.stream.close()
        if self.temporary is not None:
            os.replace(self.temporary, self.path)

    def discard(self) -> None:
        """Give up the file: the temporary one is removed and ``path`` is left as it was."""
        if self.path == "-":
            with contextlib.suppress(Exception):
                self.stream.flush()
            return
        with contextlib.suppress(Exception):
            if self._parquet is not None:
                self._parquet.close()
        with contextlib.suppress(OSError):
            self.stream.close()
        if self.temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temporary)


def _temporary_beside(path: str) -> tuple[int, str]:
    """A new file in ``path``'s directory, with the mode ``path`` has (or would get): its fd and name."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:  # a new file: the mode open() would give it
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):
        os.fchmod(fd, mode)
    return fd, temporary


def open_history_file(path: str, stdout: IO[str] | None = None, kind: str | None = None) -> HistoryFile:
    """A file of history at ``path`` (its format from the extension), or ``stdout`` in ``kind`` format.

    The file is written under a temporary name in the same directory and renamed to ``path`` when
    it is closed; `HistoryFile.discard` leaves ``path`` untouched.
    """
    if stdout is not None:
        return HistoryFile(stdout, kind or "csv", "-")
    kind = format_of(path)
    if kind == "parquet":
        pyarrow_parquet("writing Parquet")
    fd, temporary = _temporary_beside(path)
    if kind == "csv":
        return HistoryFile(open(fd, "w", encoding="utf-8", newline=""), kind, path, temporary)
    return HistoryFile(open(fd, "wb"), kind, path, temporary)
