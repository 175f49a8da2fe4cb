"""A spool file's records read without opening it as a spool: what ``spool salvage`` and ``inspect`` see.

Nothing here writes to the file read. Two readings are joined:

- **SQL**, on a copy of the file and its journal in a temporary directory (SQLite rolls a hot journal
  back on the copy, never on the original): the rows of ``batches``, ``quarantine``, ``meta`` and
  ``states`` (the tags' watermarks) that SQLite can still read, each table on its own so that one
  damaged table does not hide the others.
- **Pages**: every page of the file and every page image in its journal is parsed as a table leaf
  page (with its overflow chains), whatever the b-tree above it says. A row of ``batches`` (six
  columns) or ``quarantine`` (eleven) is taken wherever its bytes survive: a damaged interior page,
  a header byte SQLite refuses or a page SQLite gave up on hide none of the leaves below them.

Every record found is believed only when its CRC-32 holds and its bytes decode as the writer's
layout (`record_format.parts_of`); records with the same bytes are one. The delivery watermark
says which records of ``batches`` were delivered already: the ledger's (``acked`` beside the file,
or the copy kept beside a file renamed aside) when it belongs to this file, else the file's own
(which may lag: records delivered since may come back, never records lost).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from typing import NamedTuple

from .._types import PointDict, TagId, tag_id_from
from .contract import Record, record_crc
from .ledger import LEDGER_NAME, read_state
from .record_format import RecordError, decode_points, parts_of
from .schema import DB_NAME, meta_check
from .watermarks import watermark_crc

__all__ = [
    "AsideFile",
    "Found",
    "SpoolReading",
    "aside_files",
    "read_spool_file",
]

_BATCH_COLUMNS = 6  # id (the rowid), created, points, tags, data, crc
_QUARANTINE_COLUMNS = 11  # id, batch, created, quarantined, points, tags, data, crc, error, status, damaged
_PAGE_SIZES = (4096, 1024, 2048, 8192, 16384, 32768, 65536, 512)


class Found(NamedTuple):
    """A record whose checksum holds and whose bytes decode: where it was, and its points."""

    table: str  # "batches" (pending, or delivered when under the delivery watermark) or "quarantine"
    id: int  # the record's id in the queue (for a quarantine entry, the record it came from)
    created: float
    points: int
    tags: bytes
    data: bytes
    error: str | None  # why a quarantine entry was set aside

    def by_tag(self) -> dict[TagId, list[PointDict]]:
        """The record's points by tag."""
        return decode_points(self.tags, self.data)


class SpoolReading(NamedTuple):
    """What a spool file holds, as far as its bytes survive."""

    path: str
    pending: list[Found]  # records above the delivery watermark, oldest first
    delivered: int  # records found under the delivery watermark (not salvaged: the platform has them)
    quarantine: list[Found]
    damaged: list[tuple[str, int, int, str]]  # (table, id, points it says it holds, why), bytes lost
    acked: int  # the delivery watermark used
    acked_from: str  # "the ledger", "the file" or "none"
    watermarks: dict[str, bytes]  # the tags' watermarks whose checksum holds
    sql_problem: str | None  # why SQLite could not read (all of) the file, if it could not

    @property
    def recovered_points(self) -> int:
        """Points of the records found whole: pending and quarantined."""
        return sum(f.points for f in self.pending) + sum(f.points for f in self.quarantine)

    @property
    def lost_points(self) -> int:
        """Points of the records found damaged (as far as they say how many they held)."""
        return sum(points for _, _, points, _ in self.damaged)


class AsideFile(NamedTuple):
    """A spool file renamed aside in a spool directory."""

    path: str
    size: int


