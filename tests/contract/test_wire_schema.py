"""The bytes the SDK puts on the wire follow the JSON Schemas of openapi.yaml; no server needed.

The client sends through an ``httpx.MockTransport`` that records each request and answers like the
platform. Every recorded body is decoded with the standard library (no NaN or Infinity allowed) and
validated, with ``jsonschema`` (Draft 2020-12), against the request schema that openapi.yaml gives
for the path the SDK posted to.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from data_interaction_client import (
    AsyncDataInteractionClient,
    DataInteractionClient,
    InvalidInputError,
    RequestData,
    Tag,
    TagPath,
)
from data_interaction_client._types import ISO_TIMESTAMP_PATTERN, timestamp_problem

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
SPEC_URI = "urn:data-interaction:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(SPEC))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

CONNECT, SET, GET = "/smt/dataSources/connect", "/smt/data/set", "/smt/data/get"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIMESTAMP = 2**53 - 1
PRESSURE = TagPath("pressure", "boiler-7")


def _validator(pointer: str) -> jsonschema.Draft202012Validator:
    """A validator of the schema at ``pointer`` (a JSON pointer into openapi.yaml)."""
    return jsonschema.Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=REGISTRY)


def _component(name: str) -> jsonschema.Draft202012Validator:
    return _validator(f"/components/schemas/{name}")


def _request_schema_pointer(path: str) -> str:
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/post/requestBody/content/application~1json/schema"


REQUEST_VALIDATORS = {path: _validator(_request_schema_pointer(path)) for path in (CONNECT, SET, GET)}

SUCCESS: dict[str, Any] = {"error": {"id": 0, "message": ""}}
CONNECT_ANSWER: dict[str, Any] = {
    **SUCCESS,
    "attributes": {"smtActive": True},
    "tags": [
        {"id": "temperature", "attributes": {"smtTagValueTypeCode": 1}},
        {"id": PRESSURE.to_dict(), "attributes": {}},
    ],
}
GET_ANSWER: dict[str, Any] = {
    **SUCCESS,
    "data": [{"tagId": "temperature", "exceed": False, "data": [{"x": 100, "y": 21.5, "q": 0}]}],
}
ANSWERS = {CONNECT: CONNECT_ANSWER, SET: SUCCESS, GET: GET_ANSWER}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(content: bytes) -> Any:
    """Decode strict JSON: UTF-8, and no NaN or Infinity (which Python's json would accept)."""
    return json.loads(content.decode("utf-8"), parse_constant=_reject_constant)


class Recorder:
    """A mock platform: records each request and answers the contract's success for its path."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.headers["content-type"] == "application/json"
        body = decode(request.content)
        self.requests.append((request.url.path, body))
        return httpx.Response(200, json=ANSWERS[request.url.path])

    def bodies(self, path: str) -> list[Any]:
        """The decoded bodies sent to ``path``, each checked against that path's request schema."""
        assert {p for p, _ in self.requests} <= {path}, self.requests
        bodies = [body for _, body in self.requests]
        for body in bodies:
            REQUEST_VALIDATORS[path].validate(body)
        return bodies


def _client(recorder: Recorder, **options: Any) -> DataInteractionClient:
    return DataInteractionClient("http://platform.test", transport=httpx.MockTransport(recorder), **options)


def _micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // timedelta(microseconds=1)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON kinds all the way down (``True`` is not ``1``, ``1.0`` is not ``1``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# Points of every accepted form, with what the platform must receive for each.
MIXED: list[tuple[Any, dict[str, Any]]] = [
    ({"x": 1530008100000000, "y": 21.5, "q": 0}, {"x": 1530008100000000, "y": 21.5, "q": 0}),
    ({"x": 0, "y": 7}, {"x": 0, "y": 7}),
    ({"x": MAX_TIMESTAMP, "y": -(2**63)}, {"x": MAX_TIMESTAMP, "y": -(2**63)}),
    (
        {"x": "2018-06-26 10:15:00", "y": "text", "q": None},
        {"x": "2018-06-26 10:15:00", "y": "text", "q": None},
    ),
    (
        {"x": "2018-06-26T10:15:01+03:00", "y": None, "q": 102},
        {"x": "2018-06-26T10:15:01+03:00", "y": None, "q": 102},
    ),
    ({"x": "2018-06-26T10:15:02.123456Z", "y": True}, {"x": "2018-06-26T10:15:02.123456Z", "y": True}),
    ({"x": "2018-06-26", "y": False, "q": -(2**31)}, {"x": "2018-06-26", "y": False, "q": -(2**31)}),
    (
        {"x": datetime(2018, 6, 26, 10, 15, 3, tzinfo=UTC), "y": {"a": [1, 2.5, None], "b": {"c": "é"}}},
        {"x": 1530008103000000, "y": {"a": [1, 2.5, None], "b": {"c": "é"}}},
    ),
    (
        {"x": datetime(2018, 6, 26, 10, 15, 4, 5), "y": (1, "two", None, {"three": 3.0})},
        {"x": 1530008104000005, "y": [1, "two", None, {"three": 3.0}]},
    ),
    (
        {
            "x": datetime(2018, 6, 26, 13, 15, 5, tzinfo=timezone(timedelta(hours=3))),
            "y": 0.0,
            "q": 2**31 - 1,
        },
        {"x": 1530008105000000, "y": 0.0, "q": 2**31 - 1},
    ),
    ((1530008106000000, -1.5), {"x": 1530008106000000, "y": -1.5}),
    (("2018-06-26T10:15:07", {"k": False}, 102), {"x": "2018-06-26T10:15:07", "y": {"k": False}, "q": 102}),
    ((datetime(1970, 1, 1, tzinfo=UTC), [], None), {"x": 0, "y": [], "q": None}),
    ([1530008108000000, 1e300, 0], {"x": 1530008108000000, "y": 1e300, "q": 0}),
]
GIVEN = [given_point for given_point, _ in MIXED]
EXPECTED = [wire for _, wire in MIXED]


def test_timestamp_range_is_the_contracts() -> None:
    # The SDK checks strings by their form (ISO_TIMESTAMP_PATTERN), then as dates in that range; the
    # contract spells both in one pattern. test_the_sdk_and_the_contract_agree_on_strings pins that
    # they accept the same strings.
    assert SCHEMAS["Timestamp"]["oneOf"][0]["maximum"] == MAX_TIMESTAMP
    assert ISO_TIMESTAMP_PATTERN.startswith("^")


def test_connect_body() -> None:
    recorder = Recorder()
    with _client(recorder) as client:
        conn = client.connect("1")
    assert [tag.id for tag in conn.tags] == ["temperature", PRESSURE]
    assert recorder.bodies(CONNECT) == [{"id": "1"}]


def test_set_data_one_tag_every_form() -> None:
    recorder = Recorder()
    tag = Tag("temperature")
    tag.update(GIVEN)
    with _client(recorder) as client:
        assert client.set_data(tag) == len(MIXED)
    [body] = recorder.bodies(SET)
    assert same(body, {"data": [{"tagId": "temperature", "data": EXPECTED}]})


def test_set_data_add_data_and_extend() -> None:
    recorder = Recorder()
    tag = Tag({"tagName": "pressure", "parentObjectId": "boiler-7"})
    tag.add_data(datetime(2018, 6, 26, 10, 15, tzinfo=UTC), 1.02)
    tag.add_data("2018-06-26 10:15:01", None, q=None)
    tag.extend(GIVEN[:3])
    with _client(recorder) as client:
        client.set_data([tag])
    [body] = recorder.bodies(SET)
    expected_points = [
        {"x": 1530008100000000, "y": 1.02, "q": None},  # no q given: none (a good value)
        {"x": "2018-06-26 10:15:01", "y": None, "q": None},
        *EXPECTED[:3],
    ]
    assert same(body, {"data": [{"tagId": PRESSURE.to_dict(), "data": expected_points}]})


@pytest.mark.parametrize("max_points", [1, 2, 3, 5, 100])
def test_set_data_several_tags_chunked(max_points: int) -> None:
    recorder = Recorder()
    tags = [Tag("temperature"), Tag(PRESSURE), Tag("level")]
    tags[0].update(GIVEN[:4])
    tags[1].update(GIVEN[4:11])
    tags[2].update(GIVEN[11:])
    with _client(recorder, max_points_per_request=max_points) as client:
        assert client.set_data(tags) == len(MIXED)
    bodies = recorder.bodies(SET)
    assert len(bodies) == -(-len(MIXED) // max_points)
    sent: list[tuple[Any, dict[str, Any]]] = []
    for body in bodies:
        assert sum(len(item["data"]) for item in body["data"]) <= max_points
        assert all(item["data"] for item in body["data"])  # no tag without points
        sent.extend((item["tagId"], point) for item in body["data"] for point in item["data"])
    wire_ids = ["temperature"] * 4 + [PRESSURE.to_dict()] * 7 + ["level"] * 3
    assert same([tag_id for tag_id, _ in sent], wire_ids)
    assert same([point for _, point in sent], EXPECTED)


def test_async_client_bodies() -> None:
    recorder = Recorder()

    async def handler(request: httpx.Request) -> httpx.Response:
        return recorder(request)

    async def scenario() -> None:
        async with AsyncDataInteractionClient(
            "http://platform.test", transport=httpx.MockTransport(handler), max_points_per_request=4
        ) as client:
            await client.connect("source-1")
            tag = Tag(PRESSURE)
            tag.update(GIVEN)
            await client.set_data(tag)
            await client.get_data(client.create_request_data(tag_id=PRESSURE, from_time=1, max_count=5))

    asyncio.run(scenario())
    paths = [path for path, _ in recorder.requests]
    assert paths == [CONNECT, SET, SET, SET, SET, GET]
    for path, body in recorder.requests:
        REQUEST_VALIDATORS[path].validate(body)
    assert recorder.requests[0][1] == {"id": "source-1"}
    sent = [point for _, body in recorder.requests[1:5] for point in body["data"][0]["data"]]
    assert same(sent, EXPECTED)
    assert recorder.requests[5][1] == {"tagId": PRESSURE.to_dict(), "from": 1, "maxCount": 5}


GET_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"tag_id": "temperature"}, {"tagId": "temperature"}),
    ({"tag_id": PRESSURE}, {"tagId": PRESSURE.to_dict()}),
    ({"tag_id": ["temperature"]}, {"tagId": ["temperature"]}),
    (
        {
            "tag_id": ["temperature", PRESSURE, {"tagName": "level", "parentObjectId": "tank-1"}],
            "from_time": 100,
            "to_time": 1000000,
            "max_count": 100,
            "time_step": 100000,
            "value": [1, "on", None, {"a": [True]}],
            "format_param": True,
            "actual": False,
        },
        {
            "tagId": ["temperature", PRESSURE.to_dict(), {"tagName": "level", "parentObjectId": "tank-1"}],
            "from": 100,
            "to": 1000000,
            "maxCount": 100,
            "timeStep": 100000,
            "value": [1, "on", None, {"a": [True]}],
            "format": True,
            "actual": False,
        },
    ),
    (
        {
            "tag_id": ("temperature",),
            "from_time": "2018-06-26 10:15:00",
            "to_time": "2018-06-26T14:15:00.5+03:00",
            "max_count": 2**31 - 1,
            "time_step": timedelta(seconds=1),
            "value": 21.5,
            "format_param": False,
            "actual": True,
        },
        {
            "tagId": ["temperature"],
            "from": "2018-06-26 10:15:00",
            "to": "2018-06-26T14:15:00.5+03:00",
            "maxCount": 2**31 - 1,
            "timeStep": 1000000,
            "value": 21.5,
            "format": False,
            "actual": True,
        },
    ),
    (
        {
            "tag_id": "t",
            "from_time": datetime(1970, 1, 1),
            "to_time": datetime(2018, 6, 26, 13, 15, tzinfo=timezone(timedelta(hours=3))),
            "time_step": MAX_TIMESTAMP,
            "value": False,
        },
        {"tagId": "t", "from": 0, "to": 1530008100000000, "timeStep": MAX_TIMESTAMP, "value": False},
    ),
    ({"tag_id": "t", "value": 0, "max_count": 1}, {"tagId": "t", "value": 0, "maxCount": 1}),
    ({"tag_id": "t", "value": ""}, {"tagId": "t", "value": ""}),
]


