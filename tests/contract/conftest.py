"""Fixtures of the contract tests: a Prism mock server built from openapi.yaml."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi.yaml"
PRISM = ROOT / "node_modules" / ".bin" / "prism"
READY_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    # Prism runs in its own session: its process group is Prism and nothing else.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def prism_url() -> Iterator[str]:
    """The address of a Prism mock (static mode) of openapi.yaml, running for the whole session."""
    if not PRISM.exists():
        pytest.fail(f"Prism is not installed ({PRISM} is missing): run `make install`", pytrace=False)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(PRISM), "mock", str(OPENAPI), "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                try:
                    httpx.get(url, timeout=1.0)
                    break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode("utf-8", "replace")
                    state = (
                        f"exited with code {process.returncode}"
                        if process.poll() is not None
                        else f"not ready after {READY_TIMEOUT:.0f} s"
                    )
                    pytest.fail(f"Prism {state}; its log:\n{output}", pytrace=False)
                time.sleep(0.1)
            yield url
        finally:
            _stop(process)
