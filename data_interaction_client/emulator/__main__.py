"""Command line: ``python -m data_interaction_client.emulator --port 8000 --db platform.db``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette

from ._app import create_app
from ._config import EXAMPLE_CONFIG_PATH
from ._faults import Faults
from ._server import install_log_filter


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m data_interaction_client.emulator",
        description="Serve the reference platform: a stateful implementation of openapi.yaml.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument(
        "--db", default="platform.db", help="SQLite file of the points, or :memory: (default: %(default)s)"
    )
    parser.add_argument(
        "--config",
        default=None,
        help=f"YAML or JSON file of the data sources (default: {EXAMPLE_CONFIG_PATH.name})",
    )
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' on every call")
    faults = parser.add_argument_group("fault injection (off by default; also POST /_emulator/faults)")
    faults.add_argument("--error-rate", type=float, default=0.0, help="share of calls answering an error")
    faults.add_argument("--error-status", type=int, default=503, help="status of those errors (default: 503)")
    faults.add_argument("--retry-after", type=float, default=None, help="Retry-After seconds sent with them")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    faults.add_argument("--drop-rate", type=float, default=0.0, help="share of calls whose connection drops")
    faults.add_argument(
        "--html-rate", type=float, default=0.0, help="share of calls answering a proxy's HTML 502"
    )
    faults.add_argument("--seed", type=int, default=None, help="seed of the fault draws")
    parser.add_argument("--log-level", default="info", help="uvicorn's log level (default: %(default)s)")
    return parser.parse_args(argv)


def build_app(args: argparse.Namespace) -> Starlette:
    """Build the application the command line describes."""
    faults = Faults(
        error_rate=args.error_rate,
        error_status=args.error_status,
        retry_after=args.retry_after,
        latency=args.latency,
        drop_rate=args.drop_rate,
        html_rate=args.html_rate,
        seed=args.seed,
    )
    return create_app(args.config, args.db, args.token, faults)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    args = parse_args(argv)
    try:
        app = build_app(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    install_log_filter()
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, ws="none", lifespan="off")
    app.state.platform.store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
