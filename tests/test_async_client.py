"""The async twin: the same surface as the sync client, and the same behaviour."""

from __future__ import annotations

import asyncio
import inspect

import httpx
import pytest

from data_interaction_client import (
    APITimeoutError,
    AsyncDataInteractionClient,
    DataInteractionClient,
    DataSourceNotActiveError,
    InternalServerError,
    Tag,
    TagPath,
)

from .conftest import OK, FakePlatform, json_response

ASYNC_ONLY = {"aclose"}
SYNC_ONLY: set[str] = set()


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
    }


def test_public_surfaces_are_identical() -> None:
    sync, async_ = public_methods(DataInteractionClient), public_methods(AsyncDataInteractionClient)
    assert set(sync) - SYNC_ONLY == set(async_) - ASYNC_ONLY
    for name in set(sync) - SYNC_ONLY:
        s, a = sync[name], async_[name]
        assert list(s.parameters) == list(a.parameters), name
        for parameter in s.parameters:
            assert s.parameters[parameter].default == a.parameters[parameter].default, (name, parameter)
            assert s.parameters[parameter].kind == a.parameters[parameter].kind, (name, parameter)
        is_async = inspect.iscoroutinefunction(getattr(AsyncDataInteractionClient, name))
        coroutines = {"connect", "set_data", "get_data", "close", "get_frame", "set_frame"}
        assert is_async == (name in coroutines), name
    init_s = inspect.signature(DataInteractionClient.__init__).parameters
    init_a = inspect.signature(AsyncDataInteractionClient.__init__).parameters
    assert list(init_s) == list(init_a)


def test_original_scenario_async(
    async_client: AsyncDataInteractionClient, fake_platform: FakePlatform
) -> None:
    async def scenario() -> None:
        async with async_client as client:
            conn = await client.connect("1")
            tags = client.create_tags(conn["tags"])
            for tag in tags:
                tag.update([{"x": 1, "y": 1}, {"x": 2, "y": 2}])
            assert await client.set_data(tags) == 4
            req = client.create_request_data(tag_id=[tag.id for tag in tags])
            req.update(max_count=10)
            result = await client.get_data(req)
            assert [r.tag_id for r in result] == ["temperature", TagPath("pressure", "boiler-7")]
            assert all(len(tag) == 0 for tag in tags)
        assert client._http.is_closed

    asyncio.run(scenario())


def test_async_retries_and_errors(
    async_client: AsyncDataInteractionClient, fake_platform: FakePlatform, no_sleep: list[float]
) -> None:
    tag = Tag("t")
    tag.add_data(1, 1)
    fake_platform.script = [
        json_response({"error": {"id": 503, "message": "busy"}}, 503),
        httpx.ReadTimeout("slow"),
        httpx.ReadTimeout("slow"),
    ]

    async def scenario() -> None:
        with pytest.raises(APITimeoutError):
            await async_client.set_data(tag)
        assert len(tag) == 1
        assert len(no_sleep) == 2
        fake_platform.script = [json_response({"error": {"id": 503, "message": "busy"}}, 503)]
        with pytest.raises(InternalServerError):
            await async_client.set_data(tag, max_retries=0)
        assert await async_client.set_data(tag) == 1
        fake_platform.script = [json_response({**OK, "attributes": {"smtActive": False}})]
        with pytest.raises(DataSourceNotActiveError):
            await async_client.connect("2")
        await async_client.aclose()

    asyncio.run(scenario())


def test_async_chunked_partial_failure(fake_platform: FakePlatform, no_sleep: list[float]) -> None:
    tag = Tag("t")
    tag.update([(i, i) for i in range(5)])
    fake_platform.script = [json_response(OK), json_response({"error": {"id": 500, "message": "x"}}, 500)]
    client = AsyncDataInteractionClient(
        "http://p.test", transport=httpx.MockTransport(fake_platform), max_points_per_request=2, max_retries=0
    )

    async def scenario() -> None:
        with pytest.raises(InternalServerError) as caught:
            await client.set_data(tag)
        assert caught.value.points_sent == 2
        await client.aclose()

    asyncio.run(scenario())
    assert [p["x"] for p in tag.points] == [2, 3, 4]


def test_async_own_http_client_not_closed(fake_platform: FakePlatform) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake_platform))

    async def scenario() -> None:
        async with AsyncDataInteractionClient("http://p.test", http_client=http) as client:
            await client.connect("1")
        assert not http.is_closed
        await http.aclose()

    asyncio.run(scenario())


def test_close_is_awaitable_as_the_readme_says(fake_platform: FakePlatform) -> None:
    async def scenario() -> bool:
        client = AsyncDataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform))
        await client.close()
        return client._http.is_closed

    assert asyncio.run(scenario()) is True
