"""A DAG folder that does not exist is most likely a wrong setting: the commands that load it
stop with one line naming ``core.dags_folder`` (or ``--folder``, a usage error) and the path,
instead of listing the folder as a file that failed to import. The DAG processor creates
the default folder, and only warns about a configured one (it may appear later)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from command_processes import clean_env, run_headwater
from stored_dags import invoke

COMMANDS = [
    ["dags", "list"],
    ["dags", "list", "--output", "json"],
    ["dags", "test", "etl"],
    ["tasks", "test", "etl", "extract"],
    ["tasks", "list", "etl"],
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home without a DAG folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HEADWATER_HOME", str(home))
    monkeypatch.delenv("HEADWATER_DAGS_FOLDER", raising=False)
    monkeypatch.delenv("HEADWATER__CORE__DAGS_FOLDER", raising=False)
    return home


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_dags_folder_setting_is_one_error_line(home: Path, command: list[str]) -> None:
    result = invoke(*command)

    folder = home / "dags"
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: core.dags_folder {folder} does not exist: create it (mkdir -p {folder}) and "
        "put DAG files in it, or set HEADWATER_DAGS_FOLDER (or --folder) to the folder of "
        "your DAG files\n"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_dags_folder_under_a_file_says_which_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("")
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(blocker / "dags"))

    result = invoke(*command)

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        f"Error: core.dags_folder {blocker}/dags is under {blocker}, which is a file, not a "
        "folder: set HEADWATER_DAGS_FOLDER"
    )
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_folder_option_is_a_usage_error(
    home: Path, tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "nowhere"
    (home / "dags").mkdir()  # the setting is fine: the option is what is wrong

    result = invoke(*command, "--folder", str(missing))

    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for --folder: {missing} does not exist; give a DAG file or a "
        "folder of them"
    )


def test_the_dag_processor_creates_the_default_folder(home: Path) -> None:
    assert invoke("db", "migrate").exit_code == 0

    result = run_headwater(clean_env(home), "dag-processor", "--once")

    assert result.returncode == 0, result.stderr
    assert "Created the DAG folder" in result.stderr
    assert stat.S_IMODE((home / "dags").stat().st_mode) == 0o700
    assert invoke("dags", "list").exit_code == 0


def test_the_dag_processor_warns_about_a_missing_configured_folder(
    home: Path, tmp_path: Path
) -> None:
    assert invoke("db", "migrate").exit_code == 0
    missing = tmp_path / "mounted-later"
    env = {**clean_env(home), "HEADWATER_DAGS_FOLDER": str(missing)}

    result = run_headwater(env, "dag-processor", "--once")

    assert result.returncode == 0, result.stderr
    assert (
        f"core.dags_folder {missing} does not exist: no DAGs are loaded until it is created"
        in result.stderr
    )
    assert not missing.exists()
