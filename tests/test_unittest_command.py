"""The original client's test command, ``coverage run -m unittest discover``, says how to run these tests.

unittest finds none of this suite's pytest tests: it "passed" having run one, or failed with dozens of
import errors without pytest. Now it ends at once with one line naming ``make test``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from . import UNITTEST_MESSAGE

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command",
    [["coverage", "run", "-m", "unittest", "discover"], ["unittest", "discover"], ["unittest"]],
    ids=" ".join,
)
def test_the_unittest_command_says_to_run_make_test(command: list[str], tmp_path: Path) -> None:
    if command[0] == "coverage":
        command = [*command[:2], f"--data-file={tmp_path / '.coverage'}", *command[2:]]
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [UNITTEST_MESSAGE]
    assert "make test" in UNITTEST_MESSAGE
    assert not done.stdout