@pytest.mark.parametrize(("fields", "expected"), GET_CASES)
def test_get_data_body(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    recorder = Recorder()
    with _client(recorder) as client:
        histories = client.get_data(RequestData(**fields))
    assert [history.tag_id for history in histories] == ["temperature"]
    [body] = recorder.bodies(GET)
    assert same(body, expected)


def test_canned_answers_follow_the_contract() -> None:
    _component("ConnectResponse").validate(CONNECT_ANSWER)
    _component("ErrorResponse").validate(SUCCESS)
    _component("GetDataResponse").validate(GET_ANSWER)


def _examples() -> list[Any]:
    found = []
    for path, item in SPEC["paths"].items():
        operation = item["post"]
        media = operation["requestBody"]["content"]["application/json"]
        found.extend(
            pytest.param(media["schema"], example["value"], id=f"{path}-request-{name}")
            for name, example in media["examples"].items()
        )
        for status, response in operation["responses"].items():
            resolved = response
            if "$ref" in response:
                resolved = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            media = resolved["content"]["application/json"]
            found.extend(
                pytest.param(media["schema"], example["value"], id=f"{path}-{status}-{name}")
                for name, example in media["examples"].items()
            )
    return found


@pytest.mark.parametrize(("schema", "example"), _examples())
def test_contract_examples_follow_their_schemas(schema: dict[str, Any], example: Any) -> None:
    # Prism answers these examples and test_prism asserts their values: they must be valid answers.
    jsonschema.Draft202012Validator({"$ref": f"{SPEC_URI}{schema['$ref']}"}, registry=REGISTRY).validate(
        example
    )


def test_the_schemas_catch_a_broken_body() -> None:
    point = {"x": 1530008100000000, "y": 1}
    broken = [
        {"data": [{"tagId": "t", "data": [{"x": 2**53, "y": 1}]}]},
        {"data": [{"tagId": "t", "data": [{"x": 1}]}]},
        {"data": [{"tagId": "t", "data": [{**point, "z": 1}]}]},
        {"data": [{"tagId": "t", "data": [{"x": "2018-06-26T10:15:00+03", "y": 1}]}]},
        {"data": [{"tagId": {"tagName": "p"}, "data": [point]}]},
        {"data": []},
    ]
    for body in broken:
        assert not REQUEST_VALIDATORS[SET].is_valid(body), body
    assert not REQUEST_VALIDATORS[GET].is_valid({"tagId": "t", "maxCount": 0})
    assert not REQUEST_VALIDATORS[CONNECT].is_valid({"id": ""})


# --- properties ------------------------------------------------------------------------------------

# orjson writes signed and unsigned 64-bit integers; the SDK accepts that whole range.
INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
JSON_SCALARS = (
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
OFFSETS = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5, minutes=-30))]
)
DATETIMES = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2250, 1, 1), timezones=OFFSETS, allow_imaginary=False
)
TIMESTAMPS = st.integers(min_value=0, max_value=MAX_TIMESTAMP) | DATETIMES
QUALITIES = st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1)


