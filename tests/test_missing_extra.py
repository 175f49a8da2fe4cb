"""Without an extra, the commands that need it say which, in one line; every such message quotes the extra."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_HINT = "pip install 'data-interaction-client[platform]'"


def run_without_uvicorn(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with a ``uvicorn`` that cannot be imported, as when the platform extra is missing."""
    fake = tmp_path / "uvicorn"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'uvicorn'\")\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["-c", "from data_interaction_client._platform_main import main; raise SystemExit(main([]))"],
            id="data-interaction-platform",
        ),
        pytest.param(["-m", "data_interaction_client.emulator"], id="python -m"),
    ],
)
def test_the_platform_command_names_its_extra_in_one_line(tmp_path: Path, args: list[str]) -> None:
    result = run_without_uvicorn(tmp_path, *args)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "the reference platform needs the 'platform' extra" in result.stderr
    assert PLATFORM_HINT in result.stderr


def test_every_message_naming_an_extra_quotes_it() -> None:
    # Unquoted, zsh reads the brackets as a glob pattern and fails.
    unquoted = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "data_interaction_client").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"pip install (?!')\S*\[", line)
    ]
    assert unquoted == []
