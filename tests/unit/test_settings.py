"""Settings: every value has a type and a range, checked when the settings load from the
environment or the file, and refused with one line naming the setting, its source and what is
allowed."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli import cli
from headwater.settings import SECTIONS, SettingsError, load_settings
from headwater.settings_checks import allowed


def _load_file(home: Path, toml: str | bytes) -> None:
    home.mkdir(parents=True, exist_ok=True)
    data = toml.encode() if isinstance(toml, str) else toml
    (home / "headwater.toml").write_bytes(data)
    load_settings()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[scheduler]\nparallelism = true\n",
            "scheduler.parallelism ({file}, line 2): expected an integer from 1 to 1024, got True",
        ),
        (
            "[core]\n# the folder\n\ndags_folder = ['a']\n",
            "core.dags_folder ({file}, line 4): expected a string, got ['a']",
        ),
        (
            "[database]\nurl = 5\n",
            "database.url ({file}, line 2): expected a string, got 5",
        ),
        (
            "[scheduler]\nparallelism = '8'\n",
            "scheduler.parallelism ({file}, line 2): expected an integer from 1 to 1024, got '8'",
        ),
        (
            "[scheduler]\nparallelism = 2.7\n",
            "scheduler.parallelism ({file}, line 2): expected an integer from 1 to 1024, got 2.7",
        ),
        (
            "[scheduler]\nloop_interval_s = nan\n",
            "scheduler.loop_interval_s ({file}, line 2): expected a number from 0.01 to 3600, "
            "got nan",
        ),
        (
            "[scheduler]\nkill_grace_s = inf\n",
            "scheduler.kill_grace_s ({file}, line 2): expected a number from 0 to 600, got inf",
        ),
        (
            "[scheduler]\ndags_are_paused_at_creation = 'yes'\n",
            "scheduler.dags_are_paused_at_creation ({file}, line 2): expected true or false, "
            "got 'yes'",
        ),
        (
            "[scheduler]\nexecutor = 5\n",
            "scheduler.executor ({file}, line 2): expected a string, got 5",
        ),
        (
            "[xcom]\nmax_size_bytes = 0\n",
            "xcom.max_size_bytes ({file}, line 2): expected an integer from 1 to "
            "1_073_741_824, got 0",
        ),
    ],
)
def test_wrong_types_and_ranges_in_the_file_are_refused(
    headwater_home: Path, toml: str, message: str
) -> None:
    file = headwater_home / "headwater.toml"
    with pytest.raises(SettingsError) as raised:
        _load_file(headwater_home, toml)
    assert str(raised.value) == message.format(file=file)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "HEADWATER__SCHEDULER__PARALLELISM",
            "99999999999999999999999",
            "expected an integer from 1 to 1024, got 99999999999999999999999",
        ),
        ("HEADWATER__SCHEDULER__PARALLELISM", "0", "expected an integer from 1 to 1024, got 0"),
        ("HEADWATER__SCHEDULER__PARALLELISM", "true", "got 'true'"),
        ("HEADWATER__SCHEDULER__LOOP_INTERVAL_S", "nan", "got nan"),
        ("HEADWATER__SCHEDULER__LOOP_INTERVAL_S", "0", "from 0.01 to 3600, got 0.0"),
        ("HEADWATER__SCHEDULER__KILL_GRACE_S", "inf", "from 0 to 600, got inf"),
        ("HEADWATER__SCHEDULER__KILL_GRACE_S", "-Infinity", "got -inf"),
        ("HEADWATER__SCHEDULER__HEARTBEAT_INTERVAL_S", "1e400", "got inf"),
        ("HEADWATER__SCHEDULER__WORKER_MAX_TASKS", "-1", "from 0 to 1_000_000_000, got -1"),
        (
            "HEADWATER__SCHEDULER__DAGS_ARE_PAUSED_AT_CREATION",
            "maybe",
            "true or false, got 'maybe'",
        ),
    ],
)
def test_wrong_types_and_ranges_in_variables_are_refused(
    variable: str, value: str, message: str
) -> None:
    name = variable.removeprefix("HEADWATER__").replace("__", ".", 1).lower()
    with pytest.raises(SettingsError) as raised:
        load_settings({**os.environ, variable: value})
    assert str(raised.value).startswith(f"{name} (env {variable}): expected ")
    assert str(raised.value).endswith(message)


def test_a_hostile_value_is_shown_cut_short() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**os.environ, "HEADWATER__SCHEDULER__PARALLELISM": "9" * 100_000})
    assert len(str(raised.value)) < 200


def test_values_in_range_are_read_with_their_types(headwater_home: Path) -> None:
    headwater_home.mkdir(parents=True)
    (headwater_home / "headwater.toml").write_text(
        "[scheduler]\nparallelism = 1024\nloop_interval_s = 2\nkill_grace_s = 0.0\n"
    )
    settings = load_settings(
        {
            **os.environ,
            "HEADWATER__SCHEDULER__WORKER_MAX_TASKS": " 1_000 ",
            "HEADWATER__SCHEDULER__DAGS_ARE_PAUSED_AT_CREATION": "On",
        }
    )
    assert settings.scheduler.parallelism == 1024
    assert settings.scheduler.loop_interval_s == 2.0
    assert isinstance(settings.scheduler.loop_interval_s, float)
    assert settings.scheduler.kill_grace_s == 0.0
    assert settings.scheduler.worker_max_tasks == 1000
    assert settings.scheduler.dags_are_paused_at_creation is True


def test_a_file_that_is_not_utf8_is_one_clear_error(headwater_home: Path) -> None:
    file = headwater_home / "headwater.toml"
    with pytest.raises(SettingsError) as raised:
        _load_file(headwater_home, b"[core]\ndags_folder = '\xff\xfe'\n")
    assert str(raised.value) == (
        f"{file}: not UTF-8 text (byte 0xff at offset 22); save the file as UTF-8"
    )


def test_heartbeats_must_come_before_an_attempt_counts_as_lost() -> None:
    with pytest.raises(SettingsError, match=r"must be greater than scheduler\.heartbeat"):
        load_settings({**os.environ, "HEADWATER__SCHEDULER__TASK_HEARTBEAT_TIMEOUT_S": "5"})


def test_every_setting_has_a_type_and_numbers_have_a_range() -> None:
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f.type in ("str", "int", "float", "bool"), f"{section}.{f.name}"
            assert f.metadata["description"], f"{section}.{f.name}"
            if f.type in ("int", "float"):
                assert f.metadata["minimum"] is not None, f"{section}.{f.name}"
                assert f.metadata["maximum"] is not None, f"{section}.{f.name}"
            # The default itself is allowed.
            from headwater.settings_checks import check_value

            check_value(f.default, f, f"{section}.{f.name}", "default")


def test_the_configuration_guide_shows_each_range() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2]
        for line in guide.splitlines()
        if line.startswith("| `")
    }
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.type in ("int", "float") or f.metadata.get("choices"):
                # "from 1 to 1024", "'local', 'in_process'"
                shown = allowed(f).split(" ", 2)[2]
                assert shown in rows[f"{section}.{f.name}"], f"{section}.{f.name}: {shown}"


@pytest.mark.parametrize(
    ("env", "toml"),
    [
        ({"HEADWATER__SCHEDULER__PARALLELISM": "99999999999999999999999"}, ""),
        ({}, "[scheduler]\nloop_interval_s = nan\n"),
        ({}, "[scheduler]\nkill_grace_s = inf\n"),
        ({}, "[core]\ndags_folder = 'caf\xe9'\n"),
    ],
)
def test_an_absurd_setting_stops_the_scheduler_with_one_line(
    headwater_home: Path, env: dict[str, str], toml: str
) -> None:
    """A new user's absurd setting: the real scheduler process ends at once with one line."""
    headwater_home.mkdir(parents=True)
    if toml:
        (headwater_home / "headwater.toml").write_bytes(toml.encode("latin-1"))
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater", "scheduler"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so whatever it starts can be killed with it
    )
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "expected" in lines[0] or "not UTF-8" in lines[0]
    assert not list(headwater_home.glob("headwater.db*"))


