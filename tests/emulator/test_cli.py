"""The command line: its name, one-line errors, the start summary, the token's sources, a real run."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from data_interaction_client.emulator import EXAMPLE_CONFIG_PATH, Store
from data_interaction_client.emulator import __main__ as cli

from .conftest import Api
from .process import PlatformProcess


@pytest.mark.slow
def test_cli_serves_says_what_and_stops(tmp_path: Path) -> None:
    db = tmp_path / "platform.db"
    token_file = tmp_path / "token"
    token_file.write_text("T0ken\n")
    args = ("--db", str(db), "--token-file", str(token_file), "--error-rate", "0", "--point-form", "array")
    with PlatformProcess(tmp_path, *args, "--log-level", "info") as platform:
        url = platform.url
        headers = {"Authorization": "Bearer T0ken"}
        assert httpx.post(f"{url}/smt/dataSources/connect", json={"id": "1"}).status_code == 401
        answer = httpx.post(f"{url}/smt/dataSources/connect", json={"id": "1"}, headers=headers).json()
        assert answer["attributes"]["smtActive"] is True
        write = {"data": [{"tagId": "cli", "data": [{"x": 1, "y": 2}]}]}
        assert httpx.post(f"{url}/smt/data/set", json=write, headers=headers).status_code == 200
        got = httpx.post(f"{url}/smt/data/get", json={"tagId": "cli", "to": 1}, headers=headers).json()
        assert got["data"] == [{"tagId": "cli", "data": [[2, 1, None]]}]
        faults = httpx.post(f"{url}/_emulator/faults", json={"error_rate": 1.0}, headers=headers)
        assert faults.json()["faults"]["error_rate"] == 1.0
        assert httpx.post(f"{url}/smt/data/set", json=write, headers=headers).status_code == 503
        platform.signal(signal.SIGTERM)
        returncode, _ = platform.wait(timeout=30)
        out, err = platform.output()
    assert returncode == 0, err
    assert "Traceback" not in err
    assert out.startswith(f"Reference platform on {url}\n")
    assert f"database:  {db} (empty; points are kept between runs" in out
    assert "token:     required (from --token-file" in out
    assert "T0ken" not in out + err
    assert "get_data answers points as [y, x, q] arrays" in out
    assert db.exists()


def test_help_uses_the_programs_name() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "data_interaction_client.emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.startswith("usage: data-interaction-platform ")
    assert "--token-file" in done.stdout
    assert "--max-body-size" in done.stdout
    assert "--point-form" in done.stdout


def in_use_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port: int = sock.getsockname()[1]
    return sock, port


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--log-level", "foo"], "'foo'"),
        (["--port", "99999"], "'99999'"),
        (["--port", "http"], "'http'"),
        (["--db", "/nonexistent/dir/p.db"], "'/nonexistent/dir/p.db'"),
        (["--max-body-size", "0"], "'0'"),
        (["--max-body-size", "lots"], "'lots'"),
        (["--point-form", "tuple"], "'tuple'"),
        (["--token", "two words"], "the token must be"),
        (["--token-file", "/nonexistent/token"], "'/nonexistent/token'"),
        (["--token", "a", "--token-file", "b"], "not allowed with argument"),
        (["--error-rate", "3"], "3.0"),
        (["--config", "/nonexistent/c.yaml"], "/nonexistent/c.yaml"),
        (["--host", "no such host"], "no such host"),
    ],
)
def test_bad_settings_end_in_one_line(
    args: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        status = cli.main(["--db", ":memory:", "--port", "0", *args])
    except SystemExit as exc:  # argparse's own checks
        status = exc.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert names in lines[0]
    assert captured.out == ""


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    sock, port = in_use_port()
    with sock:
        assert cli.main(["--db", ":memory:", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert len(err.splitlines()) == 1


def test_the_token_from_the_environment_or_a_file(tmp_path: Path) -> None:
    args = cli.parse_args(["--db", ":memory:"])
    assert cli.resolve_token(args, {}) == (None, "")
    assert cli.resolve_token(args, {cli.TOKEN_ENV: "from-env"}) == ("from-env", cli.TOKEN_ENV)
    assert cli.resolve_token(args, {cli.TOKEN_ENV: ""}) == (None, "")
    path = tmp_path / "token"
    path.write_text("from-file\r\n")
    args = cli.parse_args(["--db", ":memory:", "--token-file", str(path)])
    # The file wins over the environment; the final line break is dropped.
    assert cli.resolve_token(args, {cli.TOKEN_ENV: "from-env"})[0] == "from-file"
    app = cli.build_app(args, {})
    api = Api(app)
    try:
        assert api.post("/smt/dataSources/connect", {"id": "1"})[0] == 401
        headers = {"Authorization": "Bearer from-file"}
        assert api.post("/smt/dataSources/connect", {"id": "1"}, headers=headers)[0] == 200
    finally:
        api.close()
    app = cli.build_app(cli.parse_args(["--db", ":memory:"]), {cli.TOKEN_ENV: "from-env"})
    assert app.state.platform.token == "from-env"
    assert app.state.token_source == cli.TOKEN_ENV
    app.state.platform.store.close()


def test_cli_arguments() -> None:
    args = cli.parse_args(["--error-rate", "0.3", "--retry-after", "1", "--drop-rate", "0.05", "--seed", "4"])
    assert (args.host, args.port, args.db, args.config, args.token, args.point_form) == (
        "127.0.0.1",
        8000,
        "platform.db",
        None,
        None,
        "object",
    )
    assert args.max_body_size == 64 * 1024 * 1024
    assert cli.parse_args(["--max-body-size", "512k"]).max_body_size == 512 * 1024
    assert cli.parse_args(["--max-body-size", "2GiB"]).max_body_size == 2 * 1024**3
    assert cli.parse_args(["--max-body-size", "1000"]).max_body_size == 1000
    app = cli.build_app(
        cli.parse_args(["--db", ":memory:", "--error-rate", "0.3", "--seed", "4", "--max-body-size", "1M"]),
        {},
    )
    state = app.state.platform
    assert state.injector.faults.error_rate == 0.3
    assert state.max_body_size == 1024 * 1024
    state.store.close()


def test_the_start_summary(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    with Store(str(db)) as store:
        store.write([("t", [(1, "1", None), (2, "2", None)])])
    args = cli.parse_args(["--db", str(db), "--max-body-size", "8M"])
    app = cli.build_app(args, {})
    text = cli.summary(args, app, ("127.0.0.1", 8123))
    app.state.platform.store.close()
    lines = text.splitlines()
    assert lines[0] == "Reference platform on http://127.0.0.1:8123"
    assert f"database:  {db} (2 points from earlier runs; points are kept between runs" in text
    assert f"config:    {EXAMPLE_CONFIG_PATH} (the shipped example)" in text
    assert "token:     none: anyone who can reach this address can read and write" in text
    assert '  data source "1": active, 5 tags' in lines
    assert '  data source "2": inactive, 0 tags' in lines
    assert "requests up to 8 MiB; get_data answers points as {x, y, q} objects" in text
    assert lines[-1] == "Stop with Ctrl-C."
    args = cli.parse_args(["--db", ":memory:", "--host", "::1", "--max-body-size", "1000"])
    app = cli.build_app(args, {})
    text = cli.summary(args, app, ("::1", 9))
    app.state.platform.store.close()
    assert "http://[::1]:9" in text
    assert "in memory: nothing is kept after it stops" in text
    assert "requests up to 1000 bytes" in text


def test_main_serves_and_closes_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run(server: Any, sockets: list[socket.socket]) -> None:
        seen["port"] = sockets[0].getsockname()[1]
        seen["store"] = server.state.store

    monkeypatch.setattr(cli.PlatformServer, "run", run)
    assert cli.main(["--db", ":memory:", "--port", "0"]) == 0
    assert seen["port"] > 0
    assert seen["store"].stopping  # closed
