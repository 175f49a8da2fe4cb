"""Shared fixtures, one per stand-in for the platform.

- ``fake_platform``: a scripted fake behind ``httpx.MockTransport`` (no network; ``client`` and
  ``async_client`` talk to it);
- ``reference_platform``: the real reference platform on 127.0.0.1 and a free port, in memory, one per
  test module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import AsyncDataInteractionClient, DataInteractionClient
from data_interaction_client.emulator import RunningPlatform, run_platform

OK = {"error": {"id": 0, "message": ""}}

CONNECT_ANSWER: dict[str, Any] = {
    **OK,
    "attributes": {"smtActive": True, "smtJsonConfigString": '{"host": "10.0.0.5"}'},
    "tags": [
        {
            "id": "temperature",
            "attributes": {
                "smtTagValueTypeCode": 1,
                "smtTagValueScale": 1,
                "smtTagMaxDev": 0.5,
                "smtTagSource": '{"register": 40001}',
            },
        },
        {
            "id": {"tagName": "pressure", "parentObjectId": "boiler-7"},
            "attributes": {"smtTagValueTypeCode": 1},
        },
    ],
}

Handler = Callable[[httpx.Request], httpx.Response]


def json_response(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=orjson.dumps(payload), headers={"content-type": "application/json", **headers}
    )


class FakePlatform:
    """Answers requests from a queue of scripted answers (or a default), recording every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[httpx.Response | Exception | Handler] = []
        self.default: Handler = self._default

    @staticmethod
    def _default(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/smt/dataSources/connect":
            return json_response(CONNECT_ANSWER)
        if request.url.path == "/smt/data/get":
            body = orjson.loads(request.content)
            ids = body["tagId"] if isinstance(body["tagId"], list) else [body["tagId"]]
            return json_response(
                {
                    **OK,
                    "data": [
                        {"tagId": tag_id, "exceed": False, "data": [{"x": 1, "y": 2, "q": 0}]}
                        for tag_id in ids
                    ],
                }
            )
        return json_response(OK)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if self.script else self.default
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def bodies(self, path: str = "/smt/data/set") -> list[Any]:
        return [orjson.loads(r.content) for r in self.requests if r.url.path == path]


@pytest.fixture
def fake_platform() -> FakePlatform:
    """The scripted fake behind httpx.MockTransport that ``client`` and ``async_client`` talk to."""
    return FakePlatform()


@pytest.fixture(scope="module")
def reference_platform() -> Iterator[RunningPlatform]:
    """The real reference platform (in memory), shared by the tests of one module."""
    with run_platform(db=":memory:") as running:
        yield running


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record retry waits instead of sleeping them."""
    waits: list[float] = []
    monkeypatch.setattr("data_interaction_client._client.time.sleep", waits.append)

    async def fake_sleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr("data_interaction_client._async_client._sleep", fake_sleep)
    return waits


@pytest.fixture
def client(fake_platform: FakePlatform, no_sleep: list[float]) -> Iterator[DataInteractionClient]:
    with DataInteractionClient("http://platform.test", transport=httpx.MockTransport(fake_platform)) as c:
        yield c


@pytest.fixture
def async_client(fake_platform: FakePlatform, no_sleep: list[float]) -> AsyncDataInteractionClient:
    return AsyncDataInteractionClient("http://platform.test", transport=httpx.MockTransport(fake_platform))
