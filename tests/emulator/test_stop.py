"""Stopping: Ctrl-C or SIGTERM ends the platform within a few seconds in every state, with no traceback;
the write in progress is finished or rolled back, never half stored.

The command line runs as a subprocess and is stopped by its pid; run_platform() in a thread.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client.emulator import STOP_GRACE, Store, StoreClosed, run_platform
from data_interaction_client.emulator import __main__ as cli

from .process import PlatformProcess

pytestmark = pytest.mark.slow  # each test starts and stops a platform process: about 30 s in all

# The grace period, then rolling back and closing; generous for a loaded machine.
DEADLINE = STOP_GRACE + 8
SIGNALS = [pytest.param((signal.SIGINT,), id="ctrl-c"), pytest.param((signal.SIGTERM,), id="sigterm")]


def stop(platform: PlatformProcess, signals: tuple[int, ...]) -> float:
    """Send the signals (0.2 s apart), wait for the end; check it was clean; return how long it took."""
    started = time.monotonic()
    for sig in signals:
        platform.signal(sig)
        time.sleep(0.2)
    returncode, _ = platform.wait(timeout=60)
    took = time.monotonic() - started
    out, err = platform.output()
    assert returncode == 0, (out, err)
    for text in ("Traceback", "CancelledError", "ERROR"):
        assert text not in err, err
    assert took < DEADLINE, f"stopped after {took:.1f} s"
    return took


def raw_request(
    port: int, body: bytes, declared: int | None = None, path: str = "/smt/data/set"
) -> socket.socket:
    """Send a request over a bare socket (the whole body, or a part of a declared length)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    length = len(body) if declared is None else declared
    sock.sendall(
        b"POST %b HTTP/1.1\r\nHost: platform\r\nContent-Length: %d\r\n\r\n%b" % (path.encode(), length, body)
    )
    return sock


def wait_until_read(port: int, sock: socket.socket, timeout: float = 60) -> None:
    """Wait until the platform on ``port`` has read everything sent on ``sock`` (Linux: /proc/net/tcp).

    The handshake of the tests below: the platform holds the request (trickled or whole) when this returns.
    """
    server = f"0100007F:{port:04X}"
    client = f"0100007F:{sock.getsockname()[1]:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            # local address, remote address, state, tx_queue:rx_queue: the platform's end of this connection.
            if fields[1] == server and fields[2] == client and int(fields[4].split(":")[1], 16) == 0:
                return
        time.sleep(0.01)
    raise AssertionError(f"the platform did not read the request within {timeout} s")


def answer_status(sock: socket.socket) -> int | None:
    """The status of the answer on the socket, or None when the connection closed without one."""
    data = b""
    try:
        while b"\r\n" not in data and (chunk := sock.recv(4096)):
            data += chunk
    except OSError:
        return None
    finally:
        sock.close()
    return int(data.split()[1]) if data else None


@pytest.mark.parametrize("signals", SIGNALS)
def test_stops_when_idle(tmp_path: Path, signals: tuple[int, ...]) -> None:
    with PlatformProcess(tmp_path, "--db", str(tmp_path / "p.db")) as platform, httpx.Client() as client:
        # An idle keep-alive connection stays open.
        assert client.post(f"{platform.url}/smt/dataSources/connect", json={"id": "1"}).status_code == 200
        stop(platform, signals)


@pytest.mark.parametrize("signals", SIGNALS)
def test_stops_while_a_client_trickles_its_body(tmp_path: Path, signals: tuple[int, ...]) -> None:
    with PlatformProcess(tmp_path, "--db", ":memory:") as platform:
        sock = raw_request(platform.port, b'{"data": [', declared=10_000)
        wait_until_read(platform.port, sock)
        stop(platform, signals)
        assert answer_status(sock) in (503, None)


def test_stops_while_injected_latency_holds_a_request(tmp_path: Path) -> None:
    with PlatformProcess(tmp_path, "--db", ":memory:", "--latency", "120") as platform:
        sock = raw_request(platform.port, b'{"id": "1"}', path="/smt/dataSources/connect")
        wait_until_read(platform.port, sock)
        stop(platform, (signal.SIGTERM,))
        with sock:
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split()[1] == b"503", answer
        assert "stopping" in orjson.loads(body)["error"]["message"]


@pytest.fixture(scope="module")
def long_write() -> bytes:
    """A body whose write takes seconds: 600,000 points with ISO timestamps (each parsed and checked)."""
    points = [{"x": f"2018-06-26T10:15:00.{n:06d}+03:00", "y": n / 2, "q": 0} for n in range(600_000)]
    return orjson.dumps({"data": [{"tagId": "long", "data": points}]})


@pytest.mark.parametrize(
    "signals",
    [*SIGNALS, pytest.param((signal.SIGINT, signal.SIGINT), id="ctrl-c-twice")],
)
def test_stops_during_a_long_write_and_stores_all_or_nothing(
    tmp_path: Path, long_write: bytes, signals: tuple[int, ...]
) -> None:
    db = tmp_path / "p.db"
    with PlatformProcess(tmp_path, "--db", str(db)) as platform:
        sock = raw_request(platform.port, long_write)
        wait_until_read(platform.port, sock)
        stop(platform, signals)
        status = answer_status(sock)
    with Store(str(db)) as store:
        stored = store.count()
    # Finished within the grace period (200, all stored) or rolled back (503, nothing stored).
    assert (status, stored) in {(200, 600_000), (503, 0)}, (status, stored)


def test_run_platform_stops_promptly_with_a_request_stuck(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    started = None
    with run_platform() as platform:
        sock = raw_request(platform.port, b'{"data": [', declared=10_000)
        wait_until_read(platform.port, sock)
        started = time.monotonic()
    took = time.monotonic() - started
    assert took < DEADLINE, f"run_platform took {took:.1f} s to stop"
    assert answer_status(sock) in (503, None)
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_ctrl_c_before_serving_ends_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_app", interrupted)
    assert cli.main(["--db", ":memory:"]) == 130


# --- the store's part ----------------------------------------------------------------------------------


def slow_rows(started: threading.Event, count: int) -> Iterator[tuple[int, str, int | None]]:
    started.set()
    for x in range(count):
        time.sleep(0.0001)
        yield (x, "1", None)


@pytest.mark.parametrize("stopper", [Store.interrupt, Store.close])
def test_an_interrupted_write_rolls_back(tmp_path: Path, stopper: Callable[[Store], None]) -> None:
    store = Store(str(tmp_path / "p.db"))
    store.write([("kept", [(0, "0", None)])])
    started = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            store.write([("a", [(1, "1", None)]), ("b", slow_rows(started, 1_000_000))])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    assert started.wait(10)
    time.sleep(0.2)
    stopper(store)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], StoreClosed)
    assert store.stopping
    with pytest.raises(StoreClosed):
        store.window("kept", 0, 1)
    store.close()
    with Store(str(tmp_path / "p.db")) as reopened:
        assert reopened.count() == 1  # "a" and "b" rolled back, "kept" kept
