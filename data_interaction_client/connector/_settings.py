"""The run's settings: the options given to ``run``, over a YAML or TOML settings file, over defaults.

A settings file (``--config FILE``) may hold, all optional:

```yaml
url: http://platform:8000          # run()'s own arguments and options, by name
token: ${PLATFORM_TOKEN}
source: "1"
spool: /var/lib/boiler/spool
poll_interval: 1
refresh_interval: 60
metrics: 127.0.0.1:9100
client: {timeout: 10}              # the client's options (DataInteractionClient's keywords)
writer: {batch_points: 5000}       # the writer's options (client.writer's keywords)
settings: {host: 10.0.0.5}         # the connector's own Settings
```

``${NAME}`` in a string value is replaced by the environment variable ``NAME`` (``${NAME:-default}``
when it may be unset); a value that is one reference alone is read as a YAML scalar, so that
``port: ${PORT}`` gives a number. Every error names the file and the key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

import attrs

from .._exceptions import InvalidInputError

__all__ = [
    "CLIENT_OPTIONS",
    "DEFAULT_OPEN_RETRY_MAX",
    "DEFAULT_REFRESH_INTERVAL",
    "DEFAULT_REOPEN_AFTER",
    "DEFAULT_SOURCE_UNHEALTHY_AFTER",
    "DEFAULT_UNHEALTHY_AFTER",
    "LOG_LEVELS",
    "RunOptions",
    "RunSettings",
    "SettingsError",
    "load_file",
    "resolve",
]

DEFAULT_REFRESH_INTERVAL = 60.0
"""Seconds between two reads of the data source's tags and state."""
DEFAULT_UNHEALTHY_AFTER = 300.0
"""Seconds the platform may be unreachable before ``/healthz`` answers 503."""
DEFAULT_SOURCE_UNHEALTHY_AFTER = 300.0
"""Seconds the link to the data source may be lost before ``/healthz`` answers 503."""
DEFAULT_REOPEN_AFTER = 3
"""Polls failing in a row after which the connector is closed and opened again."""
DEFAULT_OPEN_RETRY_MAX = 30.0
"""The longest wait, in seconds, between two tries of ``open``."""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""The levels ``log_level`` takes."""
CLIENT_OPTIONS = frozenset(
    {
        "timeout",
        "max_retries",
        "max_points_per_request",
        "total_timeout",
        "min_throughput",
        "max_response_bytes",
        "headers",
        "compress",
        "verify",
        "proxy",
    }
)
"""The client's options a settings file may give (DataInteractionClient's keywords)."""
_RUN_KEYS = (
    "url",
    "token",
    "source",
    "spool",
    "poll_interval",
    "refresh_interval",
    "close_timeout",
    "unhealthy_after",
    "source_unhealthy_after",
    "reopen_after",
    "open_retry_max",
    "log_level",
    "metrics",
    "client",
    "writer",
    "settings",
)
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class SettingsError(InvalidInputError):
    """A settings file or a run option is wrong; the message names the file and the key."""


class RunOptions(TypedDict, total=False):
    """The keyword options of ``Connector.run`` (each but ``config`` also a key of the settings file).

    An option given to ``run`` wins over the settings file, the file over the defaults.
    """

    token: str | None
    """The platform's token, sent as ``Authorization: Bearer ...``."""
    config: str | os.PathLike[str] | None
    """A YAML (``.yaml``, ``.yml``) or TOML (``.toml``) settings file, ``${VAR}`` from the environment."""
    poll_interval: float
    """Seconds between two polls; the connector's ``poll_interval`` by default."""
    refresh_interval: float
    """Seconds between two reads of the data source's state and tags (default 60)."""
    close_timeout: float
    """Seconds the writer delivers at a stop (default 10); the rest stays in the spool."""
    unhealthy_after: float
    """Seconds the platform may be unreachable before ``/healthz`` answers 503 (default 300)."""
    source_unhealthy_after: float
    """Seconds the link to the data source may be lost before ``/healthz`` answers 503 (default 300)."""
    reopen_after: int
    """Polls failing in a row after which the connector is closed and opened again (default 3; 0: never)."""
    open_retry_max: float
    """The longest wait, in seconds, between two tries of ``open`` (default 30)."""
    log_level: str
    """The level of the runtime's and the connector's (``self.log``) log lines: DEBUG, INFO (default), ..."""
    metrics: str | None
    """``"HOST:PORT"`` to serve ``/metrics`` (Prometheus) and ``/healthz`` on; none by default."""
    client: Mapping[str, Any]
    """Options of the client (``timeout``, ``max_retries``, ``verify``, ``proxy``, ...)."""
    writer: Mapping[str, Any]
    """Options of ``client.writer`` (``batch_points``, ``max_spool_bytes``, ``fsync``, ...)."""
    settings: Any
    """The connector's own settings: validated by its ``Settings`` class (pydantic) when it has one."""


