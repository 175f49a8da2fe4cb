"""Code written for the original client, return values included, runs under its import path."""

from __future__ import annotations

import httpx
import pytest

from data_interaction_client import InvalidInputError
from DataInteractionClient import (
    DataInteractionClient,
    DataSourceNotActiveException,
    NoDataToSendException,
    ServerResponseErrorException,
)

from .conftest import CONNECT_ANSWER, OK, FakePlatform, json_response


@pytest.fixture
def original(fake_platform: FakePlatform) -> DataInteractionClient:
    return DataInteractionClient("http://platform.test", transport=httpx.MockTransport(fake_platform))


def test_the_three_calls_return_the_platforms_json(
    original: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    conn = original.connect("1")
    assert conn == CONNECT_ANSWER
    assert conn["error"] == {"id": 0, "message": ""}
    assert conn["attributes"]["smtActive"] is True
    tags = original.create_tags(conn["tags"])
    for tag in tags:
        tag.update([{"x": "2018-06-26 10:15:00", "y": 1}])
    answer = original.set_data(tags)
    assert answer == OK
    assert all(len(tag) == 0 for tag in tags)

    req = original.create_request_data(tag_id=[tag.id for tag in tags])
    req.update(from_time=100, to_time=1000000, max_count=100)
    result = original.get_data(req)
    assert type(result) is dict
    assert result["error"] == {"id": 0, "message": ""}
    assert result["data"][0]["tagId"] == "temperature"
    assert result["data"][0]["data"] == [{"x": 1, "y": 2, "q": 0}]
    assert type(result["data"][0]["data"][0]) is dict
    assert result["data"][1]["tagId"] == {"tagName": "pressure", "parentObjectId": "boiler-7"}


def test_the_original_exceptions_still_come(
    original: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    fake_platform.script = [json_response({**CONNECT_ANSWER, "attributes": {"smtActive": False}})]
    with pytest.raises(DataSourceNotActiveException):
        original.connect("1")
    tag = original.create_tags(CONNECT_ANSWER["tags"])[0]
    with pytest.raises(NoDataToSendException):
        original.set_data([tag])
    fake_platform.script = [json_response({"error": {"id": 3, "message": "bad"}})]
    with pytest.raises(ServerResponseErrorException, match="platform error 3: bad"):
        original.get_data(original.create_request_data("temperature"))


def test_a_malformed_answer_is_still_refused(
    original: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    from data_interaction_client import InvalidResponseError

    fake_platform.script = [json_response({**OK, "data": [{"tagId": 5, "data": []}]})]
    with pytest.raises(InvalidResponseError):
        original.get_data(original.create_request_data("temperature"))


def test_code_written_for_the_original_1_0_0_release(
    original: DataInteractionClient, fake_platform: FakePlatform
) -> None:
    # As a connector written against the original client's 1.0.0 reads and fills tags.
    conn = original.connect("1")
    tags = original.create_tags(conn["tags"])
    tag = tags[0]
    assert tag.data is None
    tag.update([{"x": 1530008100000000, "y": 21.5}])
    assert tag.data == [{"x": 1530008100000000, "y": 21.5}]
    original.set_data(tags)
    assert tag.data is None
    result = original.get_data(
        tag_id=[t.id for t in tags],
        from_time=100,
        to_time=1000000,
        max_count=100,
        time_step=None,
        value=None,
        format_param=None,
        actual=False,
    )
    assert result[0]["data"] == [{"x": 1, "y": 2, "q": 0}]
    sent = fake_platform.bodies("/smt/data/get")[-1]
    assert (sent["tagId"][0], sent["from"], sent["to"], sent["maxCount"], sent["actual"]) == (
        "temperature",
        100,
        1000000,
        100,
        False,
    )
    with pytest.raises(InvalidInputError, match="not both"):
        original.get_data(original.create_request_data("temperature"), max_count=5)
    with pytest.raises(InvalidInputError, match="tag_id"):
        original.get_data()
