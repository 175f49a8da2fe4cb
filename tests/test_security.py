"""What SECURITY.md promises about secrets: the spool never holds the credentials, the log never the token."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from data_interaction_client import DataInteractionClient, Tag, WriterTimeoutError
from data_interaction_client.emulator import run_platform

TOKEN = "tok-3b1f9c0e-never-stored"
PASSWORD = "pa55-never-stored"


def spool_bytes(spool: Path) -> bytes:
    """Every byte of every file under the spool directory (the database, its journal, the lock)."""
    return b"".join(path.read_bytes() for path in sorted(spool.rglob("*")) if path.is_file())


@pytest.mark.slow  # waits out a 2 s flush refused with 401, then a close_timeout
@pytest.mark.parametrize("credentials", ["token", "password"])
def test_neither_the_spool_nor_the_log_holds_the_credentials(
    credentials: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Points refused for the credentials (401) wait in the spool; sent again once they are right."""
    caplog.set_level(logging.DEBUG)
    spool = tmp_path / "spool"
    with run_platform(db=":memory:", token="the-right-one") as platform:
        if credentials == "token":
            client = DataInteractionClient(platform.url, token=TOKEN, max_retries=0)
        else:
            client = DataInteractionClient(
                platform.url.replace("http://", f"http://connector:{PASSWORD}@"), max_retries=0
            )
        with client, client.writer(spool=spool, close_timeout=0.5) as w:
            w.write(Tag("temperature").id, 1530008100000000, 21.5)
            w.write_points("pressure", [(1530008100000000 + i, float(i)) for i in range(100)])
            with pytest.raises(WriterTimeoutError):
                w.flush(timeout=2)  # refused: 401, the points stay
            assert w.stats().health == "critical"
            assert w.stats().pending_points == 101
        stored = spool_bytes(spool)
        assert b"temperature" in stored  # the points are there, in the clear
    assert TOKEN.encode() not in stored
    assert PASSWORD.encode() not in stored
    assert TOKEN not in caplog.text  # the package's loggers and httpx's, at DEBUG