@attrs.frozen
class RunSettings:
    """Every setting of a run, checked."""

    url: str
    token: str | None
    source: str
    spool: str
    poll_interval: float
    refresh_interval: float
    unhealthy_after: float
    metrics: tuple[str, int] | None
    client: dict[str, Any]
    writer: dict[str, Any]
    settings: Any
    source_unhealthy_after: float = DEFAULT_SOURCE_UNHEALTHY_AFTER
    reopen_after: int = DEFAULT_REOPEN_AFTER
    open_retry_max: float = DEFAULT_OPEN_RETRY_MAX
    log_level: str = "INFO"


def _substitute(value: Any, where: str, path: str, environ: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {
            key: _substitute(item, f"{where}.{key}" if where else str(key), path, environ)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_substitute(item, f"{where}[{index}]", path, environ) for index, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match[1], match[2]
        found = environ.get(name)
        if found is None:
            if default is None:
                raise SettingsError(
                    f"{path}: {where}: the environment variable {name} is not set "
                    f"(or give a default: ${{{name}:-value}})"
                )
            return default
        return found

    whole = _REFERENCE.fullmatch(value)
    text = _REFERENCE.sub(replace, value)
    if whole is not None:
        import yaml

        try:
            scalar = yaml.safe_load(text) if text.strip() else text
        except yaml.YAMLError:
            return text
        return scalar if isinstance(scalar, str | int | float | bool) else text
    return text


def load_file(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read a YAML (``.yaml``, ``.yml``) or TOML (``.toml``) settings file, ``${VAR}`` substituted."""
    name = os.fspath(path)
    environ = os.environ if environ is None else environ
    suffix = Path(name).suffix.lower()
    try:
        raw = Path(name).read_bytes()
    except OSError as exc:
        raise SettingsError(f"{name}: cannot read the settings file: {exc.strerror or exc}") from None
    if suffix == ".toml":
        try:
            document: Any = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{name}: not valid TOML: {exc}") from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            document = yaml.safe_load(raw) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{name}: not valid YAML: {' '.join(str(exc).split())}") from None
    else:
        raise SettingsError(f"{name}: a settings file is YAML (.yaml, .yml) or TOML (.toml)")
    if not isinstance(document, Mapping):
        raise SettingsError(
            f"{name}: the settings file holds a mapping of keys, not {type(document).__name__}"
        )
    unknown = sorted(str(key) for key in document if key not in _RUN_KEYS)
    if unknown:
        raise SettingsError(
            f"{name}: unknown key {', '.join(map(repr, unknown))}; the keys are {', '.join(_RUN_KEYS)}"
        )
    result: dict[str, Any] = _substitute(document, "", name, environ)
    return result


def _seconds(key: str, value: object, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SettingsError(f"{where}{key} must be a number of seconds > 0, not {value!r}")
    return float(value)


def _address(value: object, where: str) -> tuple[str, int]:
    text = str(value)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise SettingsError(f"{where}metrics must be HOST:PORT (e.g. 127.0.0.1:9100), not {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _mapping(key: str, value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsError(f"{where}{key} must be a mapping of options, not {value!r}")
    return dict(value)


def resolve(
    *,
    url: str | None,
    source: str | None,
    spool: str | os.PathLike[str] | None,
    options: Mapping[str, Any],
    poll_interval: float,
    settings_model: type[Any] | None,
    environ: Mapping[str, str] | None = None,
    default_url: str | None = None,
) -> RunSettings:
    """The settings of a run: ``options`` (and the arguments) over the settings file over defaults."""
    unknown = sorted(set(options) - set(RunOptions.__annotations__))
    if unknown:
        raise SettingsError(
            f"unknown run option {', '.join(map(repr, unknown))}; the options are "
            f"{', '.join(sorted(RunOptions.__annotations__))}"
        )
    config = options.get("config")
    values: dict[str, Any] = {}
    where = ""
    if config is not None:
        values = load_file(config, environ)
        where = f"{os.fspath(config)}: "
    given = {key: value for key, value in options.items() if key != "config" and value is not None}
    for key in ("url", "source", "spool"):
        argument = {"url": url, "source": source, "spool": spool}[key]
        if argument is not None:
            given[key] = argument
    merged = {**values, **given}
    if merged.get("url") is None and default_url is not None:
        merged["url"] = default_url

    # A key that came from the file is named with the file; one given to run() by its name alone.
    def at(key: str) -> str:
        return where if key in values and key not in given else ""

    for key in ("url", "source", "spool"):
        if merged.get(key) in (None, ""):
            raise SettingsError(
                f"{key} is not given: pass {key}=... to run(), or give it in the settings file"
            )
    token = merged.get("token")
    if token is not None and not isinstance(token, str):
        raise SettingsError(f"{at('token')}token must be a string")
    connector_settings = merged.get("settings")
    if settings_model is not None and not isinstance(connector_settings, settings_model):
        import pydantic

        try:
            connector_settings = settings_model.model_validate(connector_settings or {})
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"settings.{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
            )
            raise SettingsError(f"{at('settings')}{problems}") from None
    writer = _mapping("writer", merged.get("writer"), at("writer"))
    if "close_timeout" in merged:
        writer["close_timeout"] = merged["close_timeout"]
    client = _mapping("client", merged.get("client"), at("client"))
    bad = sorted(set(client) - CLIENT_OPTIONS)
    if bad:
        raise SettingsError(
            f"{at('client')}client: unknown option {', '.join(map(repr, bad))}; "
            f"the options are {', '.join(sorted(CLIENT_OPTIONS))}"
        )
    metrics = merged.get("metrics")
    reopen_after = merged.get("reopen_after", DEFAULT_REOPEN_AFTER)
    if isinstance(reopen_after, bool) or not isinstance(reopen_after, int) or reopen_after < 0:
        raise SettingsError(
            f"{at('reopen_after')}reopen_after must be a whole number of polls >= 0 (0: never), "
            f"not {reopen_after!r}"
        )
    log_level = merged.get("log_level", "INFO")
    if not isinstance(log_level, str) or log_level.upper() not in LOG_LEVELS:
        raise SettingsError(
            f"{at('log_level')}log_level must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}"
        )
    return RunSettings(
        url=str(merged["url"]),
        token=token or None,
        source=str(merged["source"]),
        spool=os.fspath(merged["spool"]),
        poll_interval=_seconds(
            "poll_interval", merged.get("poll_interval", poll_interval), at("poll_interval")
        ),
        refresh_interval=_seconds(
            "refresh_interval",
            merged.get("refresh_interval", DEFAULT_REFRESH_INTERVAL),
            at("refresh_interval"),
        ),
        unhealthy_after=_seconds(
            "unhealthy_after", merged.get("unhealthy_after", DEFAULT_UNHEALTHY_AFTER), at("unhealthy_after")
        ),
        metrics=None if metrics in (None, "") else _address(metrics, at("metrics")),
        client=client,
        writer=writer,
        settings=connector_settings,
        source_unhealthy_after=_seconds(
            "source_unhealthy_after",
            merged.get("source_unhealthy_after", DEFAULT_SOURCE_UNHEALTHY_AFTER),
            at("source_unhealthy_after"),
        ),
        reopen_after=reopen_after,
        open_retry_max=_seconds(
            "open_retry_max", merged.get("open_retry_max", DEFAULT_OPEN_RETRY_MAX), at("open_retry_max")
        ),
        log_level=log_level.upper(),
    )
