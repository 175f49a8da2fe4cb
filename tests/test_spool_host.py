"""The spool on a host it cannot trust: other users, links, files changed under a running writer.

The cases with a second user run as root (as connectors often do), with ``nobody`` making the directory
and the links; elsewhere they are skipped.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from data_interaction_client import DataInteractionClient, SpoolError
from data_interaction_client._spool.contract import NewRecord
from data_interaction_client._spool.sqlite import DB_NAME, SqliteSpool

from .emulator.process import free_port
from .writer_helpers import Recorder, Twin

POSIX = sys.platform != "win32"


def rec(n: int) -> NewRecord:
    return NewRecord(points=n, tags=b"t", data=b"x" * n)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def other_user() -> tuple[int, int]:
    """``nobody``'s uid and gid, for the cases that need root and a second user."""
    if not POSIX or os.geteuid() != 0:
        pytest.skip("needs root and a second user")
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no second user (nobody) on this machine")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def victims(tmp_path: Path) -> dict[str, Path]:
    """Files of root's that a link in the spool directory points at, with what they hold."""
    made = {}
    for name, content in (("lock", b"precious\n" * 40), ("acked", b"A" * 300), (DB_NAME, b"")):
        victim = tmp_path / f"victim-{name}"
        victim.write_bytes(content)
        made[name] = victim
    return made


def as_nobody(*command: str) -> None:
    """Run a shell command as ``nobody`` (``$1``, ``$2``, ...: the arguments after it)."""
    uid, gid = other_user()
    subprocess.run(["sh", "-c", command[0], "sh", *command[1:]], check=True, user=uid, group=gid)


def enterable_by_others(path: Path) -> bool:
    """Whether every directory from ``path`` up to ``/`` lets other users through (``o+x``)."""
    return all(part.stat().st_mode & stat.S_IXOTH for part in (path, *path.parents))


@pytest.fixture
def nobodys_directory() -> Iterator[Path]:
    """A spool directory made by ``nobody``, mode 0777 (in a directory ``nobody`` may enter)."""
    uid, gid = other_user()
    # The temporary directory may sit under one only its owner may enter (a CI run's): then /tmp.
    parent = Path(tempfile.gettempdir())
    if not enterable_by_others(parent):
        parent = Path("/tmp")
        if not enterable_by_others(parent):
            pytest.skip("no directory here that nobody may enter")
    base = Path(tempfile.mkdtemp(prefix="spool-host-", dir=parent))
    os.chown(base, uid, gid)  # nobody's own place, as /tmp is everyone's
    spool = base / "spool"
    try:
        as_nobody('mkdir "$1" && chmod 777 "$1"', str(spool))
        assert spool.stat().st_uid == uid
        yield spool
    finally:
        shutil.rmtree(base)


def plant_links(directory: Path, victims: dict[str, Path], names: list[str]) -> None:
    """As ``nobody``: a link in ``directory`` to each victim of ``names``."""
    for name in names:
        as_nobody('ln -s "$1" "$2"', str(victims[name]), str(directory / name))
    assert all((directory / name).is_symlink() for name in names)


def contents(victims: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in victims.items()}


