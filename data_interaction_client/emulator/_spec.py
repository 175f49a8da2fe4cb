"""Loading openapi.yaml, the contract, and building JSON Schema validators from its components."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_SPEC_URI = "urn:data-interaction-client:openapi"

SPEC_CANDIDATES: tuple[Path, ...] = (
    Path(__file__).parent / "openapi.yaml",
    Path(__file__).resolve().parents[2] / "openapi.yaml",
)
"""Where the contract is looked for: inside the package (a wheel), then at the repository root."""


def find_spec_path() -> Path:
    """Return the path of openapi.yaml: the packaged copy first, then the one at the repository root."""
    for candidate in SPEC_CANDIDATES:
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(path) for path in SPEC_CANDIDATES)
    raise FileNotFoundError(f"openapi.yaml not found; looked in: {searched}")


@functools.cache
def load_spec() -> dict[str, Any]:
    """Load and cache the OpenAPI document."""
    with find_spec_path().open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
    return registry


@functools.cache
def schema_validator(name: str) -> Draft202012Validator:
    """Return a Draft 2020-12 validator of ``#/components/schemas/<name>`` with every ref resolvable."""
    if name not in load_spec()["components"]["schemas"]:
        raise KeyError(f"no schema {name!r} in openapi.yaml")
    schema = {"$ref": f"{_SPEC_URI}#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=_registry())


def schema_pattern(name: str) -> str:
    """Return the ``pattern`` of the string branch of a ``oneOf`` schema (the Timestamp's ISO pattern)."""
    schema = load_spec()["components"]["schemas"][name]
    for branch in schema["oneOf"]:
        if branch.get("type") == "string" and "pattern" in branch:
            pattern: str = branch["pattern"]
            return pattern
    raise KeyError(f"schema {name!r} has no string pattern")


def integer_bounds(name: str) -> tuple[int, int]:
    """Return ``(minimum, maximum)`` of the integer branch of a schema (Timestamp) or of the schema."""
    schema = load_spec()["components"]["schemas"][name]
    branches = schema.get("oneOf", [schema])
    for branch in branches:
        if "minimum" in branch and "maximum" in branch:
            return int(branch["minimum"]), int(branch["maximum"])
    raise KeyError(f"schema {name!r} has no integer bounds")
