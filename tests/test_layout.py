"""The package's shape, read from its source with `ast`: small modules and classes, private names kept home.

- No module over `MAX_MODULE_LINES` lines and no class over `MAX_CLASS_LINES`: a module or class
  that grows past them holds more than one role and is split by role.
- No module imports a private (underscore) name defined in a module of another subpackage, nor reaches
  one as an attribute of a module of another subpackage: across subpackages, modules meet through
  public names. Within one subpackage (the package's top-level modules are one), private names are
  shared freely.

Every module of ``data_interaction_client/`` and ``DataInteractionClient/`` is read, none of
``generated/``. The lists of allowed exceptions name each module, class or import that breaks a rule
today; each is to be emptied, and a test fails when an entry no longer applies, so that none stays
behind.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[1]
PACKAGES: Final = ("data_interaction_client", "DataInteractionClient")
MAX_MODULE_LINES: Final = 700
MAX_CLASS_LINES: Final = 400

# Modules and classes allowed over the bounds, each by name with its reason (none today).
LONG_MODULES_ALLOWED: Final[frozenset[str]] = frozenset()
LONG_CLASSES_ALLOWED: Final[frozenset[str]] = frozenset()
# Private names allowed across subpackages, as "importing module -> defining module.name" (none today).
PRIVATE_IMPORTS_ALLOWED: Final[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Module:
    """One module of the package, as read from its file."""

    name: str  # dotted: data_interaction_client._writer.engine
    path: str  # relative to the repository: data_interaction_client/_writer/engine.py
    is_package: bool  # an __init__.py
    lines: int
    tree: ast.Module

    @property
    def package(self) -> str:
        """The (sub)package the module belongs to: itself for an ``__init__.py``."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


def read_modules(root: Path = ROOT) -> dict[str, Module]:
    """Every module of `PACKAGES` under ``root`` (none of ``generated/``), by dotted name."""
    modules: dict[str, Module] = {}
    for top in PACKAGES:
        for file in sorted((root / top).rglob("*.py")):
            relative = file.relative_to(root)
            if "generated" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            text = file.read_text(encoding="utf-8")
            modules[".".join(parts)] = Module(
                ".".join(parts),
                relative.as_posix(),
                is_package,
                len(text.splitlines()),
                ast.parse(text, filename=str(relative)),
            )
    return modules


def classes(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """Each class of ``tree``, nested ones too, as (qualified name, lines from ``class`` to its end)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            name = f"{prefix}{node.name}"
            assert node.end_lineno is not None
            yield name, node.end_lineno - node.lineno + 1
            yield from classes(node, f"{name}.")
        else:
            yield from classes(node, prefix)


def long_modules(modules: dict[str, Module]) -> dict[str, int]:
    """The modules over `MAX_MODULE_LINES`: {path: lines}."""
    return {m.path: m.lines for m in modules.values() if m.lines > MAX_MODULE_LINES}


def long_classes(modules: dict[str, Module]) -> dict[str, int]:
    """The classes over `MAX_CLASS_LINES`: {path::name: lines}."""
    return {
        f"{m.path}::{name}": lines
        for m in modules.values()
        for name, lines in classes(m.tree)
        if lines > MAX_CLASS_LINES
    }


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _base(module: Module, node: ast.ImportFrom) -> str:
    """The module a ``from ... import`` reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    parts = module.package.split(".")
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def private_imports(modules: dict[str, Module]) -> dict[str, int]:
    """Private names of a module of another subpackage reached by import or as a module's attribute.

    {"importing module -> defining module.name": the first line}. A name is taken as defined in the
    module it is imported from (a re-export counts where it is imported from); importing a submodule
    (``from . import _tag``) is not a private name.
    """
    found: dict[str, int] = {}

    def note(module: Module, defined_in: str, name: str, line: int) -> None:
        if _private(name) and modules[defined_in].package != module.package:
            found.setdefault(f"{module.name} -> {defined_in}.{name}", line)

    for module in modules.values():
        aliases: dict[str, str] = {}  # local name -> one of our modules
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom):
                base = _base(module, node)
                if base not in modules:
                    continue  # another project's module
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
                    else:
                        note(module, base, alias.name, node.lineno)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules and alias.asname is not None:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and f"{aliases[node.value.id]}.{node.attr}" not in modules
            ):
                note(module, aliases[node.value.id], node.attr, node.lineno)
    return found


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return read_modules()


