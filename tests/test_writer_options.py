"""The writer's options: declared once (type, default, check), documented once, every one filled in."""

from __future__ import annotations

import inspect
import re
import typing

from data_interaction_client import Writer
from data_interaction_client._types import NOT_GIVEN
from data_interaction_client._writer.options import WriterOptions, check_options

# The defaults as the writer's docstring gives them.
DOCUMENTED_DEFAULTS = {
    "batch_points": 20_000,
    "flush_interval": 1.0,
    "commit_interval": 0.2,
    "close_timeout": 10.0,
    "max_pending_points": 1_000_000,
    "overflow": "raise",
    "block_timeout": 60.0,
    "scale": False,
    "deadband": False,
    "max_interval": 600.0,
    "max_retry_delay": 30.0,
    "timeout": NOT_GIVEN,
    "max_retries": 0,
    "on_accepted": None,
    "on_retry": None,
    "on_quarantined": None,
}
DISK_DEFAULTS = {"max_spool_bytes": 1 << 30, "fsync": True, "shared_spool": False}


def test_every_option_is_filled_in_with_its_documented_default() -> None:
    memory = check_options(None, {})
    assert dict(memory) == {**DOCUMENTED_DEFAULTS, **DISK_DEFAULTS, "spool": None}
    disk = check_options("/var/lib/c/spool", {})
    assert dict(disk) == {**DOCUMENTED_DEFAULTS, **DISK_DEFAULTS, "spool": "/var/lib/c/spool"}


def test_a_given_option_is_kept_checked_and_the_others_get_their_defaults() -> None:
    checked = check_options("/s", {"batch_points": 5, "flush_interval": 2, "fsync": False})
    assert (checked["batch_points"], checked["flush_interval"], checked["fsync"]) == (5, 2.0, False)
    assert type(checked["flush_interval"]) is float
    assert checked["commit_interval"] == 0.2


def test_every_option_is_documented_once_in_the_writer_docstring() -> None:
    doc = inspect.getdoc(Writer) or ""  # indented as written on 3.11 and 3.12, dedented by 3.13
    section = doc.split("Keyword Args:", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^ {4}(\w+): ", section, re.MULTILINE)
    declared = list(typing.get_type_hints(WriterOptions))
    assert sorted(documented) == sorted(["spool", *declared])
