"""Bounded requests and steady writes: 413 with the envelope, gzip bombs and big bodies in bounded memory,
and a write whose time does not depend on a large value stored elsewhere.

Memory is the peak resident memory of a platform subprocess, read from /proc (VmHWM) around one request.
"""

from __future__ import annotations

import gzip
import random
import socket
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from data_interaction_client.emulator import DEFAULT_MAX_BODY_SIZE, Store

from .process import PlatformProcess

MiB = 1 << 20
LIMIT = 16 * MiB
LIMIT_MESSAGE = f"larger than the limit of {LIMIT} bytes"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformProcess]:
    # One process per test: where the peak cannot be reset, it is then this test's own.
    with PlatformProcess(tmp_path, "--db", str(tmp_path / "points.db"), "--max-body-size", "16M") as running:
        yield running


def post(platform: PlatformProcess, content: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    return httpx.post(f"{platform.url}/smt/data/set", content=content, headers=headers, timeout=120)


def measured(platform: PlatformProcess, content: bytes, **headers: str) -> tuple[httpx.Response, int]:
    """The answer to one request and the growth of the platform's peak memory while it was handled."""
    post(platform, b'{"data": [{"tagId": "warm-up", "data": [{"x": 1, "y": 1}]}]}')
    before = platform.start_peak()
    response = post(platform, content, **headers)
    return response, platform.peak() - before


def assert_413(response: httpx.Response, text: str = LIMIT_MESSAGE) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["id"] == 413
    assert text in error["message"]
    assert "--max-body-size" in error["message"]


def single_member_bomb(inflated: int) -> bytes:
    """One gzip member of ``inflated`` zero bytes (about 1/230 of it), built a MiB at a time."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MiB)
    parts = [compressor.compress(zeros) for _ in range(inflated // MiB)]
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.mark.parametrize(
    "bomb",
    [
        # Each inflates 512 MiB on the platform's side: about 1-2 s of CPU.
        pytest.param(lambda: single_member_bomb(512 * MiB), id="one-member", marks=pytest.mark.slow),
        pytest.param(lambda: gzip.compress(bytes(MiB), 9) * 512, id="512-members", marks=pytest.mark.slow),
    ],
)
def test_a_gzip_bomb_is_413_in_bounded_memory(platform: PlatformProcess, bomb: object) -> None:
    content = bomb()  # type: ignore[operator]
    assert len(content) < 4 * MiB  # inflating to 512 MiB
    response, growth = measured(platform, content, **{"content-encoding": "gzip"})
    assert_413(response, f"once decompressed, {LIMIT_MESSAGE}")
    # The inflated body stops at the limit: well under the 512 MiB it would take.
    assert growth < 2 * LIMIT, f"peak grew by {growth / MiB:.0f} MiB"


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(platform: PlatformProcess) -> None:
    with socket.create_connection(("127.0.0.1", platform.port), timeout=30) as sock:
        sock.sendall(
            b"POST /smt/data/set HTTP/1.1\r\nHost: platform\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10737418240\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert LIMIT_MESSAGE in orjson.loads(body)["error"]["message"]


def test_a_body_over_the_limit_gets_its_413(platform: PlatformProcess) -> None:
    # The client sends its whole body before reading: it still gets the answer, not a reset connection.
    over = b" " * (LIMIT + MiB)
    assert_413(post(platform, over))

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while read
        for _ in range(LIMIT // MiB + 2):
            yield b" " * MiB

    assert_413(post(platform, chunked()))


def test_a_body_within_the_limit_is_accepted(platform: PlatformProcess) -> None:
    body = b'{"data": [{"tagId": "edge", "data": [{"x": 1, "y": "%b"}]}]}'
    padding = LIMIT - len(body % b"")
    response = post(platform, body % (b"v" * padding))
    assert response.status_code == 200, response.text[:300]


def points_body(count: int) -> bytes:
    """A set_data body as the SDK sends it: 100 tags, integer timestamps, float values, q = 0."""
    rnd = random.Random(count)
    points = [{"x": 1_700_000_000_000_000 + n * 1000, "y": rnd.random() * 100, "q": 0} for n in range(count)]
    return orjson.dumps({"data": [{"tagId": f"tag-{t}", "data": points[t::100]} for t in range(100)]})


@pytest.mark.slow
def test_a_large_valid_body_costs_a_small_multiple_of_its_size(platform: PlatformProcess) -> None:
    body = points_body(280_000)
    assert 12 * MiB < len(body) < LIMIT
    response, growth = measured(platform, body)
    assert response.status_code == 200, response.text
    # One copy of the body plus compact structs of its points; it was about ten times before.
    assert growth < 5 * len(body), f"peak grew by {growth / len(body):.1f} times the body"
    answer = httpx.post(
        f"{platform.url}/smt/data/get", json={"tagId": "tag-7", "from": 0, "actual": True}, timeout=60
    )
    assert len(answer.json()["data"][0]["data"]) == 2800


def test_the_default_limit_holds_the_sdks_largest_default_request() -> None:
    # The SDK sends at most 100,000 points a request by default; ISO timestamps make the largest bodies.
    iso = orjson.dumps(
        {
            "data": [
                {
                    "tagId": f"tag-{t}",
                    "data": [{"x": "2018-06-26T10:15:00.123456+03:00", "y": 1e-300, "q": 0}] * 1000,
                }
                for t in range(100)
            ]
        }
    )
    assert len(points_body(100_000)) * 10 < DEFAULT_MAX_BODY_SIZE
    assert len(iso) * 8 < DEFAULT_MAX_BODY_SIZE


def test_a_large_value_stays_out_of_the_key_index(tmp_path: Path) -> None:
    # Points once lived in a WITHOUT ROWID table keyed by (tag, x): a large value sat in the key b-tree,
    # and every write next to it copied it (0.1 s against 20 s for 100,000 points). Now the values live
    # in a rowid table and the index holds only (tag, x): a write never moves a value stored elsewhere.
    with Store(str(tmp_path / "p.db")) as store:
        store.write([("written", [(0, "0", None)])])
        store.write([("large", [(1, orjson.dumps("v" * 5_000_000).decode(), None)])])
        store.write([("written", [(x, "1.5", 0) for x in range(1, 10_001)])])
        assert store.count() == 10_002
    connection = sqlite3.connect(tmp_path / "p.db")
    try:
        table = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'points'").fetchone()[0]
        index = [row[2] for row in connection.execute("PRAGMA index_info(points_tag_x)")]
    finally:
        connection.close()
    assert "WITHOUT ROWID" not in table.upper()
    assert index == ["tag", "x"]
