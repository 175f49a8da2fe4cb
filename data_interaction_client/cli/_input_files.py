"""Files of points read a chunk at a time: CSV, JSON Lines and Parquet (see `_files` for their shapes).

A CSV file is read as a spreadsheet saved it (`CsvDialect`): its encoding (UTF-8 with or without a BOM,
UTF-16 with a BOM, or else cp1251, as a Russian Excel saves "CSV"), its cell separator (``,``, ``;`` or
a tab, from the header) and its decimal separator (``21,5`` is 21.5 when cells are separated by ``;`` or
tabs) are detected unless given. A line that cannot be decoded is a `FileError` naming it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, Final, NamedTuple

import orjson

from ._files import FileError, cell_value, format_of, pyarrow_parquet

__all__ = [
    "PRECISIONS",
    "TICK_ROWS",
    "BadRow",
    "Chunk",
    "CsvDialect",
    "FilePoint",
    "InputFile",
    "check_encoding",
    "open_input_file",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND_DELTA: Final = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH
_LONG_COLUMNS: Final = frozenset(("tag", "x", "y", "q"))
PRECISIONS: Final = {"s": (1_000_000, 1), "ms": (1_000, 1), "us": (1, 1), "ns": (1, 1_000)}
"""Integer timestamps in each unit become microseconds as ``x * factor // divisor``."""
TICK_ROWS: Final = 10_000
"""Rows read between two calls of an input file's ``tick``: how finely a progress bar moves."""


class FilePoint(NamedTuple):
    """One point read from a file, not yet checked: where it is, its tag (text or object), x, y, q."""

    line: int
    tag: Any
    x: Any
    y: Any
    q: Any


class BadRow(NamedTuple):
    """A row that cannot be a point: where, which field, what is wrong."""

    line: int
    field: str | None
    problem: str


class Chunk(NamedTuple):
    """Rows read together: their points, the bad ones, and how far into the file they end."""

    points: list[FilePoint]
    bad: list[BadRow]
    position: int
    rows: int


def _timestamp(value: Any, scale: tuple[int, int] | None = None) -> Any:
    """``x`` as read: integer microseconds from an integer or digits (in ``scale``'s unit) or a datetime.

    Any other text stays as it is, for the SDK to check.
    """
    if type(value) is str:
        stripped = value.strip()
        if not stripped.isdigit():
            return stripped
        value = int(stripped)
    if type(value) is int:
        return value if scale is None else value * scale[0] // scale[1]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return (value - _EPOCH) // _MICROSECOND_DELTA
    return value


class CsvDialect(NamedTuple):
    """How a CSV file is written; ``None`` for each: detected (see the module).

    ``encoding`` is a Python codec name (``"cp1251"``, ``"utf-8"``); ``delimiter`` the cell separator;
    ``decimal`` the decimal separator of numbers, ``"."`` or ``","``.
    """

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None


# Byte order marks, longest first (UTF-32 LE's starts with UTF-16 LE's).
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FALLBACK_ENCODING: Final = "cp1251"  # what a Russian Excel's "CSV" is, when it is not UTF-8
_DELIMITERS: Final = (",", ";", "\t")
_DECIMAL_COMMA: Final = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?")
_ENCODING_HINT: Final = (
    'give the file\'s encoding with --encoding (a Russian Excel saves "CSV" as cp1251 and '
    '"CSV UTF-8" as utf-8)'
)


def check_encoding(name: str) -> str:
    """``name`` when Python has such a codec; `FileError` otherwise."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise FileError(f"unknown encoding {name!r}: give a name such as utf-8, cp1251 or koi8-r") from None
    return name


def _delimiter_of(header: str) -> str:
    """The cell separator a header line uses: the candidate it holds most often outside quotes."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda candidate: counts[candidate])  # "," first on a tie
    return best if counts[best] else ","


def _quality(value: Any) -> tuple[Any, str | None]:
    if value is None or value == "":
        return None, None
    if type(value) is str:
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text), None
        return None, f"{value!r} is not an integer quality code"
    return value, None


Tick = Callable[[int], None]
"""Called with the position in the file (in its ``unit``) as reading goes on."""


