from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from data_interaction_client.emulator import RunningPlatform, create_app, run_platform

NOW = 1_000_000_000  # the fixed "now" of the in-process app, in microseconds
STEP_CONFIG: dict[str, Any] = {
    "dataSources": {
        "1": {
            "attributes": {"smtActive": True},
            "tags": [
                {"id": "plain", "attributes": {"smtTagValueTypeCode": 1}},
                {"id": "step", "attributes": {"smtTagValueTypeCode": 3, "smtStep": True}},
                {"id": {"tagName": "p", "parentObjectId": "o"}, "attributes": {}},
            ],
        },
        "2": {"attributes": {"smtActive": False}, "tags": []},
    }
}


class Api:
    """Calls an app in-process (httpx over ASGI, on a private event loop): post JSON, get (status, body)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://platform")

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
        self.app.state.platform.store.close()

    def request(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.post(path, **kwargs))

    def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        response = self.request(path, json=body, **kwargs)
        return response.status_code, response.json()

    def set(self, tag: Any, points: list[dict[str, Any]]) -> None:
        status, body = self.post("/smt/data/set", {"data": [{"tagId": tag, "data": points}]})
        assert (status, body) == (200, {"error": {"id": 0, "message": ""}})

    def get(self, **query: Any) -> dict[str, Any]:
        status, body = self.post("/smt/data/get", query)
        assert status == 200, body
        assert body["error"] == {"id": 0, "message": ""}
        return body

    def points(self, tag: Any, **query: Any) -> list[dict[str, Any]]:
        body = self.get(tagId=tag, **query)
        assert len(body["data"]) == 1
        result: list[dict[str, Any]] = body["data"][0]["data"]
        return result

    @property
    def store(self) -> Any:
        return self.app.state.platform.store


@pytest.fixture
def make_api() -> Iterator[Callable[..., Api]]:
    apis: list[Api] = []

    def factory(**kwargs: Any) -> Api:
        kwargs.setdefault("config", STEP_CONFIG)
        kwargs.setdefault("clock", lambda: NOW)
        api = Api(create_app(**kwargs))
        apis.append(api)
        return api

    yield factory
    for api in apis:
        api.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningPlatform]:
    with run_platform(config=STEP_CONFIG) as running:
        yield running
