"""``send`` reads a CSV file as a spreadsheet saved it: a Russian Excel's cp1251, ``;`` and decimal comma.

Excel saves "CSV" in the system's ANSI code page (cp1251 on a Russian Windows) with the list separator
of the locale (``;``, as the decimal separator is ``,``), and "CSV UTF-8" with a byte order mark;
"Unicode text" is UTF-16 with tabs. Each is detected; ``--encoding``, ``--delimiter`` and ``--decimal``
say it when detection cannot; a line that cannot be decoded is an error naming it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from data_interaction_client.emulator import RunningPlatform

from .conftest import Run

B = 1_714_557_600_000_000  # 2024-05-01T10:00:00Z
S = 1_000_000
# A wide sheet: the time, a number tag named in Russian, a text tag with Russian text.
SHEET = "x;Температура;Состояние\n2024-05-01T10:00:00Z;21,5;включён\n2024-05-01T10:00:01Z;-3,25;выключен\n"
LONG_SHEET = "tag;x;y;q\nдатчик.1;2024-05-01T10:00:00Z;1,5;0\nдатчик.1;2024-05-01T10:00:01Z;2;\n"  # noqa: RUF001


def _sent(reference_platform: RunningPlatform) -> list[tuple[object, object]]:
    return [
        *((p["x"], p["y"]) for p in reference_platform.stored_points("Температура")),
        *((p["x"], p["y"]) for p in reference_platform.stored_points("Состояние")),
    ]


EXPECTED = [(B, 21.5), (B + S, -3.25), (B, "включён"), (B + S, "выключен")]


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(SHEET.encode("cp1251"), id="cp1251"),
        pytest.param(codecs.BOM_UTF8 + SHEET.encode("utf-8"), id="utf-8-bom"),
        pytest.param(SHEET.encode("utf-8"), id="utf-8"),
        pytest.param(SHEET.replace(";", "\t").encode("utf-16"), id="utf-16-tabs"),
        pytest.param(SHEET.replace("\n", "\r\n").encode("cp1251"), id="cp1251-crlf"),
    ],
)
def test_a_russian_excel_csv_is_detected(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path, encoded: bytes
) -> None:
    reference_platform.clear()
    path = tmp_path / "лист.csv"
    path.write_bytes(encoded)
    result = run("send", str(path))
    assert result.code == 0, result.err
    assert result.out.startswith("sent 4 points to 2 tags")
    assert _sent(reference_platform) == EXPECTED


def test_a_long_sheet_with_decimal_commas_and_the_options_spelled_out(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "long.csv"
    path.write_bytes(LONG_SHEET.encode("cp1251"))
    result = run("send", str(path), "--encoding", "cp1251", "--delimiter", ";", "--decimal", ",")
    assert result.code == 0, result.err
    assert reference_platform.stored_points("датчик.1") == [
        {"x": B, "y": 1.5, "q": 0},
        {"x": B + S, "y": 2, "q": None},
    ]


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("utf-8-sig", codecs.BOM_UTF8 + SHEET.encode("utf-8")),
        ("utf-16", SHEET.encode("utf-16")),
        ("koi8-r", SHEET.encode("koi8-r")),
    ],
)
def test_an_encoding_given(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path, encoding: str, encoded: bytes
) -> None:
    reference_platform.clear()
    path = tmp_path / "given.csv"
    path.write_bytes(encoded)
    result = run("send", str(path), "--encoding", encoding)
    assert result.code == 0, result.err
    assert _sent(reference_platform) == EXPECTED


def test_decimal_point_keeps_a_comma_cell_as_text(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    path = tmp_path / "text.csv"
    path.write_text("x;code\n2024-05-01T10:00:00Z;1,5\n", encoding="utf-8")
    assert run("send", str(path), "--decimal", ".").code == 0
    assert reference_platform.stored_points("code")[0]["y"] == "1,5"
    # A comma-separated file keeps its quoted "1,5" as text unless --decimal , says otherwise.
    path.write_text('x,code\n2024-05-01T10:00:01Z,"1,5"\n', encoding="utf-8")
    assert run("send", str(path)).code == 0
    assert run("send", str(path), "--decimal", ",", "--delimiter", "tab").code == 1  # x,code: no column x
    path.write_text('x,code\n2024-05-01T10:00:02Z,"1,5"\n', encoding="utf-8")
    assert run("send", str(path), "--decimal", ",").code == 0
    assert [p["y"] for p in reference_platform.stored_points("code")] == ["1,5", "1,5", 1.5]


def test_a_cp1251_file_whose_first_lines_are_ascii_is_detected(
    run: Run, reference_platform: RunningPlatform, tmp_path: Path
) -> None:
    reference_platform.clear()
    rows = "".join(f"2024-05-01T10:00:{n:02d}Z;{n},5\n" for n in range(30))
    path = tmp_path / "late.csv"
    path.write_bytes(("x;level\n" + rows + "2024-05-01T10:00:30Z;уровень\n").encode("cp1251"))
    result = run("send", str(path), "--chunk", "7")
    assert result.code == 0, result.err
    stored = reference_platform.stored_points("level")
    assert [p["y"] for p in stored[:2]] == [0.5, 1.5]
    assert stored[-1]["y"] == "уровень"


def test_a_line_that_cannot_be_decoded_is_an_error_naming_it(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "x;Температура\n2024-05-01T10:00:00Z;1\n".encode() + "2024-05-01T10:00:01Z;тепло\n".encode("cp1251")
    )
    result = run("send", str(path))
    assert result.code == 1
    assert f"{path}:3: the line is not UTF-8 text, as the lines before it are (byte 0xf2" in result.err
    assert "give the file's encoding with --encoding" in result.err
    assert "unexpected" not in result.err
    assert result.out.startswith("sent 0 points to 0 tags")  # nothing went: the error came first
    cp1251 = tmp_path / "cp1251.csv"
    cp1251.write_bytes(SHEET.encode("cp1251"))
    result = run("send", str(cp1251), "--encoding", "utf-8", "--dry-run")
    assert result.code == 1
    assert f"{cp1251}:1: the line is not utf-8 text (byte 0xd2 at byte 3 of the line)" in result.err
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(SHEET.encode("utf-16")[:-1])  # cut in the middle of a character
    result = run("send", str(utf16), "--dry-run")
    assert result.code == 1
    assert f"{utf16}:" in result.err
    assert "cannot be read as utf-16" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--encoding", "martian"), "unknown encoding 'martian'"),
        (("--delimiter", ";;"), "give one character such as ',' or ';', or 'tab'"),
        (("--delimiter", "x"), "give one character"),
        (("--decimal", ";"), "'.', ','"),
    ],
)
def test_bad_dialect_options_are_usage_errors(
    run: Run, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("x,a\n2024-05-01T10:00:00Z,1\n")
    result = run("send", str(path), *args)
    assert result.code == 2
    assert message in result.err
