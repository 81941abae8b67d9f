"""create_db_engine: URL schemes, SQLite's settings for several writers, PostgreSQL's driver."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

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
    # What SQLite itself runs (the write lock is taken on the driver's connection directly).
    event.listen(engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(statements.append))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            conn.execute(text("SELECT * FROM t")).all()
        assert [s for s in statements if not s.startswith("PRAGMA")] == [
            "BEGIN IMMEDIATE",
            "CREATE TABLE t (x INTEGER)",
            "COMMIT",
            "BEGIN",
            "SELECT * FROM t",
            "ROLLBACK",
        ]
    finally:
        engine.dispose()


def test_a_sqlite_writer_waits_for_the_lock_then_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that meets another's write lock tries again in short steps until it is free,
    and fails as SQLite does ("database is locked") once the busy timeout is spent."""
    import threading

    from headwater.db import engine as db_engine

    path = tmp_path / "headwater.db"
    engine = create_db_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = sqlite3.connect(path, isolation_level=None)  # another process's writer
    holder.execute("BEGIN IMMEDIATE")
    got: list[str] = []
    try:
        writer = threading.Thread(
            target=lambda: got.append(_insert(engine)), name="writer", daemon=True
        )
        writer.start()
        writer.join(0.2)
        assert got == [] and writer.is_alive()  # waiting for the lock
        holder.execute("COMMIT")
        writer.join(30)
        assert got == ["inserted"]

        holder.execute("BEGIN IMMEDIATE")
        monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_S", 0.05)
        with pytest.raises(OperationalError, match="database is locked"):
            _insert(engine)
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        engine.dispose()


def _insert(engine: Engine) -> str:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    return "inserted"


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
def test_postgresql_uses_psycopg_3(scheme: str) -> None:
    engine = create_db_engine(f"{scheme}://user@localhost:5432/headwater")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_postgresql_replaces_a_connection_the_server_dropped_while_idle(
    postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection idle for PING_AFTER_IDLE_S is pinged when taken: one the server
    closed meanwhile is replaced, and the caller never sees the error."""
    import headwater.db.engine as engine_module

    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    engine = create_db_engine(postgres_admin_url)
    admin = create_db_engine(postgres_admin_url)
    try:
        with engine.connect() as conn:
            first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        with engine.connect() as conn:
            second_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert second_pid != first_pid
    finally:
        engine.dispose()
        admin.dispose()


def test_postgresql_connects(postgres_admin_url: str) -> None:
    engine = create_db_engine(postgres_admin_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()
