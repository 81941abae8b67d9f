"""The metadata database itself: migrate it, check it, reset it (``headwater db``).

These functions take the settings, not a :class:`~headwater.services.context.ServiceContext`:
they work on a database that may be missing, old or damaged, which a context refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from headwater.settings import Settings


class DatabaseStatus(Schema):
    """Where the database's schema stands against this headwater's migrations."""

    database: str
    """The URL, password hidden."""
    state: str
    current: str | None
    head: str | None
    pending: list[str]
    up_to_date: bool = Field(exclude=True)
    description: str = Field(exclude=True)
    """For people: what the state means and what to do."""


class MigrateResult(Schema):
    database: str
    applied: list[str]
    state: str
    current: str | None
    head: str | None
    pending: list[str]
    description: str = Field(exclude=True)


class ResetResult(Schema):
    database: str
    applied: list[str]
    damaged_file_moved_to: str | None
    """Where a damaged SQLite file was set aside (with its WAL); None when it was not."""
    state: str
    current: str | None
    head: str | None
    pending: list[str]
    description: str = Field(exclude=True)


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://..."


@contextmanager
def _open_engine(url: str) -> Iterator[Engine]:
    from headwater.db.engine import create_db_engine
    from headwater.db.sqlite_files import warn_if_readable_by_others
    from headwater.services.errors import database_errors

    warn_if_readable_by_others(url)
    engine = create_db_engine(url)
    try:
        with database_errors(url):
            yield engine
    finally:
        engine.dispose()


def migrate_database(settings: Settings) -> MigrateResult:
    """Create the tables, or apply the migrations the database lacks (safe to repeat, and
    to run from several processes at once)."""
    from headwater.db.migrate import check, upgrade

    url = settings.database_url
    with _open_engine(url) as engine:
        applied = upgrade(engine)
        status = check(engine)
    return MigrateResult(
        database=shown_url(url),
        applied=applied,
        description=status.describe(),
        state=status.state.value,
        current=status.current,
        head=status.head,
        pending=list(status.pending),
    )


def check_database(settings: Settings) -> DatabaseStatus:
    """Whether the database is up to date; changes nothing, and never creates a SQLite
    file that does not exist (its status is that of an empty database)."""
    from headwater.db.engine import create_db_engine, require_intact
    from headwater.db.migrate import check
    from headwater.db.sqlite_files import missing_sqlite_file, require_creatable_path

    url = settings.database_url
    missing = missing_sqlite_file(url)
    if missing is not None:
        require_creatable_path(missing)  # under a file: `db migrate` would not help either
        # Connecting would create the file: ask an empty in-memory database instead.
        engine = create_db_engine("sqlite://")
        try:
            status = check(engine)
        finally:
            engine.dispose()
        description = f"the database {missing} does not exist: run `headwater db migrate`"
    else:
        with _open_engine(url) as engine:
            require_intact(engine)
            status = check(engine)
        description = status.describe()
    return DatabaseStatus(
        database=shown_url(url),
        up_to_date=status.up_to_date,
        description=description,
        state=status.state.value,
        current=status.current,
        head=status.head,
        pending=list(status.pending),
    )


def reset_database(settings: Settings) -> ResetResult:
    """Drop every headwater table and migrate from scratch; a damaged SQLite file is
    renamed to ``<name>.damaged-<time>`` (with its WAL) and a new database created."""
    from headwater.db.engine import require_intact
    from headwater.db.errors import DamagedDatabaseError
    from headwater.db.migrate import check, reset
    from headwater.db.sqlite_files import set_aside

    url = settings.database_url
    aside = None
    with _open_engine(url) as engine:
        try:
            require_intact(engine)
        except DamagedDatabaseError as exc:
            # Nothing in it can be dropped reliably: start from a new file instead.
            engine.dispose()
            aside = set_aside(Path(exc.path))
        applied = reset(engine)
        status = check(engine)
    return ResetResult(
        database=shown_url(url),
        applied=applied,
        damaged_file_moved_to=str(aside) if aside else None,
        description=status.describe(),
        state=status.state.value,
        current=status.current,
        head=status.head,
        pending=list(status.pending),
    )
