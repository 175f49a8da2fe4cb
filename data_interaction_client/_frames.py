"""History as data frames, and data frames as points: what ``get_frame`` and ``set_frame`` do besides I/O.

Two shapes, for pandas and polars alike:

- **long**: one row per point, the columns ``tag``, ``x``, ``y``, ``q``; every point survives, nulls
  and quality codes included.
- **wide**: the column ``x`` and one column per tag, holding ``y``, aligned on ``x``; an empty cell
  means the tag has no point at that time. It holds values only: quality codes and ``null`` values
  do not survive it (use the long form to keep them).

``x`` is timezone-aware UTC datetimes (microsecond resolution) by default, or integer microseconds with
``x_as="us"``. A tag is named by text in a frame (a column name, a cell of ``tag``): a plain tag id is
itself; a [`TagPath`][data_interaction_client.TagPath] is its JSON object,
``{"tagName":"pressure","parentObjectId":"boiler-7"}``, and any such text read back is that path again.

Frames given to ``set_frame`` are checked and turned into tags chunk by chunk (``chunk_size`` rows at a
time), each column converted to a numpy array once so that
[`Tag.update_columns`][data_interaction_client.Tag.update_columns] checks it vectorized. In the long form a
missing ``y`` (None, NA in pandas; null in polars) is sent as ``null``, and so is a NaN whose row has a
quality code other than 0 (pandas has no null float); a NaN with a good quality is refused as everywhere
(``nan_quality`` maps every NaN to ``null`` with that code). A missing ``q`` is no quality code. A bad row
raises [`InvalidPointError`][data_interaction_client.InvalidPointError] whose ``index`` is the row's position
in the frame.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from itertools import chain
from typing import Any, Final, Literal

import orjson

from ._constants import MAX_QUALITY, MIN_QUALITY
from ._exceptions import InvalidInputError, InvalidPointError, NoDataToSendError
from ._request_data import RequestData
from ._results import TagHistory
from ._tag import Tag
from ._types import TagId, TagPath, datetime_to_micros, tag_id_from

__all__ = [
    "Backend",
    "Form",
    "XAs",
    "check_options",
    "frame_tags",
    "histories_frame",
    "history_frame",
    "integer_request",
    "tag_from_label",
    "tag_label",
]

Form = Literal["long", "wide"]
Backend = Literal["pandas", "polars"]
XAs = Literal["datetime", "us"]

_FORMS: Final = ("long", "wide")
_BACKENDS: Final = ("pandas", "polars")
_X_AS: Final = ("datetime", "us")
_NONE_TYPE: Final = type(None)
_NUMBER_TYPES: Final = frozenset((int, float, _NONE_TYPE))
_GET_X: Final = operator.attrgetter("x")
_GET_Y: Final = operator.attrgetter("y")
_GET_Q: Final = operator.attrgetter("q")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInputError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")


def check_options(*, form: object = "long", backend: object = "pandas", x_as: object = "datetime") -> None:
    """Refuse an unknown ``form``, ``backend`` or ``x_as`` at once."""
    _choice("form", form, _FORMS)
    _choice("backend", backend, _BACKENDS)
    _choice("x_as", x_as, _X_AS)


def _import(backend: str) -> Any:
    try:
        if backend == "polars":
            import polars

            return polars
        import pandas  # type: ignore[import-untyped,unused-ignore]

        return pandas
    except ImportError as exc:
        raise ImportError(
            f"data frames with {backend} need it installed: pip install 'data-interaction-client[{backend}]'"
        ) from exc


def _numpy() -> Any:
    import numpy

    return numpy


# --- tag names -----------------------------------------------------------------------------------


def tag_label(tag_id: TagId) -> str:
    """How a frame names a tag: a plain id as it is, a `TagPath` as its JSON object."""
    if isinstance(tag_id, TagPath):
        return orjson.dumps(tag_id.to_dict()).decode()
    return tag_id


def tag_from_label(label: object) -> TagId:
    """The tag id a frame's name stands for (see `tag_label`); also a TagPath or its dict."""
    if type(label) is str and label.startswith("{"):
        try:
            label = orjson.loads(label)
        except orjson.JSONDecodeError:
            raise InvalidInputError(
                f"the tag {label!r} starts with '{{' but is not the JSON object of a tag path"
            ) from None
    return tag_id_from(label)


