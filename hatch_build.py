"""The build's metadata hook: the package index's README and the project's URLs, from one address.

The repository's README.md opens with the ``make`` commands of a clone and links its files
relatively; the package index shows neither well. The README built here leads with ``pip install``
(the intro, then the README from its "Install" section on), ends with a short "Development" section
that points to the repository, and makes every relative link absolute against ``repository``, the one
address set in pyproject.toml (``[tool.hatch.metadata.hooks.custom]``), which ``[project.urls]`` is
made of too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface

# A Markdown link or image target that is neither absolute, nor an anchor of the page itself.
_RELATIVE_LINK = re.compile(r"(\]\()(?![a-z][a-z0-9+.-]*:|#)([^)\s]+)(\))")
_FENCE = re.compile(r"^(```.*?^```[^\n]*\n)", re.MULTILINE | re.DOTALL)
_INSTALL = "\n## Install\n"
_DEVELOPMENT = "\n## Development\n"


def files_url(repository: str, path: str) -> str:
    """The address of the repository file ``path`` (on the main branch)."""
    return f"{repository.rstrip('/')}/blob/main/{path}"


def project_urls(repository: str) -> dict[str, str]:
    """``[project.urls]``: the repository, its guides, its changelog and its issues."""
    base = repository.rstrip("/")
    return {
        "Homepage": base,
        "Documentation": files_url(base, "docs/index.md"),
        "Changelog": files_url(base, "CHANGELOG.md"),
        "Source": base,
        "Issues": f"{base}/issues",
    }


def absolute_links(markdown: str, repository: str) -> str:
    """``markdown`` with each relative link made absolute in the repository (code blocks untouched)."""
    parts = _FENCE.split(markdown)
    for index in range(0, len(parts), 2):  # the odd parts are fenced code blocks
        parts[index] = _RELATIVE_LINK.sub(
            lambda match: match[1] + files_url(repository, match[2]) + match[3], parts[index]
        )
    return "".join(parts)


def package_readme(readme: str, repository: str) -> str:
    """The package index's README, made from the repository's ``readme`` (see the module's docstring)."""
    if _INSTALL not in readme or _DEVELOPMENT not in readme:
        # A README reorganised under this hook: fail the build rather than publish a wrong page.
        raise ValueError(
            "README.md has no '## Install' or no '## Development' section: update hatch_build.py"
        )
    title, _, rest = readme.partition("\n\n")
    intro = rest.split("\n\n", 1)[0]
    body = readme[readme.index(_INSTALL) : readme.index(_DEVELOPMENT)].strip("\n")
    development = (
        "## Development\n\n"
        "The tests, the guides' sources and the contract (`openapi.yaml`) are in the "
        f"[repository]({repository.rstrip('/')}) and in the source distribution; the repository's "
        "[README](README.md#development) lists the commands that run the demo, the suite and the "
        "benchmark. [README по-русски](README.ru.md).\n\n"
        "Changes by version: [CHANGELOG.md](CHANGELOG.md).\n"
    )
    return absolute_links(f"{title}\n\n{intro}\n\n{body}\n\n{development}", repository)


class PackagePageHook(MetadataHookInterface):
    """Sets the dynamic ``readme`` and ``urls`` of ``[project]``."""

    def update(self, metadata: dict[str, Any]) -> None:
        """Fill in the README of the package index and the project's URLs."""
        repository = self.config.get("repository")
        if not isinstance(repository, str) or not repository.startswith("https://"):
            raise ValueError("[tool.hatch.metadata.hooks.custom] repository must be an https:// address")
        readme = Path(self.root, "README.md").read_text(encoding="utf-8")
        metadata["readme"] = {"content-type": "text/markdown", "text": package_readme(readme, repository)}
        metadata["urls"] = project_urls(repository)
