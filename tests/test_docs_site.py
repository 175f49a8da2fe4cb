"""The documentation site as built: the API reference shows every public name; the column fits the code.

The API reference is docs/reference/*.md, rendered by mkdocstrings. The site is built with ``mkdocs
build --strict`` into a temporary directory and its inventory (``objects.inv``, the list of every
heading mkdocstrings rendered) is read back. The names it must hold
are read from the packages now, not listed here, so a name added to an ``__all__`` later and not to the
reference fails this test: every name in ``__all__`` of every public module, and every public method and
property of each public class, those it inherits from the package's own (private) bases included.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import types
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import data_interaction_client

ROOT = Path(__file__).resolve().parents[1]
#: The packages whose code the reference documents; a class's members from elsewhere (Exception,
#: dict, Enum, uvicorn's Server) are those projects' to document.
OWN = ("data_interaction_client", "DataInteractionClient")


def public_modules() -> list[types.ModuleType]:
    """The original import path and every module of the package with no ``_name`` in its path."""
    names = ["DataInteractionClient", "data_interaction_client"]
    found = pkgutil.walk_packages(data_interaction_client.__path__, "data_interaction_client.")
    names += [info.name for info in found if not any(part.startswith("_") for part in info.name.split("."))]
    return [importlib.import_module(name) for name in names]


def _own(cls: type) -> bool:
    return cls.__module__.split(".")[0] in OWN


def public_members(cls: type) -> Iterator[str]:
    """The public methods and properties a user reaches on ``cls``, inherited ones included."""
    seen: set[str] = set()
    for base in cls.__mro__:
        if not _own(base):
            continue
        for name, member in vars(base).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(member, (staticmethod, classmethod, property)) or inspect.isfunction(member):
                yield name


def required_names() -> dict[str, set[str]]:
    """Each name the reference must show, with the paths any one of which shows it.

    An object re-exported by a second public module (the original path's ``Tag`` is the package's) is
    shown once; an alias in the same module (``ServerResponseErrorException``) has its own entry.
    """
    modules = public_modules()
    homes: dict[int, set[str]] = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                homes.setdefault(id(obj), set()).add(f"{module.__name__}.{name}")
    required: dict[str, set[str]] = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            path = f"{module.__name__}.{name}"
            elsewhere = homes.get(id(obj), set())
            others = {home for home in elsewhere if home.rpartition(".")[0] != module.__name__}
            required[path] = {path} | others
            if inspect.isclass(obj):
                for member in public_members(obj):
                    required[f"{path}.{member}"] = {f"{home}.{member}" for home in {path} | others}
    return required


def inventory(site: Path) -> set[str]:
    """The Python names the built site's objects.inv lists as rendered on a page (not as aliases)."""
    data = (site / "objects.inv").read_bytes()
    header = b"# The remainder of this file is compressed using zlib.\n"
    assert header in data, "objects.inv is not a Sphinx inventory of version 2"
    names = set()
    for line in zlib.decompress(data.split(header, 1)[1]).decode().splitlines():
        name, domain_role, priority, *_ = line.split(" ")
        if domain_role.startswith("py:") and priority == "1":
            names.add(name)
    return names


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site built as ``make docs`` builds it (any warning fails), in a temporary dir."""
    # The site's tools are the docs group's (make install has them; a test-only venv does not).
    pytest.importorskip("mkdocs", reason="the docs dependency group is not installed")
    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    done = subprocess.run(build, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return site


@pytest.mark.slow  # builds the whole site in both languages: 7 s
def test_the_reference_shows_every_public_name_and_member(built_site: Path) -> None:
    shown = inventory(built_site)
    missing = sorted(name for name, paths in required_names().items() if not paths & shown)
    assert not missing, f"not on the reference pages (docs/reference/*.md): {missing}"


def test_the_requirement_reads_the_packages() -> None:
    """The names come from the packages: the inherited calls and the original path are among them."""
    required = required_names()
    for name in (
        "data_interaction_client.Writer.write",
        "data_interaction_client.Writer.write_points",
        "data_interaction_client.Writer.stats",
        "data_interaction_client.AsyncDataInteractionClient.create_tags",
        "data_interaction_client.DataInteractionClient.create_request_data",
        "data_interaction_client.RequestTooLargeError",
        "data_interaction_client.DuplicateTagWarning",
        "DataInteractionClient.DataInteractionClient",
        "data_interaction_client.connector.Connector",
        "data_interaction_client.cli.main",
    ):
        assert name in required, name
    # Exception's and dict's own members are not the package's to document.
    assert "data_interaction_client.PlatformError.with_traceback" not in required
    assert "data_interaction_client.connector.RunOptions.keys" not in required


# --- the content column ----------------------------------------------------------------------------

#: The widest code line the guides hold: the project's line length. Measured in headless Chromium, the
#: column shows 116 columns of code at 1280 px (DejaVu Sans Mono, 8.2 px a column): the margin is for
#: a scroll bar and wider fonts.
CODE_COLUMNS = 110


@pytest.mark.slow  # builds the whole site in both languages: 7 s
def test_every_page_loads_the_stylesheet_that_widens_the_column(built_site: Path) -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!!python/name:", ""))
    assert "stylesheets/extra.css" in config["extra_css"]
    assert "toc.integrate" in config["theme"]["features"]
    css = (built_site / "stylesheets" / "extra.css").read_text(encoding="utf-8")
    assert re.search(r"\.md-grid\s*\{[^}]*max-width:\s*72rem", css), "the grid is not widened"
    pages = sorted(built_site.rglob("index.html"))
    assert len(pages) > 20
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert re.search(r'<link[^>]+href="(\.\./)*stylesheets/extra\.css"', html), page


def test_the_guides_code_fits_the_column() -> None:
    """No line of a fenced block on a page of docs/ is wider than the column shows at 1280 px."""
    too_wide = [
        f"{page.name}: {line[:40]}... ({len(line)} columns)"
        for page in sorted((ROOT / "docs").rglob("*.md"))
        for block in re.findall(
            r"^ *```[^\n]*\n(.*?)^ *```", page.read_text(encoding="utf-8"), re.DOTALL | re.M
        )
        for line in block.splitlines()
        if len(line) > CODE_COLUMNS
    ]
    assert not too_wide, f"wider than {CODE_COLUMNS} columns, these lines scroll sideways: {too_wide}"
