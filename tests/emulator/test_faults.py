"""Fault injection seen by an httpx client against the real uvicorn server."""

from __future__ import annotations

import time

import httpx
import pytest

from data_interaction_client.emulator import Faults, RunningPlatform

WRITE = {"data": [{"tagId": "faulty", "data": [{"x": 1, "y": 1}]}]}


@pytest.fixture
def client(platform: RunningPlatform) -> httpx.Client:
    platform.set_faults(None)
    platform.clear()
    with httpx.Client(base_url=platform.url, timeout=5) as client:
        yield client  # type: ignore[misc]
    platform.set_faults(None)


def test_no_fault_by_default(platform: RunningPlatform, client: httpx.Client) -> None:
    assert platform.faults == Faults()
    assert client.post("/smt/data/set", json=WRITE).status_code == 200


def test_error_with_retry_after(platform: RunningPlatform, client: httpx.Client) -> None:
    platform.set_faults(Faults(error_rate=1.0, error_status=503, retry_after=2))
    response = client.post("/smt/data/set", json=WRITE)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"error": {"id": 503, "message": "Service unavailable (injected fault)"}}
    assert platform.stored_points("faulty") == []
    platform.set_faults(Faults(error_rate=1.0, retry_after=0.5))
    assert client.post("/smt/data/set", json=WRITE).headers["retry-after"] == "0.5"
    platform.set_faults(Faults(error_rate=1.0, error_status=500))
    response = client.post("/smt/data/set", json=WRITE)
    assert response.status_code == 500
    assert "retry-after" not in response.headers


def test_dropped_connection(platform: RunningPlatform, client: httpx.Client) -> None:
    platform.set_faults(Faults(drop_rate=1.0))
    # The server closes mid-answer: the client sees the answer cut short, or the connection reset.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client.post("/smt/data/set", json=WRITE)
    assert platform.stored_points("faulty") == []
    platform.set_faults(None)
    assert client.post("/smt/data/set", json=WRITE).status_code == 200


def test_html_page(platform: RunningPlatform, client: httpx.Client) -> None:
    platform.set_faults(Faults(html_rate=1.0))
    response = client.post("/smt/data/get", json={"tagId": "faulty"})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in response.text


def test_latency(platform: RunningPlatform, client: httpx.Client) -> None:
    platform.set_faults(Faults(latency=0.3))
    started = time.perf_counter()
    assert client.post("/smt/data/set", json=WRITE).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_rates_are_seeded_and_only_hit_contract_endpoints(
    platform: RunningPlatform, client: httpx.Client
) -> None:
    def run() -> list[int]:
        platform.set_faults(Faults(error_rate=0.3, error_status=503, html_rate=0.2, seed=7))
        return [client.post("/smt/data/get", json={"tagId": "faulty"}).status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert set(first) == {200, 502, 503}
    platform.set_faults(Faults(error_rate=1.0))
    assert client.get("/_emulator/health").status_code == 200
    assert client.get("/_emulator/faults").json()["faults"]["error_rate"] == 1.0


def test_failed_requests_store_nothing(platform: RunningPlatform, client: httpx.Client) -> None:
    platform.set_faults(Faults(error_rate=0.5, drop_rate=0.3, seed=1))
    stored = 0
    for x in range(30):
        try:
            response = client.post(
                "/smt/data/set", json={"data": [{"tagId": "faulty", "data": [{"x": x, "y": x}]}]}
            )
        except httpx.TransportError:
            continue
        stored += response.status_code == 200
    assert len(platform.stored_points("faulty")) == stored
    assert 0 < stored < 30
