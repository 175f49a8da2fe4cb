"""Peak memory of one side of one scenario, in a fresh process: ``python -m bench._memory ...``.

Prints a JSON object: ``peak_kib`` (the peak resident set of the whole process, data included:
``VmHWM``, or ``ru_maxrss`` where there is no /proc; ``ru_maxrss`` alone is not used on Linux because a
forked child starts from its parent's high-water mark) and ``step_kib`` (how far the resident set
rose above its size just before the timed step: ``VmHWM`` reset with ``/proc/self/clear_refs``).
"""

from __future__ import annotations

import gc
import resource
import sys
from pathlib import Path

import orjson

from ._scenarios import Bench, Sizes

_STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_high_water_mark() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main() -> None:
    """Run ``scenario`` for ``side`` once and print its memory."""
    url, scenario, side, quick = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "quick"
    bench = Bench(url, Sizes.quick() if quick else Sizes())
    run = bench.runner(scenario, side)
    gc.collect()
    setup_peak = _status_kib("VmHWM")
    before = _status_kib("VmRSS")
    reset = _reset_high_water_mark()
    seconds = run()
    high = _status_kib("VmHWM")
    if high is None or setup_peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    else:
        peak = max(high, setup_peak)
    step = high - before if reset and high is not None and before is not None else None
    bench.close()
    sys.stdout.write(orjson.dumps({"peak_kib": peak, "step_kib": step, "seconds": seconds}).decode() + "\n")


if __name__ == "__main__":
    main()
