"""The writer takes data frames, long or wide, pandas or polars, as set_frame does."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from data_interaction_client import DataInteractionClient, InvalidPointError
from data_interaction_client.emulator import RunningPlatform

B = 1_714_557_600_000_000


def test_long_and_wide_frames_reach_the_platform(
    reference_platform: RunningPlatform, tmp_path: object
) -> None:
    long = pd.DataFrame(
        {"tag": ["wf.a", "wf.b", "wf.a"], "x": [B, B, B + 1], "y": [1.5, 2.5, 3.5], "q": [0, 0, 192]}
    )
    wide = pl.DataFrame({"x": [B + 10, B + 11], "wf.c": [1.0, 2.0], "wf.d": [3.0, 4.0]})
    with DataInteractionClient(reference_platform.url) as client, client.writer() as writer:
        assert writer.write_frame(long) == 3
        assert writer.write_frame(wide, form="wide") == 4
        writer.flush(timeout=30)
    assert reference_platform.stored_points("wf.a") == [
        {"x": B, "y": 1.5, "q": 0},
        {"x": B + 1, "y": 3.5, "q": 192},
    ]
    assert reference_platform.stored_points("wf.b") == [{"x": B, "y": 2.5, "q": 0}]
    assert [p["y"] for p in reference_platform.stored_points("wf.d")] == [3.0, 4.0]


def test_a_bad_row_keeps_nothing_of_the_frame(reference_platform: RunningPlatform) -> None:
    frame = pd.DataFrame({"tag": ["wf.bad", "wf.bad"], "x": [B, -5], "y": [1.0, 2.0]})
    with DataInteractionClient(reference_platform.url) as client, client.writer() as writer:
        with pytest.raises(InvalidPointError, match=r"wf\.bad"):
            writer.write_frame(frame)
        assert writer.stats().pending_points == 0
