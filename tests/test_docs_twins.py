"""Every page of the documentation site has its Russian twin, with the same code.

The site is built in two languages by mkdocs-static-i18n: ``docs/<page>.md`` in English and
``docs/<page>.ru.md`` in Russian beside it. The examples are the same in both, byte for byte (comments
inside them included), so tests/test_docs.py runs each once, from the English page; this test is what
keeps the Russian copies equal to what runs. The API reference pages are generated from the English
docstrings in both languages: their twins carry the same ``:::`` directives and say so. A twin also has
as many headings as its page and the same links in the same order, so that a section added to one
page and not to the other shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
ENGLISH = sorted(page for page in DOCS.rglob("*.md") if not page.name.endswith(".ru.md"))
RUSSIAN = sorted(DOCS.rglob("*.ru.md"))
#: A fenced block: its marker for tests/test_docs.py (``<!-- tls -->``), if any, its opening line (with
#: the language) through its closing fence.
FENCE = re.compile(r"^(?:[ ]*<!-- \w+ -->\n)?([ ]*)```[^\n]*\n.*?^\1```$", re.DOTALL | re.MULTILINE)
DIRECTIVE = re.compile(r"^::: .*(?:\n[ ]{4}.*)*", re.MULTILINE)  # with its indented options


def twin(page: Path) -> Path:
    """The Russian twin of an English page: ``quickstart.md`` -> ``quickstart.ru.md``."""
    return page.with_name(page.name.removesuffix(".md") + ".ru.md")


def code(page: Path) -> list[str]:
    """The page's fenced blocks and mkdocstrings directives, in the order of the page."""
    text = page.read_text(encoding="utf-8")
    found = [(m.start(), m.group()) for pattern in (FENCE, DIRECTIVE) for m in pattern.finditer(text)]
    return [block for _, block in sorted(found)]


def name(page: Path) -> str:
    return str(page.relative_to(DOCS))


def test_the_pages_are_found() -> None:
    assert len(ENGLISH) >= 20, [name(page) for page in ENGLISH]
    assert DOCS / "quickstart.md" in ENGLISH
    assert DOCS / "reference" / "client.md" in ENGLISH


@pytest.mark.parametrize("page", ENGLISH, ids=name)
def test_every_english_page_has_its_russian_twin_with_the_same_code(page: Path) -> None:
    russian = twin(page)
    assert russian.exists(), f"{name(page)} has no Russian twin {name(russian)}: translate it"
    english_code, russian_code = code(page), code(russian)
    prose = FENCE.sub("", russian.read_text(encoding="utf-8"))
    assert re.search("[\u0430-\u044f\u0451]", prose, re.IGNORECASE), f"{name(russian)} is not in Russian"
    for n, (en, ru) in enumerate(zip(english_code, russian_code, strict=False)):
        assert ru == en, f"{name(russian)}: block {n} differs from {name(page)}'s (copy it as it is)"
    assert len(russian_code) == len(english_code), (
        f"{name(russian)} has {len(russian_code)} code blocks and directives, "
        f"{name(page)} {len(english_code)}"
    )


#: A link's target: a page or an anchor (``](writer.md#how-fast)``), or a name in the API reference
#: (``][data_interaction_client.Tag]``).
LINK = re.compile(r"\]\(([^)\s]+)\)|\]\[([\w.]+)\]")
HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)


def outline(page: Path) -> tuple[int, list[str]]:
    """The page's number of headings and its links' targets in order, code blocks left out."""
    prose = FENCE.sub("", page.read_text(encoding="utf-8"))
    return len(HEADING.findall(prose)), ["".join(target) for target in LINK.findall(prose)]


@pytest.mark.parametrize("page", ENGLISH, ids=name)
def test_every_russian_twin_has_the_same_sections_and_links(page: Path) -> None:
    """A section or a link added to the English page and not to its twin shows here."""
    if not twin(page).exists():
        pytest.fail(f"{name(page)} has no Russian twin")
    (english_headings, english_links), (russian_headings, russian_links) = outline(page), outline(twin(page))
    assert russian_headings == english_headings, (
        f"{name(twin(page))} has {russian_headings} headings, {name(page)} {english_headings}"
    )
    assert russian_links == english_links, f"{name(twin(page))} does not link what {name(page)} links"


def test_every_russian_page_translates_an_english_one() -> None:
    originals = {page: page.with_name(page.name.removesuffix(".ru.md") + ".md") for page in RUSSIAN}
    orphans = [name(page) for page, original in originals.items() if original not in ENGLISH]
    assert not orphans, f"Russian pages without their English original: {orphans}"


@pytest.mark.parametrize("page", [p for p in ENGLISH if p.parent.name == "reference"], ids=name)
def test_the_russian_reference_pages_say_they_are_in_english(page: Path) -> None:
    text = twin(page).read_text(encoding="utf-8")
    before = text[: text.index(":::")]
    assert "docstring" in before, f"{name(twin(page))} does not say, before its first :::, why it is English"


def _titles(nav: list[object]) -> list[str]:
    titles: list[str] = []
    for item in nav:
        assert isinstance(item, dict)
        for title, value in item.items():
            titles.append(title)
            if isinstance(value, list):
                titles.extend(_titles(value))
    return titles


def test_every_nav_title_is_translated() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    i18n = next(p["i18n"] for p in config["plugins"] if isinstance(p, dict) and "i18n" in p)
    russian = next(lang for lang in i18n["languages"] if lang["locale"] == "ru")
    translations = russian["nav_translations"]
    missing = [title for title in _titles(config["nav"]) if not translations.get(title)]
    assert not missing, f"mkdocs.yml: nav titles with no Russian translation: {missing}"
    assert set(translations) <= set(_titles(config["nav"])), "translations of titles the nav no longer has"
