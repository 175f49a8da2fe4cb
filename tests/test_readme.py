"""The README's Python examples run as written, against the reference platform."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from data_interaction_client.emulator import RunningPlatform, run_platform

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    with run_platform(db=":memory:") as running:
        yield running


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block-{n}" for n in range(len(BLOCKS))])
def test_readme_example_runs(
    code: str, platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    code = code.replace("http://127.0.0.1:8000", platform.url)
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert "Traceback" not in capsys.readouterr().err
