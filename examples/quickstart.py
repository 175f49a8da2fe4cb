"""Quick start: the original client's scenario, end to end.

Runs against the platform at ``$PLATFORM_URL`` when it is set; otherwise it starts the embedded
reference platform on a free local port (``make demo`` does that) and stops it at the end.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from typing import Any

from DataInteractionClient import DataInteractionClient


def show(title: str, rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> None:
    """Print rows as a small aligned table."""
    cells = [tuple(str(cell) for cell in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  " + "  ".join("-" * width for width in widths))


def tag_name(tag_id: str | dict[str, str]) -> str:
    """A tag id as the platform writes it, as text: a name, or ``parent/name``."""
    return tag_id if isinstance(tag_id, str) else f"{tag_id['parentObjectId']}/{tag_id['tagName']}"


def main() -> None:
    with ExitStack() as stack:
        base_url = os.environ.get("PLATFORM_URL")
        if not base_url:
            from data_interaction_client.emulator import run_platform

            base_url = stack.enter_context(run_platform(db=":memory:")).url
            print(f"Started the reference platform at {base_url}")

        # The original README's scenario, call for call.
        client = stack.enter_context(DataInteractionClient(base_url))
        conn = client.connect("1")
        tags = client.create_tags(conn["tags"])
        for i, tag in enumerate(tags):
            tag.update(
                [
                    {"x": f"2018-06-26 1{i}:15:00", "y": 1},
                    {"x": f"2018-06-26 1{i}:15:01", "y": 2},
                ]
            )
        sent = [(tag.id, point["x"], point["y"]) for tag in tags for point in tag.points]
        client.set_data(tags)
        req_data = client.create_request_data(tag_id=[tag.id for tag in tags])
        req_data.update(from_time=100, to_time=1000000, max_count=100, time_step=100000, format_param=True)
        original = client.get_data(req_data)["data"]  # the platform's answer, as the original returned it

        # And the period that was sent, stored values only, to see the round trip.
        req_data.update(
            from_time="2018-06-26 10:00:00", to_time="2018-06-26 15:00:00", time_step=None, actual=True
        )
        round_trip = client.get_data(req_data)["data"]

    show("Sent with set_data", sent, ("tag", "x", "y"))
    show(
        "Read back with the original request (from 100 to 1000000 µs, every 100000 µs)",
        [
            (h["tagId"], len(h["data"]), h["data"][0]["x"], h["data"][0]["y"], h.get("exceed"))
            for h in original
        ],
        ("tag", "points", "first x", "first y", "exceed"),
    )
    show(
        "Read back: the period sent, stored values only",
        [(tag_name(h["tagId"]), p["x"], p["y"], p.get("q")) for h in round_trip for p in h["data"]],
        ("tag", "x", "y", "q"),
    )
    read_back = sum(len(h["data"]) for h in round_trip)
    print(f"\n{len(sent)} points sent, {read_back} read back; the platform is stopped.")


if __name__ == "__main__":
    main()