# --- reading: histories to frames ----------------------------------------------------------------


def integer_request(request_data: RequestData) -> RequestData:
    """``request_data`` asking for integer timestamps: a frame's ``x`` column is typed."""
    if not isinstance(request_data, RequestData):
        raise InvalidInputError(
            f"get_frame takes a RequestData (see create_request_data), not {type(request_data).__name__}"
        )
    if not request_data.format_param:
        return request_data
    return RequestData(
        tag_id=request_data.tag_id,
        from_time=request_data.from_time,
        to_time=request_data.to_time,
        max_count=request_data.max_count,
        time_step=request_data.time_step,
        value=request_data.value,
        actual=request_data.actual,
    )


def _x_array(np: Any, xs: list[Any]) -> Any:
    """Timestamps as int64 microseconds (ISO strings, from ``format_param``, parsed)."""
    try:
        return np.array(xs, dtype=np.int64)
    except (TypeError, ValueError):  # ISO strings: the platform wrote them, so they parse
        return np.array(
            [x if type(x) is int else datetime_to_micros(datetime.fromisoformat(x)) for x in xs],
            dtype=np.int64,
        )


def _pandas_x(pd: Any, np: Any, micros: Any, x_as: str) -> Any:
    if x_as == "us":
        return micros
    return pd.Series(micros.view("datetime64[us]")).dt.tz_localize("UTC")


def _polars_x(pl: Any, micros: Any, x_as: str) -> Any:
    series = pl.Series("x", micros, dtype=pl.Int64)
    return series if x_as == "us" else series.cast(pl.Datetime("us", "UTC"))


def _pandas_values(np: Any, ys: list[Any]) -> Any:
    """Values as a typed numpy array where they allow one (NaN for null numbers), else objects."""
    types = set(map(type, ys))
    if types <= _NUMBER_TYPES and types != {_NONE_TYPE}:
        if types == {int}:
            try:
                return np.array(ys, dtype=np.int64)
            except OverflowError:
                return np.array(ys, dtype=object)
        return np.array(ys, dtype=np.float64)  # None becomes NaN
    if types == {bool}:
        return np.array(ys, dtype=bool)
    values = np.empty(len(ys), dtype=object)
    values[:] = ys
    return values


def _polars_values(pl: Any, name: str, ys: Sequence[Any]) -> Any:
    """Values as a typed polars Series (null for null); numbers of both kinds as Float64; else Object."""
    try:
        return pl.Series(name, ys, strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        pass
    if set(map(type, ys)) <= _NUMBER_TYPES:
        try:
            return pl.Series(name, ys, dtype=pl.Float64, strict=False)
        except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):  # pragma: no cover
            pass
    return pl.Series(name, ys, dtype=pl.Object)


def _qualities_pandas(pd: Any, np: Any, qs: Any) -> Any:
    """Quality codes as a nullable Int64 array (null where the platform sent none)."""
    if not isinstance(qs, list):  # already int64: every point has one
        return pd.arrays.IntegerArray(qs, np.zeros(len(qs), dtype=bool))
    floats = np.array(qs, dtype=np.float64)  # 32-bit codes are exact; None becomes NaN
    missing = np.isnan(floats)
    return pd.arrays.IntegerArray(np.where(missing, 0, floats).astype(np.int64), missing)


def _columns(np: Any, histories: Sequence[TagHistory]) -> tuple[Any, list[Any], Any, list[int]]:
    """Every history's points as columns, and how many points each history has.

    ``x`` as int64 microseconds, ``y`` as a list, ``q`` as int64 when every point has one (else a
    list): numpy reads the Point structs' fields straight, without a list in between.
    """
    counts = [len(history.points) for history in histories]
    total = sum(counts)

    def points() -> Iterator[Any]:
        return chain.from_iterable(history.points for history in histories)

    try:  # Point structs with integer timestamps, as get_data gives them: one pass per column, in C
        micros = np.fromiter(map(_GET_X, points()), dtype=np.int64, count=total)
        ys = list(map(_GET_Y, points()))
        try:
            qs: Any = np.fromiter(map(_GET_Q, points()), dtype=np.int64, count=total)
        except TypeError:  # some points have no quality code
            qs = list(map(_GET_Q, points()))
    except (AttributeError, TypeError, ValueError, OverflowError):  # mappings, or ISO timestamps
        every = list(points())
        return (
            _x_array(np, [p["x"] for p in every]),
            [p["y"] for p in every],
            [p.get("q") for p in every],
            counts,
        )
    return micros, ys, qs, counts


