"""The package index's README and URLs, as the build's metadata hook (hatch_build.py) makes them."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REPOSITORY = PYPROJECT["tool"]["hatch"]["metadata"]["hooks"]["custom"]["repository"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _metadata() -> dict[str, object]:
    hook = _hook()
    metadata: dict[str, object] = {}
    hook.PackagePageHook(str(ROOT), {"repository": REPOSITORY}).update(metadata)
    return metadata


def _readme() -> str:
    readme = _metadata()["readme"]
    assert isinstance(readme, dict)
    assert readme["content-type"] == "text/markdown"
    text = readme["text"]
    assert isinstance(text, str)
    return text


def test_readme_and_urls_are_the_hooks() -> None:
    assert "readme" not in PYPROJECT["project"]
    assert "urls" not in PYPROJECT["project"]
    assert set(PYPROJECT["project"]["dynamic"]) >= {"readme", "urls"}


def test_every_link_is_absolute_and_made_of_the_one_address() -> None:
    text = _readme()
    links = LINK.findall(text)
    assert all(re.match(r"https://", link) for link in links), links
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    kept = readme[: readme.index("\n## Development\n")]  # the page shortens Development to a paragraph
    relative = [link for link in LINK.findall(kept) if "://" not in link]
    assert len(relative) >= 12
    for link in [*relative, "README.ru.md", "CHANGELOG.md", "README.md#development"]:
        assert f"{REPOSITORY}/blob/main/{link}" in links, link  # where the README's leads, anchor kept


def test_the_page_leads_with_pip_install_and_keeps_the_readme() -> None:
    text = _readme()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text[text.index("```") :].split("\n", 2)[1]
    assert first_block.startswith("pip install data-interaction-client")
    assert "make demo" not in text[: text.index("## Quick start")]
    assert text.startswith(readme.split("\n\n", 1)[0] + "\n\n")  # the title
    for heading in re.findall(r"^## .+$", readme, re.MULTILINE):
        assert heading in text  # every section of the README, Development shortened
    assert "pip install 'data-interaction-client[connector]'" in text


def test_code_blocks_are_left_as_they_are() -> None:
    hook = _hook()
    markdown = "See [x](docs/x.md).\n\n```python\nvalue = items[0](call)\n```\n"
    assert hook.absolute_links(markdown, "https://host/repo") == (
        "See [x](https://host/repo/blob/main/docs/x.md).\n\n```python\nvalue = items[0](call)\n```\n"
    )


def test_urls_are_made_of_the_one_address() -> None:
    urls = _metadata()["urls"]
    assert isinstance(urls, dict)
    assert {"Homepage", "Documentation", "Changelog", "Source", "Issues"} <= urls.keys()
    assert all(url.startswith(REPOSITORY) for url in urls.values())


def test_a_reorganised_readme_fails_the_build() -> None:
    with pytest.raises(ValueError, match="Install"):
        _hook().package_readme("# Title\n\nIntro.\n\n## Quick start\n", REPOSITORY)
