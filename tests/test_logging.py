"""Each component logs to its own child of ``data_interaction_client``, under a name operators can rely on."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import subprocess
import sys

import data_interaction_client
from data_interaction_client._logging import LOGGER, LOGGERS

# The names operators configure: renaming one breaks their logging settings, so it is a change to announce.
EXPECTED = {
    "data_interaction_client._http.attempts": "data_interaction_client.client",
    "data_interaction_client._http.base_client": "data_interaction_client.client",
    "data_interaction_client._writer.writers": "data_interaction_client.writer",
    "data_interaction_client._writer.async_writer": "data_interaction_client.writer",
    "data_interaction_client._writer.base": "data_interaction_client.writer",
    "data_interaction_client._writer.life": "data_interaction_client.writer",
    "data_interaction_client._writer.accounts": "data_interaction_client.writer",
    "data_interaction_client._writer.committer": "data_interaction_client.writer",
    "data_interaction_client._writer.engine": "data_interaction_client.writer",
    "data_interaction_client._writer.delivery": "data_interaction_client.writer",
    "data_interaction_client._writer.sender": "data_interaction_client.writer",
    "data_interaction_client._spool.opening": "data_interaction_client.spool",
    "data_interaction_client._spool.quarantine": "data_interaction_client.spool",
    "data_interaction_client._spool.rebuild": "data_interaction_client.spool",
    "data_interaction_client._spool.sqlite": "data_interaction_client.spool",
    "data_interaction_client._spool.tidy": "data_interaction_client.spool",
    "data_interaction_client._options": "data_interaction_client.client",
    "data_interaction_client.cli._app": "data_interaction_client.cli",
    "data_interaction_client.connector._async": "data_interaction_client.connector",
    "data_interaction_client.connector._connector": "data_interaction_client.connector",
    "data_interaction_client.connector._core": "data_interaction_client.connector",
    "data_interaction_client.connector._sync": "data_interaction_client.connector",
    "data_interaction_client.emulator._app": "data_interaction_client.platform",
    "data_interaction_client.emulator._store": "data_interaction_client.platform",
}


def module_loggers() -> dict[str, str]:
    """The module-level loggers of every module of the package: {module: logger name}."""
    found: dict[str, str] = {}
    for info in pkgutil.walk_packages(data_interaction_client.__path__, "data_interaction_client."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, logging.Logger) and value.name.startswith(LOGGER):
                found[info.name] = value.name
    return found


def test_each_component_logs_to_its_own_child_logger() -> None:
    assert module_loggers() == EXPECTED


def test_the_documented_loggers_are_the_ones_in_use() -> None:
    assert set(LOGGERS) == set(EXPECTED.values())
    assert all(name.startswith(LOGGER + ".") for name in LOGGERS)


def test_the_environment_variable_shows_the_child_loggers_records() -> None:
    # The handler sits on the parent: a request logged by the client's child logger reaches it, named.
    code = (
        "import httpx, data_interaction_client as d\n"
        "ok = {'error': {'id': 0, 'message': ''}, 'attributes': {'smtActive': True}, 'tags': []}\n"
        "answer = httpx.Response(200, json=ok)\n"
        "transport = httpx.MockTransport(lambda request: answer)\n"
        "with d.DataInteractionClient('http://p.test', transport=transport) as client:\n"
        "    client.connect('1')\n"
    )
    env = {"DATA_INTERACTION_CLIENT_LOG": "debug", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "DEBUG data_interaction_client.client: POST /smt/dataSources/connect" in result.stderr
