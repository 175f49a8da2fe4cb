"""``spool salvage`` and ``spool inspect``: every record whose bytes survive comes back, none wrong.

The damaged spools are the two templates of `test_spool_damage` (2,000 points synced with the
platform down, the writer closed or killed): their file is damaged as the damage matrix does (a
byte flipped every so often, truncated, a page zeroed), then read. Which records' bytes survive
is worked out from the undamaged file's own layout: a record survives when no damaged byte lies in
its cell, its cell pointer, its leaf page's header or its overflow pages.
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
import struct
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from data_interaction_client import DataInteractionClient
from data_interaction_client._spool.salvage import read_spool_file
from data_interaction_client._spool.sqlite import DB_NAME, LEDGER_NAME, SqliteSpool
from data_interaction_client._writer.records import encode_records
from data_interaction_client.cli import main

from .test_spool_damage import POINTS, expected, templates
from .writer_helpers import FAST, Recorder, key

__all__ = ["templates"]  # the module's fixture, used here

PAGE = 4096


def _varint(raw: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        value = (value << 7) | (raw[at + i] & 0x7F)
        if raw[at + i] < 0x80:
            return value, at + i + 1
    return (value << 8) | raw[at + 8], at + 9


def layout(raw: bytes) -> dict[bytes, set[int]]:
    """For each record of ``batches`` (by its bytes), the offsets of the file it depends on."""
    usable = PAGE
    result: dict[bytes, set[int]] = {}
    pages = len(raw) // PAGE
    for number in range(1, pages + 1):
        base = (number - 1) * PAGE
        start = base + (100 if number == 1 else 0)
        if raw[start] != 0x0D:
            continue
        (cells,) = struct.unpack_from(">H", raw, start + 3)
        for index in range(cells):
            pointer = start + 8 + 2 * index
            (offset,) = struct.unpack_from(">H", raw, pointer)
            size, at = _varint(raw, base + offset)
            _, at = _varint(raw, at)
            touched = set(range(start, start + 8)) | {pointer, pointer + 1}
            least = (usable - 12) * 32 // 255 - 23
            local = size if size <= usable - 35 else least + (size - least) % (usable - 4)
            if local > usable - 35 and size > usable - 35:
                local = least
            touched |= set(range(base + offset, at + local + (4 if local < size else 0)))
            payload = raw[at : at + local]
            if local < size:
                (following,) = struct.unpack_from(">I", raw, at + local)
                while following:
                    page = (following - 1) * PAGE
                    touched |= set(range(page, page + PAGE))
                    payload += raw[page + 4 : page + PAGE][: size - len(payload)]
                    (following,) = struct.unpack_from(">I", raw, page)
            result[payload] = touched
    return result


def _contents(template: Path) -> dict[bytes, tuple[bytes, bytes]]:
    """The records of the undamaged file: their cell payload's bytes -> (tags, data)."""
    raw = (template / DB_NAME).read_bytes()
    with closing(sqlite3.connect(f"file:{template / DB_NAME}?mode=ro&immutable=1", uri=True)) as conn:
        records = [
            (bytes(t), bytes(d)) for t, d in conn.execute("SELECT tags, data FROM batches ORDER BY id")
        ]
    found = {}
    for payload in layout(raw):
        for tags, data in records:
            if tags + data in payload:  # the record's columns, one after the other
                found[payload] = (tags, data)
    assert len(found) == len(records)
    return found


@functools.cache
def _undamaged(template: Path) -> tuple[dict[bytes, tuple[bytes, bytes]], dict[bytes, set[int]]]:
    return _contents(template), layout((template / DB_NAME).read_bytes())


def damaged(template: Path, into: Path, damage: list[int] | None = None, length: int | None = None) -> Path:
    """A copy of the template's file set aside, with the bytes at ``damage`` flipped or cut at ``length``."""
    into.mkdir(parents=True, exist_ok=True)
    path = into / f"{DB_NAME}.corrupt-test"
    raw = bytearray((template / DB_NAME).read_bytes())
    for offset in damage or []:
        raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw[:length]) if length is not None else bytes(raw))
    shutil.copyfile(template / LEDGER_NAME, str(path) + ".acked")
    return path


def check_recovered(template: Path, path: Path, damage: set[int], length: int | None = None) -> None:
    """Every record whose bytes survive is recovered, and nothing recovered is wrong."""
    originals, where = _undamaged(template)
    reading = read_spool_file(str(path))
    got = {(f.tags, f.data) for f in reading.pending}
    known = set(originals.values())
    assert got <= known, "a record came back that the spool never held"
    for payload, record in originals.items():
        offsets = where[payload]
        cut = length is not None and max(offsets) >= length
        if not (offsets & damage) and not cut:
            assert record in got, f"a record whose bytes survive was not recovered ({sorted(damage)})"
    assert reading.recovered_points == sum(f.points for f in reading.pending)


