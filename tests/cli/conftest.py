"""The command line run in-process against the reference platform, as a user would call it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from data_interaction_client.cli import main
from data_interaction_client.emulator import RunningPlatform


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def run(
    reference_platform: RunningPlatform, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Run:
    """``run("get", "a", ...)``: the exit status and what was printed, with --url set to the platform."""
    monkeypatch.delenv("DATA_INTERACTION_TOKEN", raising=False)
    monkeypatch.setenv("DATA_INTERACTION_URL", reference_platform.url)

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err or "--debug" in args
        return Result(code, captured.out, captured.err)

    return call