def test_config_show_names_the_file_line(headwater_home: Path) -> None:
    headwater_home.mkdir(parents=True)
    (headwater_home / "headwater.toml").write_text("[xcom]\n\nmax_size_bytes = -5\n")
    result = CliRunner().invoke(cli, ["config", "show"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: xcom.max_size_bytes ({headwater_home / 'headwater.toml'}, line 3): expected "
        "an integer from 1 to 1_073_741_824, got -5\n"
    )


def test_a_bad_file_value_is_refused_even_when_a_variable_wins(headwater_home: Path) -> None:
    file = headwater_home / "headwater.toml"
    with pytest.raises(SettingsError) as raised:
        headwater_home.mkdir(parents=True)
        file.write_text("[scheduler]\nparallelism = true\n")
        load_settings({**os.environ, "HEADWATER__SCHEDULER__PARALLELISM": "4"})
    assert str(raised.value).startswith(f"scheduler.parallelism ({file}, line 2): expected")


def test_a_settings_file_that_is_a_folder_is_refused(headwater_home: Path) -> None:
    (headwater_home / "headwater.toml").mkdir(parents=True)
    with pytest.raises(SettingsError, match=r"headwater\.toml: not a file"):
        load_settings()


def test_a_byte_order_mark_is_ignored(headwater_home: Path) -> None:
    _load_file(headwater_home, "\ufeff[scheduler]\nparallelism = 3\n")
    assert load_settings().scheduler.parallelism == 3


@pytest.mark.parametrize("value", ["\u0663", "\u0661\u0660", "\uff15"])
def test_digits_of_other_scripts_are_not_numbers(value: str) -> None:
    with pytest.raises(SettingsError, match="expected an integer from 1 to 1024"):
        load_settings({**os.environ, "HEADWATER__SCHEDULER__PARALLELISM": value})


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file:x?mode=memory"]
)
def test_an_in_memory_sqlite_database_is_refused(url: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**os.environ, "HEADWATER_DATABASE_URL": url})
    assert str(raised.value).startswith(
        f"database.url (env HEADWATER_DATABASE_URL): {url!r} is an in-memory SQLite database"
    )
