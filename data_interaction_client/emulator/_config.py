"""The platform's configuration: its data sources and their tags, read from a YAML or JSON file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._json import dumps_text
from ._validation import RequestError, check_schema

EXAMPLE_CONFIG_PATH = Path(__file__).with_name("example_platform.yaml")
"""The example configuration shipped with the package (an active source "1", an inactive source "2")."""


class ConfigError(ValueError):
    """The platform configuration is malformed."""


def tag_key(tag_id: str | Mapping[str, Any]) -> str:
    """Return the canonical storage key of a tag id (a string, or a ``{tagName, parentObjectId}`` object)."""
    if isinstance(tag_id, str):
        return dumps_text(tag_id)
    return dumps_text({"parentObjectId": tag_id["parentObjectId"], "tagName": tag_id["tagName"]})


@dataclass(frozen=True)
class DataSource:
    """A data source: its attributes (``smtActive``, ...) and the tags it feeds (``TagInfo`` objects)."""

    id: str
    attributes: dict[str, Any]
    tags: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether the data source is switched on."""
        return bool(self.attributes.get("smtActive"))


@dataclass(frozen=True)
class PlatformConfig:
    """The platform's data sources, by id."""

    data_sources: dict[str, DataSource]

    def step_keys(self) -> frozenset[str]:
        """Canonical keys of the tags marked ``smtStep: true`` (no interpolation between their points)."""
        return frozenset(
            tag_key(tag["id"])
            for source in self.data_sources.values()
            for tag in source.tags
            if tag.get("attributes", {}).get("smtStep") is True
        )

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any]) -> PlatformConfig:
        """Build a configuration from ``{"dataSources": {id: {"attributes": {...}, "tags": [...]}}}``."""
        if not isinstance(document, Mapping) or not isinstance(document.get("dataSources"), Mapping):
            raise ConfigError("the configuration must be a mapping with a 'dataSources' mapping")
        sources: dict[str, DataSource] = {}
        for raw_id, raw in document["dataSources"].items():
            source_id = str(raw_id)
            if not isinstance(raw, Mapping):
                raise ConfigError(f"dataSources.{source_id}: must be a mapping")
            attributes = dict(raw.get("attributes") or {})
            tags = list(raw.get("tags") or [])
            try:
                check_schema("DataSourceAttributes", attributes, ["dataSources", source_id, "attributes"])
                for index, tag in enumerate(tags):
                    check_schema("TagInfo", tag, ["dataSources", source_id, "tags", index])
            except RequestError as exc:
                raise ConfigError(exc.message.removeprefix("body.")) from exc
            sources[source_id] = DataSource(source_id, attributes, [dict(tag) for tag in tags])
        return cls(sources)


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | PlatformConfig | None) -> PlatformConfig:
    """Load a configuration from a YAML/JSON file, a mapping, or return the example one for ``None``."""
    if isinstance(source, PlatformConfig):
        return source
    if isinstance(source, Mapping):
        return PlatformConfig.from_mapping(source)
    path = EXAMPLE_CONFIG_PATH if source is None else Path(source)
    try:
        with path.open(encoding="utf-8") as stream:
            document = yaml.safe_load(stream)  # YAML is a superset of JSON: both formats load here.
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc}") from exc
    return PlatformConfig.from_mapping(document)
