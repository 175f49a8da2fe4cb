"""Settings files, readings and the schedule: the runtime's parts that need no platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest

import data_interaction_client.connector as connector_module
from data_interaction_client import InvalidInputError, Tag
from data_interaction_client.connector import Reading, SettingsError
from data_interaction_client.connector._core import Schedule
from data_interaction_client.connector._model import reading_from
from data_interaction_client.connector._settings import resolve


class Model(pydantic.BaseModel):
    host: str
    port: int = 502


def settings(config: Path | None = None, **options: object) -> object:
    if config is not None:
        options["config"] = config
    return resolve(
        url="http://p",
        source="1",
        spool="/tmp/s",
        options=options,
        poll_interval=1.0,
        settings_model=Model,
        environ={"HOST": "10.0.0.5", "PORT": "1502"},
    )


def test_public_names() -> None:
    assert connector_module.__all__ == [
        "LINK_LOST",
        "Connector",
        "OpenError",
        "Reading",
        "RunOptions",
        "SettingsError",
        "Source",
        "SourceLinkLost",
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "c.yaml",
            "poll_interval: 0.5\nwriter: {batch_points: 10}\nsettings:\n  host: ${HOST}\n  port: ${PORT}\n",
        ),
        (
            "c.toml",
            "poll_interval = 0.5\n[writer]\nbatch_points = 10\n"
            '[settings]\nhost = "${HOST}"\nport = "${PORT}"\n',
        ),
    ],
)
def test_yaml_and_toml_with_environment_variables(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = settings(path)
    assert result.poll_interval == 0.5  # type: ignore[attr-defined]
    assert result.writer == {"batch_points": 10}  # type: ignore[attr-defined]
    assert result.settings == Model(host="10.0.0.5", port=1502)  # type: ignore[attr-defined]


def test_options_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("poll_interval: 0.5\nclose_timeout: 3\nsettings: {host: a}\n")
    result = settings(path, poll_interval=2.0)
    assert result.poll_interval == 2.0  # type: ignore[attr-defined]
    assert result.writer == {"close_timeout": 3}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("settings: {host: '${NOPE}'}\n", "c.yaml: settings.host: the environment variable NOPE is not set"),
        ("settings: {host: a, port: many}\n", "c.yaml: settings.port: Input should be a valid integer"),
        ("settings: {}\n", "c.yaml: settings.host: Field required"),
        ("pol_interval: 1\nsettings: {host: a}\n", "c.yaml: unknown key 'pol_interval'"),
        ("poll_interval: -1\nsettings: {host: a}\n", "c.yaml: poll_interval must be a number of seconds > 0"),
        ("metrics: nowhere\nsettings: {host: a}\n", "c.yaml: metrics must be HOST:PORT"),
        ("client: {colour: 1}\nsettings: {host: a}\n", "c.yaml: client: unknown option 'colour'"),
        ("settings: [\n", "c.yaml: not valid YAML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        settings(path)
    assert str(caught.value).startswith(
        str(tmp_path / message.split(": ", 1)[0]) + ": " + message.split(": ", 1)[1]
    )


def test_environment_default_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("settings: {host: '${OTHER:-fallback}'}\n")
    assert settings(path).settings.host == "fallback"  # type: ignore[attr-defined]
    with pytest.raises(SettingsError, match="cannot read the settings file"):
        settings(tmp_path / "none.yaml")


def test_readings_from_tuples_and_objects() -> None:
    tag = Tag("a")
    tags = {"a": tag}
    assert reading_from(("a", 1.5), 0, tags) == Reading(tag, 1.5)
    assert reading_from(("a", 10, 1.5), 0, tags) == Reading(tag, 1.5, x=10)
    assert reading_from(("a", 10, None, 102), 0, tags) == Reading(tag, None, x=10, q=102)
    assert reading_from(Reading("b", 2), 0, tags) == Reading("b", 2)
    with pytest.raises(InvalidInputError, match="reading 3 is a tuple of 5 items"):
        reading_from(("a", 1, 2, 3, 4), 3, tags)
    with pytest.raises(InvalidInputError, match="reading 0 is float"):
        reading_from(1.5, 0, tags)


def test_schedule_is_fixed_rate_aligned_and_skips_overruns() -> None:
    schedule = Schedule(0.5, monotonic=100.0, wall_us=1_000_200_000)
    assert schedule.due() == pytest.approx(100.3)  # the next whole half second of wall time
    assert schedule.take(1_000_500_300) == 1_000_500_000  # taken 0.3 ms late: the whole half second
    assert schedule.skip_missed(100.4) == 0
    assert schedule.take(1_001_000_000) == 1_001_000_000
    # a poll that ran until 102.0 missed the ticks due at 101.3 and 101.8
    assert schedule.skip_missed(102.0) == 2
    assert schedule.due() == pytest.approx(102.3)
    assert schedule.take(1_002_500_000) == 1_002_500_000


SECRET = "hunter2-from-the-vault"


def from_file(path: Path, environ: dict[str, str], model: type[pydantic.BaseModel] | None = None) -> Any:
    """The settings of a run given only ``path``, read with ``environ``."""
    return resolve(
        url="http://p",
        source="1",
        spool="/tmp/s",
        options={"config": path},
        poll_interval=1.0,
        settings_model=model,
        environ=environ,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "poll_interval: ${SECRET}\n",
            "poll_interval must be a number of seconds > 0, not the value of ${SECRET}",
        ),
        (
            "metrics: ${SECRET}\n",
            "metrics must be HOST:PORT (e.g. 127.0.0.1:9100), not the value of ${SECRET}",
        ),
        ("writer: ${SECRET}\n", "writer must be a mapping of options, not the value of ${SECRET}"),
        ("token: 'tok ${SECRET}'\n", "token has white space at position 3"),
        ('token: "${SECRET}\\n"\n', "token has a line break at position 22"),
        (f"token: '{SECRET}\n", "not valid YAML: while scanning a quoted scalar (line 1, column 8)"),
        (f"token: {SECRET}: x\n", "not valid YAML: mapping values are not allowed here (line 1, column 30)"),
    ],
)
def test_errors_never_show_an_environment_value_nor_a_line_of_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        from_file(path, {"SECRET": SECRET})
    assert f"{path}: {message}" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.yaml", "settings: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("deep.yaml", "settings:\n" + "".join(" " * i + "- \n" for i in range(0, 2000, 2))),
        ("deep.toml", "settings = " + "[" * 5000 + "]" * 5000 + "\n"),
        ("deep.toml", "settings = " + "{a = " * 50 + "1" + "}" * 50 + "\n"),
    ],
)
def test_a_deep_nesting_is_a_settings_error(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"nest too deeply \(at most 32 levels\)"):
        settings(path)


def test_a_deep_nesting_exits_2_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from data_interaction_client.cli import main

    path = tmp_path / "deep.yaml"
    path.write_text("settings: " + "[" * 5000 + "]" * 5000 + "\n")
    code = main(
        ["run", "tests.connector.sample:Buffered", "--source", "1", "--spool", "s", "--config", str(path)]
    )
    assert code == 2
    assert "nest too deeply" in capsys.readouterr().err


def test_a_reference_inside_a_yaml_flow_mapping(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "writer: {batch_points: ${N}, name: '${N:-x}'}\nsettings: {host: ${HOST}, port: ${PORT}}\n"
    )
    result = from_file(path, {"N": "10", "HOST": "10.0.0.5", "PORT": "1502"}, Model)
    assert result.writer == {"batch_points": 10, "name": 10}
    assert result.settings == Model(host="10.0.0.5", port=1502)


def test_a_stepped_wall_clock_stamps_the_next_tick_with_the_new_time() -> None:
    schedule = Schedule(1.0, monotonic=100.0, wall_us=1_000_000_000_000)
    assert schedule.take(1_000_000_000_000) == 1_000_000_000_000
    hour = 3_600_000_000
    # NTP steps the wall clock forward an hour; the schedule stays on the monotonic clock
    assert schedule.due() == pytest.approx(101.0)
    assert schedule.take(1_000_001_000_000 + hour) == 1_000_001_000_000 + hour
    assert schedule.due() == pytest.approx(102.0)


class _Writer:
    """A writer that takes every point: what the core hands over, in order."""

    def __init__(self) -> None:
        self.points: list[tuple[Any, ...]] = []

    def write(self, tag: Any, x: Any, y: Any, q: Any = None) -> None:
        self.points.append((tag, x, y, q))


def test_readings_held_past_the_cap_keep_the_window_open_until_a_backfill_gives_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from data_interaction_client import Tag
    from data_interaction_client.connector import _backfill
    from data_interaction_client.connector._settings import resolve
    from data_interaction_client.connector._state import Core

    monkeypatch.setattr(_backfill, "HOLD_CAP", 3)
    settings = resolve(
        url="http://h", source="1", spool="s", options={}, poll_interval=1.0, settings_model=None
    )
    core = Core(settings, None, backfills=True)
    tag = Tag("a")
    core.tags = {tag.id: tag}
    core.start([tag], lambda tag_id: 100)
    writer = _Writer()
    # a window is open: held
    core.handover.deliver(writer, [(tag, x, 1.0, None) for x in range(200, 206)], "emit")
    assert writer.points == []
    # the window read up to 150: but three readings were left out of the held ones: it stays open
    core.handover.deliver(writer, [(tag, 150, 1.0, None)], "backfill", direct=True)
    assert core.windows.done(tag, 100, 150, 1, None, True, 0.0) == []
    window = core.windows.get(tag.id)
    assert window is not None
    assert window.watermark == 150
    # read on up to 300: the window closes, the held readings are written
    held = core.windows.done(tag, 150, 300, 0, None, True, 0.0)
    assert [p[1] for p in held] == [200, 201, 202]
    assert core.windows.get(tag.id) is None
