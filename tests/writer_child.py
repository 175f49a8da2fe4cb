"""A connector for the crash tests: ``python tests/writer_child.py URL SPOOL START MODE [END]``.

It opens a writer on SPOOL and writes point after point from index START, at a steady pace. Every
few dozen points it calls ``sync()`` and prints ``synced N``: every index below N is on disk. MODE
``run`` goes on until the process is killed; MODE ``final`` writes up to END, flushes, and prints
``flushed``. The points (see :func:`expected`) let the parent check every value exactly, and the tag
``order`` rewrites the same timestamps again and again, so that only delivery in write order leaves
the last value written at each.
"""

from __future__ import annotations

import sys
import time

BASE = 1_600_000_000_000_000
TAGS = 5
#: The tag "order" reuses its timestamps every ORDER_CYCLE indices.
ORDER_CYCLE = 300
SYNC_EVERY = 40


def expected(index: int) -> tuple[str, int, float]:
    """The (tag, x, y) of the unique point written at ``index``."""
    return f"k{index % TAGS}", BASE + index, index * 0.25 + 0.125


def main() -> None:
    url, spool, start, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    end = int(sys.argv[5]) if mode == "final" else sys.maxsize

    from data_interaction_client import DataInteractionClient

    with (
        DataInteractionClient(url, max_retries=0) as client,
        client.writer(spool=spool, batch_points=200, flush_interval=0.05, max_retry_delay=0.2) as writer,
    ):
        print("ready", flush=True)
        index = start
        while index < end:
            tag, x, y = expected(index)
            writer.write(tag, x, y)
            writer.write("order", BASE + index % ORDER_CYCLE, index)
            index += 1
            if index % SYNC_EVERY == 0 or index == end:
                writer.sync(timeout=60)
                print(f"synced {index}", flush=True)
                time.sleep(0.002)
        writer.flush(timeout=120)
        print("flushed", flush=True)


if __name__ == "__main__":
    main()
