"""``spool salvage`` and ``spool inspect``: the points of a spool file read without a writer.

Both read through `_spool.salvage`, which never changes the file it reads. ``salvage`` puts the points
of every record whose checksum holds into a spool (its next writer delivers them) or a file of
points that ``send`` takes; ``inspect`` says what a spool directory holds.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click
import orjson

from data_interaction_client import DataInteractionError, SpoolError, TagHistory
from data_interaction_client._results import Point
from data_interaction_client._spool.contract import NewRecord
from data_interaction_client._spool.salvage import Found, SpoolReading, aside_files, read_spool_file, tag_of
from data_interaction_client._spool.sqlite import DB_NAME, LEDGER_NAME, SqliteSpool
from data_interaction_client._writer.committer import watermark_value

from ._files import FileError, format_of, tag_text
from ._history_files import open_history_file
from ._times import format_time

__all__ = ["spool"]


@click.group()
def spool() -> None:
    """Read a writer's spool: what it holds, and the points of a file set aside."""


def _read(path: str) -> SpoolReading:
    try:
        return read_spool_file(path)
    except OSError as exc:
        raise FileError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@spool.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False),
    default=None,
    help="A spool directory to put the points into: the next writer on it delivers them.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="A file of points (.csv, .jsonl or .parquet, as send takes them) to write instead.",
)
def salvage(file: str, target: str | None, output: str | None) -> int:
    """Recover the points of FILE, a spool file set aside (spool.sqlite3.corrupt-...).

    Every record of FILE whose checksum holds, pending or in its quarantine, is recovered; records
    the ledger (or the file) says were delivered are left out. Without --to or -o, it only says
    what it would recover. FILE is never changed: remove it once the points are delivered. The exit
    status is 1 when some records could not be recovered.
    """
    if target is not None and output is not None:
        raise click.UsageError("give --to SPOOL or -o FILE, not both")
    if output is not None:
        try:
            format_of(output)
        except FileError as exc:
            raise click.BadParameter(str(exc), param_hint="'--output'") from None
    if (
        target is not None
        and Path(file).name == DB_NAME
        and Path(file).resolve().parent == Path(target).resolve()
    ):
        raise click.BadParameter(
            f"{file} is the spool's own file: its writer delivers its points", param_hint="'--to'"
        )
    reading = _read(file)
    found = [*reading.pending, *reading.quarantine]
    if target is not None:
        _into_spool(found, target)
    elif output is not None:
        _into_file(found, output)
    for line in _salvage_report(reading, target, output):
        click.echo(line)
    return 1 if reading.damaged else 0


def _into_spool(found: list[Found], target: str) -> None:
    if not found:
        return
    try:
        into = SqliteSpool(target)
    except SpoolError as exc:
        raise DataInteractionError(f"{exc} (stop the writer of {target} first)") from None
    try:
        into.append([NewRecord(f.points, f.tags, f.data) for f in found])
    finally:
        into.close()


def _into_file(found: list[Found], output: str) -> None:
    history_file = open_history_file(output)
    try:
        for record in found:
            history_file.write(
                [
                    TagHistory(
                        tag_id=tag_id,
                        points=[Point(x=p["x"], y=p["y"], q=p.get("q")) for p in points],
                        exceed=False,
                    )
                    for tag_id, points in record.by_tag().items()
                ]
            )
    except BaseException:
        history_file.discard()
        raise
    history_file.close()


def _salvage_report(reading: SpoolReading, target: str | None, output: str | None) -> list[str]:
    pending = sum(f.points for f in reading.pending)
    aside = sum(f.points for f in reading.quarantine)
    where = (
        f" into the spool {target} (its next writer delivers them)"
        if target is not None
        else f" into {output}"
        if output is not None
        else " (give --to SPOOL or -o FILE to keep them)"
    )
    lines = [
        f"recovered {_plural(reading.recovered_points, 'point')}{where}: {pending:,} pending in "
        f"{_plural(len(reading.pending), 'record')}, {aside:,} from the quarantine in "
        f"{_plural(len(reading.quarantine), 'record')}",
        f"could not recover {_plural(reading.lost_points, 'point')}: "
        f"{_plural(len(reading.damaged), 'record')} damaged",
    ]
    for table, record_id, points, why in reading.damaged[:10]:
        lines.append(f"  {table} record {record_id} ({_plural(points, 'point')} by its count): {why}")
    if len(reading.damaged) > 10:
        lines.append(f"  ... and {len(reading.damaged) - 10} more")
    if reading.delivered:
        lines.append(
            f"left out {_plural(reading.delivered, 'record')} already delivered "
            f"(up to record {reading.acked}, the watermark of {reading.acked_from})"
        )
    elif reading.acked_from == "none":
        lines.append(
            "no delivery watermark survives: every record found is recovered, some may be sent twice"
        )
    return lines