@st.composite
def points(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    """A valid point in one of the accepted forms, and the point the platform must receive."""
    x, y = draw(TIMESTAMPS), draw(JSON_VALUES)
    has_q = draw(st.booleans())
    q = draw(QUALITIES) if has_q else None
    wire: dict[str, Any] = {"x": _micros(x) if isinstance(x, datetime) else x, "y": y}
    if has_q:
        wire["q"] = q
    if draw(st.booleans()):
        return ((x, y, q) if has_q else (x, y)), wire
    given_point = {"x": x, "y": y, "q": q} if has_q else {"x": x, "y": y}
    return given_point, wire


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tags=st.lists(st.lists(points(), min_size=1, max_size=6), min_size=1, max_size=3),
    max_points=st.integers(min_value=1, max_value=8),
)
def test_set_data_body_round_trips(tags: list[list[tuple[Any, dict[str, Any]]]], max_points: int) -> None:
    recorder = Recorder()
    objects = []
    for index, tag_points in enumerate(tags):
        tag = Tag(f"tag-{index}" if index % 2 == 0 else TagPath(f"tag-{index}", "parent"))
        tag.update([given_point for given_point, _ in tag_points])
        objects.append(tag)
    with _client(recorder, max_points_per_request=max_points) as client:
        assert client.set_data(objects) == sum(map(len, tags))
    received: list[tuple[Any, Any]] = []
    for body in recorder.bodies(SET):
        assert sum(len(item["data"]) for item in body["data"]) <= max_points
        received.extend((item["tagId"], point) for item in body["data"] for point in item["data"])
    expected = [
        (tag.id if isinstance(tag.id, str) else tag.id.to_dict(), wire)
        for tag, tag_points in zip(objects, tags, strict=True)
        for _, wire in tag_points
    ]
    assert same(received, expected)
    assert all(len(tag) == 0 for tag in objects)


