"""Bringing a metadata database's schema up to date: behind ``headwater db migrate|check|reset``.

The Alembic chain ships inside the package (``headwater/db/migrations``) and is configured
here in code, so no ``alembic.ini`` is needed. Example::

    engine = create_db_engine(url)
    upgrade(engine)                  # creates every table, or applies what is missing
    status = check(engine)           # MigrationStatus(state=UP_TO_DATE, current="0001", ...)

A database with no schema at all is created from the models in one step and stamped at the
newest revision (what the whole chain would build: a test keeps the two equal, table by
table, on SQLite and PostgreSQL); a database at an older revision gets the pending
migrations. The chain's scripts are read once per process.

Every function runs in one transaction. Concurrent upgrades are safe: on PostgreSQL they
take an advisory lock, on SQLite the write transaction (``BEGIN IMMEDIATE``) serializes them;
the second one finds the schema up to date and does nothing.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, insert, text

from headwater.db import (
    backfill_models,  # noqa: F401  (registers `backfills` on Base)
    data_aware_models,  # noqa: F401  (registers triggers, assets on Base)
    operations_models,  # noqa: F401  (registers deadlines on Base)
    state_store_models,  # noqa: F401  (registers the task and asset state stores on Base)
)
from headwater.db.engine import READ_ONLY
from headwater.db.errors import DatabaseError
from headwater.db.models import (
    DEFAULT_POOL,
    DEFAULT_POOL_DESCRIPTION,
    DEFAULT_POOL_SLOTS,
    Base,
    PoolModel,
)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_PG_LOCK_KEY = 0x68_65_61_64_77_61  # "headwa": one advisory lock for headwater's migrations


# Alembic says at INFO what it sets up and runs ("Context impl SQLiteImpl.", plugins,
# "Running upgrade"): headwater reports migrations itself, and those lines would land in a
# task's log when a lookup opens the database during `dags test`. Kept at WARNING unless
# someone configured the logger.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)


class MigrationState(StrEnum):
    UP_TO_DATE = "up_to_date"
    PENDING = "pending"
    """Migrations this headwater knows are not applied yet: run ``headwater db migrate``."""
    NOT_INITIALISED = "not_initialised"
    """No schema at all (no ``alembic_version`` table)."""
    UNKNOWN_REVISION = "unknown_revision"
    """The database is at a revision this headwater does not know: it is newer than the code."""


@dataclass(frozen=True)
class MigrationStatus:
    """Where a database's schema stands against the migrations of this headwater."""

    state: MigrationState
    current: str | None
    """The database's revision; None when not initialised."""
    head: str
    """The newest revision this headwater ships."""
    pending: tuple[str, ...] = ()
    """Revisions ``upgrade`` would apply, oldest first."""

    @property
    def up_to_date(self) -> bool:
        return self.state is MigrationState.UP_TO_DATE

    def describe(self) -> str:
        """One sentence for people."""
        if self.state is MigrationState.UP_TO_DATE:
            return f"the database is up to date (revision {self.current})"
        if self.state is MigrationState.NOT_INITIALISED:
            return "the database is not initialised: run `headwater db migrate`"
        if self.state is MigrationState.PENDING:
            return (
                f"the database is at revision {self.current}; {len(self.pending)} migration(s) "
                f"pending ({', '.join(self.pending)}): run `headwater db migrate`"
            )
        return (
            f"the database is at revision {self.current!r}, which this headwater does not know "
            f"(its newest is {self.head}): it was migrated by a newer headwater"
        )


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for headwater's chain; ``connection`` is what env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> list[str]:
    """Apply every pending migration (none when up to date); returns the revisions applied.

    Raises :class:`~headwater.db.DatabaseError` when the database is newer than this code.
    """
    with engine.begin() as conn:
        _lock(conn)
        return _upgrade(conn)


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None when it is not initialised."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check(engine: Engine) -> MigrationStatus:
    """Compare the database with the migrations: up to date, pending, not initialised."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return _status(conn)


def require_up_to_date(engine: Engine) -> None:
    """Raise :class:`~headwater.db.DatabaseError` (saying what to do) unless up to date."""
    status = check(engine)
    if not status.up_to_date:
        raise DatabaseError(status.describe())


def reset(engine: Engine) -> list[str]:
    """Drop every headwater table and the migration history, then migrate from scratch.

    Everything stored is lost. Tables of other applications in the same database are kept.
    """
    with engine.begin() as conn:
        _lock(conn)
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        return _upgrade(conn)


def _upgrade(conn: Connection) -> list[str]:
    status = _status(conn)
    if status.state is MigrationState.UNKNOWN_REVISION:
        raise DatabaseError(status.describe())
    if status.state is MigrationState.NOT_INITIALISED:
        _create_from_models(conn)
    elif status.pending:
        command.upgrade(alembic_config(conn), "head")
    return list(status.pending)


def _create_from_models(conn: Connection) -> None:
    """What the whole chain builds, in one step: the tables, the rows the migrations seed (the
    default pool), and the newest revision recorded."""
    Base.metadata.create_all(conn, checkfirst=False)  # a table already there is an error
    conn.execute(
        insert(PoolModel).values(
            name=DEFAULT_POOL, slots=DEFAULT_POOL_SLOTS, description=DEFAULT_POOL_DESCRIPTION
        )
    )
    MigrationContext.configure(conn).stamp(_script(), "head")


def _script() -> ScriptDirectory:
    """The migrations shipped with this headwater (they cannot change while it runs)."""
    return _script_in(MIGRATIONS_DIR)


@functools.cache
def _script_in(folder: Path) -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(folder))
    return ScriptDirectory.from_config(config)


def _status(conn: Connection) -> MigrationStatus:
    script = _script()
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001
        raise DatabaseError(f"no migrations found in {MIGRATIONS_DIR}")
    current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return MigrationStatus(MigrationState.UP_TO_DATE, current, head)
    try:
        newer = script.iterate_revisions(head, current or "base")
        pending = tuple(reversed([rev.revision for rev in newer]))
    except (CommandError, RevisionError):
        return MigrationStatus(MigrationState.UNKNOWN_REVISION, current, head)
    state = MigrationState.NOT_INITIALISED if current is None else MigrationState.PENDING
    return MigrationStatus(state, current, head, pending)


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
