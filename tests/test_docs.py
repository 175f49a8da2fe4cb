"""The documentation site's examples run as written, against the reference platform.

Every ```python block of an English docs/*.md page runs, in the order of the page, against a fresh
reference platform for that page (so a page may send points in one block and read them in the next),
in a temporary directory; "http://127.0.0.1:8000" becomes the platform's address. A block right after
``<!-- tls -->`` needs a platform that asks for a client certificate: ``test_mutual_tls_examples``
runs those. No block is left out. The Russian twins (docs/<page>.ru.md) carry the same blocks, byte for
byte (tests/test_docs_twins.py): they are not run a second time.

The site itself is built by ``make docs`` (mkdocs --strict), not here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from data_interaction_client import APIConnectionError, DataInteractionClient
from data_interaction_client.emulator import create_app, run_platform

from .connector.helpers import wait_for
from .emulator.process import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: The English pages: their Russian twins (docs/<page>.ru.md) carry the same blocks, byte for byte
#: (tests/test_docs_twins.py), so each example runs once, here.
PAGES = sorted(page for page in DOCS.glob("*.md") if not page.name.endswith(".ru.md"))
BLOCK = re.compile(r"(?:<!-- (tls) -->\n)?```python\n(.*?)```", re.DOTALL)
DOCS_URL = "http://127.0.0.1:8000"
TLS_URL = "https://127.0.0.1:8443"
#: Pages whose examples run connectors for seconds.
SLOW_PAGES = {"connector.md"}
#: What some pages' examples must print (what their comments say they print).
PRINTS = {
    "connector.md": ["closed after 5 polls", "gaps: []", "poll_interval must be a number of seconds > 0"],
    "writer.md": ["1530008101000000 None", "accepted: 2 points of 2 tags"],
}


def blocks(page: Path, kind: str | None = None) -> list[str]:
    """The page's ```python blocks marked ``kind`` (``None``: the unmarked ones, which run here)."""
    return [code for mark, code in BLOCK.findall(page.read_text(encoding="utf-8")) if (mark or None) == kind]


def fenced(page: Path, language: str) -> list[str]:
    """The page's fenced blocks of ``language``."""
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)


def run_blocks(page: Path, codes: list[str], replace: dict[str, str]) -> None:
    for n, block in enumerate(codes):
        code = block
        for old, new in replace.items():
            code = code.replace(old, new)
        exec(compile(code, f"{page.name}, python block {n}", "exec"), {"__name__": "__docs__"})


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(page, id=page.name, marks=[pytest.mark.slow] if page.name in SLOW_PAGES else [])
        for page in PAGES
        if blocks(page)
    ],
)
def test_page_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    # The examples keep their spools in the user's state directory: here, one of the test's own.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    with run_platform(db=":memory:") as platform:
        run_blocks(page, blocks(page), {DOCS_URL: platform.url})
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    for text in PRINTS.get(page.name, []):
        assert text in out, f"{page.name} does not print {text!r}"


def test_every_python_block_is_run() -> None:
    """Each ```python block is one the tests here run (a fence they would not see fails)."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert text.count("```python") == len(BLOCK.findall(text)), page.name


# --- mutual TLS ------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> None:
    """A CA, the platform's certificate for 127.0.0.1 and the connector's client certificate."""
    assert shutil.which("openssl"), "the mutual TLS examples need openssl on PATH"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=plant CA",
             "-keyout", "ca.key", "-out", "platform-ca.pem", cwd=folder)  # fmt: skip
    for name, extension in (
        ("platform", "subjectAltName=IP:127.0.0.1"),
        ("connector", "extendedKeyUsage=clientAuth"),
    ):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=folder)  # fmt: skip
        (folder / f"{name}.ext").write_text(extension + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "platform-ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
                 cwd=folder)  # fmt: skip


@pytest.fixture
def mtls_platform(tmp_path: Path) -> Iterator[str]:
    """A reference platform over TLS that requires a client certificate; its URL. Certificates in tmp_path."""
    import uvicorn

    make_certificates(tmp_path)
    port = free_port()
    config = uvicorn.Config(
        create_app(db=":memory:"),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(tmp_path / "platform.pem"),
        ssl_keyfile=str(tmp_path / "platform.key"),
        ssl_ca_certs=str(tmp_path / "platform-ca.pem"),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), "the TLS platform to start")
    assert server.started, "the TLS platform did not start"
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.slow
def test_mutual_tls_examples(
    mtls_platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = DOCS / "production.md"
    codes = blocks(page, "tls")
    assert codes, "production.md has no <!-- tls --> block"
    monkeypatch.chdir(tmp_path)
    run_blocks(page, codes, {TLS_URL: mtls_platform})
    assert capsys.readouterr().out.splitlines()[-1] == "True"
    # The platform does require the certificate: a client without one is refused.
    bare = ssl.create_default_context(cafile=str(tmp_path / "platform-ca.pem"))
    with (
        pytest.raises(APIConnectionError),
        DataInteractionClient(mtls_platform, verify=bare, max_retries=0) as client,
    ):
        client.connect("1")


# --- the connector guide ---------------------------------------------------------------------------

CONNECTOR = DOCS / "connector.md"


def _metric_names(text: str) -> set[str]:
    """The metric names the guide's table lists (labels left out)."""
    table = text[text.index("| metric |") :]
    table = table[: table.index("\n\n")]
    return {name.split("{")[0] for name in re.findall(r"^\| `(data_interaction_[^`]+)`", table, re.MULTILINE)}


