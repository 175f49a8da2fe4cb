"""``data-interaction-client run package.module:Connector``: run a connector until SIGINT or SIGTERM."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from ._params import GlobalOptions

__all__ = ["run_command"]


def load_target(target: str) -> Any:
    """The connector class ``package.module:Name`` names (the current directory is importable)."""
    module_name, sep, name = target.partition(":")
    if not sep or not module_name or not name:
        raise click.BadParameter(f"{target!r} is not package.module:Class", param_hint="TARGET")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name!r}: {exc}", param_hint="TARGET") from None
    found: Any = module
    for part in name.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise click.BadParameter(f"module {module_name!r} has no {name!r}", param_hint="TARGET")
    from data_interaction_client.connector import Connector

    if not isinstance(found, type) or not issubclass(found, Connector):
        raise click.BadParameter(f"{target} is not a Connector class", param_hint="TARGET")
    return found


def _given(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT


@click.command("run")
@click.argument("target")
@click.option("--source", help="The data source's id (or 'source' in the settings file).")
@click.option(
    "--spool", type=click.Path(file_okay=False), help="The writer's spool directory (or 'spool' in the file)."
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="A YAML or TOML settings file (${VAR} replaced from the environment).",
)
@click.option("--metrics", metavar="HOST:PORT", help="Serve /metrics (Prometheus) and /healthz there.")
@click.option("--poll-interval", type=click.FloatRange(min=0, min_open=True), help="Seconds between polls.")
@click.option(
    "--refresh-interval",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds between two reads of the data source's tags and state (default 60).",
)
@click.option(
    "--close-timeout",
    type=click.FloatRange(min=0),
    help="Seconds spent delivering at a stop (default 10); the rest stays in the spool.",
)
@click.option(
    "--source-unhealthy-after",
    type=click.FloatRange(min=0, min_open=True),
    metavar="S",
    help="Seconds the link to the data source may be lost before /healthz says 503 (default 300).",
)
@click.option(
    "--reopen-after",
    type=click.IntRange(min=0),
    metavar="N",
    help="Close and open the connector again after N polls failing in a row (default 3; 0: never).",
)
@click.option(
    "--open-retry-max",
    type=click.FloatRange(min=0, min_open=True),
    metavar="S",
    help="The longest wait between two tries of open() (default 30).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
    help="The level of the runtime's and the connector's own (self.log) log lines (default INFO).",
)
@click.pass_context
def run_command(
    ctx: click.Context,
    target: str,
    source: str | None,
    spool: str | None,
    config: str | None,
    metrics: str | None,
    poll_interval: float | None,
    refresh_interval: float | None,
    close_timeout: float | None,
    source_unhealthy_after: float | None,
    reopen_after: int | None,
    open_retry_max: float | None,
    log_level: str | None,
) -> int:
    """Run the connector TARGET (package.module:Class) until SIGINT or SIGTERM.

    It polls the equipment, feeds data source --source through the spool, follows the platform's
    tags, resumes from the spool after a restart, and stops cleanly (exit 0). Exit status 1 when
    the connector cannot open.
    """
    try:
        import data_interaction_client.connector  # noqa: F401
    except ImportError as exc:
        raise click.UsageError(
            f"run needs the 'connector' extra: pip install 'data-interaction-client[connector]' ({exc})"
        ) from None
    connector = load_target(target)
    global_options: GlobalOptions = ctx.obj
    parent = ctx.parent
    assert parent is not None
    options: dict[str, Any] = {
        "config": config,
        "metrics": metrics,
        "poll_interval": poll_interval,
        "refresh_interval": refresh_interval,
        "close_timeout": close_timeout,
        "source_unhealthy_after": source_unhealthy_after,
        "reopen_after": reopen_after,
        "open_retry_max": open_retry_max,
        "log_level": log_level,
    }
    if global_options.token is not None:
        options["token"] = global_options.token
    client: dict[str, Any] = {}
    if _given(parent, "timeout"):
        client["timeout"] = global_options.timeout
    if _given(parent, "retries"):
        client["max_retries"] = global_options.retries
    if client:
        options["client"] = client
    from data_interaction_client.connector._connector import run_connector
    from data_interaction_client.connector._settings import resolve

    run_settings = resolve(
        url=global_options.url if _given(parent, "url") else None,
        source=source,
        spool=spool,
        options={key: value for key, value in options.items() if value is not None},
        poll_interval=connector.poll_interval,
        settings_model=getattr(connector, "Settings", None),
        default_url=global_options.url,
    )
    instance = connector()
    instance.settings = run_settings.settings
    run_connector(instance, run_settings)
    return 0