def history_frame(history: TagHistory, *, backend: str, x_as: str) -> Any:
    """One tag's points as a frame with the columns ``x``, ``y`` and ``q``."""
    check_options(backend=backend, x_as=x_as)
    module = _import(backend)
    np = _numpy()
    micros, y, q, _ = _columns(np, [history])
    if backend == "polars":
        return module.DataFrame(
            [
                _polars_x(module, micros, x_as),
                _polars_values(module, "y", y),
                module.Series("q", q, dtype=module.Int64),
            ]
        )
    return module.DataFrame(
        {
            "x": _pandas_x(module, np, micros, x_as),
            "y": _pandas_values(np, y),
            "q": _qualities_pandas(module, np, q),
        }
    )


def histories_frame(histories: Sequence[TagHistory], *, form: str, backend: str, x_as: str) -> Any:
    """The points of many tags as one frame, long or wide (see the module)."""
    check_options(form=form, backend=backend, x_as=x_as)
    module = _import(backend)
    np = _numpy()
    labels = [tag_label(history.tag_id) for history in histories]
    micros, ys, qs, counts = _columns(np, histories)
    if form == "wide":
        return _wide(module, np, backend, labels, micros, ys, counts, x_as)
    if backend == "polars":
        pl = module
        tags = pl.Series("tag", labels, dtype=pl.String).gather(np.repeat(np.arange(len(labels)), counts))
        return pl.DataFrame(
            [
                tags,
                _polars_x(pl, micros, x_as),
                _polars_values(pl, "y", ys),
                pl.Series("q", qs, dtype=pl.Int64),
            ]
        )
    pd = module
    unique = list(dict.fromkeys(labels))  # a tag asked twice appears twice, under one category
    codes = np.repeat(np.array([unique.index(label) for label in labels], dtype=np.int64), counts)
    return pd.DataFrame(
        {
            "tag": pd.Categorical.from_codes(codes, categories=unique),
            "x": _pandas_x(pd, np, micros, x_as),
            "y": _pandas_values(np, ys),
            "q": _qualities_pandas(pd, np, qs),
        }
    )


def _wide(
    module: Any,
    np: Any,
    backend: str,
    labels: list[str],
    micros: Any,
    ys: list[Any],
    counts: list[int],
    x_as: str,
) -> Any:
    """One row per distinct ``x``, sorted; one column per tag (the first of a tag asked twice)."""
    if len(set(labels)) != len(labels):
        raise InvalidInputError("a wide frame has one column per tag: ask for each tag once")
    times = np.unique(micros)
    bounds = np.cumsum([0, *counts])
    columns: dict[str, Any] = {}
    for index, label in enumerate(labels):
        start, end = int(bounds[index]), int(bounds[index + 1])
        rows = np.searchsorted(times, micros[start:end])
        values = _pandas_values(np, ys[start:end])
        if values.dtype.kind in "iuf":
            column = np.full(len(times), np.nan)
        else:
            column = np.full(len(times), None, dtype=object)
        column[rows] = values
        columns[label] = column
    if backend == "polars":
        pl = module
        series = [_polars_x(pl, times, x_as)]
        for label, column in columns.items():
            if column.dtype.kind == "f":
                series.append(pl.Series(label, column, nan_to_null=True))
            else:
                series.append(_polars_values(pl, label, column.tolist()))
        return pl.DataFrame(series)
    pd = module
    frame = {"x": _pandas_x(pd, np, times, x_as)}
    frame.update(columns)
    return pd.DataFrame(frame)


