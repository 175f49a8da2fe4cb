"""The configuration format, as the guide to the reference platform and its reference document it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from data_interaction_client import DataInteractionClient, DataSourceNotActiveError
from data_interaction_client.emulator import _config, load_config, run_platform

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "reference-platform.md"
SECTION = GUIDE.read_text(encoding="utf-8").split("## The configuration file", 1)[1].split("\n## ", 1)[0]


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)


def _table(text: str, header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header row starts with ``header``, as cells."""
    table = text[text.index(header) :].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in table]


def test_the_guides_example_file_is_served_as_it_says() -> None:
    (block,) = _yaml_blocks(SECTION)
    document = yaml.safe_load(block)
    with (
        run_platform(db=":memory:", config=document) as platform,
        DataInteractionClient(platform.url) as client,
    ):
        connection = client.connect("boiler-house")
        assert connection.attributes.config == {"host": "10.0.0.5"}
        assert [str(tag.id) for tag in connection.tags] == [
            "steam-temperature",
            "boiler-7/pressure",
            "burner",
        ]
        with pytest.raises(DataSourceNotActiveError):
            client.connect("spare")


def test_the_error_line_the_guide_quotes_is_the_one_given() -> None:
    document: dict[str, Any] = yaml.safe_load(_yaml_blocks(SECTION)[0])
    del document["dataSources"]["spare"]["attributes"]["smtActive"]
    quoted = re.search(r"`error: (.*?)`", SECTION)
    assert quoted is not None
    with pytest.raises(_config.ConfigError) as caught:
        load_config(document)
    assert str(caught.value) == quoted.group(1)


def test_the_guide_lists_the_shipped_examples_tags() -> None:
    """The table of source "1"'s tags is the shipped example's, tag by tag, with every attribute."""
    codes = {0: "integer", 1: "float", 2: "string", 3: "discrete", 4: "JSON"}
    shipped = load_config(None).data_sources["1"].tags
    rows = _table(SECTION, "| tag id |")
    assert len(rows) == len(shipped)
    for (tag_id, value_type, others), tag in zip(rows, shipped, strict=True):
        assert yaml.safe_load(tag_id.strip("`")) == tag["id"]
        attributes = dict(tag["attributes"])
        code = attributes.pop("smtTagValueTypeCode")
        assert value_type == f"{codes[code]} ({code})"
        listed = dict(pair.split(": ", 1) for pair in re.findall(r"`([^`]+)`", others))
        # The JSON texts (smtTagSource) are shown as they parse.
        expected = {
            key: yaml.safe_load(value) if isinstance(value, str) else value
            for key, value in attributes.items()
        }
        assert {key: yaml.safe_load(value) for key, value in listed.items()} == expected


def test_the_modules_documented_format_loads() -> None:
    (block,) = _yaml_blocks(_config.__doc__ or "")
    config = load_config(yaml.safe_load(block))
    assert config.data_sources["1"].active
    assert len(config.step_keys()) == 1
