"""The sync driver is the async one with ``async`` and ``await`` dropped: generated, and checked."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from .helpers import ROOT


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", ROOT / "scripts" / "unasync.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("unasync", module)
    spec.loader.exec_module(module)
    return module


unasync = _script()


def test_the_checked_in_sync_driver_is_what_the_async_one_gives() -> None:
    source = unasync.SOURCE.read_text(encoding="utf-8")
    assert unasync.TARGET.read_text(encoding="utf-8") == unasync.generate(source)
    assert unasync.main(["--check"]) == 0


def test_the_rewrite_drops_async_and_await_and_renames_the_twins() -> None:
    source = (
        unasync.SOURCE_HEADER + "\n"
        '__all__ = ["AsyncDriver"]\n'
        "from ._async_primitives import call\n"
        "class AsyncDriver:\n"
        "    async def run(self, client: AsyncDataInteractionClient) -> None:\n"
        "        async with client:\n"
        "            async for item in each(await  call(self.hook)):  # await stays in comments\n"
        "                await client.aclose()\n"
        "        text = 'async def, AsyncWriter'\n"
    )
    assert unasync.unasync(source) == (
        unasync.TARGET_HEADER + "\n"
        '__all__ = ["SyncDriver"]\n'
        "from ._sync_primitives import call\n"
        "class SyncDriver:\n"
        "    def run(self, client: DataInteractionClient) -> None:\n"
        "        with client:\n"
        "            for item in each(call(self.hook)):  # await stays in comments\n"
        "                client.close()\n"
        "        text = 'async def, AsyncWriter'\n"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("await asyncio.sleep(1)\n", "'asyncio' has no sync twin"),
        ("x: AsyncIterator[int] = items\n", "'AsyncIterator' has no sync twin"),
    ],
)
def test_what_has_no_sync_twin_fails_the_rewrite(body: str, message: str) -> None:
    with pytest.raises(unasync.UnasyncError, match=message):
        unasync.unasync(unasync.SOURCE_HEADER + "\nasync def f(items):\n    " + body)


def test_a_source_without_its_header_is_refused() -> None:
    with pytest.raises(unasync.UnasyncError, match="header"):
        unasync.unasync("async def f() -> None:\n    pass\n")
