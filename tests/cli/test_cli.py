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
    bad = [line for line in _lines(result.err) if line.startswith(f"{lines}:")]
    assert len(bad) == 2
    assert bad[0].startswith(f"{lines}:3: not JSON: ")  # then orjson's own words, which change by release
    assert bad[1] == f"{lines}:4: unknown keys ['extra']"
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
        (("--token", "a\nb", "connect", "1"), "error: Invalid value for '--token': token has a line break"),
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
    assert (module.returncode, module.stdout.strip()) == (0, "data-interaction-client, version 2.0.0")
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
        "sent 10 points to 1 tag, 2024-05-01T10:00:00.000000Z .. 2024-05-01T10:00:00.000009Z"
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
    assert result.out.startswith("sent 25 points to 1 tag,")
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


# --- what a user trips over ------------------------------------------------------------------------


def test_connect_into_a_pipe_is_plain_lines_and_keeps_tag_paths(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    piped = run("connect", "1")
    assert piped.code == 0
    lines = _lines(piped.out)
    assert lines[0] == "data source 1: active, 5 tags"
    assert not any(char in piped.out for char in "┏━│┃")  # no table drawing
    header = lines.index("tag\ttype\tscale\tmax dev\tstep\tsource\tother attributes")
    rows = [line.split("\t") for line in lines[header + 1 :]]
    assert [row[:2] for row in rows] == [
        ["temperature", "float"],
        [PATH_TEXT, "float"],
        ["counter", "integer"],
        ["status", "string"],
        ["valve", "discrete"],
    ]
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal, 80 columns wide
    monkeypatch.setenv("COLUMNS", "80")
    terminal = run("connect", "1")
    assert "┏━" in terminal.out
    assert PATH_TEXT in terminal.out  # on one line, not cut


def test_send_of_a_file_without_rows_fails(run: Run, tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("tag,x,y\n")
    result = run("send", str(header))
    assert result.code == 1
    assert _lines(result.err)[-1] == f"error: no rows in {header}: nothing to send"
    assert result.out == ""
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_text("")
    assert run("send", str(nothing), "--dry-run").code == 1
    good = tmp_path / "good.csv"
    good.write_text(f"tag,x,y\nempty.a,{B},1\n")
    both = run("send", str(good), str(header))
    assert both.code == 0
    assert f"note: no rows in {header}" in both.err


def test_send_progress_lines_and_counts_are_plain(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "points.csv"
    path.write_text("tag,x,y\n" + "\n".join(f"plain.a,{B + i},{i}" for i in range(20)) + "\nplain.a,bad,1\n")
    result = run("send", str(path), "--chunk", "7")
    progress = [line for line in _lines(result.err) if "points sent" in line]
    assert [line.split(" points")[0] for line in progress] == ["7", "14", "20"]  # the last line once
    assert ", 1 bad row left out in " in result.out
    exact = tmp_path / "exact.csv"  # rows a multiple of the chunk: no repeated last line
    exact.write_text("tag,x,y\n" + "\n".join(f"plain.b,{B + i},{i}" for i in range(20)) + "\n")
    again = run("send", str(exact), "--chunk", "10")
    assert [line.split(" points")[0] for line in _lines(again.err)] == ["10", "20"]
    assert again.out.startswith("sent 20 points to 1 tag,")


def test_send_progress_moves_within_a_chunk(tmp_path: Path) -> None:
    from data_interaction_client.cli._input_files import TICK_ROWS, open_input_file
    from data_interaction_client.cli._send_files import send_files

    rows = 3 * TICK_ROWS + 5
    for suffix in (".csv", ".jsonl"):
        path = tmp_path / f"many{suffix}"
        if suffix == ".csv":
            path.write_text("tag,x,y\n" + "".join(f"t,{B + i},{i}\n" for i in range(rows)))
        else:
            path.write_text("".join(f'{{"tag": "t", "x": {B + i}, "y": {i}}}\n' for i in range(rows)))
        ticks: list[int] = []
        chunks: list[int] = []
        send_files(
            [open_input_file(str(path))],
            None,
            chunk=100_000,
            report=lambda line: None,
            progress=lambda source, position, points, chunks=chunks: chunks.append(position),
            tick=lambda source, position, ticks=ticks: ticks.append(position),
        )
        assert len(chunks) == 1  # one chunk of 100,000 rows ...
        assert len(ticks) == 3  # ... and the bar moved every TICK_ROWS rows of it
        assert ticks == sorted(ticks)
        assert 0 < ticks[0] < ticks[-1] <= chunks[0] == path.stat().st_size


def test_get_into_a_file_that_fails_leaves_the_old_file(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    _fill(reference_platform)
    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"good{suffix}"
        assert run("get", "g.numbers", "--from", str(B), "--to", str(B + 9 * S), "-o", str(out)).code == 0
        good = out.read_bytes()
        failed = run(
            "--url",
            "http://127.0.0.1:9",
            "--retries",
            "0",
            "get",
            "g.numbers",
            "--from",
            "-1h",
            "-o",
            str(out),
        )
        assert failed.code == 1
        assert out.read_bytes() == good
    assert sorted(path.name for path in tmp_path.iterdir()) == ["good.csv", "good.parquet"]  # no leftovers


def test_get_names_the_tags_of_which_nothing_came_back(run: Run, reference_platform: RunningPlatform) -> None:
    _fill(reference_platform)
    result = run("get", "nosuchtag", "g.numbers", "--from", str(B), "--to", str(B + S))
    assert result.code == 0
    assert _lines(result.err) == ["note: no point of 'nosuchtag' came back for the period asked"]
    assert len(_lines(result.out)) == 3  # the header and g.numbers' two points
    sourced = run("get", "nosuchtag", "temperature", "--from", "-1h", "--source", "1")
    assert _lines(sourced.err) == [
        "note: no point of 'nosuchtag' came back for the period asked: data source '1' has no such tag",
        "note: no point of 'temperature' came back for the period asked",
    ]


def test_get_limit_is_honoured_in_a_pipe(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    _fill(reference_platform)
    period = ("--from", str(B), "--to", str(B + 100 * S))
    result = run("get", "g.numbers", *period, "--limit", "5")
    assert result.code == 0
    assert len(_lines(result.out)) == 6  # the header and 5 points
    assert "showing the first 5 points (--limit)" in result.err
    jsonl = run("get", "g.numbers", *period, "--limit", "2", "--format", "jsonl")
    assert len(_lines(jsonl.out)) == 2
    out = tmp_path / "limited.csv"
    assert run("get", "g.numbers", *period, "--limit", "3", "-o", str(out)).code == 0
    assert len(_lines(out.read_text())) == 4
    assert len(_lines(run("get", "g.numbers", *period).out)) == 102  # no --limit: every point


def test_a_period_that_ends_before_it_starts_is_shown_as_typed(run: Run) -> None:
    result = run("get", "a", "--from", "-1h", "--to", "-2h")
    assert result.code == 2
    assert len(_lines(result.err)) == 1
    assert result.err.startswith("error: the period ends before it starts: --from -1h (20")
    assert "is after --to -2h (20" in result.err


def test_a_401_names_the_command_line_ways_to_give_the_token(run: Run, tmp_path: Path) -> None:
    with run_platform(db=":memory:", token="right") as guarded:
        result = run("--url", guarded.url, "connect", "1")
    assert result.code == 1
    assert "HTTP 401" in result.err
    assert "--token-file FILE or the variable DATA_INTERACTION_TOKEN" in result.err
    assert "token=..." not in result.err


def test_get_plot_draws_text_and_discrete_tags_on_a_categorical_axis(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data_interaction_client.cli import _get

    reference_platform.clear()
    with DataInteractionClient(reference_platform.url) as client:
        status, valve = client.create_tags(client.connect("1"))[3:]
        status.update([(B, "run"), (B + S, "stop")])
        valve.update([(B, 0), (B + S, 2)])
        client.set_data([status, valve])
    drawn: list[Any] = []
    original = _get.plot_histories
    monkeypatch.setattr(_get, "plot_histories", lambda *a, **k: drawn.append(original(*a, **k)))
    out = tmp_path / "s.png"
    args = (
        "get",
        "status",
        "valve",
        "--from",
        str(B),
        "--to",
        str(B + S),
        "--plot",
        str(out),
        "--source",
        "1",
    )
    assert run(*args).code == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    ticks = [[label.get_text() for label in ax.get_yticklabels()] for ax in drawn[0].axes]
    assert ticks == [["run", "stop"], ["0", "2"]]  # valve is discrete: its states, not a line


def test_the_rate_is_that_of_the_last_chunk_and_does_not_decay() -> None:
    from rich.progress import Progress

    from data_interaction_client.cli._output import RateColumn

    now = [0.0]
    progress = Progress(RateColumn(), get_time=lambda: now[0], auto_refresh=False)
    task = progress.add_task("f", total=100, points=0)
    now[0] = 2.0
    progress.update(task, completed=50, points=1000, rate=500.0)
    column = RateColumn()
    shown = column.render(progress.tasks[0]).plain
    now[0] = 20.0  # a slow chunk: nothing new for a while
    assert column.render(progress.tasks[0]).plain == shown == "1,000 points, 500 points/s"


def test_send_checks_values_against_the_source_tags_types(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "typed.csv"
    path.write_text(
        f"tag,x,y\ncounter,{B},7\ncounter,{B + S},NaN\ncounter,{B + 2 * S},hello\nstatus,{B},run\n"
    )
    checked = run("send", str(path), "--source", "1")
    assert checked.code == 1
    bad = [line for line in _lines(checked.err) if "field 'y'" in line]
    assert bad == [
        f"{path}:3, field 'y': the tag holds integers (smtTagValueTypeCode 0), not str: 'NaN' "
        "(--no-check-values sends any JSON value)",
        f"{path}:4, field 'y': the tag holds integers (smtTagValueTypeCode 0), not str: 'hello' "
        "(--no-check-values sends any JSON value)",
    ]
    assert reference_platform.stored_points("counter") == [{"x": B, "y": 7, "q": None}]
    assert reference_platform.stored_points("status") == [{"x": B, "y": "run", "q": None}]
    reference_platform.clear()
    unchecked = run("send", str(path), "--source", "1", "--no-check-values")
    assert unchecked.code == 0, unchecked.err
    assert [p["y"] for p in reference_platform.stored_points("counter")] == [7, "NaN", "hello"]


def test_send_takes_integer_timestamps_in_another_unit(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    seconds = B // S
    path = tmp_path / "seconds.csv"
    path.write_text(f"tag,x,y\nunit.s,{seconds},1\nunit.s,{seconds + 1},2\nunit.s,2024-05-01T10:00:02Z,3\n")
    result = run("send", str(path), "--precision", "s")
    assert result.code == 0, result.err
    assert [p["x"] for p in reference_platform.stored_points("unit.s")] == [B, B + S, B + 2 * S]
    lines = tmp_path / "ms.jsonl"
    lines.write_text(orjson.dumps({"tag": "unit.ms", "x": B // 1000 + 5, "y": 1}).decode() + "\n")
    assert run("send", str(lines), "--precision", "ms").code == 0
    assert reference_platform.stored_points("unit.ms") == [{"x": B + 5000, "y": 1, "q": None}]
    parquet = tmp_path / "ns.parquet"
    pq.write_table(
        pa.table(
            {
                "x": pa.array([B * 1000 + 1999, B]).cast(pa.int64()),
                "unit.ns": [1.0, 2.0],
            }
        ),
        parquet,
    )
    assert run("send", str(parquet), "--precision", "ns").code == 0
    assert [p["x"] for p in reference_platform.stored_points("unit.ns")] == [B // 1000, B + 1]
    assert run("send", str(path), "--precision", "minutes").code == 2
