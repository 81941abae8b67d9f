"""DAGs: those of a folder as the CLI lists them, and those stored in the database (pause,
unpause, delete).

The folder's DAGs come from a :class:`~headwater.loading.dagbag.DagBag` the caller loaded;
what the database adds (paused, next run) is read without requiring a database at all
(:func:`stored_dag_states`), since listing a folder works before ``db migrate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.services._schema import IsoDatetime, Schema

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.authoring.operator import BaseOperator
    from headwater.loading.dagbag import DagBag
    from headwater.services.context import ServiceContext
    from headwater.settings import Settings


class StoredDagState(Schema):
    """What the database says of a DAG the folder defines."""

    dag_id: str
    paused: bool
    next_run: IsoDatetime | None
    """The logical date of its next scheduled run; None until the scheduler saw the DAG."""


class FolderDag(Schema):
    dag_id: str
    file: str
    schedule: str
    tasks: int
    tags: list[str]
    paused: bool | None
    """None when the database is missing, not migrated, or does not hold the DAG."""
    next_run: IsoDatetime | None


class FolderImportError(Schema):
    file: str
    line: int | None
    error: str
    """The first line of the message."""
    detail: str


class FolderDags(Schema):
    """``headwater dags list``: the DAGs of a folder, and the files that failed to import."""

    dags: list[FolderDag]
    import_errors: list[FolderImportError]


class TaskSummary(Schema):
    """A task of a DAG, as ``headwater tasks list`` shows it."""

    task_id: str
    operator: str
    upstream: list[str]
    trigger_rule: str
    retries: int


class DagPaused(Schema):
    dag_id: str
    paused: bool


class DagDeleted(Schema):
    dag_id: str
    deleted: dict[str, int]
    """How many rows went from each table."""


def stored_dag_states(settings: Settings) -> dict[str, StoredDagState] | None:
    """The DAGs of the database, active or not, or None when it is missing, unreachable or
    not migrated. It never creates a database, and gives up on a PostgreSQL server that
    does not answer within 3 seconds. A damaged SQLite file is an error all the same: one
    to restore or reset, not to do without."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from headwater.db.engine import create_db_engine
    from headwater.db.errors import DamagedDatabaseError
    from headwater.db.migrate import check
    from headwater.db.sqlite_files import missing_sqlite_file, warn_if_readable_by_others
    from headwater.exceptions import HeadwaterError
    from headwater.store.sql import SqlStore

    try:
        url = settings.database_url
        if missing_sqlite_file(url) is not None:
            return None
        warn_if_readable_by_others(url)
        postgres = make_url(url).drivername.startswith("postgres")
        extra = {"connect_args": {"connect_timeout": 3}} if postgres else {}
        engine = create_db_engine(url, **extra)
        try:
            if not check(engine).up_to_date:
                return None
            rows = SqlStore(engine).list_dags(include_inactive=True)
        finally:
            engine.dispose()
    except DamagedDatabaseError:
        raise
    except (HeadwaterError, SQLAlchemyError, OSError):
        return None
    return {
        row.dag_id: StoredDagState(
            dag_id=row.dag_id, paused=row.is_paused, next_run=row.next_dagrun_logical_date
        )
        for row in rows
    }


def shown_schedule(dag: DAG) -> str:
    """The schedule ``dags list`` shows: the time schedule, ``assets`` for a DAG scheduled on
    assets only, ``<time schedule> or assets`` for both (as the ``dags`` row keeps it)."""
    from headwater.authoring.schedules import NullSchedule

    text = dag.schedule.description
    if dag.asset_condition is None:
        return text
    return "assets" if isinstance(dag.schedule, NullSchedule) else f"{text} or assets"


def list_folder_dags(bag: DagBag, stored: dict[str, StoredDagState] | None) -> FolderDags:
    """The DAGs of ``bag`` by id, with what ``stored`` says of each, and its import errors."""
    dags = []
    for dag in sorted(bag.dags.values(), key=lambda d: d.dag_id):
        state = (stored or {}).get(dag.dag_id)
        dags.append(
            FolderDag(
                dag_id=dag.dag_id,
                file=str(bag.files[dag.dag_id]),
                schedule=shown_schedule(dag),
                tasks=len(dag.task_dict),
                tags=list(dag.tags),
                paused=state.paused if state is not None else None,
                next_run=state.next_run if state is not None else None,
            )
        )
    errors = [
        FolderImportError(
            file=str(e.path), line=e.line, error=e.message.splitlines()[0], detail=e.message
        )
        for e in bag.import_errors
    ]
    return FolderDags(dags=dags, import_errors=errors)


def operator_name(task: BaseOperator) -> str:
    """The name users know a task's operator by: ``@task``, ``BashOperator (mapped)``..."""
    from headwater.authoring.mapping import MappedOperator

    cls = task.operator_class if isinstance(task, MappedOperator) else type(task)
    name = cls.custom_operator_name or cls.__name__
    return f"{name} (mapped)" if task.is_mapped else name


def list_tasks(dag: DAG) -> list[TaskSummary]:
    """The tasks of ``dag`` in dependency order."""
    return [
        TaskSummary(
            task_id=t.task_id,
            operator=operator_name(t),
            upstream=list(t.upstream_task_ids),
            trigger_rule=t.trigger_rule.value,
            retries=t.retries,
        )
        for t in dag.topological_sort()
    ]


def is_paused(ctx: ServiceContext, dag_id: str) -> bool:
    """Whether ``dag_id`` is stored and paused (False for a DAG the database lacks)."""
    row = ctx.store.get_dag(dag_id)
    return row is not None and row.is_paused


def active_dag_ids(ctx: ServiceContext) -> list[str]:
    """The DAGs some DAG file defines now, by id."""
    return [row.dag_id for row in ctx.store.list_dags() if row.fileloc]


def set_paused(ctx: ServiceContext, dag_id: str, paused: bool) -> DagPaused:
    """Pause or unpause ``dag_id``; :class:`~headwater.services.errors.NotFoundError` when
    the database does not hold it."""
    from headwater.operations import set_paused as set_paused_op

    row = set_paused_op(ctx.store, dag_id, paused)
    return DagPaused(dag_id=row.dag_id, paused=row.is_paused)


def count_runs(ctx: ServiceContext, dag_id: str) -> int:
    """How many runs ``dag_id`` has (what deleting it would delete); not found when the
    database does not hold it."""
    from headwater.operations import dag_row

    dag_row(ctx.store, dag_id)
    return len(ctx.store.list_dag_runs(dag_id))


def delete_dag(ctx: ServiceContext, dag_id: str) -> DagDeleted:
    """Delete ``dag_id`` with its runs, task instances, attempts, XComs (and the files of
    the XCom object store) and backfills (see :func:`headwater.operations.delete_dag`)."""
    from headwater.operations import delete_dag as delete_dag_op
    from headwater.xcom_objects import delete_dag_objects

    deleted = delete_dag_op(ctx.store, dag_id)
    delete_dag_objects(ctx.settings, dag_id)
    return DagDeleted(dag_id=dag_id, deleted=deleted)