class InputFile:
    """One input file: its format, its shape, its size (``total`` in ``unit``), read by `chunks`.

    ``precision`` is the unit of its integer timestamps (``None``: microseconds).
    """

    def __init__(self, path: str, kind: str, precision: str | None = None) -> None:
        self.path = path
        self.kind = kind
        self.unit = "rows" if kind == "parquet" else "bytes"
        self.total = 0
        self.wide = False
        self.scale = None if precision in (None, "us") else PRECISIONS[precision]
        self.decimal_comma = False  # a CSV file's "21,5" is the number 21.5

    def chunks(self, rows: int, tick: Tick | None = None) -> Iterator[Chunk]:
        """The file's rows, ``rows`` at a time; ``tick`` is called every `TICK_ROWS` rows."""
        raise NotImplementedError

    def _shape(self, columns: list[str]) -> list[str]:
        """Check the header; decide long or wide; return the tag columns of a wide file."""
        if len(set(columns)) != len(columns):
            raise FileError(f"{self.path}: a column name appears twice in the header {columns}")
        if "x" not in columns:
            raise FileError(
                f"{self.path}: no column 'x'; a file has the columns tag, x, y[, q] (long) "
                f"or x and one column per tag (wide), not {columns}"
            )
        if "tag" in columns:
            extra = sorted(set(columns) - {"tag", "x", "y", "q"})
            if "y" not in columns or extra:
                raise FileError(
                    f"{self.path}: a long file has the columns tag, x, y and q (optional), not {columns}"
                )
            return []
        self.wide = True
        tags = [name for name in columns if name != "x"]
        if not tags:
            raise FileError(f"{self.path}: a wide file has x and one column per tag; no tag column")
        return tags

    def _points(
        self, line: int, row: dict[str, Any], tags: list[str], text: bool
    ) -> Iterator[FilePoint | BadRow]:
        """The points of one row given as a mapping of column to value."""
        x = _timestamp(row.get("x"), self.scale)
        if x is None or x == "":
            yield BadRow(line, "x", "no timestamp")
            return
        if not self.wide:
            q, problem = _quality(row.get("q"))
            if problem is not None:
                yield BadRow(line, "q", problem)
                return
            y = row.get("y")
            yield FilePoint(line, row.get("tag"), x, self._cell(y) if text and type(y) is str else y, q)
            return
        for tag in tags:
            y = row.get(tag)
            if y is None or y == "":
                continue  # no point for this tag in this row
            yield FilePoint(line, tag, x, self._cell(y) if text and type(y) is str else y, None)

    def _cell(self, text: str) -> Any:
        """A text cell's value; with a decimal comma, ``21,5`` is the number 21.5."""
        if self.decimal_comma and "," in text and _DECIMAL_COMMA.fullmatch(text):
            return orjson.loads(text.replace(",", "."))
        return cell_value(text)


def _split(items: list[FilePoint | BadRow]) -> tuple[list[FilePoint], list[BadRow]]:
    points = [item for item in items if isinstance(item, FilePoint)]
    bad = [item for item in items if isinstance(item, BadRow)]
    return points, bad


class _CsvFile(InputFile):
    def __init__(self, path: str, kind: str, precision: str | None, dialect: CsvDialect) -> None:
        super().__init__(path, kind, precision)
        self.dialect = dialect

    def _lines(self, raw: IO[bytes]) -> Iterator[str]:
        """The file's lines as text, each decoded on its own, so that an undecodable one is named."""
        head = raw.read(4)
        raw.seek(0)
        encoding = self.dialect.encoding
        bom = next((name for mark, name in _BOMS if head.startswith(mark)), None)
        if encoding is None and bom is not None and bom != "utf-8-sig":
            encoding = bom
        if encoding is not None and not "a\n".encode(encoding).endswith(b"a\n"):
            yield from self._wide_lines(raw, encoding)  # UTF-16 or UTF-32: no line is a line of bytes
            return
        if bom == "utf-8-sig" and encoding in (None, "utf-8", "utf_8", "utf8"):
            raw.seek(len(codecs.BOM_UTF8))
            encoding = "utf-8"
        # Detected: UTF-8 until a line is not; then cp1251, if no line before held UTF-8 text.
        current = encoding or "utf-8"
        fallback = _FALLBACK_ENCODING if encoding is None else None
        for number, data in enumerate(raw, start=1):
            try:
                text = data.decode(current)
            except UnicodeDecodeError as exc:
                if fallback is None:
                    what = f"{current} text" if encoding else "UTF-8 text, as the lines before it are"
                    raise self._undecodable(number, data, exc, what) from None
                current, fallback = fallback, None
                try:
                    text = data.decode(current)
                except UnicodeDecodeError as again:
                    raise self._undecodable(number, data, again, f"UTF-8 or {current} text") from None
            if fallback is not None and not data.isascii():
                fallback = None  # UTF-8 text read: the file is UTF-8
            yield text

    def _wide_lines(self, raw: IO[bytes], encoding: str) -> Iterator[str]:
        """The lines of a file in an encoding of several bytes per character (UTF-16, UTF-32)."""
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        number = 0
        try:
            for line in text:
                number += 1
                yield line
        except UnicodeDecodeError as exc:
            raise FileError(
                f"{self.path}:{number + 1}: cannot be read as {encoding} ({exc.reason}); {_ENCODING_HINT}"
            ) from None
        finally:
            text.detach()  # the file stays open for its owner, the with block of chunks()

    def _undecodable(self, number: int, data: bytes, exc: UnicodeDecodeError, what: str) -> FileError:
        """The error of line ``number``, which is not ``what``."""
        return FileError(
            f"{self.path}:{number}: the line is not {what} (byte 0x{data[exc.start]:02x} at byte "
            f"{exc.start + 1} of the line); {_ENCODING_HINT}"
        )

    def chunks(self, rows: int, tick: Tick | None = None) -> Iterator[Chunk]:
        with open(self.path, "rb") as raw:
            self.total = os.fstat(raw.fileno()).st_size
            lines = self._lines(raw)
            first = next(lines, None)
            if first is None or not first.strip():
                raise FileError(f"{self.path}: the file is empty (a CSV file starts with its header)")
            delimiter = self.dialect.delimiter or _delimiter_of(first)
            decimal = self.dialect.decimal or ("," if delimiter != "," else ".")
            self.decimal_comma = decimal == ","
            reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
            header = next(reader)
            columns = [name.strip() for name in header]
            tags = self._shape(columns)
            width = len(columns)
            items: list[FilePoint | BadRow] = []
            count = 0
            for cells in reader:
                line = reader.line_num
                if not cells:
                    continue
                if len(cells) != width:
                    items.append(BadRow(line, None, f"{len(cells)} cells where the header has {width}"))
                else:
                    items.extend(self._points(line, dict(zip(columns, cells, strict=True)), tags, True))
                count += 1
                if count >= rows:
                    yield Chunk(*_split(items), raw.tell(), count)
                    items, count = [], 0
                elif tick is not None and count % TICK_ROWS == 0:
                    tick(raw.tell())
            yield Chunk(*_split(items), self.total, count)


