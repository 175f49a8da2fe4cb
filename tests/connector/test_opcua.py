"""The OPC UA example: its quality codes, its nodes, its history read, and end to end."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from data_interaction_client import Tag

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "opcua_connector.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("opcua_connector", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["opcua_connector"] = module  # the pydantic Settings resolve their names through it
    spec.loader.exec_module(module)
    return module


example = _load()
ua = example.ua
S = ua.StatusCodes


# --- quality codes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [S.Good, S.GoodClamped, S.GoodOverload, S.GoodNoData, S.Good | 0x0400 | 0x0001],  # info bits: raw history
)
def test_good_codes_are_good_values(code: int) -> None:
    assert example.quality(ua.StatusCode(code)) == 0
    assert example.quality(code) == 0


@pytest.mark.parametrize(
    "code",
    [
        S.BadCommunicationError,
        S.BadNoCommunication,
        S.BadNotConnected,
        S.BadServerNotConnected,
        S.BadConnectionClosed,
        S.BadTimeout,
        S.BadSecureChannelClosed,
        S.UncertainNoCommunicationLastUsableValue,
        S.BadCommunicationError | 0x0400,  # flags and info bits do not hide the kind
    ],
)
def test_communication_failures_are_link_lost(code: int) -> None:
    assert example.quality(code) == 102


@pytest.mark.parametrize(
    "code",
    [
        S.BadNodeIdUnknown,
        S.BadSensorFailure,
        S.BadDeviceFailure,
        S.BadOutOfService,
        S.BadWaitingForInitialData,
        S.UncertainLastUsableValue,
        S.UncertainSensorNotAccurate,
        S.UncertainEngineeringUnitsExceeded | 0x0400,
        0xFFFFFFFF,
        0x40000000,
        0x80000000,
    ],
)
def test_other_codes_are_kept_recoverable_within_the_platforms_range(code: int) -> None:
    q = example.quality(code)
    assert -(2**31) <= q <= 2**31 - 1  # openapi.yaml's Quality: a signed 32-bit integer
    assert q not in (0, 100, 101, 102)  # never one of the platform's own codes
    assert example.status_code(q).value == code
    assert (q < 0) == ua.StatusCode(code).is_bad()


def test_status_code_of_the_platforms_codes() -> None:
    assert example.status_code(0).is_good()
    assert example.status_code(102).value == S.BadNoCommunication


def _value(code: int, y: Any = 1.5) -> Any:
    moment = example.moment(1_800_000_000_123_456)
    return ua.DataValue(ua.Variant(y), StatusCode=ua.StatusCode(code), SourceTimestamp=moment)


def test_a_reading_has_the_source_timestamp_the_value_and_the_quality() -> None:
    tag = Tag("t", {})
    good = example.reading(tag, _value(S.Good))
    assert (good.x, good.y, good.q) == (1_800_000_000_123_456, 1.5, 0)
    uncertain = example.reading(tag, _value(S.UncertainLastUsableValue))
    assert (uncertain.y, uncertain.q) == (1.5, S.UncertainLastUsableValue)
    bad = example.reading(tag, _value(S.BadSensorFailure))
    assert (bad.y, bad.q) == (None, S.BadSensorFailure - 2**32)  # a Bad value is not to be used
    lost = example.reading(tag, _value(S.UncertainNoCommunicationLastUsableValue))
    assert (lost.y, lost.q) == (None, 102)


def test_values_become_json() -> None:
    assert example.json_value([1, 2.5, "a", True]) == [1, 2.5, "a", True]
    assert example.json_value(ua.LocalizedText("on")) == "on"
    assert example.json_value(b"\x01\xff") == "01ff"
    assert example.json_value(example.moment(0)) == "1970-01-01T00:00:00+00:00"


# --- the node of each tag ------------------------------------------------------------------------------


def test_the_node_comes_from_smtTagSource() -> None:
    tag = Tag("t", {"smtTagSource": '{"node": "ns=2;s=Boiler.Temperature"}'})
    assert example.node_of(tag) == ua.NodeId("Boiler.Temperature", 2)
    assert example.node_of(Tag("n", {"smtTagSource": '{"node": "ns=3;i=1001"}'})) == ua.NodeId(1001, 3)
    assert example.node_of(Tag("r", {"smtTagSource": '{"register": 40001}'})) is None
    assert example.node_of(Tag("none", {})) is None


@pytest.mark.parametrize("node", ['"Boiler.Temperature"', '"ns=x;s=A"', "12"])
def test_a_node_id_that_is_not_one_names_the_tag(node: str) -> None:
    tag = Tag("temperature", {"smtTagSource": f'{{"node": {node}}}'})
    with pytest.raises(ValueError, match=r"tag 'temperature': smtTagSource node .* is not an OPC UA node id"):
        example.node_of(tag)


# --- the history, read through HistoryReadRaw ----------------------------------------------------------


@pytest.fixture(scope="module")
def boiler() -> Iterator[Any]:  # one for the module: asyncua's server takes seconds to start
    server = example.Boiler(example.free_port(), period=0.02)
    server.history.max_history_data_response_size = 7  # many pages: continuation points are followed
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _backfill(boiler: Any, tag: Tag, since: int | None, until: int) -> list[Any]:
    async def read() -> list[Any]:
        connector = example.OpcUa()
        connector.settings = example.OpcUa.Settings(url=boiler.url)
        await connector.open(None)
        try:
            return [item async for item in connector.backfill(tag, since, until)]
        finally:
            await connector.close()

    return asyncio.run(read())


def test_backfill_reads_the_history_after_the_watermark_up_to_until(boiler: Any) -> None:
    time.sleep(0.6)
    tag = Tag("temperature", example.CONFIG["dataSources"]["opcua"]["tags"][0]["attributes"])
    history = boiler.samples()["temperature"]
    xs = sorted(history)
    assert len(xs) > 20
    since, until = xs[3], xs[-4]
    window = _backfill(boiler, tag, since, until)
    assert [(r.x, r.y, r.q) for r in window] == [(x, history[x], 0) for x in xs if since < x <= until]
    first_start = _backfill(boiler, tag, None, xs[-1])  # a tag the spool never held: the whole history
    assert [r.x for r in first_start] == xs


# --- subscriptions -------------------------------------------------------------------------------------


def _tag(name: str, node: str) -> Tag:
    return Tag(name, {"smtTagSource": f'{{"node": "{node}"}}'})


def test_subscribe_follows_the_tags_and_hands_each_change_to_every_tag_of_its_node(
    boiler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    temperature = _tag("temperature", "ns=2;s=Boiler.Temperature")
    also = _tag("also-temperature", "ns=2;s=Boiler.Temperature")
    pressure = _tag("pressure", "ns=2;s=Boiler.Pressure")
    unknown = _tag("unknown", "ns=2;s=Boiler.Nothing")

    async def scenario() -> dict[str, Any]:
        connector = example.OpcUa()
        connector.settings = example.OpcUa.Settings(url=boiler.url, publishing_interval=0.05)
        emitted: list[Any] = []
        connector.emit = emitted.append  # what the runtime would take
        await connector.open(None)
        try:
            await connector.subscribe([temperature])
            first = dict(connector.handles)
            await connector.subscribe([temperature, also, pressure, unknown, Tag("none", {})])
            second = dict(connector.handles)
            await asyncio.sleep(0.3)
            both = {r.tag.id for r in emitted}
            await connector.subscribe([pressure])
            third = dict(connector.handles)
            emitted.clear()
            await asyncio.sleep(0.3)
            return {"handles": (first, second, third), "both": both, "after": {r.tag.id for r in emitted}}
        finally:
            await connector.close()

    with caplog.at_level("WARNING"):
        seen = asyncio.run(scenario())
    first, second, third = seen["handles"]
    t, p = ua.NodeId("Boiler.Temperature", 2), ua.NodeId("Boiler.Pressure", 2)
    assert set(first) == {t}
    assert set(second) == {t, p}
    assert second[t] == first[t]  # the temperature's monitored item was kept: no change missed
    assert set(third) == {p}
    assert seen["both"] == {"temperature", "also-temperature", "pressure"}
    assert seen["after"] == {"pressure"}
    assert "node ns=2;s=Boiler.Nothing of 'unknown' cannot be monitored: BadNodeIdUnknown" in caplog.text
    assert "tag 'none': its smtTagSource names no OPC UA node" in caplog.text


# --- the demo ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_demo_sees_every_sample_of_the_history_arrive(capsys: pytest.CaptureFixture[str]) -> None:
    assert example.main(2.0) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(example.NODES)
    for line in lines:
        held, arrived = re.findall(r"holds (\d+) samples, (\d+) arrived", line)[0]
        assert held == arrived
        assert int(held) >= 15  # two seconds at ten samples a second, and the first value
        assert "(0 missing" in line


# --- end to end: the server switched off and on, the connector killed -----------------------------------


def _settings(folder: Path, boiler: Any) -> Path:
    path = folder / "opcua.yaml"
    path.write_text(
        f"source: {example.SOURCE}\nspool: {folder / 'spool'}\nclose_timeout: 5\nopen_retry_max: 0.5\n"
        "writer: {flush_interval: 0.1, commit_interval: 0.05, max_retry_delay: 0.5}\n"
        f"settings: {{url: '{boiler.url}', publishing_interval: 0.1, watchdog_interval: 0.3, timeout: 2}}\n"
    )
    return path


def _arrived(platform: Any) -> dict[str, list[dict[str, Any]]]:
    return {tag: platform.stored_points(tag) for tag in example.NODES}


def _missing(boiler: Any, platform: Any) -> dict[str, list[int]]:
    report = example.compare(boiler.samples(), _arrived(platform))
    return {tag: row["missing"] + row["not_in_history"] for tag, row in report.items()}


@pytest.mark.slow
def test_every_sample_of_the_history_arrives_through_a_server_outage_and_a_kill_9(tmp_path: Path) -> None:
    report = _outage_and_kill(tmp_path, outage=True)
    for tag, row in report.items():
        assert row["link_lost_marks"] >= 1, tag  # the outage was seen for what it was


@pytest.mark.slow
def test_every_sample_of_the_history_arrives_through_a_kill_9(tmp_path: Path) -> None:
    _outage_and_kill(tmp_path, outage=False)


def _outage_and_kill(tmp_path: Path, *, outage: bool) -> dict[str, Any]:
    """The connector under ``run``; the server switched off for two seconds (``outage``); a kill -9."""
    from data_interaction_client.emulator import run_platform

    from .helpers import Child, wait_for

    boiler = example.Boiler(example.free_port(), period=0.05)
    boiler.start()
    children: list[Any] = []
    try:
        with run_platform(config=example.CONFIG) as platform:
            config = _settings(tmp_path, boiler)

            def start() -> Any:
                children.append(
                    Child(tmp_path, platform.url, "examples.opcua_connector:OpcUa", "--config", str(config))
                )
                return children[-1]

            def good_after(x: int) -> bool:
                return any(p["x"] > x and not p["q"] for p in platform.stored_points("temperature"))

            def now() -> int:
                return int(time.time() * 1e6)

            child = start()
            began = now()
            wait_for(lambda: good_after(began), "values to arrive")

            if outage:
                boiler.stop()  # the server is switched off for two seconds
                time.sleep(2.0)
                boiler.start()
                restarted = now()
                wait_for(lambda: good_after(restarted), "values after the server's restart", timeout=20)

            child.kill()  # kill -9 while the server samples on
            time.sleep(1.5)
            child = start()
            time.sleep(1.0)

            boiler.stop_simulating()  # the history is complete: everything in it must arrive
            wait_for(lambda: not any(_missing(boiler, platform).values()), "every sample of the history")
            child.signal(signal.SIGTERM)
            code, _ = child.wait()
            assert code == 0, child.stderr()
            report = example.compare(boiler.samples(), _arrived(platform))
    except AssertionError:
        for each in children:
            print(each.stderr())
        raise
    finally:
        for each in children:
            each.kill()
        boiler.stop()
    for tag, row in report.items():
        assert row["missing"] == [], tag
        assert row["not_in_history"] == [], tag
        assert row["history"] > 40, tag  # 3 s of sampling or more, 20 samples a second
    figures = {tag: (row["history"], row["arrived"]) for tag, row in report.items()}
    print(f"OPC UA {'outage and ' if outage else ''}kill -9, (history, arrived) per tag:", figures)
    return report
