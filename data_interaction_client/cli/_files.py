"""Files of points: CSV, JSON Lines and Parquet, read (`_input_files`) and written (`_history_files`).

Two shapes, told apart by the columns (the first object's keys in JSON Lines):

- **long**: ``tag, x, y[, q]``, one point per row;
- **wide**: ``x`` and one column per tag (the column's name is the tag); an empty cell is no point.

A tag is named by text: a plain id as it is, a ``{tagName, parentObjectId}`` path as its JSON object
(JSON Lines may also give the object itself). ``x`` is integer microseconds, ISO 8601 text (UTC unless
a zone is given) or, in Parquet, a timestamp column.

Text cells (CSV, and Parquet string columns) follow one rule, both ways, so that a file written by
``get`` reads back as the same values: an empty cell is ``null``; a cell that is valid JSON is that
JSON value (``21.5``, ``true``, ``{"a": 1}``, ``"21.5"`` for the text ``21.5``); any other cell is
text. JSON Lines carry JSON values as they are. This module holds what reading and writing share: the
formats, the rule of text cells, a tag's text and the error of a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import orjson

from data_interaction_client import TagPath

__all__ = ["FORMATS", "FileError", "cell_text", "cell_value", "format_of", "pyarrow_parquet", "tag_text"]

FORMATS: Final = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class FileError(Exception):
    """A file that cannot be read or written as asked (its format, its header): one line of text."""


def format_of(path: str | os.PathLike[str]) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from the file's extension; `FileError` otherwise."""
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        raise FileError(
            f"{os.fspath(path)}: unknown file type {suffix or '(no extension)'!r}: "
            "use .csv, .jsonl (or .ndjson) or .parquet"
        ) from None


def tag_text(tag_id: str | TagPath) -> str:
    """A tag as a file names it: a plain id as it is, a path as its JSON object."""
    if isinstance(tag_id, TagPath):
        return orjson.dumps(tag_id.to_dict()).decode()
    return tag_id


def cell_value(text: str) -> Any:
    """A text cell's value (see the module): empty is null, JSON is JSON, anything else is text."""
    if not text:
        return None
    first = text[0]
    if first.isalpha() and text not in ("true", "false", "null"):
        return text  # the common case of plain text, without a JSON attempt
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def cell_text(value: Any) -> str:
    """The text cell of a value, the inverse of `cell_value`."""
    if value is None:
        return ""
    if type(value) is str:
        if value and cell_value(value) == value and type(cell_value(value)) is str:
            return value
        return orjson.dumps(value).decode()
    if type(value) is float or type(value) is int:
        return repr(value)
    return orjson.dumps(value).decode()


def pyarrow_parquet(what: str) -> Any:
    """The ``parquet`` module of pyarrow; a `FileError` naming the extra when pyarrow is missing."""
    try:
        from pyarrow import parquet  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise FileError(f"{what} needs pyarrow: pip install 'data-interaction-client[parquet]'") from None
    return parquet
