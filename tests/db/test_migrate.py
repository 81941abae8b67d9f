"""Migrations: upgrade, check, reset, and that the migrations match the models."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, text

from database_fixtures import HEAD, REVISIONS, fresh_postgres_database, worker_database
from db_records import T0
from headwater.db import DatabaseError, migrate
from headwater.db.engine import create_db_engine
from headwater.db.migrate import (
    MigrationState,
    alembic_config,
    check,
    current_revision,
    require_up_to_date,
    reset,
    upgrade,
)
from headwater.db.models import Base
from headwater.db.rows import PoolRow
from headwater.store.sql import SqlStore

TABLES = {
    "alembic_version",
    "api_tokens",
    "backfills",
    "connections",
    "dag_files",
    "dag_runs",
    "deadlines",
    "task_state_store",
    "asset_state_store",
    "dags",
    "events",
    "import_errors",
    "jobs",
    "login_failures",
    "triggers",
    "assets",
    "asset_aliases",
    "asset_alias_assets",
    "asset_events",
    "dag_asset_references",
    "dag_alias_references",
    "dag_asset_name_references",
    "asset_watcher_claims",
    "asset_dag_run_queue",
    "dag_run_asset_events",
    "pools",
    "roles",
    "sessions",
    "task_attempts",
    "task_instances",
    "users",
    "variables",
    "xcoms",
}


@pytest.fixture
def engine(scratch_db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(scratch_db_url)
    yield engine
    engine.dispose()


def _differences(engine: Engine, metadata: MetaData) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


NEXT = f"{int(HEAD) + 1:04d}"
"""The revision a newer headwater would add."""


def test_upgrade_creates_every_table_once(engine: Engine) -> None:
    status = check(engine)
    assert status.state is MigrationState.NOT_INITIALISED
    assert (status.current, status.head, status.pending) == (None, HEAD, tuple(REVISIONS))
    assert "headwater db migrate" in status.describe()
    assert current_revision(engine) is None
    assert upgrade(engine) == REVISIONS
    assert upgrade(engine) == []
    assert set(inspect(engine).get_table_names()) == TABLES
    status = check(engine)
    assert status.up_to_date and status.current == HEAD and status.pending == ()
    assert status.describe() == f"the database is up to date (revision {HEAD})"
    assert current_revision(engine) == HEAD
    require_up_to_date(engine)
    assert SqlStore(engine).list_pools() == [PoolRow("default_pool", 128, "Default pool")]


def _migrate_step_by_step(engine: Engine) -> None:
    """The whole chain, one migration after another (``upgrade`` builds a new database from
    the models in one step instead)."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


def _schema(engine: Engine) -> dict[str, dict[str, object]]:
    """Every table as the database describes it: columns (type, null, default), primary key,
    indexes, unique and check constraints, foreign keys."""
    inspector = inspect(engine)
    return {
        table: {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in inspector.get_columns(table)
            ),
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
            "checks": sorted(str(c["sqltext"]) for c in inspector.get_check_constraints(table)),
            "foreign keys": sorted(
                (
                    tuple(f["constrained_columns"]),
                    f["referred_table"],
                    tuple(f["referred_columns"]),
                    str(f.get("options")),
                )
                for f in inspector.get_foreign_keys(table)
            ),
        }
        for table in inspector.get_table_names()
    }


def test_a_new_database_is_what_the_whole_chain_builds(
    engine: Engine, scratch_db_url: str, request: pytest.FixtureRequest
) -> None:
    assert upgrade(engine) == REVISIONS  # a new database: built from the models at once
    if engine.dialect.name == "sqlite":
        chain_url = scratch_db_url.replace("headwater.db", "chain.db")
    else:
        admin_url: str = request.getfixturevalue("postgres_admin_url")
        chain_url = fresh_postgres_database(admin_url, worker_database("_chain"))
    chained = create_db_engine(chain_url)
    try:
        _migrate_step_by_step(chained)
        assert check(chained).up_to_date
        built, migrated = _schema(engine), _schema(chained)
        assert set(built) == set(migrated) == TABLES
        for table in sorted(TABLES):
            assert built[table] == migrated[table], table
        assert SqlStore(chained).list_pools() == SqlStore(engine).list_pools()
    finally:
        chained.dispose()


def test_the_migrations_create_exactly_the_models(engine: Engine) -> None:
    _migrate_step_by_step(engine)
    assert _differences(engine, Base.metadata) == []
    # The comparison does look: a column the migrations lack shows up.
    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["pools"].append_column(Column("weight", Integer))
    assert [d[0] for d in _differences(engine, changed)] == ["add_column"]


def test_reset_drops_everything_and_migrates_again(db_url: str) -> None:
    with SqlStore.from_url(db_url) as store:
        store.set_variable("v", "1")
        store.set_pool("db", 3)
        store.start_job("scheduler", "h", 1, T0)
        assert reset(store.engine) == REVISIONS
        assert store.get_variable("v") is None
        assert [p.name for p in store.list_pools()] == ["default_pool"]
        assert store.list_jobs() == []
        assert check(store.engine).up_to_date


def test_reset_of_an_empty_database_just_migrates(engine: Engine) -> None:
    assert reset(engine) == REVISIONS
    assert check(engine).up_to_date


def test_pending_migrations_are_reported_then_applied(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(engine)
    newer = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "versions" / f"{NEXT}_notes.py").write_text(
        f'revision = "{NEXT}"\n'
        f'down_revision = "{HEAD}"\n'
        "import sqlalchemy as sa\n"
        "from alembic import op\n"
        "def upgrade():\n"
        '    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))\n'
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", newer)
    status = check(engine)
    assert status.state is MigrationState.PENDING
    assert (status.current, status.head, status.pending) == (HEAD, NEXT, (NEXT,))
    assert f"1 migration(s) pending ({NEXT})" in status.describe()
    with pytest.raises(DatabaseError, match="pending"):
        require_up_to_date(engine)
    assert upgrade(engine) == [NEXT]
    assert check(engine).up_to_date
    assert "notes" in inspect(engine).get_table_names()


def test_a_database_migrated_by_a_newer_headwater_is_refused(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    status = check(engine)
    assert status.state is MigrationState.UNKNOWN_REVISION
    assert status.current == "9999"
    with pytest.raises(DatabaseError, match="migrated by a newer headwater"):
        upgrade(engine)


def test_the_migrations_ship_inside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = resources.files("headwater.db") / "migrations"
    assert (folder / "env.py").is_file()
    assert (folder / "versions" / "0001_initial.py").is_file()
    monkeypatch.chdir(tmp_path)  # no alembic.ini anywhere near
    engine = create_db_engine(f"sqlite:///{tmp_path / 'headwater.db'}")
    try:
        assert upgrade(engine) == REVISIONS
    finally:
        engine.dispose()


def test_checking_and_migrating_log_nothing_of_alembic_at_info(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """headwater reports migrations itself; Alembic's set-up lines would otherwise land in a
    task's log when a lookup opens the database during `dags test`."""
    caplog.set_level("INFO")
    upgrade(engine)
    assert check(engine).up_to_date
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []


def test_a_database_holding_headwater_tables_but_no_revision_is_refused(engine: Engine) -> None:
    """Leftovers of something else (or of a failed set-up) are never taken as headwater's
    schema: building it stops at the first table already there, and nothing is kept."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pools (name VARCHAR(250) PRIMARY KEY)"))
    with pytest.raises(Exception, match=r"(?i)pools.*already exists|already exists.*pools"):
        upgrade(engine)
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) == {"pools"}
