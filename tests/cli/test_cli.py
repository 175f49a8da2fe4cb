"""Every command end to end against the reference platform: output, files, exit statuses, errors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_interaction_client import DataInteractionClient, Tag, TagPath
from data_interaction_client.emulator import RunningPlatform, run_platform

from .conftest import Run

B = 1_714_557_600_000_000  # 2024-05-01T10:00:00Z
S = 1_000_000
PATH = {"tagName": "pressure", "parentObjectId": "boiler-7"}
PATH_TEXT = '{"tagName":"pressure","parentObjectId":"boiler-7"}'


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


# --- connect ---------------------------------------------------------------------------------------


def test_connect_shows_the_state_and_the_tags(run: Run) -> None:
    result = run("connect", "1")
    assert result.code == 0
    assert "data source 1: active, 5 tags" in result.out
    assert "temperature" in result.out
    assert "discrete" in result.out  # valve's value type
    assert "yes" in result.out  # valve is a step tag


def test_connect_json_is_the_platform_answer(run: Run, reference_platform: RunningPlatform) -> None:
    result = run("connect", "1", "--json")
    assert result.code == 0
    answer = json.loads(result.out)
    with DataInteractionClient(reference_platform.url) as client:
        conn = client.connect("1")
    assert answer["id"] == "1"
    assert answer["active"] is True
    assert answer["attributes"] == dict(conn.attributes)
    assert answer["tags"] == [
        {
            "id": info.id if isinstance(info.id, str) else info.id.to_dict(),
            "attributes": dict(info.attributes),
        }
        for info in conn.tags
    ]
    assert answer["tags"][1]["id"] == PATH


def test_connect_an_inactive_or_unknown_source_fails(run: Run) -> None:
    inactive = run("connect", "2", "--json")
    assert inactive.code == 1
    assert json.loads(inactive.out) == {"id": "2", "active": False, "attributes": None, "tags": []}
    assert _lines(inactive.err) == [
        "error: data source '2' is not active on the platform (smtActive is false): switch it on in the "
        "platform, or connect another data source"
    ]
    unknown = run("connect", "99")
    assert unknown.code == 1
    assert len(_lines(unknown.err)) == 1
    assert unknown.err.startswith("error: POST /smt/dataSources/connect: HTTP 404")


# --- send ------------------------------------------------------------------------------------------

BAD_CSV = """tag,x,y,q
cli.a,2024-05-01T10:00:00Z,21.5,0
cli.a,2024-05-01T10:00:01Z,21.7,
cli.b,1714557600000000,abc,102
cli.a,yesterday,1,0
cli.a,2024-05-01T10:00:03Z,2,x
cli.b,1714557601000000,"{""k"": [1, 2]}",
"""


def test_send_dry_run_reports_each_bad_row_and_sends_nothing(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "points.csv"
    path.write_text(BAD_CSV)
    result = run("send", str(path), "--dry-run")
    assert result.code == 1
    bad = [line for line in _lines(result.err) if "field" in line]
    assert len(bad) == 2
    assert bad[0].startswith(f"{path}:5, field 'x': 'yesterday' is not an ISO 8601 timestamp")
    assert bad[1] == f"{path}:6, field 'q': 'x' is not an integer quality code"
    assert result.out.startswith("checked 6 rows: 4 good points for 2 tags, 2024-05-01T10:00:00.000000Z .. ")
    assert "2 bad rows left out; nothing sent (--dry-run)" in result.out
    assert reference_platform.state.store.count() == 0


def test_send_sends_the_good_rows_and_fails(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "points.csv"
    path.write_text(BAD_CSV)
    result = run("send", str(path))
    assert result.code == 1
    assert result.out.startswith(
        "sent 4 points to 2 tags, 2024-05-01T10:00:00.000000Z .. 2024-05-01T10:00:01"
    )
    assert reference_platform.stored_points("cli.a") == [
        {"x": B, "y": 21.5, "q": 0},
        {"x": B + S, "y": 21.7, "q": None},
    ]
    assert reference_platform.stored_points("cli.b") == [
        {"x": B, "y": "abc", "q": 102},
        {"x": B + S, "y": {"k": [1, 2]}, "q": None},
    ]


def test_send_wide_csv_jsonl_and_parquet(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    wide = tmp_path / "wide.csv"
    wide.write_text(f'x,w.a,"{PATH_TEXT.replace(chr(34), chr(34) * 2)}"\n{B},1,2\n{B + S},,"""3"""\n')
    lines = tmp_path / "long.jsonl"
    lines.write_text(
        "\n".join(
            [
                orjson.dumps({"tag": "j.a", "x": B, "y": [1, "two"], "q": 0}).decode(),
                orjson.dumps({"tag": PATH, "x": "2024-05-01T13:00:05+03:00", "y": None, "q": 102}).decode(),
                "not json",
                orjson.dumps({"tag": "j.a", "x": B + S, "y": 1, "extra": 1}).decode(),
                "",
            ]
        )
    )
    parquet = tmp_path / "wide.parquet"
    pq.write_table(
        pa.table({"x": pa.array([B, B + S]).cast(pa.timestamp("us", "UTC")), "p.a": [0.5, None]}), parquet
    )
    result = run("send", str(wide), str(lines), str(parquet))
    assert result.code == 1  # two bad lines in the JSON Lines file
    assert [line for line in _lines(result.err) if line.startswith(f"{lines}:")] == [
        f"{lines}:3: not JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
        f"{lines}:4: unknown keys ['extra']",
    ]
    assert reference_platform.stored_points("w.a") == [{"x": B, "y": 1, "q": None}]
    assert reference_platform.stored_points(PATH) == [
        {"x": B, "y": 2, "q": None},
        {"x": B + S, "y": "3", "q": None},
        {"x": B + 5 * S, "y": None, "q": 102},
    ]
    assert reference_platform.stored_points("j.a") == [{"x": B, "y": [1, "two"], "q": 0}]
    assert reference_platform.stored_points("p.a") == [{"x": B, "y": 0.5, "q": None}]


def test_send_checks_tags_against_a_source_and_reads_in_chunks(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "points.csv"
    rows = [f"temperature,{B + i},{i}" for i in range(25)]
    quoted = PATH_TEXT.replace('"', '""')
    path.write_text("tag,x,y\n" + "\n".join(rows) + f'\nnope,{B},1\n"{quoted}",{B},7\n')
    result = run("send", str(path), "--source", "1", "--chunk", "10")
    assert result.code == 1
    assert f"{path}:27, field 'tag': 'nope' is not a tag of data source '1'" in result.err
    progress = [line for line in _lines(result.err) if "points sent" in line]
    assert [line.split(" points")[0] for line in progress] == ["10", "20", "26"]
    assert len(reference_platform.stored_points("temperature")) == 25
    assert reference_platform.stored_points(PATH) == [{"x": B, "y": 7, "q": None}]


def test_send_refuses_unknown_files(run: Run, tmp_path: Path) -> None:
    text = tmp_path / "points.txt"
    text.write_text("x")
    result = run("send", str(text))
    assert result.code == 2
    assert "unknown file type '.txt'" in result.err
    missing = run("send", str(tmp_path / "none.csv"))
    assert missing.code == 2
    header = tmp_path / "h.csv"
    header.write_text("time,value\n1,2\n")
    bad = run("send", str(header))
    assert bad.code == 1
    assert _lines(bad.err) == [
        f"error: {header}: no column 'x'; a file has the columns tag, x, y[, q] (long) or x "
        "and one column per tag (wide), not ['time', 'value']"
    ]


# --- get -------------------------------------------------------------------------------------------

VALUES: list[tuple[Any, int | None]] = [
    (21.5, 0),
    (7, None),
    ("1", None),  # text that looks like a number stays text
    ("", None),
    ("plain text", None),
    (None, 102),
    ({"a": [1, None]}, None),
    (True, 100),
]


def _fill(reference_platform: RunningPlatform) -> None:
    reference_platform.clear()
    with DataInteractionClient(reference_platform.url) as client:
        mixed, numbers, path = Tag("g.mixed"), Tag("g.numbers"), Tag(TagPath("pressure", "boiler-7"))
        mixed.update([(B + i * S, y, q) for i, (y, q) in enumerate(VALUES)])
        numbers.update([(B + i * S, i * 0.25) for i in range(300)])
        path.update([(B + i * 10 * S, i) for i in range(5)])
        client.set_data([mixed, numbers, path])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_get_to_each_format_and_back(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path, suffix: str
) -> None:
    _fill(reference_platform)
    tags = ["g.mixed", "g.numbers", PATH_TEXT]
    before = [reference_platform.stored_points(tag) for tag in ("g.mixed", "g.numbers", PATH)]
    out = tmp_path / f"out{suffix}"
    result = run(
        "get",
        *tags,
        "--from",
        "2024-05-01T10:00:00Z",
        "--to",
        "2024-05-01T11:00:00",
        "-o",
        str(out),
        "--page-size",
        "300",
        "--window",
        "1m",
    )
    assert result.code == 0, result.err
    assert result.err.startswith(f"wrote {out}: 313 points in ")
    reference_platform.clear()
    back = run("send", str(out))
    assert back.code == 0, back.err
    assert back.out.startswith(
        "sent 313 points to 3 tags, 2024-05-01T10:00:00.000000Z .. 2024-05-01T10:04:59"
    )
    assert [reference_platform.stored_points(tag) for tag in ("g.mixed", "g.numbers", PATH)] == before


def test_get_parquet_of_numbers_is_typed(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    _fill(reference_platform)
    out = tmp_path / "numbers.parquet"
    assert run("get", "g.numbers", "--from", str(B), "--to", str(B + 9 * S), "-o", str(out)).code == 0
    table = pq.read_table(out)
    assert str(table.schema.field("y").type) == "double"
    assert str(table.schema.field("x").type) == "timestamp[us, tz=UTC]"
    assert table.column("y").to_pylist() == [i * 0.25 for i in range(10)]
    empty = tmp_path / "empty.parquet"
    assert run("get", "nothing.here", "--from", str(B), "--to", str(B + S), "-o", str(empty)).code == 0
    assert pq.read_table(empty).num_rows == 0


def test_get_prints_csv_jsonl_or_a_table(run: Run, reference_platform: RunningPlatform) -> None:
    _fill(reference_platform)
    period = ("--from", "2024-05-01T10:00:00Z", "--to", "2024-05-01T10:00:02Z")
    csv_out = run("get", "g.mixed", *period)
    assert csv_out.code == 0
    assert _lines(csv_out.out) == [
        "tag,x,y,q",
        "g.mixed,2024-05-01T10:00:00.000000Z,21.5,0",
        "g.mixed,2024-05-01T10:00:01.000000Z,7,",
        'g.mixed,2024-05-01T10:00:02.000000Z,"""1""",',
    ]
    jsonl = run("get", PATH_TEXT, *period, "--format", "jsonl")
    assert [orjson.loads(line) for line in _lines(jsonl.out)] == [
        {"tag": PATH, "x": "2024-05-01T10:00:00.000000Z", "y": 0, "q": None}
    ]
    table = run(
        "get", "g.numbers", "--from", str(B), "--to", str(B + 100 * S), "--format", "table", "--limit", "3"
    )
    assert "2024-05-01T10:00:02.000000Z" in table.out
    assert "2024-05-01T10:00:03.000000Z" not in table.out
    assert "showing the first 3 points" in table.err


def test_get_single_calls_follow_the_platform_rules(run: Run, reference_platform: RunningPlatform) -> None:
    _fill(reference_platform)
    thinned = run("get", "g.numbers", "--from", str(B), "--to", str(B + 299 * S), "--max-count", "3")
    assert len(_lines(thinned.out)) == 4
    assert "note: the platform thinned the points of g.numbers (exceed)" in thinned.err
    grid = run("get", "g.numbers", "--from", str(B), "--to", str(B + 2 * S), "--time-step", "500ms")
    assert [line.split(",")[2] for line in _lines(grid.out)[1:]] == ["0.0", "0.125", "0.25", "0.375", "0.5"]
    at = run("get", "g.numbers", "--to", str(B + 2 * S))
    assert _lines(at.out)[1:] == ["g.numbers,2024-05-01T10:00:02.000000Z,0.5,"]
    filtered = run(
        "get", "g.mixed", "--from", str(B), "--to", str(B + 9 * S), "--value", "plain text", "--value", "7"
    )
    assert [line.split(",")[2] for line in _lines(filtered.out)[1:]] == ["7", "plain text"]


def test_get_plot_draws_a_png(run: Run, reference_platform: RunningPlatform, tmp_path: Path) -> None:
    _fill(reference_platform)
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    args = ("get", "g.numbers", "valve", "--from", str(B), "--to", str(B + 299 * S), "--source", "1")
    assert run(*args, "--plot", str(first)).code == 0
    assert run(*args, "--plot", str(second), "--max-count", "2000").code == 0
    data = first.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert hashlib.sha256(data).digest() == hashlib.sha256(second.read_bytes()).digest()
    assert run("get", "g.numbers", "--plot", str(tmp_path / "a.svg")).code == 2


# --- errors, token, entry points ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("get", "a", "--from", "yesterday"), "error: Invalid value for '--from': 'yesterday' is not a time"),
        (
            ("get", "a", "--time-step", "fast"),
            "error: Invalid value for '--time-step': 'fast' is not a duration",
        ),
        (
            ("get", "a", "-o", "x.xlsx"),
            "error: Invalid value for '--output': x.xlsx: unknown file type '.xlsx'",
        ),
        (("get",), "error: Missing argument 'TAGS...'."),
        (("get", "{bad"), "error: Invalid value: '{bad' starts with '{' but is not JSON"),
        (("get", ""), "error: tag_id[0]: a tag id must not be empty"),
        (("frobnicate",), "error: No such command 'frobnicate'."),
        (("--token", "t", "--token-file", __file__, "connect", "1"), "error: give --token or --token-file"),
        (("--url", "ftp://x", "connect", "1"), "error: Invalid value for '--url'"),
    ],
)
def test_usage_errors_are_one_line_with_status_2(run: Run, args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.code == 2
    assert len(_lines(result.err)) == 1
    assert result.err.startswith(message)


def test_failed_calls_are_one_line_with_status_1_and_debug_adds_the_traceback(run: Run) -> None:
    result = run("--url", "http://127.0.0.1:9", "--retries", "0", "connect", "1")
    assert result.code == 1
    assert _lines(result.err) == [
        "error: POST /smt/dataSources/connect: could not reach the platform at http://127.0.0.1:9 "
        + result.err.split("http://127.0.0.1:9 ", 1)[1].strip()
    ]
    debug = run("--debug", "--url", "http://127.0.0.1:9", "--retries", "0", "connect", "1")
    assert debug.code == 1
    assert "Traceback" in debug.err
    assert _lines(debug.err)[-1].startswith("error: POST /smt/dataSources/connect: could not reach")


def test_an_unexpected_error_is_one_line(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(DataInteractionClient, "connect", boom)
    result = run("connect", "1")
    assert result.code == 1
    assert _lines(result.err) == ["error: unexpected RuntimeError: boom (--debug shows the traceback)"]


def test_the_token_is_used_and_never_printed(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-token-value"
    with run_platform(db=":memory:", token=secret) as guarded:
        token_file = tmp_path / "token"
        token_file.write_text(secret + "\n")
        assert run("--url", guarded.url, "--token-file", str(token_file), "connect", "1").code == 0
        monkeypatch.setenv("DATA_INTERACTION_TOKEN", secret)
        ok = run("--url", guarded.url, "connect", "1", "--json")
        assert ok.code == 0
        helped = run("--help")
        wrong = run("--url", guarded.url, "--token", secret + "x", "connect", "1")
        assert wrong.code == 1
        assert "HTTP 401" in wrong.err
        debug = run("--debug", "--url", guarded.url, "--token", secret + "x", "get", "a")
        for result in (ok, helped, wrong, debug):
            assert secret not in result.out + result.err
        empty = tmp_path / "empty"
        empty.write_text("\n")
        assert run("--token-file", str(empty), "connect", "1").code == 2


def test_a_group_without_a_command_shows_its_help(run: Run) -> None:
    result = run()
    assert result.code == 2
    assert "Commands:" in result.err
    assert "send" in result.err
    assert "serve" in run("platform").err


def test_platform_serve_passes_its_options(run: Run) -> None:
    result = run("platform", "serve", "--help")
    assert result.code == 0
    assert "--error-rate" in result.out
    assert run("platform", "serve", "--port", "not-a-port").code == 2


def test_without_the_cli_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from data_interaction_client.cli import main

    monkeypatch.setitem(sys.modules, "data_interaction_client.cli._app", None)
    assert main(["--help"]) == 1
    assert "pip install 'data-interaction-client[cli]'" in capsys.readouterr().err


def test_entry_points(reference_platform: RunningPlatform) -> None:
    module = subprocess.run(
        [sys.executable, "-m", "data_interaction_client", "--version"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (module.returncode, module.stdout.strip()) == (0, "data-interaction-client, version 0.1.0")
    script = Path(sys.executable).with_name("data-interaction-client")
    done = subprocess.run(
        [str(script), "--url", reference_platform.url, "connect", "1", "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["active"] is True


def test_a_terminal_gets_a_progress_bar_and_tables(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference_platform.clear()
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws as on a terminal
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "points.csv"
    path.write_text("tag,x,y\n" + "\n".join(f"term.a,{B + i},{i}" for i in range(30)) + "\nterm.a,bad,1\n")
    result = run("send", str(path), "--chunk", "10")
    assert result.code == 1
    assert "points/s" in result.err  # the bar's rate column
    assert "field 'x'" in result.err
    assert len(reference_platform.stored_points("term.a")) == 30
    table = run("get", "term.a", "--from", str(B), "--to", str(B + 2))
    assert "┏━" in table.out
    assert "term.a" in table.out


def test_send_that_fails_midway_says_what_was_sent(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    from data_interaction_client.emulator import Faults

    reference_platform.clear()
    path = tmp_path / "points.csv"
    path.write_text("tag,x,y\n" + "\n".join(f"mid.a,{B + i},{i}" for i in range(30)) + "\n")
    calls = {"n": 0}
    original = DataInteractionClient.set_data

    def flaky(self: DataInteractionClient, tags: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            reference_platform.set_faults(Faults(error_rate=1.0, error_status=503))
        try:
            return original(self, tags, **kwargs)
        finally:
            reference_platform.set_faults(None)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DataInteractionClient, "set_data", flaky)
        result = run("--retries", "0", "send", str(path), "--chunk", "10")
    assert result.code == 1
    assert result.out.startswith(
        "sent 10 points to 1 tags, 2024-05-01T10:00:00.000000Z .. 2024-05-01T10:00:00.000009Z"
    )
    assert "before the failure" in result.out
    assert _lines(result.err)[-1].startswith("error: POST /smt/data/set: HTTP 503")
    assert len(reference_platform.stored_points("mid.a")) == 10


# --- send --spool ----------------------------------------------------------------------------------


def test_send_through_a_spool_delivers_every_point(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "points.csv"
    path.write_text("tag,x,y,q\n" + "\n".join(f"spool.a,{B + i * S},{i}.5,0" for i in range(25)) + "\n")
    spool = tmp_path / "spool"
    result = run("send", str(path), "--spool", str(spool), "--chunk", "10")
    assert result.code == 0, result.err
    assert result.out.startswith("sent 25 points to 1 tags")
    assert reference_platform.stored_points("spool.a") == [
        {"x": B + i * S, "y": i + 0.5, "q": 0} for i in range(25)
    ]
    assert spool.is_dir()  # the spool stays, empty, for the next run


def test_send_through_a_spool_keeps_what_the_platform_did_not_take(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    from data_interaction_client.emulator import Faults

    reference_platform.clear()
    path = tmp_path / "points.csv"
    path.write_text("tag,x,y\n" + "\n".join(f"spool.down,{B + i},{i}" for i in range(5)) + "\n")
    spool = tmp_path / "spool"
    reference_platform.set_faults(Faults(error_rate=1.0, error_status=503))
    try:
        result = run("send", str(path), "--spool", str(spool), "--flush-timeout", "0.5")
    finally:
        reference_platform.set_faults(None)
    assert result.code == 1
    assert "5 points not yet accepted are kept in the spool" in result.err
    assert reference_platform.stored_points("spool.down") == []
    # The next run on the same spool delivers them, with nothing new to send.
    empty = tmp_path / "empty.csv"
    empty.write_text("tag,x,y\n")
    again = run("send", str(empty), "--spool", str(spool))
    assert again.code == 0, again.err
    assert [p["y"] for p in reference_platform.stored_points("spool.down")] == list(range(5))
