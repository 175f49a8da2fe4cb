"""The commands of ``data-interaction-client``: click for parsing, rich for tables and progress.

Every command talks to the platform through the package's public API only, as a user's script would.
Errors are one line on standard error (``error: ...``); the exit status is 2 for a usage error (a bad
option, time, file name or tag id), 1 for a call or a file that failed, 0 otherwise; ``--debug``
adds the traceback. The token is never printed.

This module is the root group, with the global options (`GlobalOptions`), and `run`, which turns
each error into its line and exit status; each command lives in a module of its own (``_connect``,
``_send``, ``_get``, ``_run``, ``_spool``, ``_platform``).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import click

from data_interaction_client import (
    AuthenticationError,
    DataInteractionError,
    InvalidInputError,
    __version__,
)

from ._connect import connect
from ._files import FileError
from ._get import get
from ._params import DEFAULT_URL, PROG, TOKEN_ENV, URL_ENV, CliError, GlobalOptions
from ._platform import platform
from ._run import run_command
from ._send import send
from ._spool import spool

__all__ = ["cli", "run"]

log = logging.getLogger("data_interaction_client.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--url",
    envvar=URL_ENV,
    default=DEFAULT_URL,
    show_default=True,
    show_envvar=True,
    help="The platform's address.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    default=None,
    show_envvar=True,
    help="Bearer token, never printed (the variable or --token-file keep it out of the shell's history).",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Read the token from this file.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds per request attempt.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Retries after a connection error, a timeout, HTTP 408, 429 or 5xx.",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.version_option(__version__, prog_name=PROG)
@click.pass_context
def cli(
    ctx: click.Context,
    url: str,
    token: str | None,
    token_file: str | None,
    timeout: float,
    retries: int,
    debug: bool,
) -> None:
    """Talk to the industrial data platform: connect a source, send files of points, read history."""
    if token_file is not None:
        if ctx.get_parameter_source("token") == click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("give --token or --token-file, not both")
        token = Path(token_file).read_text(encoding="utf-8").strip()
        if not token:
            raise click.BadParameter("the file is empty", param_hint="'--token-file'")
    ctx.obj = GlobalOptions(url=url, token=token or None, timeout=timeout, retries=retries, debug=debug)


# Each command lives in a module of its own; click lists them in alphabetical order.
cli.add_command(connect)
cli.add_command(send)
cli.add_command(get)
cli.add_command(run_command)  # the connector runtime
cli.add_command(spool)  # spool inspect, spool salvage
cli.add_command(platform)  # platform serve


def _auth_message(error: AuthenticationError) -> str:
    """A 401 in the command line's words: the token comes from --token-file or the variable."""
    text = str(error)
    hint = type(error).hint
    if hint:
        text = text.replace(f" ({hint})", "")
    return (
        f"{text} (give the platform's token with --token-file FILE or the variable {TOKEN_ENV}, "
        "or check the one given)"
    )


def _fail(message: str, exit_code: int, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    return exit_code


# click >= 8.2 raises this for a group run without a command; older versions print the help themselves.
_NO_ARGS: Final[Any] = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args[: args.index("--")] if "--" in args else "--debug" in args
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except _NO_ARGS as exc:  # a group given no command: its help, as click shows it
        sys.stderr.write(exc.ctx.get_help() + "\n" if exc.ctx is not None else str(exc))
        return 2
    except click.UsageError as exc:
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _fail(exc.format_message() + where, 2, debug)
    except click.Abort:
        return _fail("interrupted", 130, debug)
    except KeyboardInterrupt:
        return _fail("interrupted", 130, debug)
    except CliError as exc:
        return _fail(str(exc), exc.exit_code, debug)
    except InvalidInputError as exc:
        return _fail(str(exc), 2, debug)
    except AuthenticationError as exc:
        return _fail(_auth_message(exc), 1, debug)
    except (DataInteractionError, FileError) as exc:
        return _fail(str(exc), 1, debug)
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{name}{exc.strerror or exc}", 1, debug)
    except SystemExit as exc:  # the reference platform's own argument parser
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:
        log.debug("the command line failed unexpectedly", exc_info=True)
        hint = "" if debug else " (--debug shows the traceback)"
        return _fail(f"unexpected {type(exc).__name__}: {exc}{hint}", 1, debug)
    return result if isinstance(result, int) else 0