@pytest.mark.parametrize("state", ["closed", "killed"])
@pytest.mark.parametrize(
    "step",
    [
        1021,  # a byte flipped every 1,021 bytes: each page, at a different place
        pytest.param(256, marks=pytest.mark.slow),  # the damage matrix: every 256 bytes
        pytest.param(97, marks=pytest.mark.slow),
    ],
)
def test_salvage_recovers_every_record_whose_bytes_survive_a_flipped_byte(
    templates: dict[str, Path], tmp_path: Path, state: str, step: int
) -> None:
    size = (templates[state] / DB_NAME).stat().st_size
    for offset in range(0, size, step):
        path = damaged(templates[state], tmp_path / str(offset), [offset])
        check_recovered(templates[state], path, {offset})


@pytest.mark.parametrize("state", ["closed", "killed"])
def test_salvage_recovers_every_record_whose_bytes_survive_a_zeroed_page_or_truncation(
    templates: dict[str, Path], tmp_path: Path, state: str
) -> None:
    template = templates[state]
    raw = (template / DB_NAME).read_bytes()
    for page in range(len(raw) // PAGE):
        span = [
            o for o in range(page * PAGE, (page + 1) * PAGE) if raw[o]
        ]  # zeroed: every byte that is not 0
        path = tmp_path / f"page{page}" / f"{DB_NAME}.corrupt-test"
        path.parent.mkdir()
        zeroed = bytearray(raw)
        zeroed[page * PAGE : (page + 1) * PAGE] = bytes(PAGE)
        path.write_bytes(bytes(zeroed))
        check_recovered(template, path, set(span))
    for length in [
        0,
        100,
        1000,
        PAGE,
        PAGE + 1,
        3 * PAGE,
        len(raw) // 3,
        len(raw) // 2,
        len(raw) - PAGE,
        len(raw) - 1,
    ]:
        path = damaged(template, tmp_path / f"cut{length}", length=length)
        check_recovered(template, path, set(), length)


def deliver(spool: Path) -> dict[tuple[str, int], float]:
    recorder = Recorder()
    with (
        DataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder)) as client,
        client.writer(spool=spool, **FAST) as w,
    ):
        w.flush(timeout=60)
    return {(key(tag), int(p["x"])): p["y"] for tag, points in recorder.points.items() for p in points}