def aside_files(directory: str) -> list[AsideFile]:
    """The spool files renamed aside in ``directory`` (not their journals), oldest first."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    found = []
    for name in names:
        if name.startswith(DB_NAME + ".corrupt-") and not name.endswith(
            ("-journal", "-wal", "-shm", ".acked")
        ):
            path = os.path.join(directory, name)
            with contextlib.suppress(OSError):
                found.append(AsideFile(path, os.stat(path).st_size))
    return found


def read_spool_file(path: str, ledger: str | None = None) -> SpoolReading:
    """Every record of the spool file ``path`` whose bytes survive, without changing the file.

    ``ledger`` is the ledger file to take the delivery watermark from (by default ``<path>.acked`` when it
    exists, else the ``acked`` beside ``path`` when ``path`` is a spool directory's live file).
    """
    rows, meta, watermarks, problem = _read_sql(path)
    for source in (path, path + "-journal"):
        with contextlib.suppress(OSError):
            for row in _scan_pages(source):
                if row[0] == "meta":
                    meta.setdefault(str(row[1]), []).append(row[2])
                elif row[0] == "states":
                    key, value, crc = row[1], row[2], row[3]
                    if isinstance(key, str) and isinstance(value, bytes) and watermark_crc(key, value) == crc:
                        watermarks.setdefault(key, value)
                else:
                    rows.append(row)  # type: ignore[arg-type]
    generation = _checked_meta(meta, "generation")
    acked, acked_from = 0, "none"
    file_acked = _checked_meta(meta, "acked")
    if file_acked is not None:
        acked, acked_from = file_acked, "the file"
    if ledger is None:
        beside = path + ".acked"
        live = os.path.join(os.path.dirname(path), LEDGER_NAME)
        ledger = beside if os.path.exists(beside) else live if os.path.basename(path) == DB_NAME else None
    known = read_state(ledger) if ledger is not None else None
    if known is not None and generation is not None and known.generation == generation:
        acked, acked_from = max(acked, known.acked), "the ledger"
    pending: dict[bytes, Found] = {}
    quarantine: dict[bytes, Found] = {}
    damaged: dict[tuple[str, int], tuple[str, int, int, str]] = {}
    delivered: set[int] = set()
    for row in rows:
        table, record_id, created, points, tags, data, crc, error = row
        key = tags + b"\0" + data
        if record_crc(tags, data) != crc:
            damaged.setdefault((table, record_id), (table, record_id, points, "failed its checksum"))
            continue
        try:
            parts = parts_of(Record(record_id, created, points, tags, data))
        except RecordError as exc:
            damaged.setdefault((table, record_id), (table, record_id, points, f"cannot be decoded: {exc}"))
            continue
        found = Found(table, record_id, float(created), sum(p.points for p in parts), tags, data, error)
        if table == "quarantine":
            quarantine.setdefault(key, found)
        elif record_id <= acked:
            delivered.add(record_id)
        else:
            pending.setdefault(key, found)
    whole = {(f.table, f.id) for f in (*pending.values(), *quarantine.values())}
    for key in list(quarantine):  # a record moved to the quarantine may still be in a page of batches
        pending.pop(key, None)
    return SpoolReading(
        path=path,
        pending=sorted(pending.values(), key=lambda f: f.id),
        delivered=len(delivered),
        quarantine=sorted(quarantine.values(), key=lambda f: f.id),
        damaged=sorted(
            (entry for key, entry in damaged.items() if key not in whole and key[1] not in delivered),
            key=lambda e: (e[0], e[1]),
        ),
        acked=acked,
        acked_from=acked_from,
        watermarks=watermarks,
        sql_problem=problem,
    )


# --- SQL, on a copy -------------------------------------------------------------------------------

_Row = tuple[str, int, float, int, bytes, bytes, int, str | None]
"""(table, record id, created, points, tags, data, crc, error)."""


def _read_sql(path: str) -> tuple[list[_Row], dict[str, list[object]], dict[str, bytes], str | None]:
    rows: list[_Row] = []
    meta: dict[str, list[object]] = {}
    watermarks: dict[str, bytes] = {}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="spool-read-") as folder:
        copy = os.path.join(folder, DB_NAME)
        shutil.copyfile(path, copy)
        if os.path.exists(path + "-journal"):
            shutil.copyfile(path + "-journal", copy + "-journal")
        try:
            conn = sqlite3.connect(copy, isolation_level=None)
        except sqlite3.Error as exc:
            return rows, meta, watermarks, f"{type(exc).__name__}: {exc}"
        conn.text_factory = lambda raw: raw.decode("utf-8", "replace")
        with contextlib.closing(conn):
            queries = {
                "meta": "SELECT key, value FROM meta",
                "states": "SELECT key, value, crc FROM states",
                "batches": "SELECT 'batches', id, created, points, tags, data, crc, NULL FROM batches",
                "quarantine": "SELECT 'quarantine', batch, created, points, tags, data, crc, error "
                "FROM quarantine",
            }
            for table, query in queries.items():
                try:
                    for row in conn.execute(query):
                        if table == "meta":
                            meta.setdefault(str(row[0]), []).append(row[1])
                        elif table == "states":
                            key, value, crc = row
                            if (
                                isinstance(key, str)
                                and isinstance(value, bytes)
                                and watermark_crc(key, value) == crc
                            ):
                                watermarks[key] = value
                        elif _plausible(row):
                            rows.append(
                                (
                                    row[0],
                                    row[1],
                                    float(row[2]),
                                    row[3],
                                    bytes(row[4]),
                                    bytes(row[5]),
                                    row[6],
                                    row[7],
                                )
                            )
                except (sqlite3.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
                    problems.append(f"{table}: {type(exc).__name__}: {exc}")
    return rows, meta, watermarks, "; ".join(problems) or None


def _plausible(row: tuple[object, ...]) -> bool:
    _, record_id, created, points, tags, data, crc, _ = row
    return (
        type(record_id) is int
        and isinstance(created, int | float)
        and type(points) is int
        and isinstance(tags, bytes)
        and isinstance(data, bytes)
        and type(crc) is int
    )


def _checked_meta(meta: dict[str, list[object]], key: str) -> int | None:
    """The largest value of a ``meta`` counter whose check value was found too."""
    checks = set(meta.get(key + "_check", []))
    values = [
        v for v in meta.get(key, []) if type(v) is int and (key == "generation" or meta_check(v) in checks)
    ]
    return max(values) if values else None


# --- pages ----------------------------------------------------------------------------------------


def _scan_pages(path: str) -> Iterator[tuple[object, ...]]:
    """The rows of ``batches`` and ``quarantine`` in every table leaf page of a file or a journal."""
    with open(path, "rb") as file:
        raw = file.read()
    if path.endswith("-journal"):
        yield from _scan_journal(raw)
        return
    page_size = _page_size(raw)
    reserved = raw[20] if len(raw) > 20 and raw[:16] == b"SQLite format 3\0" and raw[20] < 64 else 0
    pages = {n + 1: raw[n * page_size : (n + 1) * page_size] for n in range(len(raw) // page_size)}
    yield from _scan(pages, page_size, page_size - reserved)


def _scan_journal(raw: bytes) -> Iterator[tuple[object, ...]]:
    """The rows in the page images of a rollback journal.

    A journal is segments, each a header (its record count, the sector and page sizes) padded to a
    sector, then records of a page number, a page image and a checksum; a new segment starts at the
    next sector after the last record. A count that cannot be right is read as "up to the end".
    """
    if len(raw) < 28:
        return
    sector, page_size = struct.unpack_from(">II", raw, 20)
    if page_size not in _PAGE_SIZES or not 512 <= sector <= 65536:
        return
    pages: dict[int, bytes] = {}
    step = 4 + page_size + 4
    header = 0
    while header + sector + step <= len(raw):
        (count,) = struct.unpack_from(">I", raw, header + 8)
        offset = header + sector
        most = (len(raw) - offset) // step
        for _ in range(count if 0 < count <= most else most):
            (number,) = struct.unpack_from(">I", raw, offset)
            if number and number not in pages:  # the first image of a page is its oldest
                pages[number] = raw[offset + 4 : offset + 4 + page_size]
            offset += step
        header = -(-offset // sector) * sector
    yield from _scan(pages, page_size, page_size)


def _page_size(raw: bytes) -> int:
    if len(raw) >= 18 and raw[:16] == b"SQLite format 3\0":
        (size,) = struct.unpack_from(">H", raw, 16)
        size = 65536 if size == 1 else size
        if size in _PAGE_SIZES:
            return size
    return 4096  # the default, when the header is damaged


_HEADER = re.compile(rb"[\x07-\x28]\x00")
_PAGE_TYPES = frozenset((0x02, 0x05, 0x0A, 0x0D))  # the b-tree pages; anything else is overflow or free


def _scan(pages: dict[int, bytes], page_size: int, usable: int) -> Iterator[tuple[object, ...]]:
    """The rows of every table leaf page; a page whose header is damaged is searched byte by byte.

    A leaf's cells are found through its cell pointers, read up to the start of its cell content
    (not only as many as its cell count says: a damaged count hides no cell). A page that is no
    b-tree page and no overflow page of a row found may be a leaf with a damaged header.
    """
    overflow: set[int] = set()
    unknown = []
    for number, page in pages.items():
        start = 100 if number == 1 else 0
        if len(page) < start + 8:
            continue
        kind = page[start]
        if kind not in _PAGE_TYPES:
            unknown.append(number)
            continue
        if kind != 0x0D:
            continue
        cells, content = struct.unpack_from(">HH", page, start + 3)
        end = min(content or 65536, usable)
        for index in range(max(cells, (end - start - 8) // 2)):
            at = start + 8 + 2 * index
            if at + 2 > end:
                break
            (offset,) = struct.unpack_from(">H", page, at)
            if index >= cells and not offset:
                break
            if not start + 8 <= offset < usable:
                continue
            with contextlib.suppress(IndexError, ValueError, struct.error, UnicodeDecodeError):
                row = _cell(pages, page, offset, usable, overflow)
                if row is not None:
                    yield row
    for number in unknown:
        if number in overflow:
            continue
        page = pages[number]
        # A row's record header: its size (7 to 40 bytes for 6 or 11 columns), then the rowid
        # column's NULL; the cell starts one or two varints before it.
        for match in _HEADER.finditer(page):
            header = match.start()
            for offset in range(max(0, header - 18), header - 1):
                if _header_at(page, offset) != header - offset:
                    continue
                with contextlib.suppress(IndexError, ValueError, struct.error, UnicodeDecodeError):
                    row = _cell(pages, page, offset, usable, overflow)
                    if row is not None and row[0] in ("batches", "quarantine"):
                        yield row


def _header_at(page: bytes, offset: int) -> int:
    """How far from ``offset`` a cell's record header would start (past two varints)."""
    at = offset
    try:
        for _ in range(2):
            _, at = _varint(page, at)
    except IndexError:
        return 0
    return at - offset if at < len(page) else 0


def _varint(raw: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = raw[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise ValueError("varint")


def _cell(
    pages: dict[int, bytes], page: bytes, offset: int, usable: int, overflow: set[int]
) -> tuple[object, ...] | None:
    """A row of ``batches`` or ``quarantine``, ``("meta", key, value)`` or ``("states", key, value, crc)``."""
    size, at = _varint(page, offset)
    rowid, at = _varint(page, at)
    if size > 64 * 1024 * 1024:
        return None
    most = usable - 35
    if size <= most:
        payload = page[at : at + size]
    else:
        least = (usable - 12) * 32 // 255 - 23
        local = least + (size - least) % (usable - 4)
        if local > most:
            local = least
        parts = [page[at : at + local]]
        (following,) = struct.unpack_from(">I", page, at + local)
        left = size - local
        seen = set()
        while left > 0 and following and following not in seen:
            seen.add(following)
            overflow.add(following)
            chained = pages.get(following)
            if chained is None:
                return None
            (following,) = struct.unpack_from(">I", chained, 0)
            chunk = chained[4 : 4 + min(left, usable - 4)]
            parts.append(chunk)
            left -= len(chunk)
        payload = b"".join(parts)
    if len(payload) != size:
        return None
    values = _record(payload)
    if values is None:
        return None
    if len(values) == 2 and isinstance(values[0], str) and type(values[1]) is int:
        return ("meta", values[0], values[1])
    if len(values) == 3 and isinstance(values[0], str) and isinstance(values[1], bytes):
        return ("states", values[0], values[1], values[2])
    if len(values) == _BATCH_COLUMNS:
        _, created, points, tags, data, crc = values
        record: tuple[object, ...] = ("batches", rowid, created, points, tags, data, crc, None)
    elif len(values) == _QUARANTINE_COLUMNS:
        _, batch, created, _, points, tags, data, crc, error, _, _ = values
        record = (
            "quarantine",
            batch,
            created,
            points,
            tags,
            data,
            crc,
            error if isinstance(error, str) else None,
        )
    else:
        return None
    return record if _plausible(record) else None


def _record(payload: bytes) -> list[object] | None:
    header_size, at = _varint(payload, 0)
    if header_size > len(payload):
        return None
    types = []
    while at < header_size:
        serial, at = _varint(payload, at)
        types.append(serial)
    values: list[object] = []
    at = header_size
    for serial in types:
        if serial == 0:
            values.append(None)
        elif 1 <= serial <= 6:
            width = (1, 2, 3, 4, 6, 8)[serial - 1]
            values.append(int.from_bytes(payload[at : at + width], "big", signed=True))
            at += width
        elif serial == 7:
            (number,) = struct.unpack_from(">d", payload, at)
            values.append(number)
            at += 8
        elif serial in (8, 9):
            values.append(serial - 8)
        elif serial >= 12:
            width = (serial - 12) // 2
            chunk = payload[at : at + width]
            if len(chunk) != width:
                return None
            values.append(bytes(chunk) if serial % 2 == 0 else chunk.decode("utf-8"))
            at += width
        else:
            return None
    return values if at == len(payload) else None


def tag_of(wire: str) -> TagId:
    """A tag id from the key of its watermark (its wire id as JSON)."""
    import orjson

    return tag_id_from(orjson.loads(wire))
