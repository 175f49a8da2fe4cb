"""``connect SOURCE``: the state of a data source and its tags with their attributes."""

from __future__ import annotations

from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from data_interaction_client import DataSourceNotActiveError

from ._files import tag_text
from ._output import display_text, echo_json
from ._params import GlobalOptions

__all__ = ["connect"]


def _json_attributes(attributes: Any) -> dict[str, Any]:
    return dict(attributes.items())


@click.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def connect(options: GlobalOptions, source: str, as_json: bool) -> int:
    """The state of data source SOURCE and its tags with their attributes.

    The exit status is 1 when the source is switched off.
    """
    with options.client() as client:
        try:
            conn = client.connect(source)
        except DataSourceNotActiveError:
            if as_json:
                echo_json({"id": source, "active": False, "attributes": None, "tags": []})
            raise
    tags = [
        {
            "id": info.id.to_dict() if not isinstance(info.id, str) else info.id,
            "attributes": _json_attributes(info.attributes),
        }
        for info in conn.tags
    ]
    if as_json:
        echo_json(
            {"id": source, "active": True, "attributes": _json_attributes(conn.attributes), "tags": tags}
        )
        return 0
    console = Console(highlight=False)
    terminal = console.is_terminal  # rich only on a terminal; plain lines into a pipe or a file
    if terminal:
        console.print(f"data source {source}: [bold green]active[/], {len(tags)} tags")
    else:
        click.echo(f"data source {source}: active, {len(tags)} tags")
    config = conn.attributes.config
    if config is not None:
        line = f"configuration: {orjson.dumps(config).decode()}"
        if terminal:
            console.print(Text(line))
        else:
            click.echo(line)
    header = ("tag", "type", "scale", "max dev", "step", "source", "other attributes")
    known = {"smtTagValueTypeCode", "smtTagValueScale", "smtTagMaxDev", "smtTagSource", "smtStep"}
    rows = []
    for info in conn.tags:
        attributes = info.attributes
        value_type = attributes.value_type
        other = {key: value for key, value in attributes.items() if key not in known}
        rows.append(
            (
                tag_text(info.id),
                "" if value_type is None else value_type.name.lower(),
                display_text(attributes.scale),
                display_text(attributes.max_deviation),
                "yes" if attributes.step else "",
                display_text(attributes.source),
                orjson.dumps(other).decode() if other else "",
            )
        )
    if not terminal:  # tab-separated lines, nothing cut
        for row in (header, *rows):
            click.echo("\t".join(" ".join(cell.split()) for cell in row))
        return 0
    table = Table(*header)
    # A tag's path is never cut: the other columns fold first.
    table.columns[0].no_wrap = True
    table.columns[0].min_width = max((len(row[0]) for row in rows), default=3)
    for column in table.columns[1:]:
        column.overflow = "fold"
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    return 0
