"""The platform's configuration: its data sources and their tags, read from a YAML or JSON file.

The file (``--config`` on the command line, ``config=`` of ``run_platform`` and ``create_app``, which
also take a mapping of the same shape) holds one mapping, ``dataSources``, from a data source's id to
what ``connect`` answers for it:

```yaml
dataSources:
  "1":                                  # the id a connector connects with (a number is read as text)
    attributes:                         # connect's "attributes"; more keys than these are kept and sent
      smtActive: true                   # required; false: switched off, connect answers no tags
      smtJsonConfigString: '{"host": "10.0.0.5", "port": 502}'   # the connector's own settings, JSON text
    tags:                               # connect's "tags", in this order; may be empty or left out
      - id: temperature                 # a tag's id: a name ...
        attributes:                     # required (may be {}); more keys than these are kept and sent
          smtTagValueTypeCode: 1        # 0 integer, 1 float, 2 string, 3 discrete, 4 JSON
          smtTagValueScale: 1           # a scale factor of the value
          smtTagMaxDev: 0.5             # a deadband: a smaller change need not be sent
          smtTagSource: '{"register": 40001}'   # where the connector reads it, JSON text
      - id: {tagName: pressure, parentObjectId: boiler-7}   # ... or a name within a parent object
        attributes:
          smtTagValueTypeCode: 1
          smtStep: true                 # a step tag: its value holds until the next point
```

Each data source's ``attributes`` and each tag are checked against the contract's
``DataSourceAttributes`` and ``TagInfo`` schemas (openapi.yaml) when the file is read: a wrong key's
type or a missing required key is a [`ConfigError`][data_interaction_client.emulator.ConfigError]
naming it (``dataSources.1.tags[0].attributes: required property is missing``), and the command line
ends with that line and exit status 2. Keys the schemas do not name are kept and answered as given, as
the platform family answers keys a client does not know yet.

What the file lists is only what ``connect`` answers: ``set`` and ``get`` accept any tag id, listed or
not. ``smtStep: true`` also changes how ``get`` reads that tag's history (no interpolation between its
points). With no file the platform serves
[`EXAMPLE_CONFIG_PATH`][data_interaction_client.emulator.EXAMPLE_CONFIG_PATH]; the guide to the
reference platform lists its tags.
"""

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
