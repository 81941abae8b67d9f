"""create_db_engine: URL schemes, SQLite's settings for several writers, PostgreSQL's driver."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import event, text

from headwater import HeadwaterError
from headwater.db import DatabaseError
from headwater.db.engine import READ_ONLY, create_db_engine


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("mysql://root@localhost/headwater", "mysql"),
        ("postgresql+psycopg2://u:secret@h/db", "postgresql+psycopg2"),
        ("oracle+oracledb://u:secret@h/db", "oracle+oracledb"),
    ],
)
def test_an_unsupported_scheme_is_named_in_the_error(url: str, scheme: str) -> None:
    with pytest.raises(
        DatabaseError, match=re.escape(f"unsupported database URL scheme '{scheme}'")
    ) as info:
        create_db_engine(url)
    assert "secret" not in str(info.value)
    assert isinstance(info.value, HeadwaterError)


def test_a_url_that_does_not_parse_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="cannot parse the database URL"):
        create_db_engine("not a url at all")


def test_sqlite_is_set_up_for_several_writing_processes(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "headwater.db"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
        assert pragmas == {
            "journal_mode": "wal",
            "synchronous": 1,  # NORMAL
            "foreign_keys": 1,
            "busy_timeout": 30_000,
        }
        assert path.exists()
    finally:
        engine.dispose()


def test_sqlite_writes_begin_immediate_and_reads_plainly(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'headwater.db'}")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            conn.execute(text("SELECT * FROM t")).all()
        assert statements == [
            "BEGIN IMMEDIATE",
            "CREATE TABLE t (x INTEGER)",
            "BEGIN",
            "SELECT * FROM t",
        ]
    finally:
        engine.dispose()


def test_sqlite_transactions_hold_across_statements(tmp_path: Path) -> None:
    """pysqlite's own handling would commit DDL at once; with ours, a rollback undoes it all."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'headwater.db'}")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
            conn.rollback()
        with engine.connect() as conn:
            tables = conn.exec_driver_sql("SELECT name FROM sqlite_master").all()
        assert tables == []
    finally:
        engine.dispose()


def test_in_memory_sqlite_works(tmp_path: Path) -> None:
    engine = create_db_engine("sqlite://")
    try:
        with engine.begin() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgresql_uses_psycopg_3_with_pre_ping(scheme: str) -> None:
    engine = create_db_engine(f"{scheme}://user@localhost:5432/headwater")
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.pool._pre_ping is True  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_postgresql_connects(postgres_admin_url: str) -> None:
    engine = create_db_engine(postgres_admin_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