def test_a_file_set_aside_by_a_writer_is_salvaged_into_a_spool_and_delivered(
    templates: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    shutil.copytree(templates["closed"], spool)
    raw = bytearray((spool / DB_NAME).read_bytes())
    interior = next(n for n in range(len(raw) // PAGE) if raw[n * PAGE] == 0x05)
    raw[interior * PAGE] ^= 0xFF  # the table's interior page: SQLite can read none of it, set aside
    overflow = next(n for n in range(len(raw) // PAGE) if raw[n * PAGE] == 0 and raw[n * PAGE + 500])
    raw[overflow * PAGE + 500] ^= 0xFF  # and one record's bytes damaged
    (spool / DB_NAME).write_bytes(bytes(raw))
    assert deliver(spool) == {}
    (aside,) = [
        p for p in spool.iterdir() if p.name.startswith(DB_NAME + ".corrupt-") and p.name.endswith("Z")
    ]
    kept = Path(str(aside) + ".acked")  # the ledger it came with, kept beside it, for its owner alone
    assert kept.read_bytes()[:4] != bytes(4)
    assert kept.stat().st_mode & 0o777 == 0o600

    assert main(["spool", "inspect", str(spool), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pending"]["points"] == 0
    (entry,) = summary["set_aside"]
    assert entry["file"] == str(aside)
    recoverable = entry["recoverable_points"]
    assert 0 < recoverable < POINTS
    assert entry["damaged_points"] == POINTS - recoverable  # one record, its count read from its cell

    code = main(["spool", "salvage", str(aside), "--to", str(spool)])
    out = capsys.readouterr().out
    assert f"recovered {recoverable:,} points into the spool {spool}" in out
    assert f"could not recover {POINTS - recoverable:,} points: 1 record damaged" in out
    assert code == 1
    delivered = deliver(spool)
    assert len(delivered) == recoverable
    synced = expected()
    assert all(synced[point] == y for point, y in delivered.items())
    assert aside.exists()  # never changed: the operator removes it


def test_salvage_to_a_csv_file_that_send_takes(
    templates: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = damaged(templates["killed"], tmp_path / "aside")
    out = tmp_path / "points.csv"
    assert main(["spool", "salvage", str(path), "-o", str(out)]) == 0
    assert f"recovered {POINTS:,} points into {out}" in capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert lines[0] == "tag,x,y,q"
    assert len(lines) == POINTS + 1
    assert (path.read_bytes()) == (templates["killed"] / DB_NAME).read_bytes()  # not changed
    assert main(["spool", "salvage", str(path)]) == 0  # only says what it would recover
    assert "give --to SPOOL or -o FILE" in capsys.readouterr().out


def test_salvage_leaves_out_what_the_ledger_says_was_delivered(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    spool = SqliteSpool(directory)
    for i in range(5):
        spool.append(encode_records([("a", [{"x": i, "y": 1.0}])], 200)[0])
    spool.peek(2)
    spool.settle(2)  # records 1 and 2 delivered: the ledger's delivery watermark, not yet the file's
    spool.close()
    with closing(sqlite3.connect(directory / DB_NAME)) as conn, conn:
        conn.execute("UPDATE meta SET value = 99 WHERE key = 'format'")  # a newer format: set aside whole
    SqliteSpool(directory).close()
    (aside,) = [
        p for p in directory.iterdir() if ".corrupt-" in p.name and p.name.endswith(tuple("0123456789Z"))
    ]
    reading = read_spool_file(str(aside))
    assert [f.id for f in reading.pending] == [3, 4, 5]
    assert (reading.delivered, reading.acked_from) == (2, "the ledger")


def test_salvage_refuses_the_spools_own_file_and_two_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    SqliteSpool(tmp_path / "s").close()
    assert main(["spool", "salvage", str(tmp_path / "s" / DB_NAME), "--to", str(tmp_path / "s")]) == 2
    assert "is the spool's own file" in capsys.readouterr().err
    assert main(["spool", "salvage", str(tmp_path / "s" / DB_NAME), "--to", "x", "-o", "y.csv"]) == 2
    assert "not both" in capsys.readouterr().err


def test_inspect_says_what_a_spool_holds_without_changing_it(
    templates: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    shutil.copytree(templates["closed"], spool)
    before = {p.name: p.read_bytes() for p in spool.iterdir()}
    assert main(["spool", "inspect", str(spool)]) == 0
    text = capsys.readouterr().out
    records = len(_undamaged(templates["closed"])[0])  # as the committer grouped the writes
    assert f"spool {spool}: {POINTS:,} points pending in {records} records" in text
    assert "  t0: 400 points, 2020-09-13T12:26:40.000000Z to 2020-09-13T12:26:40.001995Z" in text
    assert "quarantine: 0 points in 0 records" in text
    assert "watermarks: 5 tags" in text
    assert "  t4: 2020-09-13T12:26:40.001999Z" in text
    assert "files set aside: 0" in text
    assert {p.name: p.read_bytes() for p in spool.iterdir()} == before


@pytest.mark.parametrize("journal_header", ["whole", "damaged"])
def test_salvage_reads_the_records_a_hot_journal_holds(
    templates: dict[str, Path], tmp_path: Path, journal_header: str
) -> None:
    # A process killed in the middle of a transaction that overwrote every record: the file holds
    # the new pages, its journal the old ones. SQLite rolls back a copy; with the journal's header
    # damaged it would not, and the journal's page images are read instead.
    spool = tmp_path / "spool"
    shutil.copytree(templates["closed"], spool)
    aside = tmp_path / "aside"
    aside.mkdir()
    file = aside / f"{DB_NAME}.corrupt-test"
    with closing(sqlite3.connect(spool / DB_NAME, isolation_level=None)) as conn:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("PRAGMA journal_mode = PERSIST")
        conn.execute("PRAGMA cache_size = 1")  # the changed pages spill into the file before the commit
        conn.execute("BEGIN")
        conn.execute("UPDATE batches SET data = zeroblob(length(data)), tags = zeroblob(length(tags))")
        conn.execute("DELETE FROM batches")
        shutil.copyfile(spool / DB_NAME, file)
        journal = bytearray((spool / f"{DB_NAME}-journal").read_bytes())
        conn.execute("ROLLBACK")
    if journal_header == "damaged":
        journal[0] ^= 0xFF
    Path(f"{file}-journal").write_bytes(bytes(journal))
    reading = read_spool_file(str(file))
    assert sum(f.points for f in reading.pending) == POINTS
    originals = set(_undamaged(templates["closed"])[0].values())
    assert {(f.tags, f.data) for f in reading.pending} == originals


def test_inspect_reads_a_spool_its_writer_holds(
    templates: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool"
    shutil.copytree(templates["killed"], spool)
    held = SqliteSpool(spool)  # a running writer's: locked, its file opened exclusively
    try:
        assert main(["spool", "inspect", str(spool), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["pending"]["points"] == held.points == POINTS
        assert [tag["points"] for tag in summary["pending"]["tags"]] == [POINTS // 5] * 5
        assert summary["delivered_up_to"] == {"record": 0, "from": "the ledger"}
        held.append(encode_records([("late", [{"x": 1, "y": 1.0}])], 200)[0])
    finally:
        held.close()
