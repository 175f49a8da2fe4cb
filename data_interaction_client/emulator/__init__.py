"""The reference platform: a faithful, stateful implementation of openapi.yaml, for tests and demos.

Install it with the ``platform`` extra (``pip install 'data-interaction-client[platform]'``) and start it
from the command line (``python -m data_interaction_client.emulator --port 8000``) or in-process:

```python
from data_interaction_client.emulator import Faults, run_platform

with run_platform(db=":memory:") as platform:
    platform.url  # "http://127.0.0.1:<free port>"
    platform.set_faults(Faults(error_rate=0.3, error_status=503, seed=1))
    platform.stored_points("temperature")  # [{"x": ..., "y": ..., "q": ...}, ...]
```

What it does:

- ``/smt/dataSources/connect``, ``/smt/data/set`` and ``/smt/data/get`` as the contract says, every answer
  with the ``error`` envelope; an unknown data source answers 404.
- Data sources and their tags come from a YAML or JSON file (``EXAMPLE_CONFIG_PATH`` when none is given).
- **Any tag id is accepted** by ``set`` and ``get``, declared in the configuration or not: the platform
  family stores any tag. A tag declared with ``smtStep: true`` is a step tag (no interpolation).
- Points are stored in SQLite (a file survives a restart; ``":memory:"`` does not): one row per
  (tag, x), the last write wins, one transaction per write; write time does not depend on the size of
  the values stored.
- Every body is validated against the contract's schemas, read from openapi.yaml itself; a bad body
  answers 422 with a message naming the field (``body.data[0].data[3].x: ...``) and stores nothing.
  Numbers beyond a double (``1e400``) and values nested deeper than
  [`MAX_DEPTH`][data_interaction_client.emulator.MAX_DEPTH] are refused too.
- A body larger than ``max_body_size`` (default
  [`DEFAULT_MAX_BODY_SIZE`][data_interaction_client.emulator.DEFAULT_MAX_BODY_SIZE]), before or after gzip
  decompression, answers 413; a body within it costs a small multiple of its size in memory.
- ``get`` follows the history rules of the platform family (see `_history`); its points come as
  ``{x, y, q}`` objects, or as ``[y, x, q]`` arrays with ``point_form="array"``; ``exceed`` only when
  the request had ``maxCount`` (or when it is true), as in the platform family.
- An optional bearer token (401 without it, checked before anything else) and fault injection (errors,
  latency, dropped connections, a proxy's HTML page), off by default; at run time through
  [`RunningPlatform.set_faults`][data_interaction_client.emulator.RunningPlatform.set_faults] or
  ``POST /_emulator/faults`` with a JSON object of [`Faults`][data_interaction_client.emulator.Faults] fields.
- Stopping (Ctrl-C, SIGTERM, leaving [`run_platform`][data_interaction_client.emulator.run_platform]) takes a
  few seconds at most, whatever runs: a write still running after
  [`STOP_GRACE`][data_interaction_client.emulator.STOP_GRACE] seconds rolls back.
- Data sources changed at run time (switched off and on, tags added or removed), for connectors'
  tests: [`RunningPlatform.set_source`][data_interaction_client.emulator.RunningPlatform.set_source] or
  ``POST /_emulator/sources/{id}`` with ``{"attributes": {...}, "tags": [...]}`` (attributes merged,
  tags replaced; ``GET`` shows it).
"""

from __future__ import annotations

try:
    import jsonschema  # type: ignore[import-untyped]  # noqa: F401
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
    import yaml  # noqa: F401
except ImportError as _missing:  # pragma: no cover - depends on the installed extras
    # name=__name__: `python -m data_interaction_client.emulator` then prints this in one line.
    raise ImportError(
        "the reference platform needs the 'platform' extra: pip install 'data-interaction-client[platform]'",
        name=__name__,
    ) from _missing

from ._app import POINT_FORMS, PlatformState, PointForm, create_app
from ._body import DEFAULT_MAX_BODY_SIZE
from ._config import EXAMPLE_CONFIG_PATH, ConfigError, DataSource, PlatformConfig, load_config, tag_key
from ._faults import Faults
from ._history import GRID_LIMIT
from ._json import MAX_DEPTH
from ._server import STOP_GRACE, PlatformServer, RunningPlatform, run_platform
from ._spec import find_spec_path
from ._store import Store, StoreClosed, StoreError

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "EXAMPLE_CONFIG_PATH",
    "GRID_LIMIT",
    "MAX_DEPTH",
    "POINT_FORMS",
    "STOP_GRACE",
    "ConfigError",
    "DataSource",
    "Faults",
    "PlatformConfig",
    "PlatformServer",
    "PlatformState",
    "PointForm",
    "RunningPlatform",
    "Store",
    "StoreClosed",
    "StoreError",
    "create_app",
    "find_spec_path",
    "load_config",
    "run_platform",
    "tag_key",
]
