"""Endpoints, envelope, auth, validation (422 naming the field), atomicity, persistence, configuration."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from data_interaction_client.emulator import (
    EXAMPLE_CONFIG_PATH,
    ConfigError,
    Faults,
    PlatformConfig,
    Store,
    find_spec_path,
    load_config,
    run_platform,
    tag_key,
)

from .conftest import Api

OK = {"error": {"id": 0, "message": ""}}


def test_connect_active_source_lists_its_tags(api: Api) -> None:
    status, body = api.post("/smt/dataSources/connect", {"id": "1"})
    assert status == 200
    assert body["error"] == OK["error"]
    assert body["attributes"] == {"smtActive": True}
    assert [tag["id"] for tag in body["tags"]] == ["plain", "step", {"tagName": "p", "parentObjectId": "o"}]


def test_connect_inactive_source_has_no_tags(api: Api) -> None:
    assert api.post("/smt/dataSources/connect", {"id": "2"}) == (
        200,
        {"error": OK["error"], "attributes": {"smtActive": False}, "tags": []},
    )


def test_connect_unknown_source_is_404_with_envelope(api: Api) -> None:
    assert api.post("/smt/dataSources/connect", {"id": "42"}) == (
        404,
        {"error": {"id": 404, "message": 'Data source "42" not found'}},
    )


def test_example_config_shipped_with_the_package(make_api: Callable[..., Api]) -> None:
    api = make_api(config=None)
    status, body = api.post("/smt/dataSources/connect", {"id": "1"})
    assert status == 200
    ids = [tag["id"] for tag in body["tags"]]
    assert {"tagName": "pressure", "parentObjectId": "boiler-7"} in ids
    types = {tag["attributes"].get("smtTagValueTypeCode") for tag in body["tags"]}
    assert {0, 1, 2} <= types
    assert any(tag["attributes"].get("smtStep") is True for tag in body["tags"])
    assert api.post("/smt/dataSources/connect", {"id": "2"})[1]["tags"] == []
    assert load_config(EXAMPLE_CONFIG_PATH).data_sources["1"].active


def test_json_config_file(tmp_path: Path, make_api: Callable[..., Api]) -> None:
    path = tmp_path / "platform.json"
    path.write_text(json.dumps({"dataSources": {"7": {"attributes": {"smtActive": True}, "tags": []}}}))
    api = make_api(config=path)
    assert api.post("/smt/dataSources/connect", {"id": "7"})[0] == 200


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "'dataSources' mapping"),
        ({"dataSources": {"1": []}}, "dataSources.1: must be a mapping"),
        ({"dataSources": {"1": {"attributes": {}}}}, "dataSources.1.attributes.smtActive"),
        (
            {"dataSources": {"1": {"attributes": {"smtActive": True}, "tags": [{"id": ""}]}}},
            "dataSources.1.tags[0]",
        ),
    ],
)
def test_bad_configs_are_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PlatformConfig.from_mapping(document)


def test_unreadable_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    assert load_config(load_config(None)) is not None


def test_spec_is_found() -> None:
    assert find_spec_path().name == "openapi.yaml"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [{"x": 1, "y": 1}, {"x": -1, "y": 2}]}]},
            "body.data[0].data[1].x: ",
        ),
        ("/smt/data/set", {"data": [{"tagId": "t", "data": [{"x": 1}]}]}, "body.data[0].data[0].y: required"),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [{"x": 1, "y": 1, "z": 0}]}]},
            "body.data[0].data[0].z: unexpected",
        ),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [{"x": 1, "y": 1, "q": 1.5}]}]},
            "body.data[0].data[0].q: ",
        ),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [{"x": 1, "y": 1, "q": 2**31}]}]},
            "body.data[0].data[0].q: ",
        ),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [{"x": "2018-13-01", "y": 1}]}]},
            "body.data[0].data[0].x: ",
        ),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [{"x": "yesterday", "y": 1}]}]},
            "body.data[0].data[0].x: ",
        ),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [{"x": True, "y": 1}]}]},
            "body.data[0].data[0].x: ",
        ),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": [5]}]},
            "body.data[0].data[0]: 5 is not an object",
        ),
        (
            "/smt/data/set",
            {"data": [{"tagId": {"tagName": "a"}, "data": []}]},
            "body.data[0].tagId.parentObjectId: required",
        ),
        ("/smt/data/set", {"data": [{"tagId": "t"}]}, "body.data[0].data: required"),
        ("/smt/data/set", {"data": []}, "body.data: "),
        ("/smt/data/set", {"data": [{"tagId": "t", "data": 3}]}, "body.data[0].data: "),
        ("/smt/data/set", {"data": "x"}, "body.data: "),
        ("/smt/data/set", [], "body: "),
        (
            "/smt/data/set",
            {"data": [{"tagId": "t", "data": []}], "more": 1},
            "body.more: unexpected property",
        ),
        ("/smt/data/get", {"tagId": "t", "maxCount": 0}, "body.maxCount: 0 is less than the minimum of 1"),
        ("/smt/data/get", {"tagId": "t", "from": "2018-02-30"}, "body.from: "),
        ("/smt/data/get", {"tagId": "t", "to": "2018-01-01T00:00+01:60"}, "body.to: "),
        ("/smt/data/get", {"tagId": []}, "body.tagId: "),
        ("/smt/data/get", {}, "body.tagId: required"),
        ("/smt/dataSources/connect", {"id": 1}, "body.id: "),
    ],
)
def test_bad_bodies_are_422_naming_the_field(api: Api, path: str, body: Any, message: str) -> None:
    status, answer = api.post(path, body)
    assert status == 422
    assert answer["error"]["id"] == 422
    assert answer["error"]["message"].startswith(message), answer
    assert api.store.count() == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"NaN", b'{"data": [}', b"\xff"])
def test_bad_json_is_422(api: Api, raw: bytes) -> None:
    response = api.request("/smt/data/set", content=raw)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("body: not valid JSON")


@pytest.mark.parametrize(
    ("content", "encoding", "message"),
    [(b"not gzip", "gzip", "body: not valid gzip"), (b"{}", "br", "body: unsupported Content-Encoding 'br'")],
)
def test_bad_content_encoding_is_422(api: Api, content: bytes, encoding: str, message: str) -> None:
    response = api.request("/smt/data/set", content=content, headers={"content-encoding": encoding})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(message)


def test_gzip_body_is_accepted(api: Api) -> None:
    import gzip

    body = json.dumps({"data": [{"tagId": "z", "data": [{"x": 1, "y": 2}]}]}).encode()
    response = api.request("/smt/data/set", content=gzip.compress(body), headers={"content-encoding": "gzip"})
    assert response.status_code == 200
    assert api.store.count() == 1


def test_rejected_request_stores_nothing_of_its_valid_parts(api: Api) -> None:
    body = {
        "data": [
            {"tagId": "a", "data": [{"x": i, "y": i} for i in range(100)]},
            {"tagId": "b", "data": [{"x": 1, "y": 1}, {"x": "2018-02-30", "y": 2}]},
        ]
    }
    status, answer = api.post("/smt/data/set", body)
    assert status == 422
    assert answer["error"]["message"].startswith("body.data[1].data[1].x: ")
    assert api.store.count() == 0


def test_a_failing_write_rolls_back_everything(tmp_path: Path) -> None:
    def rows() -> Iterator[tuple[int, str, int | None]]:
        yield (1, "1", None)
        raise RuntimeError("disk on fire")

    with Store(str(tmp_path / "p.db")) as store:
        store.write([("k", [(0, "0", None)])])
        with pytest.raises(RuntimeError):
            store.write([("k", [(5, "5", None)]), ("new", rows())])
        assert store.points("k") == [{"x": 0, "y": 0, "q": None}]
        assert store.points("new") == []
        store.write([("new", [(2, "2", 0)])])
        assert store.points("new") == [{"x": 2, "y": 2, "q": 0}]
        assert store.window("missing", 0, 10) == []


def test_an_internal_error_is_500_with_envelope(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api.store, "write", boom)
    assert api.post("/smt/data/set", {"data": [{"tagId": "t", "data": [{"x": 1, "y": 1}]}]}) == (
        500,
        {"error": {"id": 500, "message": "Internal error"}},
    )


def test_unknown_route_and_method_have_the_envelope(api: Api) -> None:
    assert api.post("/nowhere", {}) == (404, {"error": {"id": 404, "message": "Not Found"}})
    response = api.loop.run_until_complete(api.client.get("/smt/data/get"))
    assert response.status_code == 405
    assert response.json() == {"error": {"id": 405, "message": "Method Not Allowed"}}
    assert response.headers["allow"] == "POST"


def test_token_is_required_when_configured(make_api: Callable[..., Api]) -> None:
    api = make_api(token="s3cret")
    body = {"id": "1"}
    unauthorized = (401, {"error": {"id": 401, "message": "Missing or invalid bearer token"}})
    assert api.post("/smt/dataSources/connect", body) == unauthorized
    assert (
        api.post("/smt/dataSources/connect", body, headers={"Authorization": "Bearer wrong"}) == unauthorized
    )
    assert (
        api.post("/smt/dataSources/connect", body, headers={"Authorization": "Basic s3cret"}) == unauthorized
    )
    assert api.post("/smt/data/set", {"data": []}) == unauthorized
    assert api.post("/smt/dataSources/connect", body, headers={"Authorization": "Bearer s3cret"})[0] == 200
    assert api.post("/smt/dataSources/connect", body, headers={"Authorization": "bearer s3cret"})[0] == 200
    assert api.post("/_emulator/faults", {}) == unauthorized


def test_admin_endpoint_sets_faults(api: Api) -> None:
    status, body = api.post("/_emulator/faults", {"error_rate": 1.0, "error_status": 500, "seed": 3})
    assert status == 200
    assert body["faults"]["error_rate"] == 1.0
    assert api.post("/smt/data/get", {"tagId": "t"})[0] == 500
    assert api.post("/_emulator/faults", {"bogus": 1})[0] == 422
    assert api.post("/_emulator/faults", {"error_rate": 2})[0] == 422
    assert api.post("/_emulator/faults", [1])[0] == 422
    assert api.post("/_emulator/faults", {})[0] == 200
    assert api.post("/smt/data/get", {"tagId": "t"})[0] == 200
    response = api.loop.run_until_complete(api.client.get("/_emulator/faults"))
    assert response.json()["faults"] == Faults().to_dict()
    assert api.loop.run_until_complete(api.client.get("/_emulator/health")).json()["status"] == "ok"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_rate": -0.1},
        {"drop_rate": 0.6, "error_rate": 0.6},
        {"error_status": 200},
        {"latency": -1},
        {"retry_after": -1},
    ],
)
def test_bad_fault_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        Faults(**kwargs)


def test_data_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "platform.db"
    with run_platform(db=db) as first:
        response = httpx.post(
            f"{first.url}/smt/data/set", json={"data": [{"tagId": "t", "data": [{"x": 5, "y": "kept"}]}]}
        )
        assert response.json() == OK
    with run_platform(db=db) as second:
        assert second.stored_points("t") == [{"x": 5, "y": "kept", "q": None}]
        body = httpx.post(
            f"{second.url}/smt/data/get", json={"tagId": "t", "from": 5, "to": 5, "actual": True}
        ).json()
        assert body["data"][0]["data"] == [{"x": 5, "y": "kept", "q": None}]
        second.clear()
        assert second.stored_points("t") == []


def test_tag_keys_are_canonical() -> None:
    assert tag_key({"tagName": "a", "parentObjectId": "b"}) == tag_key(
        {"parentObjectId": "b", "tagName": "a"}
    )
    assert tag_key("a") != tag_key({"tagName": "a", "parentObjectId": "a"})
