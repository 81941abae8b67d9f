"""A metadata database that is not a database, or is damaged: one line saying which file and
what to do, on every command that opens it, and ``db reset`` as the way out."""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path

import pytest

from headwater.db.engine import create_db_engine
from headwater.db.migrate import upgrade
from stored_dags import invoke

# Commands that open the database, with arguments that would otherwise work.
COMMANDS = [
    ["dags", "list"],
    ["dags", "trigger", "etl"],
    ["dags", "list-runs", "etl"],
    ["dags", "list-import-errors"],
    ["dags", "pause", "etl"],
    ["dags", "state", "etl", "run_1"],
    ["tasks", "state", "etl", "run_1", "extract"],
    ["tasks", "logs", "etl", "run_1", "extract"],
    ["tasks", "clear", "etl", "run_1", "extract", "--yes"],
    ["db", "check"],
    ["db", "migrate"],
    ["variables", "list"],
    ["variables", "get", "key"],
    ["pools", "list"],
    ["connections", "list"],
    ["dag-processor", "--once"],
    ["scheduler", "--no-dag-processor"],
    ["standalone"],
]


def _migrated(path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    # Nothing left in a WAL file: the damage below is all there is.
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def random_bytes(path: Path) -> None:
    """A file that never was a database."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(4).randbytes(64 * 1024))


def pages_overwritten(path: Path) -> None:
    """A real, migrated database whose content past the 100-byte header is garbage."""
    _migrated(path)
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.seek(100)
        file.write(random.Random(7).randbytes(size - 100))


@pytest.fixture(autouse=True)
def root_logging_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Service commands set up the root logger (replacing pytest's handlers): undo that."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", root.handlers[:])
    monkeypatch.setattr(root, "level", root.level)


@pytest.fixture(params=[random_bytes, pages_overwritten])
def damaged(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "home" / "headwater.db"
    request.param(path)
    path.chmod(0o600)  # as headwater makes it: the damage is all there is to say
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("HEADWATER_DAGS_FOLDER", str(tmp_path / "dags"))
    (tmp_path / "dags").mkdir()
    return path


def _assert_one_clear_line(result, path: Path) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: the database {path} is damaged (")
    assert "restore it from a backup, or run `headwater db reset`" in lines[0]
    assert "loses" in lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_says_the_database_is_damaged_in_one_line(
    damaged: Path, args: list[str]
) -> None:
    result = invoke(*args)
    _assert_one_clear_line(result, damaged)


def test_db_reset_starts_over_and_keeps_the_damaged_file_aside(damaged: Path) -> None:
    garbage = damaged.read_bytes()
    result = invoke("db", "reset", "--yes")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    aside = [p for p in damaged.parent.iterdir() if p.name.startswith("headwater.db.damaged-")]
    assert len(aside) == 1, list(damaged.parent.iterdir())
    assert aside[0].read_bytes() == garbage
    assert f"moved the damaged file to {aside[0]}" in result.stdout
    assert "up to date" in result.stdout
    assert damaged.stat().st_mode & 0o777 == 0o600  # the new database is owner-only too
    result = invoke("variables", "list")
    assert result.exit_code == 0, result.output


def test_damage_seen_mid_command_is_the_same_clear_error(tmp_path: Path) -> None:
    """Pages overwritten after the engine opened the file: the next query says so."""
    path = tmp_path / "headwater.db"
    _migrated(path)
    from headwater.db.errors import DamagedDatabaseError
    from headwater.store.sql import SqlStore

    engine = create_db_engine(f"sqlite:///{path}")
    try:
        store = SqlStore(engine)
        assert store.list_variables() == []
        engine.dispose()  # a fresh connection reads the damaged pages, not its cache
        size = path.stat().st_size
        with path.open("r+b") as file:
            file.seek(4096)  # page 2 onwards: the header and schema page stay valid
            file.write(random.Random(9).randbytes(size - 4096))
        with pytest.raises(
            DamagedDatabaseError, match=re.escape(f"the database {path} is damaged")
        ):
            store.list_variables()
    finally:
        engine.dispose()


def test_an_unreachable_postgresql_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # A port nothing listens on: the connection is refused at once.
    monkeypatch.setenv("HEADWATER_DATABASE_URL", "postgresql+psycopg://hw:secret@127.0.0.1:9/hw")
    for args in (["variables", "list"], ["db", "check"], ["scheduler", "--no-dag-processor"]):
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("Error: cannot use the database postgresql+psycopg://hw:***@")
        assert "secret" not in result.output


def test_the_dag_processor_loop_ends_on_a_damaged_database(clock) -> None:
    """A hiccup is logged and scanned again; damage cannot heal, so the loop ends with it."""
    from types import SimpleNamespace

    from headwater.db.errors import DamagedDatabaseError
    from headwater.scheduler.service import run_processor_loop

    scans = []

    def scan() -> None:
        scans.append(1)
        raise DamagedDatabaseError("/srv/headwater.db", "file is not a database")

    processor = SimpleNamespace(scan=scan, folder="dags")
    checks = iter([False] * 5 + [True] * 100)  # bounded: stops after a few scans at most
    with pytest.raises(DamagedDatabaseError, match=re.escape("/srv/headwater.db is damaged")):
        run_processor_loop(
            processor,  # type: ignore[arg-type]
            lambda: next(checks),
            interval_s=1.0,
            clock=clock,
        )
    assert len(scans) == 1


def test_db_check_reads_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Damage in a table no query of `db check` reads is still found."""
    path = tmp_path / "headwater.db"
    _migrated(path)
    with path.open("r+b") as file:
        file.seek(-4096, os.SEEK_END)  # the last page only
        file.write(random.Random(3).randbytes(4096))
    monkeypatch.setenv("HEADWATER_DATABASE_URL", f"sqlite:///{path}")
    _assert_one_clear_line(invoke("db", "check"), path)