@spool.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
def inspect(directory: str, as_json: bool) -> int:
    """What the spool DIRECTORY holds, without changing it.

    Pending points per tag, the quarantine, the tags' watermarks and the files set aside. A running
    writer may change the spool meanwhile: what is printed is a snapshot.
    """
    summary = _summary(directory)
    if as_json:
        click.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
        return 0
    for line in _inspect_lines(summary):
        click.echo(line)
    return 0


def _summary(directory: str) -> dict[str, Any]:
    path = os.path.join(directory, DB_NAME)
    result: dict[str, Any] = {"directory": directory}
    if os.path.exists(path):
        reading = _read(path)
        per_tag: Counter[str] = Counter()
        span: dict[str, list[Any]] = {}  # the first and the last point's x, in the order written
        for record in reading.pending:
            for tag_id, points in record.by_tag().items():
                name = tag_text(tag_id)
                per_tag[name] += len(points)
                span.setdefault(name, [points[0]["x"], None])[1] = points[-1]["x"]
        oldest = min((f.created for f in reading.pending), default=None)
        result["pending"] = {
            "points": sum(f.points for f in reading.pending),
            "records": len(reading.pending),
            "oldest_age_seconds": None if oldest is None else round(time.time() - oldest, 1),
            "tags": [
                {"tag": name, "points": count, "first_x": _x(span[name][0]), "last_x": _x(span[name][1])}
                for name, count in sorted(per_tag.items())
            ],
        }
        result["delivered_up_to"] = {"record": reading.acked, "from": reading.acked_from}
        result["quarantine"] = [
            {"record": f.id, "points": f.points, "error": f.error} for f in reading.quarantine
        ]
        result["damaged"] = [
            {"table": table, "record": record_id, "points": points, "problem": why}
            for table, record_id, points, why in reading.damaged
        ]
        result["watermarks"] = {
            tag_text(tag_of(key)): _watermark(value) for key, value in sorted(reading.watermarks.items())
        }
        result["problem"] = reading.sql_problem
    else:
        result["pending"] = None
    result["ledger"] = os.path.exists(os.path.join(directory, LEDGER_NAME))
    set_aside = []
    for aside in aside_files(directory):
        try:
            held = read_spool_file(aside.path)
            recoverable: int | None = held.recovered_points
            damaged: int | None = held.lost_points
        except OSError:
            recoverable = damaged = None
        set_aside.append(
            {
                "file": aside.path,
                "bytes": aside.size,
                "recoverable_points": recoverable,
                "damaged_points": damaged,
            }
        )
    result["set_aside"] = set_aside
    return result


def _x(value: Any) -> Any:
    return format_time(value) if type(value) is int else value


def _watermark(raw: bytes) -> Any:
    try:
        return _x(watermark_value(raw))
    except (SpoolError, orjson.JSONDecodeError):
        return raw.decode("utf-8", "replace")


def _inspect_lines(summary: dict[str, Any]) -> list[str]:
    directory = summary["directory"]
    pending = summary["pending"]
    if pending is None:
        lines = [f"spool {directory}: no spool file ({DB_NAME})"]
    else:
        age = pending["oldest_age_seconds"]
        lines = [
            f"spool {directory}: {_plural(pending['points'], 'point')} pending in "
            f"{_plural(pending['records'], 'record')}"
            + ("" if age is None else f", the oldest stored {age:g} s ago")
        ]
        for tag in pending["tags"]:
            lines.append(
                f"  {tag['tag']}: {_plural(tag['points'], 'point')}, {tag['first_x']} to {tag['last_x']}"
            )
        delivered = summary["delivered_up_to"]
        lines.append(f"delivered: records up to {delivered['record']} (the watermark of {delivered['from']})")
        quarantine = summary["quarantine"]
        held = sum(entry["points"] for entry in quarantine)
        lines.append(f"quarantine: {_plural(held, 'point')} in {_plural(len(quarantine), 'record')}")
        for entry in quarantine[:10]:
            lines.append(
                f"  record {entry['record']} ({_plural(entry['points'], 'point')}): {entry['error']}"
            )
        for entry in summary["damaged"]:
            lines.append(
                f"damaged: {entry['table']} record {entry['record']} ({_plural(entry['points'], 'point')} "
                f"by its count): {entry['problem']}"
            )
        watermarks = summary["watermarks"]
        lines.append(f"watermarks: {_plural(len(watermarks), 'tag')}")
        lines.extend(f"  {tag}: {value}" for tag, value in watermarks.items())
        if summary["problem"]:
            lines.append(f"read past damage: {summary['problem']}")
    set_aside = summary["set_aside"]
    lines.append(
        f"files set aside: {len(set_aside)}"
        + (f" (data-interaction-client spool salvage FILE --to {directory})" if set_aside else "")
    )
    for entry in set_aside:
        lines.append(
            f"  {entry['file']} ({entry['bytes']:,} bytes): {entry['recoverable_points']} points "
            f"recoverable, {entry['damaged_points']} damaged"
        )
    return lines
