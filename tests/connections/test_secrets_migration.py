"""Migration 0005 keeps the connections and variables a database already holds: their extras
become text, every row is marked as stored in clear, and a key set later encrypts new writes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import text

from headwater.db.engine import create_db_engine
from headwater.db.migrate import alembic_config, upgrade
from headwater.store.base import Connection
from headwater.store.sql import SqlStore


def test_rows_written_before_0005_are_read_after_it(
    scratch_db_url: str, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    engine = create_db_engine(scratch_db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0004")
            conn.execute(
                text(
                    "INSERT INTO connections (conn_id, conn_type, host, password, extra) "
                    "VALUES ('db', 'postgres', 'h', 'old-pw', :extra)"
                ),
                {"extra": '{"sslmode": "require", "retries": 3}'},
            )
            conn.execute(text("INSERT INTO variables (key, value) VALUES ('region', 'eu')"))
        upgrade(engine)
        use_keys(new_key())
        store = SqlStore(engine)
        assert store.get_connection("db") == Connection(
            "db",
            "postgres",
            host="h",
            password="old-pw",
            extra={"sslmode": "require", "retries": 3},
        )
        assert store.get_variable("region") == "eu"
        store.set_variable("region", "us")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT value, is_encrypted FROM variables")).one()
        assert row.is_encrypted and row.value != "us"
    finally:
        engine.dispose()


def test_downgrading_past_0005_refuses_encrypted_rows(
    scratch_db_url: str, use_keys: Callable[..., None], new_key: Callable[[], str]
) -> None:
    engine = create_db_engine(scratch_db_url)
    try:
        upgrade(engine)
        use_keys(new_key())
        SqlStore(engine).set_variable("token", "s3cret")
        with (
            pytest.raises(RuntimeError, match="1 connection\\(s\\) or variable\\(s\\) are stored"),
            engine.begin() as conn,
        ):
            command.downgrade(alembic_config(conn), "0004")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM variables"))
            command.downgrade(alembic_config(conn), "0004")
        with engine.connect() as conn:
            columns = conn.execute(text("SELECT * FROM connections")).keys()
        assert "is_encrypted" not in columns and "description" not in columns
    finally:
        engine.dispose()
