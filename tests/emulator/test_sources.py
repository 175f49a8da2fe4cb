"""Changing a data source at run time: switched off and on, tags added and removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import Api

CONNECT = "/smt/dataSources/connect"


def admin(api: Api, source: str, body: Any) -> tuple[int, Any]:
    return api.post(f"/_emulator/sources/{source}", body)


def test_switch_off_and_on(api: Api) -> None:
    status, body = api.post(CONNECT, {"id": "1"})
    assert status == 200
    assert len(body["tags"]) == 3
    assert admin(api, "1", {"attributes": {"smtActive": False}})[0] == 200
    status, body = api.post(CONNECT, {"id": "1"})
    assert body["attributes"]["smtActive"] is False
    assert body["tags"] == []
    assert admin(api, "1", {"attributes": {"smtActive": True}})[0] == 200
    status, body = api.post(CONNECT, {"id": "1"})
    assert body["attributes"]["smtActive"] is True
    assert [tag["id"] for tag in body["tags"]][:2] == ["plain", "step"]


def test_tags_replaced_and_step_keys_follow(api: Api) -> None:
    tags = [{"id": "new", "attributes": {"smtStep": True}}]
    status, body = admin(api, "1", {"tags": tags})
    assert status == 200
    assert body["tags"] == tags
    assert body["attributes"]["smtActive"] is True  # attributes kept
    assert api.post(CONNECT, {"id": "1"})[1]["tags"] == tags
    assert api.app.state.platform.step_keys == frozenset({'"new"'})


def test_new_source_and_get(api: Api) -> None:
    def get(source: str) -> Any:
        return api.loop.run_until_complete(api.client.get(f"/_emulator/sources/{source}"))

    assert get("9").status_code == 404
    assert api.post(CONNECT, {"id": "9"})[0] == 404
    assert admin(api, "9", {"attributes": {"smtActive": True}, "tags": []})[0] == 200
    assert api.post(CONNECT, {"id": "9"})[0] == 200
    assert get("9").json()["attributes"] == {"smtActive": True}


def test_bad_changes_name_the_field(api: Api) -> None:
    status, body = admin(api, "1", {"tags": [{"attributes": {}}]})
    assert status == 422
    assert "tags" in body["error"]["message"]
    assert "id" in body["error"]["message"]
    status, body = admin(api, "1", {"colour": 1})
    assert status == 422
    assert "colour" in body["error"]["message"]
    status, body = admin(api, "1", {"attributes": []})
    assert status == 422
    assert "attributes must be a JSON object" in body["error"]["message"]
    # nothing changed
    assert len(api.post(CONNECT, {"id": "1"})[1]["tags"]) == 3


def test_token_required(make_api: Callable[..., Api]) -> None:
    api = make_api(token="secret")
    status, _ = admin(api, "1", {"attributes": {"smtActive": False}})
    assert status == 401
    headers = {"Authorization": "Bearer secret"}
    status, _ = api.post("/_emulator/sources/1", {"attributes": {"smtActive": False}}, headers=headers)
    assert status == 200