def test_every_module_is_read(modules: dict[str, Module]) -> None:
    # A wrong root or pattern would make every other test here pass on nothing.
    assert {"data_interaction_client", "data_interaction_client.cli._app", "DataInteractionClient"} <= set(
        modules
    )
    assert not any(name.startswith("generated") or ".generated" in name for name in modules)


def test_no_module_is_over_the_bound(modules: dict[str, Module]) -> None:
    over = {path: lines for path, lines in long_modules(modules).items() if path not in LONG_MODULES_ALLOWED}
    assert not over, "\n".join(
        f"{path}: {lines} lines, over {MAX_MODULE_LINES}: split it by role"
        for path, lines in sorted(over.items())
    )


def test_no_class_is_over_the_bound(modules: dict[str, Module]) -> None:
    over = {name: lines for name, lines in long_classes(modules).items() if name not in LONG_CLASSES_ALLOWED}
    assert not over, "\n".join(
        f"{name}: {lines} lines, over {MAX_CLASS_LINES}: compose it of smaller roles"
        for name, lines in sorted(over.items())
    )


def test_no_private_name_is_reached_from_another_subpackage(modules: dict[str, Module]) -> None:
    found = {
        key: line for key, line in private_imports(modules).items() if key not in PRIVATE_IMPORTS_ALLOWED
    }
    assert not found, "\n".join(
        f"{key} (line {line}): make the name public in its module, or keep it in its subpackage"
        for key, line in sorted(found.items())
    )


def test_every_allowed_exception_still_applies(modules: dict[str, Module]) -> None:
    # An exception that no longer applies is removed, so that the lists only shrink.
    stale = sorted(
        (LONG_MODULES_ALLOWED - set(long_modules(modules)))
        | (LONG_CLASSES_ALLOWED - set(long_classes(modules)))
        | (PRIVATE_IMPORTS_ALLOWED - set(private_imports(modules)))
    )
    assert not stale, (
        "no longer over a bound or reaching a private name; remove from the lists: " + ", ".join(stale)
    )


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    # A package made on purpose: one module and one class over the bounds, and each way of reaching
    # a private name of another subpackage, beside what the rules allow.
    package = tmp_path / "data_interaction_client"
    (package / "_sub").mkdir(parents=True)
    (tmp_path / "DataInteractionClient").mkdir()
    (tmp_path / "DataInteractionClient" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("__version__ = '1'\n")
    (package / "_sub" / "__init__.py").write_text("")
    (package / "_sub" / "engine.py").write_text("_hidden = 1\nshown = 2\n")
    (package / "_sub" / "peer.py").write_text("from .engine import _hidden\n")  # same subpackage: allowed
    body = "\n".join(f"    a{i} = {i}" for i in range(MAX_CLASS_LINES))
    (package / "_big.py").write_text(f"class Big:\n{body}\n" + "\n" * (MAX_MODULE_LINES - MAX_CLASS_LINES))
    (package / "_user.py").write_text(
        "from ._sub.engine import _hidden, shown\n"
        "from ._sub import engine\n"
        "from . import __version__\n"
        "import data_interaction_client._sub.engine as eng\n"
        "x = engine._hidden + eng._hidden + engine.shown\n"
    )
    found = read_modules(tmp_path)
    assert long_modules(found) == {"data_interaction_client/_big.py": MAX_MODULE_LINES + 1}
    assert long_classes(found) == {"data_interaction_client/_big.py::Big": MAX_CLASS_LINES + 1}
    assert private_imports(found) == {
        "data_interaction_client._user -> data_interaction_client._sub.engine._hidden": 1
    }
    (package / "_user.py").write_text("from ._sub import engine\nx = engine._hidden\n")
    assert private_imports(read_modules(tmp_path)) == {
        "data_interaction_client._user -> data_interaction_client._sub.engine._hidden": 2
    }