# --- 1. another user on the machine ----------------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_a_new_spool_is_private_to_its_user(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which made the spool readable by everyone
    try:
        path = tmp_path / "spool"
        spool = SqliteSpool(path)
        spool.append([rec(3)])
        spool.close()
    finally:
        os.umask(old)
    assert mode(path) == 0o700
    files = sorted(p.name for p in path.iterdir())
    assert {"spool.sqlite3", "spool.sqlite3-journal", "acked", "lock"} <= set(files)
    assert {name: mode(path / name) for name in files} == dict.fromkeys(files, 0o600)


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_files_an_earlier_version_left_readable_are_made_private(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    SqliteSpool(path).close()
    for file in path.iterdir():
        file.chmod(0o644)
    SqliteSpool(path).close()
    assert {mode(file) for file in path.iterdir()} == {0o600}


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
@pytest.mark.parametrize(
    ("bits", "who"), [(0o770, "its group"), (0o707, "others"), (0o777, "its group and others")]
)
def test_a_directory_others_may_write_into_is_refused(tmp_path: Path, bits: int, who: str) -> None:
    path = tmp_path / "spool"
    path.mkdir()
    path.chmod(bits)
    with pytest.raises(SpoolError, match=f"may be written by {who}") as caught:
        SqliteSpool(path)
    message = str(caught.value)
    for part in (str(path), "chmod 700", "shared_spool=True"):
        assert part in message
    assert caught.value.path == str(path)
    assert list(path.iterdir()) == []  # nothing was made in it
    SqliteSpool(path, shared=True).close()  # said to be shared: taken


def test_links_in_a_directory_of_another_user_touch_nothing(
    nobodys_directory: Path, victims: dict[str, Path]
) -> None:
    before = contents(victims)
    plant_links(nobodys_directory, victims, ["lock", "acked", DB_NAME])
    with pytest.raises(SpoolError, match="belongs to another user") as caught:
        SqliteSpool(nobodys_directory)
    assert str(nobodys_directory) in str(caught.value)
    assert "StateDirectory=" in str(caught.value)
    assert contents(victims) == before


@pytest.mark.parametrize("name", ["lock", "acked", DB_NAME, DB_NAME + "-journal"])
def test_a_link_is_never_followed_even_in_a_shared_directory(
    nobodys_directory: Path, victims: dict[str, Path], name: str
) -> None:
    victims[DB_NAME + "-journal"] = victims[DB_NAME]
    before = contents(victims)
    plant_links(nobodys_directory, victims, [name])
    with pytest.raises(
        SpoolError, match="is a link: the spool never opens its files through a link"
    ) as caught:
        SqliteSpool(nobodys_directory, shared=True)
    assert caught.value.path == str(nobodys_directory / name)
    assert contents(victims) == before


def test_a_shared_directory_without_links_works(nobodys_directory: Path) -> None:
    spool = SqliteSpool(nobodys_directory, shared=True)
    spool.append([rec(5)])
    spool.close()
    again = SqliteSpool(nobodys_directory, shared=True)
    assert again.points == 5
    again.close()
    assert {mode(file) for file in nobodys_directory.iterdir()} == {0o600}


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_the_writer_refuses_a_shared_directory_unless_told_it_is_shared(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    path.mkdir()
    path.chmod(0o777)
    with DataInteractionClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(SpoolError, match="may be written by"):
            client.writer(spool=path)
        client.writer(spool=path, shared_spool=True, close_timeout=0).close()
        with pytest.raises(Exception, match="shared_spool applies to a spool on disk"):
            client.writer(shared_spool=True)


# --- 2. files that change under a running writer -----------------------------------------------


def set_aside(path: Path) -> list[Path]:
    """The spool files renamed aside (not their journals, nor the copies of their ledgers)."""
    return [
        p
        for p in path.iterdir()
        if p.name.startswith(DB_NAME + ".corrupt-") and not p.name.endswith(("-journal", ".acked"))
    ]


@pytest.mark.parametrize("version", [3, 4, 100, 255])
def test_a_header_that_makes_sqlite_refuse_writes_is_set_aside_and_the_writer_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, version: int
) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(7)])
    spool.close()
    db = path / DB_NAME
    raw = bytearray(db.read_bytes())
    raw[18] = version  # the write version: SQLite opens the file read-only
    db.write_bytes(bytes(raw))
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        fresh = SqliteSpool(path)
    try:
        fresh.append([rec(2)])
        assert fresh.points == 2
    finally:
        fresh.close()
    (aside,) = set_aside(path)
    assert aside.read_bytes() == bytes(raw)  # kept whole
    assert f"write {version}" in caplog.text
    assert "it held 7 points not yet delivered" in caplog.text


def test_a_read_only_disk_is_refused_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(7)])
    spool.close()
    db = path / DB_NAME
    raw = bytearray(db.read_bytes())
    raw[18] = 3  # SQLite refuses writes: the same error a read-only disk gives
    db.write_bytes(bytes(raw))
    real = os.statvfs

    class ReadOnly:
        def __init__(self, result: os.statvfs_result) -> None:
            self.f_flag = result.f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda p: ReadOnly(real(p)))
    # The header check sees the version first; with the check passed, SQLite's refusal is judged.
    monkeypatch.setattr("data_interaction_client._spool.opening.header_problem", lambda directory: None)
    with pytest.raises(SpoolError, match="is mounted read-only") as caught:
        SqliteSpool(path)
    assert str(path) in str(caught.value)
    assert set_aside(path) == []
    assert db.read_bytes() == bytes(raw)  # left alone


def test_a_schema_that_is_not_the_spools_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(7)])
    spool.close()
    with closing(sqlite3.connect(path / DB_NAME)) as conn:
        # What one flipped byte of a hot journal, rolled back into the file, did to the definition.
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = replace(sql, 'created REAL', 'creatdd REAL') "
            "WHERE name = 'quarantine'"
        )
        conn.commit()
    with closing(sqlite3.connect(path / DB_NAME)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)  # the check SQLite has passes
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        fresh = SqliteSpool(path)
    try:
        assert fresh.quarantined() == []  # a spool file of its own: the quarantine works
        assert fresh.points == 0
    finally:
        fresh.close()
    assert len(set_aside(path)) == 1
    assert "its tables are not the spool's" in caplog.text
    assert "creatdd" in caplog.text


