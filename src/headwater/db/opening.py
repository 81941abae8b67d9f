"""The one place that opens the metadata database named by the settings.

Every program that works on the database (the CLI through :mod:`headwater.services`, the
scheduler and the DAG processor through :mod:`headwater.scheduler.service`) opens it here,
so each refuses a missing or unmigrated database with the same one line, and warns once
about a SQLite file other users can read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater.clock import Clock
    from headwater.settings import Settings
    from headwater.store.sql import SqlStore


def open_store(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = False,
    checked: bool = False,
) -> SqlStore:
    """The metadata database of ``settings`` as a store; the caller closes it.

    Migrated first with ``migrate``; else it must exist and be up to date (a clear error says
    to run ``headwater db migrate``), unless the caller ``checked`` that already (the
    scheduler, for its DAG processor child: Alembic, which the check imports, is 9 MB that
    process need not hold).
    """
    from headwater.store.sql import SqlStore

    url = settings.database_url
    if checked:
        return SqlStore.from_url(url, clock=clock)
    from headwater.db.engine import create_db_engine
    from headwater.db.migrate import require_up_to_date, upgrade
    from headwater.db.sqlite_files import require_existing_database, warn_if_readable_by_others

    if not migrate:
        require_existing_database(url)
    warn_if_readable_by_others(url)
    engine = create_db_engine(url)
    try:
        if migrate:
            upgrade(engine)
        else:
            require_up_to_date(engine)
    finally:
        engine.dispose()
    return SqlStore.from_url(url, clock=clock)
