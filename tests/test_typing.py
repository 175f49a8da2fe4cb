"""A user's type checker sees the SDK's types on every import path (``py.typed`` in each package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # mypy checks the whole package from a cold cache: about 30 s

USER_SCRIPT = """\
from DataInteractionClient import DataInteractionClient as OriginalClient, Tag
from data_interaction_client import DataInteractionClient, Connection
from data_interaction_platform_api.models import Point


def send(url: str) -> None:
    tag = Tag("temperature")
    tag.add_data(1_700_000_000_000_000, 21.5)
    with OriginalClient(url) as original:
        answer: dict[str, object] = original.set_data(tag)
        print(answer)
        tags = original.connect("1")
        tags[0].add_data("2018-06-26 17:16:00", 5555, 1)
        print(tags["attributes"], original.get_data(tag_id="a", from_time="100")[0]["data"])
    with DataInteractionClient(url) as client:
        connection: Connection = client.connect("1")
        connection[0].add_data(1_700_000_000_000_000, 1.5)
        print(connection, client.get_data(tag_id="a", max_count=5)[0].points)
    print(Point(x=1, y=2.0))
"""


def mypy_strict(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "user.py").write_text(script)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), "user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_misspelt_option_of_the_original_client_is_caught(tmp_path: Path) -> None:
    mistake = USER_SCRIPT.replace("with OriginalClient(url) as", "with OriginalClient(url, tiemout=5) as")
    result = mypy_strict(mistake, tmp_path)
    assert result.returncode == 1
    assert 'error: Unexpected keyword argument "tiemout" for "DataInteractionClient"' in result.stdout


def test_every_import_path_is_typed(tmp_path: Path) -> None:
    result = mypy_strict(USER_SCRIPT, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "import-untyped" not in result.stdout


def test_a_users_mistake_is_caught_on_the_original_import_path(tmp_path: Path) -> None:
    # Were the package untyped (Any), this would pass unnoticed.
    mistake = USER_SCRIPT.replace("answer: dict[str, object]", "answer: int")
    result = mypy_strict(mistake, tmp_path)
    assert result.returncode == 1
    assert 'user.py:10: error: Incompatible types in assignment (expression has type "dict[str, Any]"' in (
        result.stdout
    )


FRAMES_AND_FIGURES = """\
from typing import assert_type

import pandas
import polars
from matplotlib.figure import Figure

from data_interaction_client import (
    AsyncDataInteractionClient, DataInteractionClient, RequestData, TagHistory, plot_histories,
)


async def read(client: DataInteractionClient, aclient: AsyncDataInteractionClient, history: TagHistory):
    req = RequestData("a")
    assert_type(client.get_frame(req), pandas.DataFrame)
    assert_type(client.get_frame(req, backend="pandas", form="wide"), pandas.DataFrame)
    assert_type(client.get_frame(req, backend="polars", x_as="us"), polars.DataFrame)
    assert_type(await aclient.get_frame(req), pandas.DataFrame)
    assert_type(await aclient.get_frame(req, backend="polars"), polars.DataFrame)
    assert_type(history.plot(), Figure)
    assert_type(plot_histories([history], path="a.png"), Figure)
    wrong: pandas.DataFrame = client.get_frame(req, backend="polars")
"""


def test_frames_and_figures_have_their_libraries_types(tmp_path: Path) -> None:
    # pyright, as it reads pandas without stubs (mypy sees pandas as Any); before, all were Any.
    (tmp_path / "user.py").write_text(FRAMES_AND_FIGURES)
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "--outputjson", "user.py"],
        cwd=tmp_path,
        env={**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},  # no look-up of a newer pyright
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    errors = [(d["range"]["start"]["line"] + 1, d["message"]) for d in report["generalDiagnostics"]]
    assert len(errors) == 1, errors
    line, message = errors[0]
    assert line == len(FRAMES_AND_FIGURES.splitlines())  # the polars frame given to a pandas name
    assert "polars" in message