def test_a_journal_that_is_a_directory_is_refused_and_the_file_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(7)])
    spool.close()
    journal = path / (DB_NAME + "-journal")
    journal.unlink()
    journal.mkdir()
    raw = (path / DB_NAME).read_bytes()
    with pytest.raises(SpoolError, match="is a directory") as caught:
        SqliteSpool(path)
    assert caught.value.path == str(journal)
    assert "remove it" in str(caught.value)
    assert set_aside(path) == []
    assert (path / DB_NAME).read_bytes() == raw
    journal.rmdir()
    again = SqliteSpool(path)
    assert again.points == 7
    again.close()


def test_a_file_sqlite_opens_read_only_on_a_writable_disk_is_set_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool"
    SqliteSpool(path).close()
    db = path / DB_NAME
    raw = bytearray(db.read_bytes())
    raw[18] = 3
    db.write_bytes(bytes(raw))
    # Without the header check, SQLite's own refusal is what tells it.
    monkeypatch.setattr("data_interaction_client._spool.opening.header_problem", lambda directory: None)
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        SqliteSpool(path).close()
    assert len(set_aside(path)) == 1
    assert "SQLite opens it read-only" in caplog.text


def reopened(path: Path) -> tuple[int, list[int], dict[str, bytes]]:
    """What a writer opening ``path`` next finds: its points, the records' sizes in order, its watermarks."""
    spool = SqliteSpool(path)
    try:
        records = []
        while batch := spool.peek(10**9):
            records += batch
            spool.settle(batch[-1].id)
        return sum(r.points for r in records), [r.points for r in records], spool.watermarks()
    finally:
        spool.close()


def remove_files(path: Path) -> None:
    for file in path.iterdir():
        file.unlink()


@pytest.mark.parametrize("removal", ["rm spool/*", "rm -rf spool", "rm spool.sqlite3", "replaced"])
def test_files_deleted_under_a_running_spool_are_made_again_with_what_it_holds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, removal: str
) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(10), rec(20)], watermarks={"a": b"1"})
    spool.settle(0)
    delivered = spool.peek(10)  # the first record delivered: it is not carried over
    spool.settle(delivered[-1].id, [])
    spool.append([rec(30)], watermarks={"b": b"2"})
    spool.peek(1)  # the second record in flight: it stays in flight, and pending
    if removal == "rm spool/*":
        remove_files(path)
    elif removal == "rm -rf spool":
        shutil.rmtree(path)
    elif removal == "rm spool.sqlite3":
        (path / DB_NAME).unlink()
    else:  # another spool's file copied over it
        other = tmp_path / "other"
        SqliteSpool(other).close()
        os.replace(other / DB_NAME, path / DB_NAME)
    with caplog.at_level(logging.WARNING, "data_interaction_client"):
        spool.append([rec(40)], watermarks={"a": b"3"})  # noticed before it stores: stored where it stays
    assert "while the writer ran" in caplog.text
    assert "with the 50 points in 2 batches not yet delivered" in caplog.text
    assert "made again; 50 points carried over, none lost" in caplog.text
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert (spool.points, spool.records, spool.take_lost()) == (90, 3, 0)
    assert mode(path) == 0o700
    if removal == "replaced":
        assert len(set_aside(path)) == 1  # the file that took its place is kept, aside
    spool.settle(2)  # the record in flight is delivered
    spool.close()
    assert reopened(path) == (70, [30, 40], {"a": b"3", "b": b"2"})


def test_a_spool_deleted_and_closed_without_another_append_is_made_again_on_close(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(10), rec(20)])
    remove_files(path)
    spool.close()
    assert reopened(path)[:2] == (30, [10, 20])


def test_a_deleted_ledger_is_written_again(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(10)])
    (path / "acked").unlink()
    (path / "lock").unlink()
    spool.append([rec(20)])
    assert (path / "acked").exists()
    assert (path / "lock").read_text() == f"{os.getpid()}\n"
    spool.close()
    assert reopened(path)[:2] == (30, [10, 20])


