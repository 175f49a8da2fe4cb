"""The command line, ``data-interaction-client`` (also ``python -m data_interaction_client``).

It needs the ``cli`` extra (``pip install 'data-interaction-client[cli]'``): click parses the command
line and rich draws tables and progress bars. ``data-interaction-client --help`` lists the commands:
``connect``, ``send``, ``get``, ``run`` (a connector), ``spool inspect`` and ``spool salvage``, and
``platform serve``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        from ._app import run
    except ImportError as exc:  # click or rich is missing
        sys.stderr.write(
            "error: the command line needs the 'cli' extra: "
            f"pip install 'data-interaction-client[cli]' ({exc})\n"
        )
        return 1
    return run(argv)
