"""Bad input always gets a 4xx with the envelope; auth comes first; the answer forms; the store's layout."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from data_interaction_client.emulator import MAX_DEPTH, Faults, Store, StoreError, create_app, run_platform
from data_interaction_client.emulator._spec import schema_validator

from .conftest import NOW, Api

OK = {"error": {"id": 0, "message": ""}}


def nested(levels: int) -> Any:
    value: Any = 1
    for level in range(levels):
        value = [value] if level % 2 else {"k": value}
    return value


def set_body(y: Any) -> dict[str, Any]:
    return {"data": [{"tagId": "t", "data": [{"x": 1, "y": y}]}]}


# --- the token first ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [Faults(error_rate=1.0, latency=30), Faults(drop_rate=1.0), Faults(html_rate=1.0, latency=30)],
)
def test_the_token_is_checked_before_faults_and_before_the_body(
    make_api: Callable[..., Api], faults: Faults
) -> None:
    api = make_api(token="s3cret", faults=faults)
    started = time.monotonic()
    # No latency, no injected error, and the body is not even read (it is not JSON).
    response = api.request("/smt/data/set", content=b"not json")
    assert time.monotonic() - started < 20
    assert response.status_code == 401
    assert response.json() == {"error": {"id": 401, "message": "Missing or invalid bearer token"}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": "two words"}, "the token must be visible ASCII"),
        ({"token": "line\n"}, "the token must be visible ASCII"),
        ({"token": "тайна"}, "the token must be visible ASCII"),
        ({"token": ""}, "non-empty"),
        ({"max_body_size": 0}, "max_body_size must be a positive integer"),
        ({"max_body_size": True}, "max_body_size must be a positive integer"),
        ({"point_form": "tuple"}, "point_form must be one of object, array"),
    ],
)
def test_bad_app_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        create_app(None, ":memory:", **kwargs)
    if kwargs.get("token"):
        assert kwargs["token"] not in str(caught.value)


# --- bad bodies: 4xx, never 500 -----------------------------------------------------------------------


def test_a_body_nested_100000_levels_is_422(api: Api) -> None:
    for path in ("/smt/data/set", "/smt/data/get", "/smt/dataSources/connect", "/_emulator/faults"):
        # 100,000 levels, but 30,000 for the admin endpoint, whose bodies are at most 64 KiB.
        levels = 30_000 if path == "/_emulator/faults" else 100_000
        response = api.request(path, content=b"[" * levels + b"]" * levels)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["message"] == (
            f"body: nested too deeply (a value may nest at most {MAX_DEPTH} levels)"
        )


def test_values_may_nest_up_to_max_depth(api: Api) -> None:
    deepest = nested(MAX_DEPTH)
    assert api.post("/smt/data/set", set_body(deepest)) == (200, OK)
    assert api.store.points(api_key("t")) == [{"x": 1, "y": deepest, "q": None}]
    assert api.points("t", **{"from": 1, "to": 1, "actual": True, "value": [deepest]})[0]["y"] == deepest
    status, body = api.post("/smt/data/set", set_body(nested(MAX_DEPTH + 1)))
    assert status == 422
    assert body["error"]["message"] == f"body.data[0].data[0].y: nested deeper than {MAX_DEPTH} levels"
    status, body = api.post("/smt/data/get", {"tagId": "t", "value": nested(MAX_DEPTH + 1)})  # an object
    assert (status, body["error"]["message"]) == (422, f"body.value: nested deeper than {MAX_DEPTH} levels")
    status, body = api.post("/smt/data/get", {"tagId": "t", "value": [1, nested(MAX_DEPTH + 1)]})
    assert (status, body["error"]["message"]) == (
        422,
        f"body.value[1]: nested deeper than {MAX_DEPTH} levels",
    )
    # Deep enough for the JSON decoder, too deep for the checks that quote it.
    for body_ in ({"tagId": nested(900)}, {"tagId": "t", "from": nested(900)}, {"id": nested(900)}):
        path = "/smt/dataSources/connect" if "id" in body_ else "/smt/data/get"
        assert api.request(path, content=json.dumps(body_)).status_code == 422


def api_key(tag: str) -> str:
    return json.dumps(tag)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"data": [{"tagId": "t", "data": [{"x": 1, "y": 1e400}]}]}', "body.data[0].data[0].y: "),
        (b'{"data": [{"tagId": "t", "data": [{"x": 1, "y": -1e400}]}]}', "body.data[0].data[0].y: "),
        (b'{"data": [{"tagId": "t", "data": [{"x": 1, "y": {"a": [1e999]}}]}]}', "body.data[0].data[0].y: "),
        (
            b'{"data": [{"tagId": "t", "data": [{"x": 1, "y": 1}, {"x": 1e400, "y": 2}]}]}',
            "body.data[0].data[1].x: ",
        ),
        (b'{"data": [{"tagId": "t", "data": [{"x": 1, "y": 1, "q": 1e400}]}]}', "body.data[0].data[0].q: "),
        (b'{"tagId": "t", "value": 1e400}', "body: "),
    ],
)
def test_numbers_beyond_a_double_are_refused(api: Api, raw: bytes, message: str) -> None:
    path = "/smt/data/get" if b'"value"' in raw else "/smt/data/set"
    response = api.request(path, content=raw)
    assert response.status_code == 422, response.text
    text = response.json()["error"]["message"]
    assert text.startswith(message), text
    assert "a number is out of range" in text
    assert api.store.count() == 0


def test_integers_of_any_size_are_kept_exactly(api: Api) -> None:
    big = 2**70 + 1
    assert api.post("/smt/data/set", set_body({"n": big, "m": -big})) == (200, OK)
    assert api.points("t", **{"from": 1, "to": 1, "actual": True}) == [
        {"x": 1, "y": {"n": big, "m": -big}, "q": None}
    ]


def test_unusual_but_valid_points_take_the_exact_path(api: Api) -> None:
    # x as an integral float and q as 1.0 are integers to the contract; the fast path leaves them.
    points = [{"x": 2.0, "y": 1, "q": 1.0}, {"x": "1970-01-01T00:00:00.000003Z", "y": 3}]
    assert api.post("/smt/data/set", {"data": [{"tagId": "t", "data": points}]}) == (200, OK)
    assert api.points("t", **{"from": 0, "to": 5, "actual": True}) == [
        {"x": 2, "y": 1, "q": 1},
        {"x": 3, "y": 3, "q": None},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (gzip.compress(b'{"data": [', mtime=0)[:-8], "body: not valid gzip (the compressed data ends early)"),
        (b"", "body: not valid gzip (the compressed data ends early)"),
        (gzip.compress(b"{}", mtime=0) + b"trailing", "body: not valid gzip"),
    ],
    ids=["cut-short", "empty", "trailing-bytes"],
)
def test_broken_gzip_is_422(api: Api, content: bytes, message: str) -> None:
    response = api.request("/smt/data/set", content=content, headers={"content-encoding": "gzip"})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(message)


def test_gzip_members_are_joined(api: Api) -> None:
    body = json.dumps(set_body("joined")).encode()
    members = gzip.compress(body[:10]) + gzip.compress(body[10:])
    response = api.request("/smt/data/set", content=members, headers={"content-encoding": "GZIP"})
    assert response.status_code == 200
    assert api.store.count() == 1


def test_max_body_size_applies_to_every_endpoint(make_api: Callable[..., Api]) -> None:
    api = make_api(max_body_size=100)
    for path in ("/smt/data/set", "/smt/data/get", "/smt/dataSources/connect"):
        response = api.request(path, content=b" " * 101)
        assert response.status_code == 413
        assert response.headers["connection"] == "close"
        assert response.json()["error"]["message"].startswith("body: larger than the limit of 100 bytes")
    assert api.post("/smt/dataSources/connect", {"id": "1"})[0] == 200
    inflated = gzip.compress(b" " * 101)
    response = api.request("/smt/data/get", content=inflated, headers={"content-encoding": "gzip"})
    assert response.status_code == 413
    assert "once decompressed, larger than the limit of 100 bytes" in response.json()["error"]["message"]
    response = api.request("/_emulator/faults", content=b" " * (64 * 1024 + 1))
    assert response.status_code == 413
    response = api.request("/_emulator/faults", content=b"{}", headers={"content-encoding": "br"})
    assert response.status_code == 422


# --- answers: exceed and the point forms ---------------------------------------------------------------


GET_ANSWER = schema_validator("GetDataResponse")


def test_exceed_only_when_the_request_had_max_count(api: Api) -> None:
    api.set("plain", [{"x": x, "y": x} for x in range(10)])
    body = api.get(tagId=["plain", "other"], **{"from": 0, "to": 9})
    assert [sorted(item) for item in body["data"]] == [["data", "tagId"], ["data", "tagId"]]
    body = api.get(tagId=["plain", "other"], **{"from": 0, "to": 9, "maxCount": 5})
    assert [item["exceed"] for item in body["data"]] == [True, False]
    body = api.get(tagId="plain", **{"from": 0, "to": 9, "maxCount": 50})
    assert body["data"][0]["exceed"] is False
    GET_ANSWER.validate(body)


@pytest.mark.parametrize("iso", [False, True])
def test_the_array_form(make_api: Callable[..., Api], iso: bool) -> None:
    objects, arrays = make_api(), make_api(point_form="array")
    for api in (objects, arrays):
        api.set("plain", [{"x": 10, "y": 1.5, "q": 0}, {"x": 20, "y": "text", "q": 102}])
        api.set("step", [{"x": 10, "y": {"a": 1}}])
    query = {"tagId": ["plain", "step"], "from": 10, "to": 30, "format": iso}
    as_objects, as_arrays = objects.get(**query), arrays.get(**query)
    GET_ANSWER.validate(as_objects)
    GET_ANSWER.validate(as_arrays)
    for with_objects, with_arrays in zip(as_objects["data"], as_arrays["data"], strict=True):
        assert with_arrays["tagId"] == with_objects["tagId"]
        assert "exceed" not in with_arrays
        assert with_arrays["data"] == [[p["y"], p["x"], p["q"]] for p in with_objects["data"]]
    assert as_arrays["data"][0]["data"][0] == [1.5, "1970-01-01T00:00:00.000010Z" if iso else 10, 0]


def test_the_point_form_of_a_running_platform() -> None:
    with run_platform(point_form="array") as platform:
        assert platform.point_form == "array"
        httpx.post(f"{platform.url}/smt/data/set", json=set_body(7)).raise_for_status()
        query = {"tagId": "t", "from": 1, "to": 1}
        assert httpx.post(f"{platform.url}/smt/data/get", json=query).json()["data"][0]["data"] == [
            [7, 1, None]
        ]
        platform.set_point_form("object")
        answer = httpx.post(f"{platform.url}/smt/data/get", json=query).json()
        assert answer["data"][0]["data"] == [{"x": 1, "y": 7, "q": None}]
        with pytest.raises(ValueError, match="point_form"):
            platform.set_point_form("tuple")  # type: ignore[arg-type]


# --- the store -----------------------------------------------------------------------------------------


def test_a_database_of_the_earlier_layout_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE tags (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
            CREATE TABLE points (
                tag INTEGER NOT NULL REFERENCES tags(id), x INTEGER NOT NULL, y TEXT NOT NULL, q INTEGER,
                PRIMARY KEY (tag, x)
            ) WITHOUT ROWID;
            INSERT INTO tags VALUES (1, '"t"');
            INSERT INTO points VALUES (1, 5, '"five"', NULL), (1, 3, '3', 0);
            """
        )
    conn.close()
    with Store(str(path)) as store:
        assert store.points('"t"') == [{"x": 3, "y": 3, "q": 0}, {"x": 5, "y": "five", "q": None}]
        store.write([('"t"', [(5, '"again"', None)])])  # the last write still wins
        assert store.points('"t"')[-1] == {"x": 5, "y": "again", "q": None}
    with closing(sqlite3.connect(path)) as conn, conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'points'").fetchone()
    conn.close()
    assert "WITHOUT ROWID" not in sql.upper()


def test_a_file_that_is_no_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database" * 100)
    with pytest.raises(StoreError, match=r"cannot use the database '.*notes\.txt': file is not a database"):
        Store(str(path))
    with pytest.raises(StoreError, match=r"cannot open the database '/nonexistent/dir/p\.db'"):
        Store("/nonexistent/dir/p.db")


def test_a_closed_app_store_refuses_quietly(api: Api) -> None:
    api.store.interrupt()
    status, body = api.post("/smt/data/set", set_body(1))
    assert status == 503
    assert "stopping" in body["error"]["message"]
    status, body = api.post("/smt/data/get", {"tagId": "t", "from": 0, "to": 1})
    assert status == 503


def test_a_request_cut_off_at_shutdown_answers_503() -> None:
    app = create_app(None, ":memory:", faults=Faults(latency=60), clock=lambda: NOW)
    state = app.state.platform

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as client:
            call = asyncio.ensure_future(client.post("/smt/data/get", json={"tagId": "t"}))
            await asyncio.sleep(0.2)
            state.stop_requests()
            return await call

    response = asyncio.run(scenario())
    state.store.close()
    assert response.status_code == 503
    assert response.json()["error"]["message"].startswith("Service unavailable: the platform is stopping")
