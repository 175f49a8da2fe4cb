"""``python -m bench``: the SDK against the floor (bare ``httpx`` + ``orjson``) on a local server.

Options: ``--quick`` (small sizes, one repeat: a smoke test), ``--markdown`` (the table as Markdown),
``--repeat N`` (timed runs per side, default 5), ``--only bulk,live,read,writer-live,writer-bulk,frames``.
Never fails on numbers. ``frames`` is a second table: the frame calls against the SDK's own (see
``_frames.py``); the writer's rows come with the cost of ``write()`` and its memory in an outage (see
``_writer.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ._frames import frame_rows, frame_table
from ._scenarios import SCENARIOS, SIDES, Bench, Sizes, points_of

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def server(sizes: Sizes) -> Iterator[str]:
    """Start the benchmark server in its own process; yield its URL; stop it by its pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._server", str(sizes.read_tags), str(sizes.read_points)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def machine() -> str:
    """CPU model, cores and Python version."""
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()} {platform.release()}"
    )


def import_time(module: str = "data_interaction_client", runs: int = 5) -> float:
    """Median seconds of ``import module`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, check=True).stdout)
        for _ in range(runs)
    ]
    return statistics.median(times)


def memory(url: str, scenario: str, side: str, quick: bool) -> dict[str, Any]:
    """Peak memory of one side of one scenario, measured in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench._memory", url, scenario, side, "quick" if quick else "full"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return orjson.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def writer_measure(*args: str) -> dict[str, Any]:
    """One of the writer's own measures (bench/_writer.py), in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench._writer", *args], cwd=ROOT, capture_output=True, check=True
    )
    return orjson.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = Sizes.quick() if args.quick else Sizes()
    repeat = 1 if args.quick else args.repeat
    scenarios = [name for name in SCENARIOS if name in args.only.split(",")]
    results: dict[str, Any] = {"machine": machine(), "rows": []}
    with server(sizes) as url:
        bench = Bench(url, sizes)
        results["max_points_per_request"] = bench.client.max_points_per_request
        try:
            for scenario in scenarios:
                times: dict[str, list[float]] = {side: [] for side in SIDES}
                for _ in range(repeat):
                    for side in SIDES:  # alternating SDK and floor runs
                        times[side].append(bench.runner(scenario, side)())
                row: dict[str, Any] = {"scenario": scenario, "points": points_of(scenario, sizes)}
                for side in SIDES:
                    row[side] = statistics.median(times[side])
                    row[f"{side}_all"] = times[side]
                    row[f"{side}_memory"] = memory(url, scenario, side, args.quick)
                results["rows"].append(row)
            if any(name.startswith("writer-") for name in scenarios):
                calls = 100_000 if args.quick else 1_000_000
                results["write_cost"] = writer_measure("write-cost", url, str(calls))
                results["outage_memory"] = writer_measure("outage-memory", str(calls))
                results["tag_memory"] = writer_measure("tag-memory", str(10_000 if args.quick else 100_000))
        finally:
            bench.close()
        if "frames" in args.only.split(","):
            results["frames"] = frame_rows(url, sizes, repeat)
    results["import"] = import_time()
    results["import_floor"] = import_time("httpx")  # the floor's own import, which the SDK's includes
    return results


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.0f}"


def table(results: dict[str, Any], markdown: bool) -> str:
    header = [
        "scenario",
        "points",
        "SDK s",
        "floor s",
        "floor/SDK",
        "SDK pts/s",
        "floor pts/s",
        "SDK peak MiB (step)",
        "floor peak MiB (step)",
    ]
    lines = []
    for row in results["rows"]:
        sdk, floor = row["sdk"], row["floor"]
        sdk_mem, floor_mem = row["sdk_memory"], row["floor_memory"]
        lines.append(
            [
                row["scenario"],
                f"{row['points']:,}",
                f"{sdk:.4f}",
                f"{floor:.4f}",
                f"{floor / sdk:.2f}",
                f"{row['points'] / sdk:,.0f}",
                f"{row['points'] / floor:,.0f}",
                f"{_mib(sdk_mem['peak_kib'])} (+{_mib(sdk_mem['step_kib'])})",
                f"{_mib(floor_mem['peak_kib'])} (+{_mib(floor_mem['step_kib'])})",
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(line) + " |" for line in lines]
    else:
        widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]
        out = ["  ".join(cell.rjust(width) for cell, width in zip(header, widths, strict=True))]
        out.append("  ".join("-" * width for width in widths))
        out += [
            "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in lines
        ]
    notes = [
        f"Machine: {results['machine']}",
        f"import data_interaction_client: {results['import'] * 1000:.0f} ms (median of 5 fresh interpreters;"
        f" import httpx alone: {results['import_floor'] * 1000:.0f} ms)",
        f"SDK max_points_per_request: {results['max_points_per_request']:,} (the floor sends one request)",
        "Times: median of the runs, SDK and floor alternating, same server process. Memory: one run per "
        "side in a fresh process; peak = the process's peak resident set (VmHWM, data included), step = "
        "rise of the resident set over its size just before the timed step (VmHWM reset via "
        "/proc/self/clear_refs).",
    ]
    cost, outage = results.get("write_cost"), results.get("outage_memory")
    if cost is not None:
        notes.append(
            f"Writer: write() {cost['median_us']:.2f} us per point on the caller's thread (median of "
            f"{cost['calls'] // 1000:,} blocks of 1,000 calls, spool on, sending meanwhile)."
        )
    if outage is not None:
        step = "n/a" if outage["step_kib"] is None else f"+{outage['step_kib'] / 1024:.0f} MiB"
        spool_mib = outage["spool_bytes"] / 2**20
        notes.append(
            f"Writer, platform down: {outage['pending_points']:,} points pending grew the process by "
            f"{step} (peak over the size before the writer opened); spool {spool_mib:.0f} MiB, "
            f"{outage['bytes_per_point']:.1f} bytes per point; written and synced in "
            f"{outage['seconds']:.2f} s; write() {outage['write_median_us']:.2f} us per point meanwhile "
            f"(median of blocks of 1,000; 99th percentile {outage['write_p99_block_us']:.2f} us; budget: "
            "median < 100 us, p99 < 5 ms)."
        )
        if outage["step_kib"] is not None:
            per_point = outage["step_kib"] * 1024 / max(1, outage["pending_points"])
            notes.append(
                f"Writer, per pending point: {per_point:.1f} bytes of memory (the points wait in the "
                "spool, not in memory)."
            )
    tags = results.get("tag_memory")
    if tags is not None and tags["connect_bytes_per_tag"] is not None:
        step = "n/a" if tags["step_kib"] is None else f"{tags['step_kib'] / 1024:.0f} MiB"
        notes.append(
            f"Per tag, {tags['tags']:,} tags: connect and a Tag of each {tags['connect_bytes_per_tag']:.0f} "
            f"bytes; a writer taking one point per tag and tick, platform down, "
            f"{tags['writer_bytes_per_tag']:.0f} bytes more; the process {tags['rss_kib'] / 1024:.0f} MiB "
            f"(it rose by {step} at most)."
        )
    sep = "\n\n" if markdown else "\n"
    frames = sep + frame_table(results["frames"], markdown) if results.get("frames") else ""
    return "\n".join(out) + sep + sep.join(notes) + frames


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and one repeat (smoke test)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument(
        "--only", default=",".join((*SCENARIOS, "frames")), help="scenarios to run, comma-separated"
    )
    parser.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    results = run(args)
    print(table(results, args.markdown))
    if args.json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    print(f"(benchmark took {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
