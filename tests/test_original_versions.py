"""Code written for every version of the original client runs as it was written.

The original client's README went through several versions after the first (whose quick start
tests/test_readme.py runs), and a 1.0.0 release: ``connect`` returned the list of tags,
``get_data`` took the request's fields as keywords and returned the answer's ``data``, one version
took ``synchronous=``, and its exceptions took no argument or a message and carried ``.message``.
Each block below is such code, run as written against the reference platform (only the address
changes), then the same behaviours one by one against the scripted fake.
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import data_interaction_client
import DataInteractionClient as original_package
from data_interaction_client import (
    AsyncDataInteractionClient,
    Connection,
    DataSourceNotActiveError,
    InvalidInputError,
    NoDataToSendError,
    NotFoundError,
    PlatformError,
    Tag,
    TagHistory,
    TagPath,
    TimestampUnitWarning,
)
from data_interaction_client.emulator import RunningPlatform
from DataInteractionClient import (
    DataInteractionClient,
    DataSourceNotActiveException,
    NoDataToSendException,
    ServerResponseErrorException,
)

from .conftest import CONNECT_ANSWER, FakePlatform, json_response

# The README's code of each version after the first, as it was written (its address aside).
LATER_README = """
from DataInteractionClient import DataInteractionClient

client = DataInteractionClient("http://0.0.0.0:8000")
tags = client.connect("1")
tags[0].add_data("2018-06-26 17:16:00", 5555, 1)
client.set_data(tags)
tags[0].clear_data()
get = client.get_data(tag_id='fds', from_time='100', to_time=1000000, max_count=100, time_step=100000, format_param=True)
"""  # noqa: E501 (the README's line, as it was)
SYNCHRONOUS_README = LATER_README.replace(
    '("http://0.0.0.0:8000")', '("http://0.0.0.0:8000", synchronous=True)'
)
TYPED_README = LATER_README.replace(
    "from DataInteractionClient import", "from data_interaction_client import"
)
ASYNC_README = """
import asyncio
from data_interaction_client import AsyncDataInteractionClient

async def main():
    async_client = AsyncDataInteractionClient(base_url="http://0.0.0.0:8000")
    tags = await async_client.connect("1")
    tags[0].add_data("2018-06-26 17:16:00", 5555, 1)
    await async_client.set_data(tags)
    tags[0].clear_data()
    return await async_client.get_data(tag_id='tag_id', from_time='100', to_time=1000000, max_count=100, time_step=100000, format_param=True)

