"""``headwater db``: create, check and reset the metadata database."""

from __future__ import annotations

from typing import Any

import click

from headwater.cli._common import console, emit_json, handle_errors, output_option
from headwater.cli._store import (
    confirm,
    database_url,
    open_engine,
    shown_url,
)


@click.group()
def db() -> None:
    """Create, check and reset the metadata database.

    The database is the `database.url` setting ($HEADWATER_DATABASE_URL); by default a
    SQLite file, $HEADWATER_HOME/headwater.db.
    """


def _status_json(status: Any) -> dict[str, Any]:
    return {
        "state": status.state.value,
        "current": status.current,
        "head": status.head,
        "pending": list(status.pending),
    }


@db.command("migrate")
@output_option
@handle_errors
def migrate_db(output: str) -> None:
    """Create the database's tables, or apply the migrations it lacks.

    Safe to run at any time, and by several processes at once: a database that is up to
    date is left as it is.

    \b
    Example:
        headwater db migrate
        HEADWATER_DATABASE_URL=postgresql+psycopg://hw@db:5432/hw headwater db migrate
    """
    from headwater.db.migrate import check, upgrade

    url = database_url()
    with open_engine(url) as engine:
        applied = upgrade(engine)
        status = check(engine)
    if output == "json":
        emit_json({"database": shown_url(url), "applied": applied, **_status_json(status)})
        return
    if applied:
        console().print(f"Applied {', '.join(applied)} to {shown_url(url)}: {status.describe()}")
    else:
        console().print(f"Nothing to apply to {shown_url(url)}: {status.describe()}")


@db.command("check")
@output_option
@handle_errors
def check_db(output: str) -> None:
    """Say whether the database is up to date; exit 1 when it is not.

    Exits 1 when migrations are pending, when it was never migrated (or does not exist),
    and when a newer headwater migrated it. Nothing is changed.

    \b
    Example:
        headwater db check || headwater db migrate
    """
    from headwater.db.engine import create_db_engine, require_intact
    from headwater.db.migrate import check
    from headwater.db.sqlite_files import missing_sqlite_file, require_creatable_path

    url = database_url()
    missing = missing_sqlite_file(url)
    if missing is not None:
        require_creatable_path(missing)  # under a file: `db migrate` would not help either
        # Connecting would create the file: ask an empty in-memory database instead.
        engine = create_db_engine("sqlite://")
        try:
            status = check(engine)
        finally:
            engine.dispose()
        message = f"the database {missing} does not exist: run `headwater db migrate`"
    else:
        with open_engine(url) as engine:
            require_intact(engine)
            status = check(engine)
        message = status.describe()
    if output == "json":
        emit_json({"database": shown_url(url), **_status_json(status)})
    else:
        console().print(f"{shown_url(url)}: {message}")
    if not status.up_to_date:
        raise SystemExit(1)


@db.command("reset")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@output_option
@handle_errors
def reset_db(yes: bool, output: str) -> None:
    """Delete everything stored, drop every table, then migrate from scratch.

    All DAGs, runs, task instances, XComs, pools, variables and connections are lost (log
    files are kept). Asks first unless --yes. Tables of other applications in the same
    database are left alone. A damaged SQLite file is renamed to
    headwater.db.damaged-<time> (with its WAL), and a new database is created.

    \b
    Example:
        headwater db reset --yes
    """
    from pathlib import Path

    from headwater.db.engine import require_intact
    from headwater.db.errors import DamagedDatabaseError
    from headwater.db.migrate import check, reset
    from headwater.db.sqlite_files import set_aside

    url = database_url()
    confirm(f"Delete everything in {shown_url(url)} and create it again?", yes)
    aside = None
    with open_engine(url) as engine:
        try:
            require_intact(engine)
        except DamagedDatabaseError as exc:
            # Nothing in it can be dropped reliably: start from a new file instead.
            engine.dispose()
            aside = set_aside(Path(exc.path))
        applied = reset(engine)
        status = check(engine)
    if output == "json":
        emit_json(
            {
                "database": shown_url(url),
                "applied": applied,
                "damaged_file_moved_to": str(aside) if aside else None,
                **_status_json(status),
            }
        )
        return
    if aside is not None:
        console().print(
            f"The database was damaged: moved the damaged file to {aside} (delete it once "
            "you no longer need it)"
        )
    console().print(f"Reset {shown_url(url)}: {status.describe()}")