CONTRACT_TIMESTAMP = _component("Timestamp")
_PATTERN = SCHEMAS["Timestamp"]["oneOf"][1]["pattern"]
assert _PATTERN.endswith("$")
# JSON Schema patterns are ECMA 262 regexes, whose `$` does not match before a final newline (Python's does).
CONTRACT_PATTERN = re.compile(_PATTERN[:-1] + r"\Z")


@st.composite
def near_iso(draw: st.DrawFn) -> str:
    """Strings shaped like ISO 8601 timestamps, valid or slightly off in any part."""

    def number(low: int, high: int, width: int) -> str:
        value = draw(st.integers(min_value=low, max_value=high))
        return str(value).zfill(draw(st.sampled_from([width, width, width, width - 1, width + 1])))

    text = f"{number(0, 9999, 4)}-{number(0, 13, 2)}-{number(0, 32, 2)}"
    if draw(st.booleans()):
        text += draw(st.sampled_from(["T", " ", "t", "_"])) + f"{number(0, 25, 2)}:{number(0, 61, 2)}"
        if draw(st.booleans()):
            text += f":{number(0, 61, 2)}"
            if draw(st.booleans()):
                text += draw(st.sampled_from([".", ","])) + draw(st.from_regex(r"\A[0-9]{0,8}\Z"))
        text += draw(
            st.sampled_from(
                ["", "", "Z", "z", "+03:00", "-05:30", "+00:00", "+0300", "+03", "+03:00:00", "+24:00"]
            )
        )
    return text + draw(st.sampled_from(["", "", "", "\n", " "]))