get = asyncio.run(main())
"""  # noqa: E501 (the README's line, as it was)


def run(code: str, platform: RunningPlatform) -> dict[str, Any]:
    scope: dict[str, Any] = {"__name__": "__readme__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimestampUnitWarning)  # from_time="100" is 100 µs, as it was
        # The READMEs never close their clients: the async one's connections go with the garbage.
        warnings.simplefilter("ignore", ResourceWarning)
        exec(compile(code.replace("http://0.0.0.0:8000", platform.url), "README", "exec"), scope)
        gc.collect()
    return scope


@pytest.fixture
def scopes() -> Iterator[list[dict[str, Any]]]:
    """The scopes the READMEs ran in: their clients are closed afterwards."""
    made: list[dict[str, Any]] = []
    yield made
    for scope in made:
        scope["client"].close()


@pytest.mark.parametrize("code", [LATER_README, SYNCHRONOUS_README], ids=["later", "synchronous"])
def test_the_later_readmes_run_as_written(
    code: str, reference_platform: RunningPlatform, scopes: list[dict[str, Any]]
) -> None:
    reference_platform.clear()
    scope = run(code, reference_platform)
    scopes.append(scope)
    get = scope["get"]
    assert isinstance(get, list)  # "returns the data as a list of dicts"
    assert get[0]["tagId"] == "fds"
    assert get[0]["data"][0] == {"x": "1970-01-01T00:00:00.000100Z", "y": None, "q": None}
    stored = scope["client"].get_data(tag_id="temperature", from_time="2018-06-26 17:16:00", actual=True)
    assert stored[0]["data"] == [{"x": 1530033360000000, "y": 5555, "q": 1}]  # 2018-06-26 17:16:00


def test_the_readme_on_the_typed_import_path_runs(
    reference_platform: RunningPlatform, scopes: list[dict[str, Any]]
) -> None:
    reference_platform.clear()
    scope = run(TYPED_README, reference_platform)
    scopes.append(scope)
    (history,) = scope["get"]
    assert isinstance(history, TagHistory)
    assert history.tag_id == "fds"
    assert len(history) == 10  # 100 µs to 1 s in steps of 0.1 s


def test_the_async_readme_runs(reference_platform: RunningPlatform) -> None:
    reference_platform.clear()
    (history,) = run(ASYNC_README, reference_platform)["get"]
    assert history.tag_id == "tag_id"
    assert history.points[0].x == "1970-01-01T00:00:00.000100Z"


# --- connect: the answer, and the list of tags ---------------------------------------------------


@pytest.fixture
def original(fake_platform: FakePlatform) -> DataInteractionClient:
    return DataInteractionClient("http://platform.test", transport=httpx.MockTransport(fake_platform))


@pytest.fixture
def typed(fake_platform: FakePlatform) -> data_interaction_client.DataInteractionClient:
    return data_interaction_client.DataInteractionClient(
        "http://platform.test", transport=httpx.MockTransport(fake_platform)
    )


def test_connect_on_the_original_path_is_the_answer_and_the_tags(
    original: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    tags = original.connect("1")
    assert len(tags) == 2
    assert tags[0] is tags[0]
    assert [tag.id for tag in tags] == ["temperature", TagPath("pressure", "boiler-7")]
    assert list(tags) == [tags[0], tags[1]]
    assert all(isinstance(tag, Tag) for tag in tags)
    # The first README's answer dict, as plain JSON.
    assert tags["tags"] == CONNECT_ANSWER["tags"]
    assert tags["attributes"]["smtActive"] is True
    assert tags["error"] == {"id": 0, "message": ""}
    assert tags.get("missing", 5) == 5
    assert "tags" in tags
    assert tags == CONNECT_ANSWER
    assert isinstance(tags.connection, Connection)
    tags[0].add_data("2018-06-26 17:16:00", 5555, 1)
    assert original.set_data(tags) == {"error": {"id": 0, "message": ""}}
    assert fake_platform.bodies()[-1] == {
        "data": [{"tagId": "temperature", "data": [{"x": "2018-06-26 17:16:00", "y": 5555, "q": 1}]}]
    }
    assert tags[0].data is None


def test_connect_on_the_typed_path_is_a_connection_and_the_tags(
    typed: data_interaction_client.DataInteractionClient, fake_platform: FakePlatform
) -> None:
    conn = typed.connect("1")
    assert isinstance(conn, Connection)
    assert conn.attributes.active is True
    assert conn.tags[0].attributes.max_deviation == 0.5
    assert conn["error"] == {"id": 0, "message": ""}
    assert len(conn) == 2
    first = conn[0]
    assert first is conn[0] is next(iter(conn))
    assert first.attributes.value_type == 1
    assert typed.create_tags(conn) == list(conn)  # the same objects: one buffer per tag
    assert conn[1:] == [conn[1]]
    first.add_data(1530008100000000, 21.5)
    assert typed.set_data(conn) == 1
    assert fake_platform.bodies()[-1]["data"][0]["tagId"] == "temperature"
    with pytest.raises(KeyError):
        conn["other"]  # type: ignore[call-overload]


def test_the_connections_tags_take_the_clients_options(fake_platform: FakePlatform) -> None:
    client = data_interaction_client.DataInteractionClient(
        "http://platform.test", transport=httpx.MockTransport(fake_platform), precision="s"
    )
    conn = client.connect("1")
    conn[0].add_data(1530008100, 21.5)
    assert conn[0].points == [{"x": 1530008100000000, "y": 21.5, "q": None}]
    with pytest.raises(InvalidInputError):
        conn[0].add_data(1530008100, "text")  # a float tag, checked as the client's tags are


def test_the_async_connect_is_the_tags(fake_platform: FakePlatform) -> None:
    async def scenario() -> TagHistory:
        async with AsyncDataInteractionClient(
            base_url="http://platform.test", transport=httpx.MockTransport(fake_platform)
        ) as client:
            tags = await client.connect("1")
            tags[0].add_data("2018-06-26 17:16:00", 5555, 1)
            assert await client.set_data(tags) == 1
            (history,) = await client.get_data(tag_id="temperature", from_time="100", to_time=1000000)
        return history

    history = asyncio.run(scenario())
    assert history.tag_id == "temperature"
    assert fake_platform.bodies("/smt/data/get")[-1] == {"tagId": "temperature", "from": 100, "to": 1000000}


# --- get_data with keywords ------------------------------------------------------------------------


def test_get_data_with_keywords_returns_the_answers_data_on_the_original_path(
    original: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    data = original.get_data(
        tag_id="fds", from_time="100", to_time=1000000, max_count=100, time_step=100000, format_param=True
    )
    assert data == [{"tagId": "fds", "exceed": False, "data": [{"x": 1, "y": 2, "q": 0}]}]
    assert fake_platform.bodies("/smt/data/get")[-1] == {
        "tagId": "fds",
        "from": 100,
        "to": 1000000,
        "maxCount": 100,
        "timeStep": 100000,
        "format": True,
    }
    request = original.create_request_data("fds", from_time="100")
    assert original.get_data(request)["data"] == data  # a RequestData: the whole answer, as before
    assert request.from_time == 100


def test_get_data_with_keywords_on_the_typed_path(
    typed: data_interaction_client.DataInteractionClient, fake_platform: FakePlatform
) -> None:
    (history,) = typed.get_data(tag_id="fds", from_time="100", to_time=1000000, actual=True, value=2)
    assert history.tag_id == "fds"
    assert history.points == [{"x": 1, "y": 2, "q": 0}]
    assert fake_platform.bodies("/smt/data/get")[-1] == {
        "tagId": "fds",
        "from": 100,
        "to": 1000000,
        "actual": True,
        "value": 2,
    }
    with pytest.raises(InvalidInputError, match="not both"):
        typed.get_data(typed.create_request_data("fds"), max_count=5)
    with pytest.raises(InvalidInputError, match="tag_id"):
        typed.get_data()


def test_a_constructor_option_by_keyword_and_synchronous(fake_platform: FakePlatform) -> None:
    transport = httpx.MockTransport(fake_platform)
    for synchronous in (True, False):  # the original's calls blocked either way, and so do these
        client = DataInteractionClient("http://platform.test", synchronous=synchronous, transport=transport)
        assert len(client.connect("1")) == 2
    assert DataInteractionClient(base_url="http://platform.test").base_url == "http://platform.test"
    assert data_interaction_client.DataInteractionClient(base_url="http://a.test").base_url == "http://a.test"
    with pytest.raises(InvalidInputError, match="synchronous must be True or False"):
        DataInteractionClient("http://platform.test", synchronous="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tiemout"):
        DataInteractionClient("http://platform.test", tiemout=5)  # type: ignore[call-arg]


# --- timestamps as strings of digits, and dict tag ids ----------------------------------------------


def test_a_string_of_digits_is_microseconds_shown_as_given(fake_platform: FakePlatform) -> None:
    tag = Tag("temperature")
    with pytest.warns(TimestampUnitWarning, match="x=563 means 1970-01-01T00:00:00.000563"):
        tag.add_data(x="563", y=1, q=0)
    tag.update([*tag.points, {"x": "1530035820000000", "y": 2}, ("1530035821000000", 3)])
    assert tag.data == [
        {"x": "563", "y": 1, "q": 0},
        {"x": "1530035820000000", "y": 2},
        {"x": "1530035821000000", "y": 3},
    ]
    client = data_interaction_client.DataInteractionClient(
        "http://platform.test", transport=httpx.MockTransport(fake_platform)
    )
    client.set_data(tag)
    assert fake_platform.bodies()[-1]["data"][0]["data"] == [
        {"x": 563, "y": 1, "q": 0},
        {"x": 1530035820000000, "y": 2},
        {"x": 1530035821000000, "y": 3},
    ]


def test_a_string_of_digits_takes_the_tags_precision() -> None:
    tag = Tag("temperature", precision="s")
    tag.add_data("1530035820", 1)
    tag.extend([{"x": "1530035821", "y": 2}])
    assert tag.data == [{"x": "1530035820", "y": 1, "q": None}, {"x": "1530035821", "y": 2}]
    assert tag._points == [{"x": 1530035820000000, "y": 1, "q": None}, {"x": 1530035821000000, "y": 2}]
    with pytest.raises(InvalidInputError, match="out of range"):
        Tag("t").add_data("99999999999999999999", 1)
    with pytest.raises(InvalidInputError, match="not an ISO 8601 timestamp"):
        Tag("t").add_data("\uff11\uff12\uff13", 1)  # fullwidth digits: digits, but not ASCII ones


def test_a_dict_tag_id_reads_as_the_dict_the_original_kept() -> None:
    given = {"tagName": "pressure", "parentObjectId": "boiler-7"}
    tag = Tag(id=given)
    assert tag.id["tagName"] == "pressure"
    assert tag.id["parentObjectId"] == "boiler-7"
    assert tag.id == given
    assert given == tag.id
    assert dict(tag.id) == given
    assert tag.id.get("other") is None
    assert tag.id != {"tagName": "pressure"}
    assert tag.id == TagPath("pressure", "boiler-7")
    assert hash(tag.id) == hash(TagPath("pressure", "boiler-7"))
    with pytest.raises(KeyError):
        tag.id["other"]


# --- the original's exceptions -----------------------------------------------------------------------


def test_the_original_exceptions_as_its_code_raises_them() -> None:
    assert NoDataToSendException().message == "Нет данных для отправки."
    assert DataSourceNotActiveException().message == "Источник данных неактивен."
    assert DataSourceNotActiveException("switched off").message == "switched off"
    error = ServerResponseErrorException("boom")
    assert error.message == str(error) == "Сервер вернул внутреннюю ошибку: boom"
    assert ServerResponseErrorException(message="error_id: 3 bad").message.endswith(": error_id: 3 bad")
    for made in (error, NoDataToSendException("none"), DataSourceNotActiveException()):
        again = pickle.loads(pickle.dumps(made))
        assert (type(again), again.message) == (type(made), made.message)
    with pytest.raises(NoDataToSendException):
        raise NoDataToSendException()
    assert original_package.NoDataToSendException is NoDataToSendException


def test_the_errors_the_client_raises_are_the_originals_with_their_fields(
    original: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    fake_platform.script = [json_response({**CONNECT_ANSWER, "attributes": {"smtActive": False}})]
    with pytest.raises(DataSourceNotActiveException) as inactive:
        original.connect("1")
    assert isinstance(inactive.value, DataSourceNotActiveError)
    assert inactive.value.data_source_id == "1"
    assert inactive.value.message == str(inactive.value)
    assert "is not active" in inactive.value.message
    with pytest.raises(NoDataToSendException) as nothing:
        original.set_data([Tag("temperature")])
    assert isinstance(nothing.value, NoDataToSendError)
    assert "no buffered points" in nothing.value.message
    fake_platform.script = [json_response({"error": {"id": 3, "message": "bad"}}, status=404)]
    with pytest.raises(ServerResponseErrorException) as platform:
        original.get_data(tag_id="fds")
    assert isinstance(platform.value, NotFoundError | PlatformError)
    assert (platform.value.status_code, platform.value.error_id) == (404, 3)
    assert platform.value.message == str(platform.value)
    assert "platform error 3: bad" in platform.value.message


def test_the_version_ranks_above_the_originals_1_0_0() -> None:
    # The original's data_interaction_client==1.0.0 is the same name once normalised: pip install -U
    # must rank this package above it, as built from the source tree and as installed.
    import tomllib
    from pathlib import Path

    from packaging.version import Version

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    built = Version(project["project"]["version"])
    assert built > Version("1.0.0")
    assert built.major >= 2
    assert Version(data_interaction_client.__version__) == built


def test_async_clients_take_get_data_keywords_too(fake_platform: FakePlatform) -> None:
    async def read() -> list[TagHistory]:
        transport = httpx.MockTransport(fake_platform)
        client = AsyncDataInteractionClient("http://platform.test", transport=transport)
        try:
            return await client.get_data(tag_id=["a", "b"], max_count=5)
        finally:
            await client.aclose()

    assert [history.tag_id for history in asyncio.run(read())] == ["a", "b"]
