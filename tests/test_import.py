"""``import data_interaction_client`` stays light: asyncio and the generated client load when first needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = """\
import sys

import data_interaction_client
import DataInteractionClient

heavy = sorted(
    name for name in sys.modules
    if name == "asyncio" or name.split(".")[0] == "data_interaction_platform_api"
)
print(heavy)
client = data_interaction_client.DataInteractionClient("http://127.0.0.1:1")
client.close()
print(sorted(name for name in sys.modules if name in ("asyncio", "data_interaction_platform_api")))
from data_interaction_client._http import wire

print(wire.CONNECT_PATH, wire.SET_DATA_PATH, wire.GET_DATA_PATH)
print("data_interaction_platform_api" in sys.modules)
"""


def test_import_loads_neither_asyncio_nor_the_generated_client() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    at_import, after_a_client, paths, generated = done.stdout.splitlines()
    assert at_import == "[]"
    assert after_a_client == "[]"  # making and closing a sync client needs neither
    # The paths come from the generated client, on first use.
    assert paths == "/smt/dataSources/connect /smt/data/set /smt/data/get"
    assert generated == "True"


def test_an_unknown_name_of_the_wire_module_is_an_attribute_error() -> None:
    from data_interaction_client._http import wire

    with pytest.raises(AttributeError, match="NO_SUCH_PATH"):
        wire.NO_SUCH_PATH  # noqa: B018