def test_a_spool_that_cannot_be_made_again_refuses_and_says_why_until_it_can(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(10)])
    shutil.rmtree(path)
    path.write_bytes(b"")  # a file where the directory was: nothing can be made there
    with pytest.raises(SpoolError, match="could not be created"):
        spool.append([rec(20)])
    assert spool.trouble is not None
    assert spool.points == 10  # nothing stored by the refused append
    path.unlink()
    spool.append([rec(20)])
    assert spool.trouble is None
    spool.close()
    assert reopened(path)[:2] == (30, [10, 20])


class Unreadable:
    """A connection whose pending records cannot be read (the file held open damaged too)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, *args: object) -> object:
        if sql.startswith("SELECT id, created, points, tags, data, crc FROM batches"):
            raise sqlite3.DatabaseError("database disk image is malformed")
        return self.conn.execute(sql, *args)

    def close(self) -> None:
        self.conn.close()


def test_what_cannot_be_carried_over_is_counted_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool"
    spool = SqliteSpool(path)
    spool.append([rec(10), rec(20)])
    remove_files(path)
    spool._db.conn = Unreadable(spool._db.conn)  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        spool.append([rec(5)])
    assert "30 points pending in the deleted spool file could not be read" in caplog.text
    assert spool.take_lost() == 30
    assert spool.take_lost() == 0  # told once
    assert (spool.points, spool.records) == (5, 1)
    spool.close()
    assert reopened(path)[:2] == (5, [5])


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    recorder = Recorder()
    recorder.down()  # the platform is down: everything stays in the spool
    made = Twin(request.param, recorder)
    made.open()
    yield made
    made.shut()


def test_sync_confirms_only_points_a_writer_will_open_after_the_spool_was_deleted(
    twin: Twin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spool"
    w = twin.writer(path, close_timeout=0.2)
    w.write_points("t", [(i, float(i)) for i in range(1000)])
    twin.sync(w)
    remove_files(path)
    with caplog.at_level(logging.ERROR, "data_interaction_client"):
        w.write_points("t", [(i, float(i)) for i in range(1000, 2000)])
        twin.sync(w)
    assert "was deleted while the writer ran" in caplog.text
    twin.close(w)
    assert reopened(path)[0] == 2000


def test_health_is_critical_while_the_spool_cannot_be_made_again(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "spool"
    w = twin.writer(path, close_timeout=0.2)
    w.write_points("t", [(i, float(i)) for i in range(100)])
    twin.sync(w)
    shutil.rmtree(path)
    path.write_bytes(b"")  # nothing can be made there
    with pytest.raises(SpoolError, match="could not be created"):
        twin.sync(w)  # nothing new to commit: sync still looks at the files
    assert w.stats().health == "critical"
    path.unlink()
    twin.sync(w)
    assert w.stats().health != "critical"
    twin.close(w)
    assert reopened(path)[0] == 100


def test_the_writer_counts_what_the_spool_could_not_carry_over(twin: Twin, tmp_path: Path) -> None:
    path = tmp_path / "spool"
    w = twin.writer(path, close_timeout=0.2)
    w.write_points("t", [(i, float(i)) for i in range(100)])
    twin.sync(w)
    remove_files(path)
    w._spool._db.conn = Unreadable(w._spool._db.conn)
    twin.sync(w)
    assert w.stats().dropped_points["lost"] == 100
    assert w.stats().pending_points == 0


@pytest.mark.parametrize(
    ("code", "says"),
    [(errno.EROFS, "is mounted read-only"), (errno.EACCES, "may not be written by this user")],
)
@pytest.mark.parametrize("name", ["lock", "acked", DB_NAME])
def test_a_disk_or_file_that_refuses_writes_is_refused_saying_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, says: str, name: str
) -> None:
    path = tmp_path / "spool"
    SqliteSpool(path).close()
    refused = str(path / name)
    real = os.open

    def open_(file: str, flags: int, *args: int, **kwargs: int) -> int:
        if os.fspath(file) == refused and flags & (os.O_RDWR | os.O_WRONLY):
            raise OSError(code, os.strerror(code), refused)
        return real(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    with pytest.raises(SpoolError, match=says) as caught:
        SqliteSpool(path)
    assert refused in str(caught.value)
    assert set_aside(path) == []


@pytest.mark.skipif(not POSIX, reason="POSIX links")
@pytest.mark.parametrize("name", ["lock", "acked", DB_NAME])
def test_a_hard_link_to_another_file_is_refused(tmp_path: Path, victims: dict[str, Path], name: str) -> None:
    path = tmp_path / "spool"
    path.mkdir(mode=0o700)
    os.link(victims[name], path / name)
    before = contents(victims)
    with pytest.raises(SpoolError, match="names \\(hard links\\)") as caught:
        SqliteSpool(path)
    assert caught.value.path == str(path / name)
    assert contents(victims) == before