# --- writing: frames to tags ---------------------------------------------------------------------


class _FrameColumns:
    """One backend's way of reading a frame's columns as numpy arrays."""

    def __init__(self, frame: Any) -> None:
        module = type(frame).__module__.split(".")[0]
        if module not in _BACKENDS or not hasattr(frame, "columns"):
            raise InvalidInputError(
                f"set_frame takes a pandas or polars DataFrame, not {type(frame).__name__}"
            )
        self.polars = module == "polars"
        self.pl: Any = _import("polars") if self.polars else None
        self.np = _numpy()
        if not self.polars and "x" not in frame.columns and frame.index.name == "x":
            frame = frame.reset_index()
        self.frame = frame
        self.names: list[Any] = list(frame.columns)

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    def chunk(self, start: int, size: int) -> Any:
        if self.polars:
            return self.frame.slice(start, size)
        return self.frame.iloc[start : start + size]

    def array(self, column: Any, *, timestamps: bool = False) -> Any:
        """The column as a numpy array: a plain dtype when it has no missing value, else objects with None."""
        np = self.np
        if self.polars:
            if timestamps and column.dtype.is_temporal():
                column = column.dt.epoch("us")
            if column.null_count() == 0 and (column.dtype.is_numeric() or column.dtype == self.pl.Boolean):
                return column.to_numpy()
            values = np.empty(len(column), dtype=object)
            values[:] = column.to_list()
            return values
        if timestamps and column.dtype.kind == "M":
            if getattr(column.dtype, "tz", None) is not None:
                column = column.dt.tz_convert("UTC").dt.tz_localize(None)
            missing = column.isna().to_numpy()
            micros = column.to_numpy(dtype="datetime64[us]").view(np.int64)
            if not missing.any():
                return micros
            values = micros.astype(object)
            values[missing] = None
            return values
        missing = column.isna().to_numpy()
        if not missing.any():
            values = column.to_numpy()
            if values.dtype.kind in "iufb":
                return values
            return column.to_numpy(dtype=object)
        return column.to_numpy(dtype=object, na_value=None)


def _missing(np: Any, values: Any) -> Any:
    """Where a converted column has no value."""
    if values.dtype == object:
        return np.fromiter((value is None for value in values), dtype=bool, count=len(values))
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.zeros(len(values), dtype=bool)


def frame_tags(
    frame: Any,
    *,
    form: str,
    chunk_size: int,
    make_tag: Callable[[TagId], Tag] = Tag,
    nan_quality: int | None = None,
) -> Iterator[list[Tag]]:
    """The frame's points as tags, ``chunk_size`` rows at a time, each chunk checked before it is given.

    ``make_tag`` makes the tag of an id (a client's: its precision and the value types it knows).
    A NaN value in the long form is refused unless its row's quality code is not 0 (then it is
    ``null``), or ``nan_quality`` is given (then every NaN is ``null`` with that quality code).
    Raises [`NoDataToSendError`][data_interaction_client.NoDataToSendError] for a frame without a row, as
    ``set_data`` does for empty tags.
    """
    _choice("form", form, _FORMS)
    if nan_quality is not None and not (
        type(nan_quality) is int and MIN_QUALITY <= nan_quality <= MAX_QUALITY
    ):
        raise InvalidInputError(
            f"nan_quality is a 32-bit integer quality code (e.g. 102), not {nan_quality!r}"
        )
    columns = _FrameColumns(frame)
    if not len(columns):
        raise NoDataToSendError("the frame has no row to send")
    if "x" not in columns.names:
        raise InvalidInputError(f"the frame has no column 'x' (its columns: {columns.names})")
    if form == "long":
        missing = [name for name in ("tag", "y") if name not in columns.names]
        if missing:
            raise InvalidInputError(
                f"a long frame has the columns tag, x, y and q (optional); this one lacks {missing}"
            )
        extra = sorted(map(str, set(columns.names) - {"tag", "x", "y", "q"}))
        if extra:
            raise InvalidInputError(
                f"a long frame has the columns tag, x, y and q; unknown columns {extra} "
                "(for one column per tag: form='wide')"
            )
        return _long_tags(columns, chunk_size, make_tag, nan_quality)
    labels = [name for name in columns.names if name != "x"]
    if not labels:
        raise InvalidInputError("a wide frame has the column x and one column per tag; this one has no tag")
    ids = {}
    for label in labels:
        try:
            ids[label] = tag_from_label(label)
        except InvalidInputError as exc:
            raise InvalidInputError(f"column {label!r}: {exc}") from None
    return _wide_tags(columns, ids, chunk_size, make_tag)


