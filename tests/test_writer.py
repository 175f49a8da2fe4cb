"""What only the sync writer has: a write that waits for the committer or for room (``overflow="block"``),
the exit hook, the sync client's request. The behaviour both twins share is tested on both in
``test_writer_twins.py``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import (
    DataInteractionClient,
    Writer,
    WriterFullError,
)
from data_interaction_client._spool.sqlite import SqliteSpool

from .writer_helpers import FAST, Recorder, points

ROOT = Path(__file__).resolve().parents[1]
X = 1_600_000_000_000_000
MakeWriter = Callable[..., Writer]
_DEFAULT: Any = object()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[DataInteractionClient]:
    with DataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder)) as made:
        yield made


@pytest.fixture
def make_writer(client: DataInteractionClient, tmp_path: Path) -> Iterator[MakeWriter]:
    made: list[Writer] = []

    def make(spool: Any = _DEFAULT, **options: Any) -> Writer:
        writer = client.writer(
            spool=tmp_path / "spool" if spool is _DEFAULT else spool, **{**FAST, **options}
        )
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer._close(0.0)


# --- waiting on the caller's thread -------------------------------------------------------------------


def test_a_write_waiting_for_the_committer_does_not_wait_for_commit_interval(
    make_writer: MakeWriter, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batch_points above the intake's bound: a write that must wait for the committer to take the
    # intake asks it to commit now; it used to wait for commit_interval (here an hour).
    monkeypatch.setattr("data_interaction_client._writer.engine.INTAKE_CAP", 100)
    monkeypatch.setattr("data_interaction_client._writer.engine.INTAKE_BYTES", 1000)
    w = make_writer(batch_points=100_000, commit_interval=3600)
    done = threading.Event()

    def write_more() -> None:
        for i in range(300):
            w.write("a", X + i, 0.5, q=0)
        w.write_points("b", points(0, 0, 200))
        w.write_points("b", points(200, 0, 200))  # over 1000 bytes waiting: waits for the committer
        done.set()

    threading.Thread(target=write_more, daemon=True).start()
    assert done.wait(60), "a write waited for commit_interval"
    w.flush(timeout=30)
    assert recorder.total == 700


def test_overflow_block_waits_for_room_then_raises(make_writer: MakeWriter, recorder: Recorder) -> None:
    recorder.down(503)
    w = make_writer(spool=None, overflow="block", block_timeout=0.3, max_pending_points=10)
    w.write_points("a", points(0, 0, 10))
    started = time.monotonic()
    with pytest.raises(WriterFullError, match=r"after waiting 0\.3 s"):
        w.write("a", X + 10, 10, q=0)
    assert time.monotonic() - started >= 0.25
    patient = make_writer(spool=None, overflow="block", block_timeout=60, max_pending_points=10)
    patient.write_points("b", points(1, 0, 10))
    threading.Timer(0.3, recorder.up).start()
    started = time.monotonic()
    patient.write_points("b", points(1, 10, 5))  # blocks until the platform takes some
    assert time.monotonic() - started >= 0.2
    patient.flush(timeout=30)
    w.flush(timeout=30)
    assert recorder.points["a"] == points(0, 0, 10)
    assert recorder.points["b"] == points(1, 0, 15)


# --- the exit hook and the request ---------------------------------------------------------------------


def test_points_written_before_the_process_exits_are_kept(tmp_path: Path) -> None:
    code = (
        "from data_interaction_client import DataInteractionClient\n"
        "client = DataInteractionClient('http://127.0.0.1:9')\n"
        f"w = client.writer(spool={str(tmp_path / 's')!r}, commit_interval=3600, max_retries=0)\n"
        "for i in range(100):\n"
        f"    w.write('a', {X} + i, i)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, timeout=60)
    spool = SqliteSpool(tmp_path / "s")
    assert spool.points == 100
    spool.close()


def test_orjson_of_a_record_is_the_request_body(
    make_writer: MakeWriter, client: DataInteractionClient
) -> None:
    sent: list[bytes] = []
    original = client._send

    def spy(path: str, body: bytes, *args: Any, **kwargs: Any) -> Any:
        sent.append(body)
        return original(path, body, *args, **kwargs)

    client._send = spy  # type: ignore[method-assign]
    w = make_writer(spool=None)
    w.write_points("a", [{"x": X, "y": 1.5, "q": 0}])
    w.flush(timeout=30)
    assert orjson.loads(sent[0]) == {"data": [{"tagId": "a", "data": [{"x": X, "y": 1.5, "q": 0}]}]}
