"""Every facade call of the SDK, made against Prism: Prism validates each request against openapi.yaml.

Prism answers 422 to a request that breaks the contract, and the SDK raises ``UnprocessableEntityError``
on a 422: a call that returns is a call whose body followed the contract. Every request is also
recorded by the transport, so the tests check that each one was answered 200. Prism runs in static
mode, so the answers are the contract's examples and their values are asserted too. The last tests
show that the check can fail: invalid bodies get 422.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from data_interaction_client import (
    AsyncDataInteractionClient,
    DataInteractionClient,
    Tag,
    TagHistory,
    TagPath,
    UnprocessableEntityError,
    ValueType,
)

pytestmark = pytest.mark.prism

PRESSURE = TagPath("pressure", "boiler-7")

# The answer of the contract's `history` example for /smt/data/get.
EXAMPLE_HISTORIES = [
    TagHistory(
        tag_id="temperature",
        exceed=False,
        points=[
            {"x": "1970-01-01T00:00:00.000100Z", "y": None, "q": None},
            {"x": "1970-01-01T00:00:00.100100Z", "y": 21.5, "q": 0},
        ],
    ),
    TagHistory(
        tag_id=PRESSURE,
        exceed=False,
        points=[{"x": "1970-01-01T00:00:00.000100Z", "y": 1.02, "q": 0}],
    ),
]

# Points of every accepted form: dicts with an integer, ISO (with and without zone) or datetime x,
# tuples with and without q; y of every JSON kind; q None, 0 and 102.
MIXED_POINTS: list[Any] = [
    {"x": 1530008100000000, "y": 21.5, "q": 0},
    {"x": 1530008100000001, "y": 7},
    {"x": "2018-06-26 10:15:00", "y": "text", "q": None},
    {"x": "2018-06-26T10:15:01+03:00", "y": None, "q": 102},
    {"x": "2018-06-26T10:15:02.123456Z", "y": True},
    {"x": "2018-06-26", "y": False},
    {"x": datetime(2018, 6, 26, 10, 15, 3, tzinfo=UTC), "y": {"a": [1, 2.5, None], "b": {"c": "d"}}},
    {"x": datetime(2018, 6, 26, 10, 15, 4), "y": [1, "two", None, {"three": 3}]},
    {"x": datetime(2018, 6, 26, 13, 15, 5, tzinfo=timezone(timedelta(hours=3))), "y": 0.0, "q": 0},
    (1530008106000000, -1.5),
    ("2018-06-26T10:15:07", {"k": False}, 102),
    (datetime(2018, 6, 26, 10, 15, 8, tzinfo=UTC), [], None),
]


def _record(calls: list[tuple[str, int]], request: httpx.Request, response: httpx.Response) -> None:
    # Prism names what it found wrong with a request in this header, even a mere warning.
    violations = response.headers.get("sl-violations")
    assert violations is None or response.status_code != 200, f"{request.url.path}: {violations}"
    calls.append((request.url.path, response.status_code))


class RecordingTransport(httpx.BaseTransport):
    """Sends through a real transport and notes each request's path and answer's status."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.calls: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        _record(self.calls, request, response)
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RecordingTransport`."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.calls: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        _record(self.calls, request, response)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _client(prism_url: str, **options: Any) -> tuple[DataInteractionClient, RecordingTransport]:
    transport = RecordingTransport()
    # max_retries=0: a 5xx from Prism (a response that breaks the contract) must surface at once.
    client = DataInteractionClient(prism_url, max_retries=0, transport=transport, **options)
    return client, transport


def _assert_all_ok(calls: list[tuple[str, int]], path: str, count: int) -> None:
    assert calls == [(path, 200)] * count


def test_connect_returns_the_example(prism_url: str) -> None:
    client, transport = _client(prism_url)
    with client:
        conn = client.connect("1")
    _assert_all_ok(transport.calls, "/smt/dataSources/connect", 1)
    assert conn.data_source_id == "1"
    assert conn.attributes.active is True
    assert conn.attributes.config == {"host": "10.0.0.5"}
    assert dict(conn["attributes"]) == {"smtActive": True, "smtJsonConfigString": '{"host": "10.0.0.5"}'}
    assert [tag.id for tag in conn["tags"]] == ["temperature", PRESSURE]
    temperature, pressure = conn.tags
    assert dict(temperature.attributes) == {
        "smtTagValueTypeCode": 1,
        "smtTagValueScale": 1,
        "smtTagMaxDev": 0.5,
        "smtTagSource": '{"register": 40001}',
    }
    assert temperature.attributes.value_type is ValueType.FLOAT
    assert temperature.attributes.scale == 1.0
    assert temperature.attributes.max_deviation == 0.5
    assert temperature.attributes.source == {"register": 40001}
    assert dict(pressure.attributes) == {"smtTagValueTypeCode": 1}


def test_create_tags_from_connect_then_set_data(prism_url: str) -> None:
    client, transport = _client(prism_url)
    with client:
        conn = client.connect("1")
        tags = client.create_tags(conn["tags"])
        assert [tag.id for tag in tags] == ["temperature", PRESSURE]
        assert [tag.id for tag in client.create_tags(conn)] == ["temperature", PRESSURE]
        from_dicts = client.create_tags(
            [{"id": "temperature", "attributes": {"smtTagValueTypeCode": 1}}, {"id": PRESSURE.to_dict()}]
        )
        assert [tag.id for tag in from_dicts] == ["temperature", PRESSURE]
        tags[0].update([{"x": "2018-06-26 10:15:00", "y": 1}, {"x": "2018-06-26 10:15:01", "y": 2}])
        tags[1].add_data(1530008100000000, 1.02)
        tags[1].add_data(datetime(2018, 6, 26, 10, 15, 1, tzinfo=UTC), None, q=102)
        assert client.set_data(tags) == 4
    assert transport.calls == [("/smt/dataSources/connect", 200), ("/smt/data/set", 200)]
    assert all(len(tag) == 0 for tag in tags)


@pytest.mark.parametrize("index", range(len(MIXED_POINTS)))
def test_set_data_one_point_of_each_form(prism_url: str, index: int) -> None:
    client, transport = _client(prism_url)
    tag = Tag("temperature")
    tag.update([MIXED_POINTS[index]])
    with client:
        assert client.set_data(tag) == 1
    _assert_all_ok(transport.calls, "/smt/data/set", 1)
    assert len(tag) == 0


def test_set_data_one_tag_all_forms(prism_url: str) -> None:
    client, transport = _client(prism_url)
    tag = Tag("temperature")
    tag.update(MIXED_POINTS)
    with client:
        assert client.set_data(tag) == len(MIXED_POINTS)
    _assert_all_ok(transport.calls, "/smt/data/set", 1)


def test_set_data_several_tags_with_a_tag_path(prism_url: str) -> None:
    client, transport = _client(prism_url)
    tags = [Tag("temperature"), Tag(PRESSURE), Tag({"tagName": "level", "parentObjectId": "tank-1"})]
    tags[0].update(MIXED_POINTS[:4])
    tags[1].update(MIXED_POINTS[4:8])
    tags[2].extend(MIXED_POINTS[8:])
    with client:
        assert client.set_data(tags) == len(MIXED_POINTS)
    _assert_all_ok(transport.calls, "/smt/data/set", 1)


def test_set_data_split_into_several_requests(prism_url: str) -> None:
    client, transport = _client(prism_url, max_points_per_request=2)
    tags = [Tag("temperature"), Tag(PRESSURE)]
    tags[0].update(MIXED_POINTS[:5])
    tags[1].update(MIXED_POINTS[5:])
    with client:
        assert client.set_data(tags) == len(MIXED_POINTS)
    _assert_all_ok(transport.calls, "/smt/data/set", len(MIXED_POINTS) // 2)
    assert all(len(tag) == 0 for tag in tags)


@pytest.mark.parametrize(
    ("from_time", "to_time"),
    [
        (100, 1000000),
        ("2018-06-26 10:15:00", "2018-06-26T14:15:00.5+03:00"),
        ("2018-06-26T10:15:00Z", "2018-06-27"),
        (datetime(2018, 6, 26, 10, 15, tzinfo=UTC), datetime(2018, 6, 26, 11, 15)),
    ],
    ids=["int", "iso", "iso-zone", "datetime"],
)
def test_get_data_every_field(prism_url: str, from_time: Any, to_time: Any) -> None:
    client, transport = _client(prism_url)
    with client:
        request = client.create_request_data(
            tag_id=["temperature", PRESSURE, {"tagName": "level", "parentObjectId": "tank-1"}],
            from_time=from_time,
            to_time=to_time,
            max_count=100,
            time_step=100000,
            value=[1, "on", None, {"a": 1}],
            format_param=True,
            actual=False,
        )
        assert client.get_data(request) == EXAMPLE_HISTORIES
    _assert_all_ok(transport.calls, "/smt/data/get", 1)


@pytest.mark.parametrize(
    "fields",
    [
        {"time_step": timedelta(seconds=1), "value": 21.5, "actual": True, "format_param": False},
        {"value": "on", "max_count": 2**31 - 1, "time_step": 2**53 - 1},
        {"value": True, "from_time": 0, "to_time": 2**53 - 1},
        {"value": {"a": [1]}},
    ],
    ids=["timedelta", "bounds", "bool-value", "object-value"],
)
def test_get_data_single_tag_id(prism_url: str, fields: dict[str, Any]) -> None:
    client, transport = _client(prism_url)
    with client:
        request = client.create_request_data(tag_id="temperature")
        request.update(**fields)
        assert client.get_data(request) == EXAMPLE_HISTORIES
        assert client.get_data(client.create_request_data(tag_id=PRESSURE)) == EXAMPLE_HISTORIES
    _assert_all_ok(transport.calls, "/smt/data/get", 2)


def test_async_client_every_call(prism_url: str) -> None:
    async def scenario() -> AsyncRecordingTransport:
        transport = AsyncRecordingTransport()
        # Every point form into tags of any type: the wire, not the values, is under test here.
        async with AsyncDataInteractionClient(
            prism_url, max_retries=0, max_points_per_request=5, transport=transport, check_values=False
        ) as client:
            conn = await client.connect("1")
            assert [tag.id for tag in conn.tags] == ["temperature", PRESSURE]
            assert conn.attributes.active is True
            tags = client.create_tags(conn["tags"])
            tags[0].update(MIXED_POINTS[:6])
            tags[1].update(MIXED_POINTS[6:])
            assert await client.set_data(tags) == len(MIXED_POINTS)
            request = client.create_request_data(
                tag_id=[tag.id for tag in tags],
                from_time="2018-06-26 10:15:00",
                to_time=datetime(2018, 6, 27, tzinfo=UTC),
                max_count=10,
                time_step=1000,
                value=[None, 1.5],
                format_param=True,
                actual=True,
            )
            assert await client.get_data(request) == EXAMPLE_HISTORIES
            assert await client.get_data(client.create_request_data(tag_id="t")) == EXAMPLE_HISTORIES
        return transport

    transport = asyncio.run(scenario())
    assert transport.calls == [
        ("/smt/dataSources/connect", 200),
        ("/smt/data/set", 200),
        ("/smt/data/set", 200),
        ("/smt/data/set", 200),
        ("/smt/data/get", 200),
        ("/smt/data/get", 200),
    ]


# --- the check can fail ----------------------------------------------------------------------------

_POINT = {"x": 1530008100000000, "y": 1}
_P0 = "data.0.data.0"


def _set(points: list[Any], tag_id: Any = "t") -> dict[str, Any]:
    return {"data": [{"tagId": tag_id, "data": points}]}


CONNECT, SET, GET = "/smt/dataSources/connect", "/smt/data/set", "/smt/data/get"

# Hand-built requests that break the contract, each with the field and the JSON Schema keyword that
# Prism's violation must name (its `sl-violations` header; the 422 body is the contract's example).
INVALID_REQUESTS: dict[str, tuple[str, Any, str, str]] = {
    "connect-empty-id": (CONNECT, {"id": ""}, "id", "minLength"),
    "connect-int-id": (CONNECT, {"id": 1}, "id", "type"),
    "connect-unknown-key": (CONNECT, {"id": "1", "extra": True}, "", "additionalProperties"),
    "set-no-tags": (SET, {"data": []}, "data", "minItems"),
    "set-missing-y": (SET, _set([{"x": 1530008100000000}]), _P0, "required"),
    "set-missing-x": (SET, _set([{"y": 1}]), _P0, "required"),
    "set-unknown-point-key": (SET, _set([{**_POINT, "z": 1}]), _P0, "additionalProperties"),
    "set-unknown-tag-key": (
        SET,
        {"data": [{"tagId": "t", "data": [_POINT], "extra": 1}]},
        "data.0",
        "additionalProperties",
    ),
    "set-x-2**53": (SET, _set([{"x": 2**53, "y": 1}]), f"{_P0}.x", "maximum"),
    "set-x-negative": (SET, _set([{"x": -1, "y": 1}]), f"{_P0}.x", "minimum"),
    "set-x-float": (SET, _set([{"x": 1.5, "y": 1}]), f"{_P0}.x", "oneOf"),
    "set-x-bad-iso": (SET, _set([{"x": "26/06/2018 10:15", "y": 1}]), f"{_P0}.x", "pattern"),
    "set-x-iso-7-digits": (SET, _set([{"x": "2018-06-26T10:15:00.1234567", "y": 1}]), f"{_P0}.x", "pattern"),
    "set-x-iso-short-zone": (SET, _set([{"x": "2018-06-26T10:15:00+03", "y": 1}]), f"{_P0}.x", "pattern"),
    "set-q-string": (SET, _set([{**_POINT, "q": "0"}]), f"{_P0}.q", "type"),
    "set-q-too-big": (SET, _set([{**_POINT, "q": 2**31}]), f"{_P0}.q", "maximum"),
    "set-empty-tag-id": (SET, _set([_POINT], tag_id=""), "data.0.tagId", "minLength"),
    "set-bad-tag-path": (SET, _set([_POINT], tag_id={"tagName": "p"}), "data.0.tagId", "required"),
    "get-max-count-0": (GET, {"tagId": "t", "maxCount": 0}, "maxCount", "minimum"),
    "get-no-tag-id": (GET, {"maxCount": 1}, "", "required"),
    "get-empty-tag-list": (GET, {"tagId": []}, "tagId", "minItems"),
    "get-time-step-0": (GET, {"tagId": "t", "timeStep": 0}, "timeStep", "minimum"),
    "get-format-string": (GET, {"tagId": "t", "format": "true"}, "format", "type"),
    "get-unknown-key": (GET, {"tagId": "t", "limit": 5}, "", "additionalProperties"),
    "get-from-bad-iso": (GET, {"tagId": "t", "from": "yesterday"}, "from", "pattern"),
}


@pytest.mark.parametrize(
    ("path", "body", "field", "keyword"), INVALID_REQUESTS.values(), ids=INVALID_REQUESTS.keys()
)
def test_prism_rejects_an_invalid_body(
    prism_url: str, path: str, body: Any, field: str, keyword: str
) -> None:
    response = httpx.post(prism_url + path, json=body, timeout=10)
    assert response.status_code == 422, response.text
    violations = json.loads(response.headers["sl-violations"])
    location = ["request", "body", *filter(None, field.split("."))]
    found = {(tuple(v["location"]), v["code"]) for v in violations if v["severity"] == "Error"}
    assert (tuple(location), keyword) in found, violations


VALID_TWINS = {CONNECT: {"id": "1"}, SET: _set([_POINT]), GET: {"tagId": "t"}}


@pytest.mark.parametrize(("path", "body"), VALID_TWINS.items(), ids=VALID_TWINS.keys())
def test_prism_accepts_the_valid_twin(prism_url: str, path: str, body: Any) -> None:
    # The same hand-built requests, made valid: the 422s above come from the broken field alone.
    response = httpx.post(prism_url + path, json=body, timeout=10)
    assert response.status_code == 200, response.headers.get("sl-violations")
    assert "sl-violations" not in response.headers


def test_sdk_raises_on_a_body_prism_rejects(prism_url: str) -> None:
    client, transport = _client(prism_url)
    tag = Tag("temperature")
    tag.update([_POINT])
    tag._points = [{"x": 2**53, "y": 1}]  # a broken body, past the SDK's own checks
    with client, pytest.raises(UnprocessableEntityError) as caught:
        client.set_data(tag)
    assert caught.value.status_code == 422
    assert caught.value.points_sent == 0
    assert transport.calls == [("/smt/data/set", 422)]
    assert len(tag) == 1
