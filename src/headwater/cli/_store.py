"""What the commands that use the metadata database share: opening it, and showing records.

Every such command reads ``load_settings().database_url`` and refuses a database that is
missing or not migrated with one line saying to run ``headwater db migrate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from headwater.db.errors import DatabaseError
    from headwater.db.rows import DagRow
    from headwater.engine.records import DagRun, TaskInstance
    from headwater.store.sql import SqlStore


def database_url() -> str:
    from headwater.settings import load_settings

    return load_settings().database_url


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://..."


def unreachable(exc: BaseException, url: str | None = None) -> DatabaseError | None:
    """The one-line :class:`DatabaseError` for an error that says the database cannot be
    reached or used (refused, timed out, dropped); None for any other error."""
    import sys

    if "sqlalchemy" not in sys.modules:  # nothing opened a database
        return None
    from sqlalchemy.exc import InterfaceError, OperationalError

    from headwater.db.errors import DatabaseError

    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    reason = (str(exc.orig or exc).strip().splitlines() or ["?"])[0]
    if url is None:
        try:
            url = database_url()
        except Exception:  # the settings broke after the command started: say less
            return DatabaseError(f"cannot use the database: {reason}")
    return DatabaseError(f"cannot use the database {shown_url(url)}: {reason}")


@contextmanager
def connection_errors(url: str) -> Iterator[None]:
    """A database that cannot be reached is a one-line :class:`DatabaseError`."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        problem = unreachable(exc, url)
        assert problem is not None  # both are errors unreachable() explains
        raise problem from None


@contextmanager
def open_engine(url: str) -> Iterator[Engine]:
    from headwater.db.engine import create_db_engine
    from headwater.db.sqlite_files import warn_if_readable_by_others

    warn_if_readable_by_others(url)
    engine = create_db_engine(url)
    try:
        with connection_errors(url):
            yield engine
    finally:
        engine.dispose()


@contextmanager
def open_store() -> Iterator[SqlStore]:
    """The metadata database of the settings, which must exist and be migrated."""
    from headwater.db.migrate import require_up_to_date
    from headwater.db.sqlite_files import require_existing_database
    from headwater.store.sql import SqlStore

    url = database_url()
    require_existing_database(url)
    with open_engine(url) as engine:
        require_up_to_date(engine)
        yield SqlStore(engine)


def stored_dags_if_migrated() -> dict[str, DagRow] | None:
    """The DAGs of the database, or None when it is missing, unreachable or not migrated.

    For ``dags list``, which works without a database: it never creates one, and gives up
    on a PostgreSQL server that does not answer within 3 seconds.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from headwater.db.engine import create_db_engine
    from headwater.db.errors import DamagedDatabaseError
    from headwater.db.migrate import check
    from headwater.db.sqlite_files import missing_sqlite_file, warn_if_readable_by_others
    from headwater.exceptions import HeadwaterError
    from headwater.store.sql import SqlStore

    try:
        url = database_url()
        if missing_sqlite_file(url) is not None:
            return None
        warn_if_readable_by_others(url)
        postgres = make_url(url).drivername.startswith("postgres")
        extra = {"connect_args": {"connect_timeout": 3}} if postgres else {}
        engine = create_db_engine(url, **extra)
        try:
            if not check(engine).up_to_date:
                return None
            return {row.dag_id: row for row in SqlStore(engine).list_dags(include_inactive=True)}
        finally:
            engine.dispose()
    except DamagedDatabaseError:
        raise  # not a database to do without: one to restore or reset
    except (HeadwaterError, SQLAlchemyError, OSError):
        return None


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def when(value: datetime | None) -> str:
    """A time for people: ISO 8601 to the second, empty when unset."""
    return value.isoformat(timespec="seconds") if value is not None else ""


def run_json(run: DagRun) -> dict[str, Any]:
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "state": run.state.value,
        "run_type": run.run_type,
        "logical_date": iso(run.logical_date),
        "data_interval_start": iso(run.data_interval_start),
        "data_interval_end": iso(run.data_interval_end),
        "start_date": iso(run.start_date),
        "end_date": iso(run.end_date),
        "conf": run.conf,
        "backfill_id": run.backfill_id,
        "note": run.note,
    }


def ti_json(ti: TaskInstance) -> dict[str, Any]:
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "state": ti.state.value,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "start_date": iso(ti.start_date),
        "end_date": iso(ti.end_date),
        "error": ti.error,
        "pool": ti.pool,
        "queue": ti.queue,
        "priority_weight": ti.priority_weight,
    }


def confirm(question: str, yes: bool) -> None:
    """Ask on stderr (stdout stays clean for JSON) unless ``--yes``; no aborts with exit 1."""
    import click

    if not yes:
        click.confirm(question, abort=True, err=True)


def warn_if_paused(store: Any, dag_id: str) -> None:
    """A note on stderr when ``dag_id`` is paused: the runs just queued wait for it."""
    row = store.get_dag(dag_id)
    if row is not None and row.is_paused:
        from headwater.cli._common import console

        console(stderr=True).print(
            f"Note: DAG {dag_id} is paused; its runs wait until `headwater dags unpause {dag_id}`."
        )
