"""Write the connector runtime's sync driver from its async one, or check that it is up to date.

``python scripts/unasync.py`` writes ``connector/_sync.py`` from ``connector/_async.py``;
``--check`` writes nothing and fails, with a diff, when the file in the tree is not what it would
write (``make lint`` runs it). The rewrite works on Python's tokens, never inside strings or
comments: ``async`` (of ``async def``, ``async with``, ``async for``) and ``await`` are dropped, and
the few names of `NAMES` are replaced by their sync twins. Whatever else differs between the twins
lives in the primitives modules the names point to. The result is sorted and formatted by the
project's ruff, so that the twin passes ``make lint`` as written.
"""

from __future__ import annotations

import argparse
import difflib
import io
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "data_interaction_client" / "connector" / "_async.py"
TARGET = ROOT / "data_interaction_client" / "connector" / "_sync.py"

NAMES = {
    "AsyncDriver": "SyncDriver",
    "AsyncDataInteractionClient": "DataInteractionClient",
    "AsyncWriter": "Writer",
    "aclose": "close",
    "_async_primitives": "_sync_primitives",
    "_async_client": "_client",
    "async_writer": "writers",
}
"""Async name -> sync name, for every name of the async driver that has a sync twin."""

SOURCE_HEADER = "# The source of _sync.py: scripts/unasync.py writes that twin from it (make twins)."
TARGET_HEADER = "# Generated from _async.py by scripts/unasync.py (make twins): do not edit; edit _async.py."
ASYNC_ONLY = frozenset({"asyncio", "AsyncIterator", "AsyncIterable", "__aiter__", "__anext__", "anext"})
"""Names that have no place in the sync twin: left in the source, they fail the rewrite."""


class UnasyncError(Exception):
    """The source holds something the rewrite cannot turn into sync code."""


def unasync(source: str) -> str:
    """The sync twin of ``source``, before sorting and formatting."""
    lines = source.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\n") != SOURCE_HEADER:
        raise UnasyncError(f"the source does not begin with its header line: {SOURCE_HEADER!r}")
    edits: list[tuple[int, int, int, str]] = []  # (row, start column, end column, replacement)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        (row, start), (_, end) = token.start, token.end
        if token.type == tokenize.STRING and token.string[1:-1] in NAMES:  # a name in __all__
            edits.append((row, start + 1, end - 1, NAMES[token.string[1:-1]]))
        if token.type != tokenize.NAME:
            continue
        if token.string in ("async", "await"):
            # Drop the keyword and the blanks after it, up to the next token on the same line.
            if following is None or following.start[0] != row:
                raise UnasyncError(f"line {row}: {token.string!r} at the end of a line")
            edits.append((row, start, following.start[1], ""))
        elif token.string in NAMES:
            edits.append((row, start, end, NAMES[token.string]))
        elif token.string in ASYNC_ONLY:
            raise UnasyncError(f"line {row}: {token.string!r} has no sync twin: move it to the primitives")
    for row, start, end, text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + text + line[end:]
    lines[0] = TARGET_HEADER + "\n"
    result = "".join(lines)
    for token in tokenize.generate_tokens(io.StringIO(result).readline):  # the rewrite checked
        if token.type == tokenize.NAME and token.string in ("async", "await"):
            raise UnasyncError(f"line {token.start[0]}: {token.string!r} is left in the sync twin")
    return result


def _ruff(*args: str, text: str) -> str:
    """``text`` through the project's ruff (the one beside this interpreter, else the one on PATH)."""
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else "ruff"
    done = subprocess.run(
        [ruff, *args, "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise UnasyncError(f"ruff {' '.join(args)} failed on the sync twin:\n{done.stderr}{done.stdout}")
    return done.stdout


def generate(source: str) -> str:
    """The sync twin of ``source`` as it is checked in: rewritten, its imports sorted, formatted."""
    text = unasync(source)
    text = _ruff("check", "--fix-only", "--select", "I", "--exit-zero", text=text)
    return _ruff("format", text=text)


def main(argv: list[str] | None = None) -> int:
    """Write the sync twin, or (``--check``) say whether the one in the tree is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; fail when _sync.py is stale")
    options = parser.parse_args(argv)
    try:
        wanted = generate(SOURCE.read_text(encoding="utf-8"))
    except UnasyncError as exc:
        print(f"unasync: {SOURCE.relative_to(ROOT)}: {exc}", file=sys.stderr)
        return 2
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if not options.check:
        if current != wanted:
            TARGET.write_text(wanted, encoding="utf-8")
            print(f"unasync: wrote {TARGET.relative_to(ROOT)}")
        return 0
    if current == wanted:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        wanted.splitlines(keepends=True),
        f"{TARGET.relative_to(ROOT)} (in the tree)",
        f"{TARGET.relative_to(ROOT)} (from {SOURCE.name})",
    )
    sys.stderr.writelines(diff)
    print(
        f"unasync: {TARGET.relative_to(ROOT)} is not what {SOURCE.name} gives: run 'make twins', commit it",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
