"""The benchmark runs end to end (`python -m bench --quick`): a smoke test, never a timing test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # about 15 s
def test_bench_quick_prints_the_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert "| scenario |" in out
    for scenario in ("bulk", "live", "read", "frame_read", "frame_send", "writer-live", "writer-bulk"):
        assert f"| {scenario} |" in out
    assert "Writer: write()" in out
    assert "Writer, platform down:" in out
    assert "Machine:" in out
    assert "import data_interaction_client:" in out
