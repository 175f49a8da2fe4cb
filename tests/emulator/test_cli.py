"""The command line: start the server as a subprocess, call it, stop it by its pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from data_interaction_client.emulator import __main__ as cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            httpx.get(f"{url}/_emulator/health", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    pytest.fail("the CLI server did not start")


def test_cli_serves_and_stops(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = tmp_path / "platform.db"
    command = [sys.executable, "-m", "data_interaction_client.emulator", "--port", str(port), "--db", str(db)]
    command += ["--token", "T", "--error-rate", "0", "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_ready(url, process)
        headers = {"Authorization": "Bearer T"}
        assert httpx.post(f"{url}/smt/dataSources/connect", json={"id": "1"}).status_code == 401
        answer = httpx.post(f"{url}/smt/dataSources/connect", json={"id": "1"}, headers=headers).json()
        assert answer["attributes"]["smtActive"] is True
        write = {"data": [{"tagId": "cli", "data": [{"x": 1, "y": 2}]}]}
        assert httpx.post(f"{url}/smt/data/set", json=write, headers=headers).status_code == 200
        faults = httpx.post(f"{url}/_emulator/faults", json={"error_rate": 1.0}, headers=headers)
        assert faults.json()["faults"]["error_rate"] == 1.0
        assert httpx.post(f"{url}/smt/data/set", json=write, headers=headers).status_code == 503
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert process.returncode in {0, -signal.SIGTERM}
    assert db.exists()


def test_cli_arguments() -> None:
    args = cli.parse_args(["--error-rate", "0.3", "--retry-after", "1", "--drop-rate", "0.05", "--seed", "4"])
    assert (args.host, args.port, args.db, args.config, args.token) == (
        "127.0.0.1",
        8000,
        "platform.db",
        None,
        None,
    )
    app = cli.build_app(cli.parse_args(["--db", ":memory:", "--error-rate", "0.3", "--seed", "4"]))
    assert app.state.platform.injector.faults.error_rate == 0.3
    app.state.platform.store.close()


def test_cli_refuses_bad_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--db", ":memory:", "--error-rate", "3"]) == 2
    assert cli.main(["--db", ":memory:", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "error:" in capsys.readouterr().out


def test_cli_main_runs_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    assert cli.main(["--db", ":memory:", "--port", "9"]) == 0
    assert seen["port"] == 9
