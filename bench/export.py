"""``python -m bench.export``: the peak memory of a long export with ``data-interaction-client get``.

It stores N points (default 10,000,000) of one tag straight into a reference platform's SQLite file,
serves that file with the reference platform in its own process, runs
``data-interaction-client get TAG --from ... --to ... -o FILE`` in another, and prints the export
process's peak resident set (``ru_maxrss`` of that child, from ``wait4``), its time and the file's
size. Options: ``--points N``, ``--format csv|jsonl|parquet``, ``--page-size N``, ``--keep DIR``.
Never fails on numbers; it checks only that every point was written.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from data_interaction_client.emulator import Store, tag_key

BASE_X = 1_600_000_000_000_000
TAG = "export.flow"
ROOT = Path(__file__).resolve().parent.parent


def fill(db: Path, points: int, step_us: int = 1_000) -> None:
    """Store ``points`` points of :data:`TAG`, ``step_us`` apart, in batches of a million."""
    with Store(str(db)) as store:
        key = tag_key(TAG)
        for start in range(0, points, 1_000_000):
            rows = (
                (BASE_X + i * step_us, repr(i * 0.5), 0) for i in range(start, min(points, start + 1_000_000))
            )
            store.write([(key, rows)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the reference platform did not start")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--format", choices=["csv", "jsonl", "parquet"], default="csv")
    parser.add_argument("--page-size", type=int, default=100_000)
    parser.add_argument("--keep", help="a folder to keep the database and the export in")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="export-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "platform.db"
    started = time.perf_counter()
    if not db.exists():
        fill(db, args.points)
    print(f"stored {args.points:,} points in {time.perf_counter() - started:.1f} s")
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "data_interaction_client.emulator",
            "--port",
            str(port),
            "--db",
            str(db),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        wait_for(port)
        out = folder / f"export.{args.format}"
        end = BASE_X + (args.points - 1) * 1_000
        command = [
            sys.executable,
            "-m",
            "data_interaction_client",
            "--url",
            f"http://127.0.0.1:{port}",
            "get",
            TAG,
            "--from",
            str(BASE_X),
            "--to",
            str(end),
            "-o",
            str(out),
            "--page-size",
            str(args.page_size),
        ]
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"the export failed (status {status})")
        lines = sum(1 for _ in out.open("rb")) - 1 if args.format == "csv" else None
        print(
            f"exported {args.points:,} points to {out.name} ({out.stat().st_size / 2**20:,.0f} MiB) in "
            f"{seconds:.1f} s ({args.points / seconds:,.0f} points/s); peak resident set of the export "
            f"process: {usage.ru_maxrss / 1024:,.0f} MiB (page size {args.page_size:,})"
        )
        if lines is not None and lines != args.points:
            raise SystemExit(f"the file has {lines:,} points, not {args.points:,}")
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if not args.keep:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


if __name__ == "__main__":
    main()
