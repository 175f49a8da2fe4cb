"""Command line: ``data-interaction-platform --port 8000 --db platform.db``.

The same as ``python -m data_interaction_client.emulator``. Bad settings end in one line
``error: ...`` and exit status 2; Ctrl-C or SIGTERM stop the platform within a few seconds (see
`_server`) and exit 0.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from starlette.applications import Starlette

from ._app import POINT_FORMS, PlatformState, create_app
from ._body import DEFAULT_MAX_BODY_SIZE
from ._config import EXAMPLE_CONFIG_PATH
from ._faults import Faults
from ._server import PlatformServer, install_log_filter, listen, server_config
from ._store import StoreError

PROG = "data-interaction-platform"
TOKEN_ENV = "DATA_INTERACTION_PLATFORM_TOKEN"
"""The environment variable the token is read from when neither --token nor --token-file is given."""
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
"""uvicorn's log levels."""
_SIZE = re.compile(r"(?P<number>[0-9]+)\s*(?P<unit>[kmg]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument ends in one line ``error: ...`` (no usage block), status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return int(text)


def _size(text: str) -> int:
    match = _SIZE.fullmatch(text.strip())
    size = int(match["number"]) * _UNITS[match["unit"].lower()] if match else 0
    if size < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: a positive number of bytes, or with K, M or G (e.g. 64M)"
        )
    return size


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = _Parser(
        prog=PROG,
        description=(
            "Serve the reference platform: a stateful implementation of openapi.yaml "
            "(also: python -m data_interaction_client.emulator)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on (default: %(default)s)")
    parser.add_argument(
        "--db",
        default="platform.db",
        help="SQLite file of the points, kept between runs, or :memory: (default: %(default)s)",
    )
    parser.add_argument(
        "--config",
        default=None,
        help=f"YAML or JSON file of the data sources (default: the shipped {EXAMPLE_CONFIG_PATH.name})",
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--token",
        default=None,
        help=(
            "require 'Authorization: Bearer TOKEN' on every call "
            f"(shows in ps: prefer --token-file or {TOKEN_ENV})"
        ),
    )
    token.add_argument(
        "--token-file",
        default=None,
        metavar="PATH",
        help="read the token from this file (a final newline is dropped)",
    )
    parser.add_argument(
        "--max-body-size",
        type=_size,
        default=DEFAULT_MAX_BODY_SIZE,
        metavar="SIZE",
        help="largest request body, before and after gzip: bytes, or with K, M, G (default: 64M)",
    )
    parser.add_argument(
        "--point-form",
        choices=POINT_FORMS,
        default="object",
        help="get_data points as {x, y, q} objects or as [y, x, q] arrays (default: %(default)s)",
    )
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
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="uvicorn's log level (default: %(default)s)"
    )
    return parser.parse_args(argv)


def resolve_token(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ
) -> tuple[str | None, str]:
    """The token to require and where it came from: --token, --token-file, the environment, or none."""
    if args.token is not None:
        return args.token, "--token"
    if args.token_file is not None:
        path = Path(args.token_file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise ValueError(f"cannot read the token file {str(path)!r}: {exc}") from None
        return text.rstrip("\r\n"), f"--token-file {path}"
    if environ.get(TOKEN_ENV):
        return environ[TOKEN_ENV], TOKEN_ENV
    return None, ""


def build_app(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> Starlette:
    """Build the application the command line describes (``app.state.token_source``: the token's origin)."""
    faults = Faults(
        error_rate=args.error_rate,
        error_status=args.error_status,
        retry_after=args.retry_after,
        latency=args.latency,
        drop_rate=args.drop_rate,
        html_rate=args.html_rate,
        seed=args.seed,
    )
    token, source = resolve_token(args, environ)
    app = create_app(
        args.config,
        args.db,
        token,
        faults,
        max_body_size=args.max_body_size,
        point_form=args.point_form,
    )
    app.state.token_source = source
    return app


def _size_text(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def summary(args: argparse.Namespace, app: Starlette, address: tuple[str, int]) -> str:
    """What the platform serves, in a few lines: address, database, configuration, token, data sources."""
    state: PlatformState = app.state.platform
    host, port = address
    shown = f"[{host}]" if ":" in host else host
    lines = [f"Reference platform on http://{shown}:{port}"]
    if args.db == ":memory:":
        lines.append("  database:  in memory: nothing is kept after it stops")
    else:
        count = state.store.count()
        kept = f"{count:,} points from earlier runs" if count else "empty"
        lines.append(
            f"  database:  {Path(args.db).resolve()} ({kept}; points are kept between runs, "
            "--db :memory: keeps nothing)"
        )
    config = Path(args.config).resolve() if args.config else f"{EXAMPLE_CONFIG_PATH} (the shipped example)"
    lines.append(f"  config:    {config}")
    source = app.state.token_source
    lines.append(
        f"  token:     required (from {source})"
        if source
        else "  token:     none: anyone who can reach this address can read and write"
    )
    for source_id, data_source in state.config.data_sources.items():
        status = "active" if data_source.active else "inactive"
        count = len(data_source.tags)
        lines.append(f'  data source "{source_id}": {status}, {count} tag{"s" if count != 1 else ""}')
    lines.append(
        f"  requests up to {_size_text(state.max_body_size)}; get_data answers points as "
        f"{'[y, x, q] arrays' if state.point_form == 'array' else '{x, y, q} objects'}"
    )
    lines.append("Stop with Ctrl-C.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM); 2 for bad settings."""
    try:
        return _serve(parse_args(argv))
    except KeyboardInterrupt:  # Ctrl-C before the server took over the signals
        return 130


def _serve(args: argparse.Namespace) -> int:
    try:
        app = build_app(args)
    except (ValueError, OSError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state: PlatformState = app.state.platform
    try:
        try:
            sock = listen(args.host, args.port)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(summary(args, app, sock.getsockname()[:2]), flush=True)
        install_log_filter()
        server = PlatformServer(server_config(app, log_level=args.log_level), state)
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
    finally:
        state.store.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
