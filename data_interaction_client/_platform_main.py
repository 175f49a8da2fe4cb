"""The ``data-interaction-platform`` command, or one line naming the extra it needs.

The reference platform's modules cannot be imported without the ``platform`` extra: this launcher
lives outside them, so that a missing extra ends in ``error: ...`` and status 1, not a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reference platform's command line; 1 when the ``platform`` extra is missing."""
    try:
        from data_interaction_client.emulator.__main__ import main as serve
    except ImportError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return serve(argv)
