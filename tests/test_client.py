"""The facade over a scripted platform: the original scenario, answers, and every error path."""

from __future__ import annotations

import asyncio
import gzip
import warnings
from typing import Any

import httpx
import orjson
import pytest

from data_interaction_client import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Connection,
    DataInteractionClient,
    DataSourceNotActiveException,
    DuplicateTagWarning,
    InternalServerError,
    InvalidInputError,
    InvalidResponseError,
    NoDataToSendException,
    NotFoundError,
    PermissionDeniedError,
    PlatformError,
    RateLimitError,
    ServerResponseErrorException,
    Tag,
    TagHistory,
    TagInfo,
    TagPath,
    UnprocessableEntityError,
    ValueType,
)
from data_interaction_client._types import NOT_GIVEN

from .conftest import CONNECT_ANSWER, OK, FakePlatform, json_response


def test_original_readme_scenario(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    conn = client.connect("1")
    tags = client.create_tags(conn["tags"])
    for i, tag in enumerate(tags):
        tag.update([{"x": f"2018-06-26 1{i}:15:00", "y": 1}, {"x": f"2018-06-26 1{i}:15:01", "y": 2}])
    assert client.set_data(tags) == 4
    req_data = client.create_request_data(tag_id=[tag.id for tag in tags])
    req_data.update(from_time=100, to_time=1000000, max_count=100, time_step=100000, format_param=True)
    result = client.get_data(req_data)

    assert [r.url.path for r in fake_platform.requests] == [
        "/smt/dataSources/connect",
        "/smt/data/set",
        "/smt/data/get",
    ]
    assert fake_platform.bodies("/smt/dataSources/connect") == [{"id": "1"}]
    assert fake_platform.bodies() == [
        {
            "data": [
                {
                    "tagId": "temperature",
                    "data": [{"x": "2018-06-26 10:15:00", "y": 1}, {"x": "2018-06-26 10:15:01", "y": 2}],
                },
                {
                    "tagId": {"tagName": "pressure", "parentObjectId": "boiler-7"},
                    "data": [{"x": "2018-06-26 11:15:00", "y": 1}, {"x": "2018-06-26 11:15:01", "y": 2}],
                },
            ]
        }
    ]
    assert fake_platform.bodies("/smt/data/get") == [
        {
            "tagId": ["temperature", {"tagName": "pressure", "parentObjectId": "boiler-7"}],
            "from": 100,
            "to": 1000000,
            "maxCount": 100,
            "timeStep": 100000,
            "format": True,
        }
    ]
    assert all(len(tag) == 0 for tag in tags)
    assert result == [
        TagHistory(tag_id="temperature", points=[{"x": 1, "y": 2, "q": 0}], exceed=False),
        TagHistory(tag_id=TagPath("pressure", "boiler-7"), points=[{"x": 1, "y": 2, "q": 0}], exceed=False),
    ]
    assert len(result[0]) == 1


def test_connect_answer_is_typed(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    conn = client.connect("1")
    assert isinstance(conn, Connection)
    assert conn.data_source_id == "1"
    assert conn.attributes.active is True
    assert conn.attributes.config == {"host": "10.0.0.5"}
    assert conn["attributes"]["smtJsonConfigString"] == '{"host": "10.0.0.5"}'
    assert conn.tags[0] == TagInfo(id="temperature", attributes=conn.tags[0].attributes)
    assert conn.tags[0].attributes.value_type is ValueType.FLOAT
    assert conn.tags[1].id == TagPath("pressure", "boiler-7")
    with pytest.raises(KeyError):
        conn["other"]  # type: ignore[call-overload]


def test_connect_attribute_config_not_json_or_absent(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    fake_platform.script = [
        json_response({**OK, "attributes": {"smtActive": True, "smtJsonConfigString": "plain"}})
    ]
    conn = client.connect("1")
    assert conn.attributes.config == "plain"
    assert conn.tags == []
    fake_platform.script = [json_response({**OK, "attributes": {"smtActive": True}, "tags": []})]
    assert client.connect("1").attributes.config is None


def test_inactive_source_raises(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    fake_platform.script = [json_response({**OK, "attributes": {"smtActive": False}, "tags": []})]
    with pytest.raises(DataSourceNotActiveException, match="'2' is not active") as caught:
        client.connect("2")
    assert caught.value.data_source_id == "2"


@pytest.mark.parametrize("bad", ["", 1, None])
def test_connect_refuses_bad_ids(client: DataInteractionClient, bad: object) -> None:
    with pytest.raises(InvalidInputError, match="data_source_id"):
        client.connect(bad)  # type: ignore[arg-type]


def test_unknown_source_is_not_found(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    fake_platform.script = [
        json_response({"error": {"id": 404, "message": 'Data source "42" not found'}}, 404)
    ]
    with pytest.raises(NotFoundError) as caught:
        client.connect("42")
    error = caught.value
    assert (error.status_code, error.error_id, error.error_message) == (
        404,
        404,
        'Data source "42" not found',
    )
    assert (error.method, error.path) == ("POST", "/smt/dataSources/connect")
    assert "check the data source id" in str(error)
    assert str(error).startswith("POST /smt/dataSources/connect: HTTP 404")


def test_create_tags_accepts_dicts_infos_and_connection(client: DataInteractionClient) -> None:
    conn = client.connect("1")
    from_infos = client.create_tags(conn["tags"])
    from_conn = client.create_tags(conn)
    from_dicts = client.create_tags(CONNECT_ANSWER["tags"])
    for tags in (from_infos, from_conn, from_dicts):
        assert [t.id for t in tags] == ["temperature", TagPath("pressure", "boiler-7")]
        assert tags[0].attributes.max_deviation == 0.5
    assert client.create_tags([{"id": "bare"}])[0].attributes == {}


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({"id": "a"}, "list of tags"),
        (["a"], r"tags_metadata\[0\] is not a tag"),
        ([{"id": "a", "attributes": 5}], r"tags_metadata\[0\]\['attributes'\]"),
        ([{"id": "a"}, {"id": ""}], r"tags_metadata\[1\]: a tag id must not be empty"),
    ],
)
def test_create_tags_refuses_bad_metadata(
    client: DataInteractionClient, metadata: object, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem):
        client.create_tags(metadata)  # type: ignore[arg-type]


def test_get_data_single_tag_and_type_check(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    req = client.create_request_data("temperature")
    assert client.get_data(req)[0].tag_id == "temperature"
    assert fake_platform.bodies("/smt/data/get") == [{"tagId": "temperature"}]
    with pytest.raises(InvalidInputError, match="get_data takes a RequestData"):
        client.get_data({"tagId": "x"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({**OK}, "missing required field `data`"),
        ({**OK, "data": [5]}, r"at `\$\.data\[0\]`"),
        ({**OK, "data": [{"tagId": "a"}]}, "missing required field `data`"),
        ({**OK, "data": [{"tagId": "a", "data": [[1, 1.5]]}]}, r"data\[0\]\.data\[0\]\[1\]"),
        ({**OK, "data": [{"tagId": "a", "exceed": False, "data": [{"x": 1.5, "y": 1}]}]}, r"data\[0\]\.x"),
        ({**OK, "data": [{"tagId": 5, "exceed": False, "data": []}]}, r"\$\.data\[0\]\.tagId"),
        (
            {**OK, "data": [{"tagId": {"tagName": "a"}, "exceed": False, "data": []}]},
            r"data\[0\]\.tagId: a tag id",
        ),
    ],
)
def test_get_answer_of_the_wrong_shape(
    client: DataInteractionClient, fake_platform: FakePlatform, payload: object, problem: str
) -> None:
    fake_platform.script = [json_response(payload)]
    with pytest.raises(InvalidResponseError, match=problem) as caught:
        client.get_data(client.create_request_data("a"))
    assert caught.value.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {**OK},
        {**OK, "attributes": {"smtActive": "yes"}},
        {**OK, "attributes": {"smtActive": True}, "tags": [{"id": 5, "attributes": {}}]},
    ],
)
def test_connect_answer_of_the_wrong_shape(
    client: DataInteractionClient, fake_platform: FakePlatform, payload: object
) -> None:
    fake_platform.script = [json_response(payload)]
    with pytest.raises(InvalidResponseError, match="connect answer"):
        client.connect("1")


# --- set_data and the buffers -------------------------------------------------------------------


def test_set_data_one_tag(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    tag = Tag("t")
    tag.add_data(1, 1.0)
    assert client.set_data(tag) == 1
    assert fake_platform.bodies() == [{"data": [{"tagId": "t", "data": [{"x": 1, "y": 1.0, "q": None}]}]}]
    assert len(tag) == 0


def test_no_data_to_send(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    with pytest.raises(NoDataToSendException, match="'a', 'b'"):
        client.set_data([Tag("a"), Tag("b")])
    with pytest.raises(NoDataToSendException, match="none given"):
        client.set_data([])
    assert fake_platform.requests == []


def test_set_data_refuses_non_tags(client: DataInteractionClient) -> None:
    with pytest.raises(InvalidInputError, match="item 0 is a dict"):
        client.set_data([{"x": 1}])  # type: ignore[list-item]


def test_set_data_takes_tag_subclasses_and_names_the_first_item_that_is_no_tag(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    class MyTag(Tag):
        __slots__ = ()

    tags = [Tag("a"), MyTag("b")]
    for tag in tags:
        tag.add_data(1, 1)
    assert client.set_data(tags) == 2
    with pytest.raises(InvalidInputError, match="item 2 is a str"):
        client.set_data([Tag("c"), MyTag("d"), "e", 5])  # type: ignore[list-item]


def test_one_tag_id_twice_without_points_in_one_of_them_does_not_warn(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    first, second = Tag("t"), Tag("t")
    first.add_data(1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateTagWarning)
        assert client.set_data([first, second]) == 1


def test_same_tag_twice_is_sent_once(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    tag = Tag("t")
    tag.add_data(1, 1)
    assert client.set_data([tag, tag]) == 1
    assert len(fake_platform.bodies()[0]["data"]) == 1


def test_one_tag_id_in_two_tag_objects_warns_what_the_platform_keeps(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    B = 1_714_557_600_000_000
    first, second, other = Tag("t"), Tag("t"), Tag("u")
    first.update([(B, 1), (B + 1, 2)])
    second.update([(B + 1, 3)])  # the same x as first's second point
    other.update([(B, 1), (B, 2)])  # within one tag object: not looked for (a pass over every point)
    with pytest.warns(DuplicateTagWarning) as caught:
        assert client.set_data([first, other, second]) == 5
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "tag 't' is given 2 times in one send (Tag objects with one id): all 3 points are sent and "
        "counted, and the platform keeps one point per x, the last sent: 2 of them; give each tag once"
    )
    assert caught[0].filename == __file__  # the user's call, not the SDK's
    assert [item["tagId"] for item in fake_platform.bodies()[0]["data"]] == ["t", "u", "t"]


def test_buffer_kept_on_failure(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    tag = Tag("t")
    tag.update([(1, 1), (2, 2)])
    fake_platform.script = [json_response({"error": {"id": 7, "message": "disk full"}}, 200)]
    with pytest.raises(ServerResponseErrorException, match="platform error 7: disk full") as caught:
        client.set_data(tag, max_retries=0)
    assert type(caught.value) is PlatformError
    assert caught.value.status_code == 200
    assert caught.value.points_sent == 0
    assert "0 points were accepted" in str(caught.value)
    assert len(tag) == 2
    client.set_data(tag)
    assert len(tag) == 0


def test_points_added_during_a_send_stay_buffered(fake_platform: FakePlatform, no_sleep: list[float]) -> None:
    tag = Tag("t")
    tag.update([(1, 1), (2, 2)])

    def add_while_sending(request: httpx.Request) -> httpx.Response:
        tag.add_data(3, 3)
        return json_response(OK)

    fake_platform.script = [add_while_sending]
    with DataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform)) as client:
        assert client.set_data(tag) == 2
    assert tag.points == [{"x": 3, "y": 3, "q": None}]


def test_buffer_replaced_during_a_send_is_left_alone(
    fake_platform: FakePlatform, no_sleep: list[float]
) -> None:
    tag = Tag("t")
    tag.update([(1, 1)])

    def replace_while_sending(request: httpx.Request) -> httpx.Response:
        tag.update([(5, 5), (6, 6)])
        return json_response(OK)

    fake_platform.script = [replace_while_sending]
    with DataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform)) as client:
        client.set_data(tag)
    assert tag.points == [{"x": 5, "y": 5}, {"x": 6, "y": 6}]


def test_a_tag_in_flight_cannot_be_sent_again(fake_platform: FakePlatform, no_sleep: list[float]) -> None:
    from data_interaction_client import TagBusyError

    tag, other = Tag("t"), Tag("o")
    tag.add_data(1, 1)
    other.add_data(1, 1)
    client = DataInteractionClient("http://p.test", transport=httpx.MockTransport(fake_platform))
    seen: list[Exception] = []

    def send_again(request: httpx.Request) -> httpx.Response:
        try:
            client.set_data([other, tag])
        except TagBusyError as exc:
            seen.append(exc)
        return json_response(OK)

    fake_platform.script = [send_again]
    client.set_data(tag)
    assert "tag 't' is already being sent" in str(seen[0])
    assert len(other) == 1  # released by the refused call, sendable again
    client.set_data(other)
    assert len(other) == 0
    client.close()


def test_chunked_send_in_order_and_partial_failure(
    fake_platform: FakePlatform, no_sleep: list[float]
) -> None:
    a, b = Tag("a"), Tag("b")
    a.update([(i, i) for i in range(5)])
    b.update([(i, i) for i in range(3)])
    client = DataInteractionClient(
        "http://p.test", transport=httpx.MockTransport(fake_platform), max_points_per_request=3
    )
    fake_platform.script = [
        json_response(OK),
        json_response(OK),
        json_response({"error": {"id": 422, "message": "bad"}}, 422),
    ]
    with pytest.raises(UnprocessableEntityError) as caught:
        client.set_data([a, b])
    assert caught.value.points_sent == 6
    sent = fake_platform.bodies()
    assert [[(item["tagId"], [p["x"] for p in item["data"]]) for item in body["data"]] for body in sent] == [
        [("a", [0, 1, 2])],
        [("a", [3, 4]), ("b", [0])],
        [("b", [1, 2])],
    ]
    assert a.points == []
    assert [p["x"] for p in b.points] == [1, 2]
    assert client.set_data([a, b]) == 2
    assert b.points == []
    client.close()


# --- answers that are errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "hint"),
    [
        (400, BadRequestError, ""),
        (401, AuthenticationError, "check the token"),
        (403, PermissionDeniedError, "rights"),
        (404, NotFoundError, "data source id"),
        (409, ConflictError, ""),
        (418, PlatformError, ""),
        (422, UnprocessableEntityError, "contract"),
        (429, RateLimitError, "less often"),
        (500, InternalServerError, "try again later"),
        (503, InternalServerError, "try again later"),
    ],
)
def test_status_errors_are_typed(
    client: DataInteractionClient,
    fake_platform: FakePlatform,
    status: int,
    cls: type[PlatformError],
    hint: str,
) -> None:
    tag = Tag("t")
    tag.add_data(1, 1)
    fake_platform.script = [json_response({"error": {"id": status, "message": "nope"}}, status)]
    with pytest.raises(cls) as caught:
        client.set_data(tag, max_retries=0)
    assert type(caught.value) is cls
    assert caught.value.status_code == status
    assert caught.value.error_id == status
    assert f"HTTP {status}, platform error {status}: nope" in str(caught.value)
    assert hint in str(caught.value)
    assert len(tag) == 1


def test_html_page_from_a_proxy(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    tag = Tag("t")
    tag.add_data(1, 1)
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    fake_platform.script = [httpx.Response(502, content=html, headers={"content-type": "text/html"})]
    with pytest.raises(InternalServerError, match=r"text/html.*502 Bad Gateway") as caught:
        client.set_data(tag, max_retries=0)
    assert caught.value.error_id is None
    assert len(tag) == 1


def test_html_page_with_200(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    fake_platform.script = [
        httpx.Response(200, content=b"<html>login</html>", headers={"content-type": "text/html"})
    ]
    with pytest.raises(InvalidResponseError, match="not the JSON the contract promises") as caught:
        client.connect("1")
    assert caught.value.body == "<html>login</html>"
    assert caught.value.status_code == 200


@pytest.mark.parametrize("content", [b'{"error": {"id": 0, "mess', b"", b"[1, 2]", b'{"error": "none"}'])
def test_truncated_or_foreign_json(
    client: DataInteractionClient, fake_platform: FakePlatform, content: bytes
) -> None:
    tag = Tag("t")
    tag.add_data(1, 1)
    fake_platform.script = [httpx.Response(200, content=content)]
    with pytest.raises(InvalidResponseError):
        client.set_data(tag)
    assert len(tag) == 1


def test_redirect_is_reported(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    fake_platform.script = [httpx.Response(301, headers={"location": "https://elsewhere/"})]
    with pytest.raises(PlatformError, match="redirect to 'https://elsewhere/': check base_url"):
        client.connect("1", max_retries=0)


def test_refused_connection_and_timeout(client: DataInteractionClient, fake_platform: FakePlatform) -> None:
    tag = Tag("t")
    tag.add_data(1, 1)
    fake_platform.script = [httpx.ConnectError("refused")] * 3
    with pytest.raises(
        APIConnectionError, match=r"could not reach the platform at http://platform\.test"
    ) as caught:
        client.set_data(tag)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert not isinstance(caught.value, APITimeoutError)
    fake_platform.script = [httpx.ReadTimeout("slow")] * 3
    with pytest.raises(APITimeoutError, match="no answer in time"):
        client.set_data(tag)
    assert len(tag) == 1


def test_real_refused_connection() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        DataInteractionClient(f"http://127.0.0.1:{port}", max_retries=0) as client,
        pytest.raises(APIConnectionError, match="check base_url and that the platform is running"),
    ):
        client.connect("1")


def test_wire_paths_come_from_the_generated_client() -> None:
    from data_interaction_client._http import wire

    assert (wire.CONNECT_PATH, wire.SET_DATA_PATH, wire.GET_DATA_PATH) == (
        "/smt/dataSources/connect",
        "/smt/data/set",
        "/smt/data/get",
    )


def test_bodies_are_json_with_content_type(
    client: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    client.connect("1")
    request = fake_platform.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert orjson.loads(request.content) == {"id": "1"}
    assert "authorization" not in request.headers


@pytest.mark.parametrize("options", [{}, {"token": "secret", "compress": True}, {"headers": {"X-Site": "7"}}])
def test_requests_built_directly_are_those_build_request_makes(options: dict[str, Any]) -> None:
    # The client builds the requests of its own httpx client without build_request (no base URL,
    # parameters or cookies to merge); they must be the very requests build_request makes.
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(OK, **{"Set-Cookie": "route=a1; Path=/"})

    with DataInteractionClient("http://p.test/base", transport=httpx.MockTransport(answer), **options) as c:
        direct = c._build_request("/smt/data/set", b'{"data":[]}', NOT_GIVEN)
        expected = c._http.build_request(
            "POST",
            "http://p.test/base/smt/data/set",
            content=direct.content,
            headers=c._headers,
            timeout=c.timeout,
        )
        assert (direct.method, direct.url, direct.content) == (
            expected.method,
            expected.url,
            expected.content,
        )
        assert direct.headers.multi_items() == expected.headers.multi_items()
        assert direct.extensions == expected.extensions
        tag = Tag("t")
        tag.add_data(1_600_000_000_000_000, 1.0)
        c.set_data(tag)
        tag.add_data(1_600_000_000_000_001, 1.0)
        c.set_data(tag)  # the answer set a cookie: this request goes through build_request, with it
    assert "cookie" not in seen[0].headers
    assert seen[1].headers["cookie"] == "route=a1"


def test_an_answer_read_whole_reads_as_httpx_would() -> None:
    from data_interaction_client._http.answers import WholeResponse

    body = b'{"data": [1, 2, 3]}'
    came = httpx.Response(
        200,
        content=gzip.compress(body),
        headers={"Content-Encoding": "gzip"},
        request=httpx.Request("POST", "http://platform.test/smt/data/get"),
    )
    whole = WholeResponse(came, body)
    assert (whole.content, whole.read(), whole.text) == (body, body, body.decode())
    assert whole.json() == {"data": [1, 2, 3]}
    assert b"".join(whole.iter_bytes(4)) == body
    assert "content-encoding" not in whole.headers  # the body handed on is decoded

    async def read_async() -> tuple[bytes, bytes]:
        return await whole.aread(), b"".join([chunk async for chunk in whole.aiter_bytes()])

    assert asyncio.run(read_async()) == (body, body)
