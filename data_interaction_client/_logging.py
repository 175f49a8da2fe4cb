"""The SDK's loggers and the environment variable that turns them on.

Every component logs to its own child of ``data_interaction_client``, so that an application can tune
each one (``logging.getLogger("data_interaction_client.writer").setLevel(logging.DEBUG)``):

```python
data_interaction_client            the parent: DATA_INTERACTION_CLIENT_LOG sets its level and handler
├── data_interaction_client.client     each request and answer (DEBUG), retries (WARNING)
├── data_interaction_client.writer     the background writer: outages, refused points, drops
├── data_interaction_client.spool      the writer's disk spool: damaged records set aside
├── data_interaction_client.cli        the command line: the traceback of an unexpected error (DEBUG)
├── data_interaction_client.connector  the connector runtime: start, pauses, the source's link, stop
└── data_interaction_client.platform   the reference platform: its store, its failures
```

The children have no handlers of their own: their records reach the parent's, and the application's.
"""

from __future__ import annotations

import logging
import os
import warnings

from ._constants import LOG_ENV_VAR

LOGGER = "data_interaction_client"
"""The loggers of the SDK's components, children of `LOGGER` (the docstring above says what each logs)."""
LOGGERS = (
    f"{LOGGER}.client",
    f"{LOGGER}.writer",
    f"{LOGGER}.spool",
    f"{LOGGER}.cli",
    f"{LOGGER}.connector",
    f"{LOGGER}.platform",
)

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def setup_logging() -> None:
    """Send the SDK's log to stderr at the level ``DATA_INTERACTION_CLIENT_LOG`` names, if it names one.

    Without the variable nothing is configured: the application's own logging settings apply.
    """
    name = os.environ.get(LOG_ENV_VAR, "").strip().lower()
    if not name:
        return
    level = _LEVELS.get(name)
    if level is None:
        warnings.warn(
            f"{LOG_ENV_VAR}={name!r} is not a level the SDK knows: use one of {', '.join(_LEVELS)}",
            stacklevel=3,
        )
        return
    logger = logging.getLogger(LOGGER)
    if not any(getattr(handler, "_data_interaction_client", False) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._data_interaction_client = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
