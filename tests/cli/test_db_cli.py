"""``headwater db migrate | check | reset``, and how other commands treat an unready database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from database_fixtures import HEAD, REVISIONS
from headwater.db.engine import create_db_engine
from headwater.db.migrate import alembic_config
from stored_dags import invoke


@pytest.fixture
def scratch(scratch_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database (no tables) that the commands use; an empty SQLite file exists."""
    monkeypatch.setenv("HEADWATER_DATABASE_URL", scratch_db_url)
    if scratch_db_url.startswith("sqlite"):
        path = Path(scratch_db_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return scratch_db_url


def test_check_then_migrate_then_check(scratch: str) -> None:
    result = invoke("db", "check")
    assert result.exit_code == 1
    assert "not initialised: run `headwater db migrate`" in result.stdout
    result = invoke("db", "migrate")
    assert result.exit_code == 0, result.output
    assert f"Applied {', '.join(REVISIONS)} to " in result.stdout
    assert f"up to date (revision {HEAD})" in result.stdout
    result = invoke("db", "migrate", "-o", "json")
    assert json.loads(result.stdout)["applied"] == []
    result = invoke("db", "check", "--output", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("state", "current", "head", "pending")} == {
        "state": "up_to_date",
        "current": HEAD,
        "head": HEAD,
        "pending": [],
    }


def test_commands_refuse_a_database_that_is_not_migrated(scratch: str) -> None:
    for args in (["dags", "trigger", "etl"], ["pools", "list"], ["variables", "list"]):
        result = invoke(*args)
        assert result.exit_code == 1, args
        assert result.stderr == (
            "Error: the database is not initialised: run `headwater db migrate`\n"
        )


def test_a_missing_sqlite_file_is_reported_and_not_created(headwater_home: Path) -> None:
    result = invoke("db", "check", "-o", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["state"] == "not_initialised"
    result = invoke("variables", "list")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the database {headwater_home / 'headwater.db'} does not exist: "
        "run `headwater db migrate` to create it\n"
    )
    assert not (headwater_home / "headwater.db").exists()
    assert invoke("db", "migrate").exit_code == 0
    assert (headwater_home / "headwater.db").exists()


def test_pending_migrations_are_applied_keeping_the_data(scratch: str) -> None:
    engine = create_db_engine(scratch)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0001")
            # Plain SQL: today's store writes today's columns, which 0001 lacks.
            conn.execute(text("INSERT INTO variables (key, value) VALUES ('kept', 'yes')"))
    finally:
        engine.dispose()
    result = invoke("db", "check")
    assert result.exit_code == 1
    pending = ", ".join(REVISIONS[1:])
    assert f"{len(REVISIONS) - 1} migration(s) pending ({pending}): run" in result.stdout
    result = invoke("variables", "get", "kept")
    assert result.exit_code == 1 and f"pending ({pending})" in result.stderr
    assert invoke("db", "migrate").exit_code == 0
    assert invoke("variables", "get", "kept").stdout == "yes\n"
    engine = create_db_engine(scratch)
    try:
        assert "backfills" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_reset_asks_first(scratch: str) -> None:
    invoke("db", "migrate")
    invoke("variables", "set", "doomed", "1")
    result = invoke("db", "reset", input="n\n")
    assert result.exit_code == 1
    assert "Delete everything in" in result.stderr and "Aborted" in result.stderr
    assert invoke("variables", "get", "doomed").exit_code == 0
    result = invoke("db", "reset", input="y\n")
    assert result.exit_code == 0 and "Reset " in result.stdout
    assert invoke("variables", "get", "doomed").exit_code == 1


def test_reset_with_yes_does_not_ask(scratch: str) -> None:
    invoke("db", "migrate")
    invoke("variables", "set", "doomed", "1")
    result = invoke("db", "reset", "--yes", "-o", "json")
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["applied"] == REVISIONS
    assert invoke("variables", "list", "-o", "json").stdout == "[]\n"


def test_an_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_DATABASE_URL", "postgresql+psycopg://hw:secret@127.0.0.1:1/hw")
    result = invoke("db", "check")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: cannot use the database postgresql+psycopg://hw:***@127.0.0.1:1/hw: "
    )
    assert len(result.stderr.splitlines()) == 1 and "secret" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["db"],
        ["db", "migrate"],
        ["db", "check"],
        ["db", "reset"],
        ["dags", "trigger"],
        ["dags", "pause"],
        ["dags", "unpause"],
        ["dags", "list-runs"],
        ["dags", "state"],
        ["dags", "delete"],
        ["dags", "backfill"],
        ["tasks", "clear"],
        ["tasks", "state"],
        ["tasks", "logs"],
        ["pools", "set"],
        ["pools", "list"],
        ["pools", "delete"],
        ["variables", "get"],
        ["variables", "set"],
        ["variables", "list"],
        ["variables", "delete"],
        ["connections", "add"],
        ["connections", "list"],
        ["connections", "delete"],
    ],
)
def test_every_new_command_explains_itself_with_an_example(args: list[str]) -> None:
    result = invoke(*args, "--help")
    assert result.exit_code == 0
    assert "Usage: headwater" in result.stdout
    if len(args) > 1:
        assert re.search(r"Example:\n +headwater ", result.stdout)
