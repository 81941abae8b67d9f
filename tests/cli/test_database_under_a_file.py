"""A SQLite database whose path goes through a regular file (``HEADWATER_HOME`` set to a file,
or a URL like ``sqlite:////etc/passwd/x.db``) can neither exist nor be created: every
command that uses the database says so in one line naming the path and the file in the way,
not with os.stat's NotADirectoryError, nor "run `headwater db migrate`"."""

from __future__ import annotations

from pathlib import Path

import pytest

from stored_dags import invoke

COMMANDS = [
    ["db", "migrate"],
    ["db", "check"],
    ["db", "reset", "--yes"],
    ["variables", "list"],
    ["dags", "list-runs", "etl"],
    ["dag-processor", "--once"],
    ["scheduler"],
    ["standalone"],
]


@pytest.fixture
def blocker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A regular file, with the home and the DAG folder elsewhere (they are fine)."""
    home = tmp_path / "home"
    (home / "dags").mkdir(parents=True)
    monkeypatch.setenv("HEADWATER_HOME", str(home))
    monkeypatch.delenv("HEADWATER_DAGS_FOLDER", raising=False)
    path = tmp_path / "notes.txt"
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_url_under_a_file_is_one_error_line(
    blocker: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"sqlite:///{blocker}/x.db")

    result = invoke(*command)

    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: the database {blocker}/x.db cannot be created or opened: {blocker} is a "
        "file, not a folder; set database.url (HEADWATER_DATABASE_URL) or HEADWATER_HOME to "
        "a path in a folder\n"
    )


@pytest.mark.parametrize("command", COMMANDS[:5], ids=" ".join)
def test_a_home_that_is_a_file_is_one_error_line_naming_the_database(
    blocker: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("HEADWATER_HOME", str(blocker))
    monkeypatch.delenv("HEADWATER_DATABASE_URL", raising=False)

    result = invoke(*command)

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        f"Error: the database {blocker}/headwater.db cannot be created or opened: {blocker} "
        "is a file, not a folder;"
    )
    assert len(result.stderr.splitlines()) == 1


def test_dags_list_does_without_such_a_database(
    blocker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dags list`` works without a database: it lists the folder and says nothing."""
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"sqlite:///{blocker}/x.db")

    result = invoke("dags", "list")

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