class _JsonLinesFile(InputFile):
    def _line(
        self, line: int, content: bytes, tags: list[str] | None, items: list[FilePoint | BadRow]
    ) -> list[str] | None:
        """Add the points of one line to ``items``; return the tag columns known so far."""
        try:
            row = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            items.append(BadRow(line, None, f"not JSON: {exc}"))
            return tags
        if not isinstance(row, dict):
            items.append(BadRow(line, None, f"a line is a JSON object, not {type(row).__name__}"))
            return tags
        if tags is None:
            tags = self._shape(list(row))
        if self.wide:
            tags = [name for name in row if name != "x"]
        elif set(row) - _LONG_COLUMNS:
            items.append(BadRow(line, None, f"unknown keys {sorted(set(row) - _LONG_COLUMNS)}"))
            return tags
        items.extend(self._points(line, row, tags, False))
        return tags

    def chunks(self, rows: int, tick: Tick | None = None) -> Iterator[Chunk]:
        with open(self.path, "rb") as raw:
            self.total = os.fstat(raw.fileno()).st_size
            items: list[FilePoint | BadRow] = []
            tags: list[str] | None = None
            count = 0
            for line, content in enumerate(raw, start=1):
                if not content.strip():
                    continue
                tags = self._line(line, content, tags, items)
                count += 1
                if count >= rows:
                    yield Chunk(*_split(items), raw.tell(), count)
                    items, count = [], 0
                elif tick is not None and count % TICK_ROWS == 0:
                    tick(raw.tell())
            yield Chunk(*_split(items), self.total, count)


class _ParquetFile(InputFile):
    def chunks(self, rows: int, tick: Tick | None = None) -> Iterator[Chunk]:
        parquet = pyarrow_parquet("reading Parquet")
        try:
            file = parquet.ParquetFile(self.path)
        except Exception as exc:  # pyarrow's own errors: not Parquet, truncated
            raise FileError(f"{self.path}: not a Parquet file ({exc})") from None
        with file:
            self.total = file.metadata.num_rows
            columns = list(file.schema_arrow.names)
            tags = self._shape(columns)
            done = 0
            for batch in file.iter_batches(batch_size=rows):
                items: list[FilePoint | BadRow] = []
                for offset, row in enumerate(batch.to_pylist()):
                    items.extend(self._points(done + offset + 1, row, tags, True))
                    if tick is not None and offset and offset % TICK_ROWS == 0:
                        tick(done + offset)
                done += batch.num_rows
                yield Chunk(*_split(items), done, batch.num_rows)


def open_input_file(path: str, precision: str | None = None, dialect: CsvDialect | None = None) -> InputFile:
    """The reader of ``path``, chosen by its extension; integer timestamps in ``precision``'s unit.

    ``dialect`` says how a CSV file is written (by default, everything is detected).
    """
    kind = format_of(path)
    if kind == "csv":
        return _CsvFile(path, kind, precision, dialect or CsvDialect())
    if kind == "jsonl":
        return _JsonLinesFile(path, kind, precision)
    return _ParquetFile(path, kind, precision)
