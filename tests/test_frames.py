"""get_frame / set_frame / TagHistory.to_pandas / to_polars: frames in and out, exact values."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import polars as pl
import pytest

from data_interaction_client import (
    AsyncDataInteractionClient,
    DataInteractionClient,
    InvalidInputError,
    InvalidPointError,
    NoDataToSendError,
    PlatformError,
    Point,
    Tag,
    TagHistory,
    TagPath,
)
from data_interaction_client._frames import tag_from_label, tag_label
from data_interaction_client.emulator import RunningPlatform

B = 1_600_000_000_000_000
S = 1_000_000
PATH_LABEL = '{"tagName":"p","parentObjectId":"o"}'


@pytest.fixture
def client(reference_platform: RunningPlatform) -> Iterator[DataInteractionClient]:
    reference_platform.clear()
    with DataInteractionClient(reference_platform.url, max_points_per_request=7) as c:
        yield c


def _fill(client: DataInteractionClient) -> None:
    num, text, path = Tag("num"), Tag("text"), Tag(TagPath("p", "o"))
    num.update([(B + i * S, i * 0.5, 0) for i in range(5)] + [(B + 5 * S, None, 102)])
    text.update([(B + i * 2 * S, f"s{i}", None) for i in range(3)])
    path.update([(B + S, 7), (B + 3 * S, -2)])
    client.set_data([num, text, path])


def _request(client: DataInteractionClient, **changes: Any) -> Any:
    return client.create_request_data(
        ["num", "text", TagPath("p", "o")], from_time=B, to_time=B + 10 * S, actual=True, **changes
    )


def test_long_pandas_frame_has_every_point_exactly(client: DataInteractionClient) -> None:
    _fill(client)
    frame = client.get_frame(_request(client))
    assert list(frame.columns) == ["tag", "x", "y", "q"]
    assert str(frame["x"].dtype) == "datetime64[us, UTC]"
    assert frame["q"].dtype == "Int64"
    assert frame["tag"].tolist() == ["num"] * 6 + ["text"] * 3 + [PATH_LABEL] * 2
    assert frame["x"].iloc[1] == pd.Timestamp(B + S, unit="us", tz="UTC")
    assert frame["y"].tolist()[:6] == [0.0, 0.5, 1.0, 1.5, 2.0, None]
    assert frame["y"].tolist()[6:] == ["s0", "s1", "s2", 7, -2]
    assert frame["q"].tolist() == [0, 0, 0, 0, 0, 102, pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]
    micros = client.get_frame(_request(client), x_as="us")
    assert micros["x"].dtype == np.int64
    assert micros["x"].iloc[0] == B


def test_long_round_trip_pandas_and_polars(
    client: DataInteractionClient, reference_platform: RunningPlatform
) -> None:
    _fill(client)
    tags: list[Any] = ["num", "text", {"tagName": "p", "parentObjectId": "o"}]
    stored = [reference_platform.stored_points(tag) for tag in tags]
    assert sum(map(len, stored)) == 11
    for backend in ("pandas", "polars"):
        frame = client.get_frame(_request(client), backend=backend)
        reference_platform.clear()
        assert client.set_frame(frame) == 11  # in chunks of max_points_per_request=7 rows
        assert [reference_platform.stored_points(tag) for tag in tags] == stored


def test_wide_frames_align_on_x(client: DataInteractionClient) -> None:
    _fill(client)
    req = client.create_request_data(["num", TagPath("p", "o")], from_time=B, to_time=B + 10 * S, actual=True)
    wide = client.get_frame(req, form="wide", x_as="us")
    assert list(wide.columns) == ["x", "num", PATH_LABEL]
    assert wide["x"].tolist() == [B + i * S for i in range(6)]
    assert wide["num"].tolist()[:5] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert np.isnan(wide["num"].iloc[5])
    assert [None if np.isnan(v) else v for v in wide[PATH_LABEL]] == [None, 7, None, -2, None, None]
    polar = client.get_frame(req, form="wide", backend="polars")
    assert polar.columns == ["x", "num", PATH_LABEL]
    assert polar[PATH_LABEL].to_list() == [None, 7.0, None, -2.0, None, None]
    assert polar["x"].dtype == pl.Datetime("us", "UTC")


def test_wide_round_trip_keeps_values(
    client: DataInteractionClient, reference_platform: RunningPlatform
) -> None:
    nums, texts = Tag("n"), Tag("t")
    nums.update([(B + i * S, i * 1.5) for i in range(4)])
    texts.update([(B + i * 3 * S, f"v{i}") for i in range(2)])
    client.set_data([nums, texts])
    req = client.create_request_data(["n", "t"], from_time=B, to_time=B + 10 * S, actual=True)
    for backend in ("pandas", "polars"):
        wide = client.get_frame(req, form="wide", backend=backend)
        reference_platform.clear()
        assert client.set_frame(wide, form="wide") == 6
        assert reference_platform.stored_points("n") == [
            {"x": B + i * S, "y": i * 1.5, "q": None} for i in range(4)
        ]
        assert reference_platform.stored_points("t") == [
            {"x": B + i * 3 * S, "y": f"v{i}", "q": None} for i in range(2)
        ]


def test_set_frame_takes_frames_users_make(
    client: DataInteractionClient, reference_platform: RunningPlatform
) -> None:
    frame = pd.DataFrame(
        {
            "tag": ["a", "b", "a"],
            "x": pd.to_datetime(["2020-01-01 00:00:00", "2020-01-01 00:00:01", "2020-01-01 00:00:02"]),
            "y": [1.5, np.nan, 3],
            "q": pd.array([0, 102, None], dtype="Int64"),
        }
    )
    assert client.set_frame(frame) == 3
    t0 = 1_577_836_800_000_000
    assert reference_platform.stored_points("a") == [
        {"x": t0, "y": 1.5, "q": 0},
        {"x": t0 + 2 * S, "y": 3.0, "q": None},
    ]
    assert reference_platform.stored_points("b") == [
        {"x": t0 + S, "y": None, "q": 102}
    ]  # NaN: a missing value
    wide = pd.DataFrame({"c": [1, 2]}, index=pd.Index([10, 20], name="x"))  # x as the index
    assert client.set_frame(wide, form="wide") == 2
    assert reference_platform.stored_points("c") == [
        {"x": 10, "y": 1, "q": None},
        {"x": 20, "y": 2, "q": None},
    ]
    polar = pl.DataFrame({"tag": ["d"], "x": ["2020-01-01T00:00:00+03:00"], "y": [True]})
    assert client.set_frame(polar) == 1
    assert reference_platform.stored_points("d") == [{"x": t0 - 3 * 3600 * S, "y": True, "q": None}]


def test_a_bad_row_is_named_by_its_position(
    client: DataInteractionClient, reference_platform: RunningPlatform
) -> None:
    frame = pd.DataFrame({"tag": ["a"] * 10, "x": list(range(10)), "y": [0.0] * 8 + [np.inf, 1.0]})
    with pytest.raises(InvalidPointError) as caught:
        client.set_frame(frame)
    assert (caught.value.tag_id, caught.value.index, caught.value.field) == ("a", 8, "y")
    assert len(reference_platform.stored_points("a")) == 7  # the first chunk (7 rows) went before the bad one
    polar = pl.DataFrame({"x": [1, 2, 3], "w": [1.0, float("nan"), None]})
    with pytest.raises(InvalidPointError) as caught:
        client.set_frame(polar, form="wide")  # polars: NaN is a value (refused); null is no point
    assert (caught.value.tag_id, caught.value.index) == ("w", 1)


@pytest.mark.parametrize(
    ("frame", "form", "error", "message"),
    [
        ({"tag": ["a"]}, "long", InvalidInputError, "pandas or polars DataFrame"),
        (pd.DataFrame({"tag": ["a"], "y": [1]}), "long", InvalidInputError, "no column 'x'"),
        (pd.DataFrame({"x": [1], "y": [1]}), "long", InvalidInputError, "lacks"),
        (
            pd.DataFrame({"tag": ["a"], "x": [1], "y": [1], "z": [1]}),
            "long",
            InvalidInputError,
            "unknown columns",
        ),
        (pd.DataFrame({"x": [1]}), "wide", InvalidInputError, "no tag"),
        (pd.DataFrame({"x": [1], "{bad": [1]}), "wide", InvalidInputError, "column '{bad'"),
        (pd.DataFrame({"tag": [], "x": [], "y": []}), "long", NoDataToSendError, "no row"),
        (pd.DataFrame({"tag": ["a"], "x": [1], "y": [1]}), "tall", InvalidInputError, "form must be"),
        (pd.DataFrame({"tag": [""], "x": [1], "y": [1]}), "long", InvalidPointError, "must not be empty"),
    ],
)
def test_frames_that_cannot_be_sent(
    client: DataInteractionClient, frame: Any, form: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        client.set_frame(frame, form=form)  # type: ignore[arg-type]


def test_points_sent_counts_every_chunk_on_failure(reference_platform: RunningPlatform) -> None:
    answers = iter([200, 200, 503])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(status, json={"error": {"id": 0 if status == 200 else 5, "message": ""}})

    frame = pd.DataFrame({"tag": ["a"] * 10, "x": list(range(10)), "y": [1] * 10})
    with (
        DataInteractionClient(
            "http://platform.test",
            transport=httpx.MockTransport(handler),
            max_points_per_request=4,
            max_retries=0,
        ) as client,
        pytest.raises(PlatformError) as caught,
    ):
        client.set_frame(frame)
    assert caught.value.points_sent == 8


def test_options_are_checked_before_any_request(client: DataInteractionClient) -> None:
    req = _request(client)
    with pytest.raises(InvalidInputError, match="backend"):
        client.get_frame(req, backend="arrow")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="x_as"):
        client.get_frame(req, x_as="ns")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="RequestData"):
        client.get_frame("num")  # type: ignore[arg-type]


def test_get_frame_asks_for_integer_timestamps(client: DataInteractionClient) -> None:
    _fill(client)
    req = _request(client, format_param=True)
    assert client.get_frame(req, x_as="us")["x"].tolist()[:2] == [B, B + S]
    assert req.format_param is True  # the caller's request is left as it was


def test_a_tag_asked_twice_and_wide_frames(client: DataInteractionClient) -> None:
    _fill(client)
    req = client.create_request_data(["num", "num"], from_time=B, to_time=B + 10 * S, actual=True)
    assert len(client.get_frame(req)) == 12
    with pytest.raises(InvalidInputError, match="each tag once"):
        client.get_frame(req, form="wide")


def test_history_to_pandas_and_polars() -> None:
    history = TagHistory(
        "a", [Point(x=B, y=1, q=0), Point(x=B + S, y=2.5), Point(x=B + 2 * S, y="x", q=100)], False
    )
    frame = history.to_pandas()
    assert str(frame["x"].dtype) == "datetime64[us, UTC]"
    assert frame["y"].tolist() == [1, 2.5, "x"]
    assert frame["q"].tolist() == [0, pd.NA, 100]
    polar = history.to_polars(x_as="us")
    assert polar["x"].to_list() == [B, B + S, B + 2 * S]
    assert polar["y"].dtype == pl.Object
    assert polar["y"].to_list() == [1, 2.5, "x"]
    iso = TagHistory("a", [Point(x="2020-09-13T12:26:40Z", y=1), Point(x="2020-09-13 12:26:41", y=2)], False)
    assert iso.to_pandas(x_as="us")["x"].tolist() == [B, B + S]
    assert iso.to_polars()["y"].to_list() == [1, 2]
    numbers = TagHistory("a", [Point(x=B, y=1), Point(x=B + S, y=2.5), Point(x=B + 2 * S, y=None)], False)
    assert numbers.to_polars()["y"].to_list() == [1.0, 2.5, None]
    assert numbers.to_pandas()["y"].dtype == np.float64
    assert TagHistory("a", [Point(x=B, y=True)], False).to_pandas()["y"].dtype == bool
    assert TagHistory("a", [Point(x=B, y=2**70)], False).to_pandas()["y"].tolist() == [2**70]


def test_without_pandas_or_polars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match=r"pip install 'data-interaction-client\[polars\]'"):
        TagHistory("a", [], False).to_polars()


def test_tag_labels_round_trip() -> None:
    assert tag_label(TagPath("p", "o")) == PATH_LABEL
    assert tag_from_label(PATH_LABEL) == TagPath("p", "o")
    assert tag_from_label("plain") == "plain"
    with pytest.raises(InvalidInputError, match="not the JSON object"):
        tag_from_label("{nope")


def test_async_twins(reference_platform: RunningPlatform) -> None:
    reference_platform.clear()

    async def go() -> Any:
        async with AsyncDataInteractionClient(reference_platform.url) as client:
            frame = pd.DataFrame({"tag": ["a", "a"], "x": [B, B + S], "y": [1.0, 2.0], "q": [0, 0]})
            assert await client.set_frame(frame) == 2
            req = client.create_request_data("a", from_time=B, to_time=B + S, actual=True)
            return await client.get_frame(req, backend="polars", x_as="us")

    polar = asyncio.run(go())
    assert polar.rows() == [("a", B, 1.0, 0), ("a", B + S, 2.0, 0)]


def test_nan_with_a_good_quality_is_refused_unless_mapped(
    client: DataInteractionClient, reference_platform: RunningPlatform
) -> None:
    frame = pd.DataFrame({"tag": ["a", "a", "a"], "x": [1, 2, 3], "y": [1.5, np.nan, 2.5]})
    with pytest.raises(InvalidPointError, match="nan is not a JSON number") as caught:
        client.set_frame(frame)
    assert (caught.value.tag_id, caught.value.index, caught.value.field) == ("a", 1, "y")
    assert reference_platform.stored_points("a") == []
    assert client.set_frame(frame, nan_quality=102) == 3
    assert reference_platform.stored_points("a")[1] == {"x": 2, "y": None, "q": 102}
    with pytest.raises(InvalidInputError, match="nan_quality"):
        client.set_frame(frame, nan_quality=1.5)  # type: ignore[arg-type]


def test_frames_check_values_and_take_the_clients_precision(reference_platform: RunningPlatform) -> None:
    reference_platform.clear()
    with DataInteractionClient(reference_platform.url, precision="s") as c:
        c.create_tags([{"id": "n", "attributes": {"smtTagValueTypeCode": 0}}])
        with pytest.raises(InvalidPointError, match="the tag holds integers") as caught:
            c.set_frame(pd.DataFrame({"tag": ["n", "n"], "x": [1, 2], "y": [1, "x"]}))
        assert (caught.value.tag_id, caught.value.index) == ("n", 1)
        assert c.set_frame(pd.DataFrame({"x": [1_530_008_100], "n": [7]}), form="wide") == 1
    assert reference_platform.stored_points("n") == [{"x": 1_530_008_100_000_000, "y": 7, "q": None}]
