"""``platform serve``: the reference platform, run from the command line."""

from __future__ import annotations

import click

from ._params import CliError

__all__ = ["platform"]


@click.group()
def platform() -> None:
    """The reference platform (needs the 'platform' extra)."""


@platform.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> int:
    """Serve the reference platform (the same as data-interaction-platform; --help for its options)."""
    try:
        from data_interaction_client.emulator.__main__ import main
    except ImportError as exc:
        raise CliError(str(exc)) from None
    return main(list(args))