def _fill(tag: Tag, rows: Any, x: Any, y: Any, q: Any = None) -> None:
    """Fill ``tag`` with the columns; an error names the frame's row (``rows``: their positions)."""
    try:
        tag.update_columns(x, y, q)
    except InvalidPointError as exc:
        row = None if exc.index is None else int(rows[exc.index])
        raise InvalidPointError(tag.id, row, exc.field, exc.problem) from None


def _long_tags(
    columns: _FrameColumns, chunk_size: int, make_tag: Callable[[TagId], Tag], nan_quality: int | None
) -> Iterator[list[Tag]]:
    np = columns.np
    ids: dict[Any, TagId] = {}
    for start in range(0, len(columns), chunk_size):
        chunk = columns.chunk(start, chunk_size)
        x = columns.array(chunk["x"], timestamps=True)
        y_column = chunk["y"]
        if not columns.polars and y_column.dtype.kind == "f":
            y = y_column.to_numpy()  # NaN kept: it is told apart below
        else:
            y = columns.array(y_column)
        q = columns.array(chunk["q"]) if "q" in columns.names else None
        if q is not None and q.dtype.kind == "f":  # pandas' int column with NaN, or floats
            q = q.astype(object)
            q[np.isnan(q.astype(np.float64))] = None
        if y.dtype.kind == "f" and not columns.polars:
            nan = np.isnan(y)
            if nan.any():
                # pandas has no null float: a NaN is a missing value when a quality code says why
                # (or nan_quality is given); a NaN with a good quality is refused, as everywhere.
                if nan_quality is not None:
                    q = np.full(len(y), None, dtype=object) if q is None else q.astype(object)
                    q[nan] = nan_quality
                if q is None:
                    explained = np.zeros(len(y), dtype=bool)
                else:
                    bad_quality = (code is not None and code != 0 for code in q)
                    explained = nan & np.fromiter(bad_quality, dtype=bool, count=len(q))
                if explained.any():
                    y = y.astype(object)
                    y[explained] = None
        labels = columns.array(chunk["tag"])
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]

            codes, uniques = pd.factorize(labels)
        except ImportError:  # polars alone: numpy groups the labels
            uniques, codes = np.unique(labels, return_inverse=True)
        except TypeError as exc:
            raise InvalidInputError(f"the column tag holds a value that is not a tag id: {exc}") from None
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        tags = []
        for code, label in enumerate(uniques):
            rows = order[bounds[code] : bounds[code + 1]]
            if label not in ids:
                try:
                    ids[label] = tag_from_label(label)
                except InvalidInputError as exc:
                    raise InvalidPointError(label, start + int(rows[0]), "tag", str(exc)) from None
            tag = make_tag(ids[label])
            qs = None if q is None else q[rows]
            _fill(tag, rows + start, x[rows], y[rows], qs)
            tags.append(tag)
        yield tags


def _wide_tags(
    columns: _FrameColumns, ids: dict[Any, TagId], chunk_size: int, make_tag: Callable[[TagId], Tag]
) -> Iterator[list[Tag]]:
    np = columns.np
    rows_per_chunk = max(1, chunk_size // len(ids))
    for start in range(0, len(columns), rows_per_chunk):
        chunk = columns.chunk(start, rows_per_chunk)
        x = columns.array(chunk["x"], timestamps=True)
        tags = []
        for label, tag_id in ids.items():
            y = columns.array(chunk[label])
            present = ~_missing(np, y)
            if not present.any():
                continue
            rows = np.flatnonzero(present)
            tag = make_tag(tag_id)
            _fill(tag, rows + start, x[rows], y[rows])
            tags.append(tag)
        if tags:
            yield tags
