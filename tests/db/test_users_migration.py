"""Migration 0006 (users, roles, API tokens, sessions, failed logins, ``events.actor``) on
SQLite and PostgreSQL: events written before it keep their rows, with no actor; going back
to 0005 removes what it added."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from db_records import T0
from headwater.db.engine import create_db_engine
from headwater.db.migrate import alembic_config, upgrade
from headwater.db.rows import UserRow
from headwater.store.sql import SqlStore

ADDED = {"users", "roles", "api_tokens", "sessions", "login_failures"}


def test_0006_adds_the_accounts_and_the_actor_then_goes_back(scratch_db_url: str) -> None:
    engine = create_db_engine(scratch_db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0005")
            conn.execute(
                text("INSERT INTO events (at, kind, dag_id) VALUES (:at, 'pause', 'etl')"),
                {"at": T0},
            )
        assert not ADDED & set(inspect(engine).get_table_names())
        assert upgrade(engine)[0] == "0006"  # then the later revisions (0007: backfills)
        store = SqlStore(engine)
        [old] = store.list_events()
        assert (old.kind, old.dag_id, old.actor) == ("pause", "etl", None)
        assert store.add_user(UserRow("ann", "hash", "viewer", T0))
        store.record_event("create_user", at=T0, actor="root")
        assert store.list_events()[-1].actor == "root"

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0005")
        inspector = inspect(engine)
        assert not ADDED & set(inspector.get_table_names())
        assert "actor" not in {c["name"] for c in inspector.get_columns("events")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM events")).scalar_one() == 2
    finally:
        engine.dispose()
