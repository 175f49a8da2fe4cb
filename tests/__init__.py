"""The test suite: pytest runs it (``make test``; ``make test-fast`` leaves out the slow tests)."""

from __future__ import annotations

import sys
import unittest

#: What ``python -m unittest discover`` (the original client's ``coverage run -m unittest discover``)
#: says instead of running: these are pytest tests, of which unittest would find none and pass.
UNITTEST_MESSAGE = (
    "error: these tests run with pytest, not unittest: run `make test` "
    "(the whole suite, with coverage) or `make test-fast`"
)


def load_tests(loader: unittest.TestLoader, standard_tests: unittest.TestSuite, pattern: str | None) -> None:
    """unittest's hook for this package: end the run at once with one line that says how to run it.

    unittest calls it while it discovers, before it imports any test module; SystemExit is the one
    exception its discovery does not turn into a test that fails later, among dozens of import errors.
    """
    sys.exit(UNITTEST_MESSAGE)