def _accepted(value: str) -> bool:
    wire, problem = timestamp_problem(value)
    if problem is None:
        assert wire == value
        return True
    return False


@settings(max_examples=300, deadline=None, database=None)
@given(value=near_iso() | st.text(max_size=40))
def test_the_sdk_and_the_contract_agree_on_strings(value: str) -> None:
    if value.isascii() and value.isdigit():
        # A string of digits is integer microseconds, as the original client's query strings made it:
        # the wire carries the integer, which the contract's integer form takes.
        wire, problem = timestamp_problem(value)
        if problem is None:
            assert wire == int(value)
            CONTRACT_TIMESTAMP.validate(wire)
        else:
            assert int(value) > MAX_TIMESTAMP, problem
        return
    if _accepted(value):
        assert CONTRACT_PATTERN.search(value), value
        CONTRACT_TIMESTAMP.validate(value)
    else:
        assert not CONTRACT_PATTERN.search(value), value
        with pytest.raises(InvalidInputError):
            Tag("t").add_data(value, 1)


@settings(max_examples=200, deadline=None, database=None)
@given(
    # The SDK takes timestamps from 1970 to 2**53 - 1 microseconds (year 2255), whatever their form.
    moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2255, 1, 1), timezones=OFFSETS),
    sep=st.sampled_from(["T", " "]),
    timespec=st.sampled_from(["minutes", "seconds", "milliseconds", "microseconds"]),
    date_only=st.booleans(),
    zulu=st.booleans(),
)
def test_iso_strings_of_datetimes_are_accepted_and_valid(
    moment: datetime, sep: str, timespec: str, date_only: bool, zulu: bool
) -> None:
    value = moment.date().isoformat() if date_only else moment.isoformat(sep=sep, timespec=timespec)
    if zulu:
        value = value.replace("+00:00", "Z")
    assert _accepted(value), value
    CONTRACT_TIMESTAMP.validate(value)


LONE_SURROGATE = "\ud800"  # a str no UTF-8 text, hence no JSON body, can carry


def _send_y(client: DataInteractionClient) -> None:
    tag = Tag("t")
    tag.add_data(1, {"k": [LONE_SURROGATE]})
    client.set_data(tag)


def _send_tag_id(client: DataInteractionClient) -> None:
    tag = Tag(TagPath(LONE_SURROGATE, "p"))
    tag.add_data(1, 1)
    client.set_data(tag)


UNSENDABLE = [
    pytest.param(_send_y, id="set_data-y"),
    pytest.param(_send_tag_id, id="set_data-tag-id"),
    pytest.param(lambda client: client.connect(LONE_SURROGATE), id="connect-id"),
    pytest.param(
        lambda client: client.get_data(RequestData(tag_id="t", value=LONE_SURROGATE)),
        id="get_data-value",
    ),
    pytest.param(lambda client: client.get_data(RequestData(tag_id=LONE_SURROGATE)), id="get_data-tag-id"),
]


@pytest.mark.parametrize("call", UNSENDABLE)
def test_input_the_sdk_accepts_can_be_encoded(call: Any) -> None:
    recorder = Recorder()
    with _client(recorder) as client, pytest.raises(InvalidInputError):
        call(client)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "value",
    [
        "1970-01-01",
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:30:00+01:00",  # before the epoch once the zone is counted
        "1970-01-01T01:00:00+01:00",
        "1969-12-31T23:00:00-01:00",
        "1970-01-01T05:00:00+01:00",
        "1970-01-01T05:00:00-01:00",
        "2255-06-04T10:00:00-01:00",
        "2255-06-04T10:00:00+01:00",
        "2255-06-03T10:00:00-01:00",
        "2255-06-05T23:47:34.740991Z",
        "2255-06-05T23:47:34.740992Z",
        "2255-06-06",
        "2000-02-29",
        "1900-02-29",
        "2100-02-29",
        "2018-13-01",
        "0000-00-00",
        "2018-06-26T24:00:00",
    ],
)
def test_the_sdk_and_the_contract_agree_at_the_edges(value: str) -> None:
    assert _accepted(value) == bool(CONTRACT_PATTERN.search(value)), value
