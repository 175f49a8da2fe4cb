"""The READMEs' Python examples run as written, against the reference platform, and link every guide.

The READMEs are the short entry point: the quick start and links into docs/, whose examples
tests/test_docs.py runs. README.ru.md carries README.md's examples with their comments in Russian
(``test_the_readmes_have_the_same_examples``) and shows the same output: each example runs once, from
README.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from data_interaction_client.emulator import RunningPlatform

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", ROOT / "README.ru.md"]


def python_blocks(readme: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.DOTALL)


BLOCKS = [
    pytest.param(READMES[0], code, id=f"{READMES[0].name}-{n}")
    for n, code in enumerate(python_blocks(READMES[0]))
]


def test_the_readmes_have_the_same_examples() -> None:
    english, russian = python_blocks(READMES[0]), python_blocks(READMES[1])
    assert english, "README.md has no python block: the quick start is gone"

    def code_only(block: object) -> list[str]:
        return [line.split("#")[0].rstrip() for line in str(block).splitlines()]

    assert [code_only(b) for b in english] == [code_only(b) for b in russian]


def test_the_readmes_show_the_same_output() -> None:
    """The quick start's output, which README.md's test checks, is the same in README.ru.md."""
    english, russian = (
        re.findall(r"```text\n(.*?)```", r.read_text(encoding="utf-8"), re.DOTALL) for r in READMES
    )
    assert russian[0] == english[0]


@pytest.mark.parametrize(("readme", "code"), BLOCKS)
def test_readme_example_runs(
    readme: Path, code: str, reference_platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    code = code.replace("http://127.0.0.1:8000", reference_platform.url)
    exec(compile(code, str(readme), "exec"), {"__name__": "__readme__"})
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("readme", READMES[:1], ids=lambda p: p.name)
def test_the_quick_start_prints_what_its_readme_shows(
    readme: Path, reference_platform: RunningPlatform, capsys: pytest.CaptureFixture[str]
) -> None:
    text = readme.read_text(encoding="utf-8")
    code = re.findall(r"```python\n(.*?)```", text, re.DOTALL)[0]
    shown = re.findall(r"```text\n(.*?)```", text, re.DOTALL)[0].splitlines()
    reference_platform.clear()
    exec(compile(code.replace("http://127.0.0.1:8000", reference_platform.url), str(readme), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(shown[0].removesuffix("...]"))
    assert printed[5:] == shown[2:]  # the period sent, read back: every point, as shown


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_the_readme_links_every_guide(readme: Path) -> None:
    """README.md links the English guides, README.ru.md their Russian twins (docs/<page>.ru.md)."""
    suffix = ".ru.md" if readme.name == "README.ru.md" else ".md"
    english = [page for page in (ROOT / "docs").glob("*.md") if not page.name.endswith(".ru.md")]
    guides = {f"docs/{page.name.removesuffix('.md')}{suffix}" for page in english if page.name != "index.md"}
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)", readme.read_text(encoding="utf-8")))
    assert linked == guides


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_make_demo_prints_what_its_readme_shows(readme: Path) -> None:
    """The ``$ make demo`` block is examples/quickstart.py's output, line for line; ``...`` stands for
    rows left out, and the platform's port is whatever was free."""
    block = re.search(r"```console\n\$ make demo\n(.*?)```", readme.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None, f"{readme.name} does not show what make demo prints"
    env = {key: value for key, value in os.environ.items() if key != "PLATFORM_URL"}
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        check=True, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    printed = run.stdout.splitlines()
    at, skipping = 0, False
    for shown in block.group(1).splitlines():
        if shown.strip() == "...":
            skipping = True  # rows left out: the next shown line may come after any number of them
            continue
        pattern = re.escape(shown).replace("45689", r"\d+")
        while skipping and at < len(printed) and not re.fullmatch(pattern, printed[at]):
            at += 1
        assert at < len(printed), f"make demo does not print {shown!r} where the README shows it"
        assert re.fullmatch(pattern, printed[at]), f"make demo prints {printed[at]!r}, not {shown!r}"
        at, skipping = at + 1, False
    assert at == len(printed), f"make demo prints more than the README shows: {printed[at:]}"
