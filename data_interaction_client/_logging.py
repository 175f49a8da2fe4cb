"""The SDK's logger, ``data_interaction_client``, and the environment variable that turns it on."""

from __future__ import annotations

import logging
import os
import warnings

from ._constants import LOG_ENV_VAR

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
    logger = logging.getLogger("data_interaction_client")
    if not any(getattr(handler, "_data_interaction_client", False) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._data_interaction_client = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
