"""The frame goals: a read into a long pandas frame, and a long frame sent, against the SDK's own calls.

- ``frame_read``: ``client.get_frame(req)`` (a long pandas frame, ``x`` as UTC datetimes) against
  ``client.get_data(req)`` plus ``to_columns()`` of every history; goal: within 1.5x.
- ``frame_send``: ``client.set_frame(frame)`` of a long frame (100 tags x 10,000 rows, ``x`` as UTC
  datetimes) against ``Tag.update_columns`` of the same columns per tag plus ``set_data``; goal:
  within 1.3x.

Both sides run against the benchmark server, alternating, median of the runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from data_interaction_client import DataInteractionClient, Tag

from ._scenarios import BASE_X, Sizes

#: The goal of each scenario: the frame call's time over the baseline's, at most.
GOALS = {"frame_read": 1.5, "frame_send": 1.3}


class FrameBench:
    """The data of the frame scenarios, built before any clock starts."""

    def __init__(self, url: str, sizes: Sizes) -> None:
        import numpy as np
        import pandas as pd

        self.client = DataInteractionClient(url)
        self.ids = [f"t{t}" for t in range(sizes.read_tags)]
        self.request = self.client.create_request_data(
            self.ids, from_time=0, to_time=BASE_X * 2, max_count=sizes.read_points
        )
        self.points = sizes.read_tags * sizes.read_points
        xs = (np.arange(sizes.bulk_points, dtype=np.int64) * 1000 + BASE_X).view("datetime64[us]")
        self.columns = [(xs, np.arange(sizes.bulk_points) * 0.5 + t) for t in range(sizes.bulk_tags)]
        self.frame = pd.DataFrame(
            {
                "tag": np.repeat([f"t{t}" for t in range(sizes.bulk_tags)], sizes.bulk_points),
                "x": pd.Series(np.tile(xs, sizes.bulk_tags)).dt.tz_localize("UTC"),
                "y": np.concatenate([y for _, y in self.columns]),
                "q": 0,
            }
        )

    def close(self) -> None:
        self.client.close()

    def baseline_frame_read(self) -> float:
        started = time.perf_counter()
        columns = [history.to_columns() for history in self.client.get_data(self.request)]
        elapsed = time.perf_counter() - started
        assert sum(len(c.x) for c in columns) == self.points
        return elapsed

    def frame_frame_read(self) -> float:
        started = time.perf_counter()
        frame = self.client.get_frame(self.request)
        elapsed = time.perf_counter() - started
        assert len(frame) == self.points
        return elapsed

    def baseline_frame_send(self) -> float:
        tags = [Tag(f"t{t}") for t in range(len(self.columns))]
        started = time.perf_counter()
        for tag, (x, y) in zip(tags, self.columns, strict=True):
            tag.update_columns(x, y, q=0)
        self.client.set_data(tags)
        return time.perf_counter() - started

    def frame_frame_send(self) -> float:
        started = time.perf_counter()
        self.client.set_frame(self.frame)
        return time.perf_counter() - started


def frame_rows(url: str, sizes: Sizes, repeat: int) -> list[dict[str, Any]]:
    """Time both sides of each frame scenario, alternating; one row per scenario."""
    bench = FrameBench(url, sizes)
    rows = []
    try:
        for scenario in GOALS:
            sides: dict[str, Callable[[], float]] = {
                "baseline": getattr(bench, f"baseline_{scenario}"),
                "frame": getattr(bench, f"frame_{scenario}"),
            }
            times: dict[str, list[float]] = {side: [] for side in sides}
            for _ in range(repeat):
                for side, run in sides.items():
                    times[side].append(run())
            baseline, frame = statistics.median(times["baseline"]), statistics.median(times["frame"])
            rows.append(
                {
                    "scenario": scenario,
                    "points": bench.points if scenario == "frame_read" else len(bench.frame),
                    "frame": frame,
                    "baseline": baseline,
                    "goal": GOALS[scenario],
                }
            )
    finally:
        bench.close()
    return rows


def frame_table(rows: list[dict[str, Any]], markdown: bool) -> str:
    """The frame scenarios as a table: seconds, the ratio and its goal."""
    header = ["scenario", "points", "frame s", "baseline s", "frame/baseline", "goal"]
    lines = [
        [
            row["scenario"],
            f"{row['points']:,}",
            f"{row['frame']:.4f}",
            f"{row['baseline']:.4f}",
            f"{row['frame'] / row['baseline']:.2f}",
            f"<= {row['goal']}",
        ]
        for row in rows
    ]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(line) + " |" for line in lines]
    else:
        widths = [max(len(cell) for cell in column) for column in zip(header, *lines, strict=True)]
        out = [
            "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
            for line in [header, *lines]
        ]
    note = (
        "Frames: frame_read = get_frame (long pandas frame) against get_data + to_columns; frame_send = "
        "set_frame of a long frame against update_columns per tag + set_data (median of the runs)."
    )
    return "\n".join(out) + ("\n\n" if markdown else "\n") + note