def _exported(address: str) -> set[str]:
    """The metric names /metrics shows (a counter's with its ``_total``), read by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"http://{address}/metrics", timeout=10).text
    families = {family.name: family.type for family in text_string_to_metric_families(text)}
    # prometheus_client adds a NAME_created gauge beside each of its counters and histograms.
    return {
        f"{name}_total" if kind == "counter" else name
        for name, kind in families.items()
        if not (name.endswith("_created") and name.removesuffix("_created") in families)
    }


def _modbus_simulator() -> int:
    """pymodbus's simulator of a boiler (the Modbus example's), on a free port; the port."""
    example = ROOT / "examples" / "modbus_connector.py"
    spec = importlib.util.spec_from_file_location("modbus_connector", example)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    port = free_port()
    started = threading.Event()
    threading.Thread(target=module._simulate, args=(port, started), daemon=True).start()
    assert started.wait(10), "the Modbus simulator did not start"
    return port


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_guides_connector_runs_as_its_command_says(tmp_path: Path) -> None:
    """boiler.py and boiler.yaml of the guide, run with the guide's command against a simulated device:
    points arrive, /metrics exports the names the guide lists (and no other), /healthz answers,
    SIGTERM says it stops and exits 0."""
    text = CONNECTOR.read_text(encoding="utf-8")
    boiler = next(code for code in blocks(CONNECTOR) if code.startswith("# boiler.py"))
    settings = next(code for code in fenced(CONNECTOR, "yaml") if code.startswith("# boiler.yaml"))
    command = next(code for code in fenced(CONNECTOR, "bash") if "run boiler:Boiler" in code)
    (tmp_path / "boiler.py").write_text(boiler)
    (tmp_path / "boiler.yaml").write_text(settings)
    args = command.replace("\\\n", " ").split()
    assert args[:4] == ["data-interaction-client", "--url", "http://platform:8000", "run"]
    port = _modbus_simulator()
    address = f"127.0.0.1:{free_port()}"
    with run_platform(token="s3cret") as platform:
        run = [sys.executable, "-m", "data_interaction_client", "--url", platform.url, *args[3:]]
        # The guide's spool and metrics address are a plant's: here a temporary directory and a free port.
        run[run.index("--spool") + 1] = str(tmp_path / "spool")
        run[run.index("--metrics") + 1] = address
        err = (tmp_path / "stderr").open("wb")
        env = {**os.environ, "PLATFORM_TOKEN": "s3cret", "BOILER_PORT": str(port), "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(run, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            wait_for(lambda: len(platform.stored_points("temperature")) >= 2, "the boiler's points")
            health = httpx.get(f"http://{address}/healthz", timeout=10)
            assert health.status_code == 200
            assert health.json()["health"] == "ok"
            assert health.json()["tags"] == 5
            assert _exported(address) == _metric_names(text)
            child.send_signal(signal.SIGTERM)
            assert child.wait(30) == 0
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
            err.close()
        stderr = (tmp_path / "stderr").read_text()
        assert "SIGTERM: stopping: closing the connector" in stderr
        temperatures = [point["y"] for point in platform.stored_points("temperature")]
        assert all(540 <= y <= 660 for y in temperatures), temperatures  # the simulated boiler's range
        assert not platform.stored_points("valve")  # a coil, not a register: left alone
        assert all(p["q"] == 0 for p in platform.stored_points("counter"))


def test_the_guide_lists_every_settings_key() -> None:
    from data_interaction_client.connector._settings import _RUN_KEYS, CLIENT_OPTIONS

    text = " ".join(CONNECTOR.read_text(encoding="utf-8").split())
    listed = text[text.index("The keys are") :].split(". ")[0]
    assert set(re.findall(r"`(\w+)`", listed)) == set(_RUN_KEYS) | set(CLIENT_OPTIONS)


def test_the_reference_page_shows_the_connector_packages_public_names() -> None:
    import data_interaction_client.connector as connector

    page = (DOCS / "reference" / "connector.md").read_text(encoding="utf-8")
    shown = re.findall(r"^::: data_interaction_client\.connector\.(\w+)$", page, re.MULTILINE)
    assert sorted(shown) == sorted(connector.__all__)
