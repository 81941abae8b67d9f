"""What people do to the metadata database, as plain functions: trigger, clear, mark,
pause, delete, backfill; pools, variables and connections.

:mod:`headwater.services` calls these for the command line today and the REST API tomorrow,
so both behave the same. Each function takes a :class:`~headwater.store.ports.Store`
(``SqlStore`` or ``MemoryStore``) and ``now`` where it records a time, commits its change
before it returns (one unit of work: the change and its entry in the event log, or nothing),
and refuses bad input with an :class:`~headwater.operations.errors.OperationError` naming the
field or id (see there for the hierarchy). They only write what the scheduler reads: a
triggered or cleared run is QUEUED in the database, and the scheduler (re)loads it from
there. Example::

    with SqlStore.from_url(settings.database_url) as store:
        run = trigger_run(store, "etl", conf={"region": "us"}, now=datetime.now(UTC))
        clear_task_instances(store, "etl", run.run_id, ["load"], downstream=True, now=...)
"""

from headwater.operations._stored import dag_row, require_run, stored_dag
from headwater.operations.admin import (
    MAX_POOL_SLOTS,
    add_connection,
    connection_from_uri,
    delete_connection,
    delete_pool,
    delete_variable,
    get_variable,
    public_connection,
    replace_connection,
    set_pool,
    set_variable,
)
from headwater.operations.backfill import (
    REPROCESS,
    Backfill,
    BackfillItem,
    BackfillPlan,
    CancelledBackfill,
    backfill_limits,
    cancel_backfill,
    plan_backfill,
    run_backfill,
)
from headwater.operations.clearing import clear_task_instances, task_instances_to_clear
from headwater.operations.dags import delete_dag, set_paused
from headwater.operations.errors import (
    ConflictError,
    DagNotInDatabaseError,
    InvalidRequestError,
    NotFoundError,
    OperationError,
)
from headwater.operations.logs import AttemptLog, attempt_ended, find_attempt_log
from headwater.operations.marking import mark_task_instances, task_instances_to_mark
from headwater.operations.partition_backfill import plan_partition_backfill
from headwater.operations.runs import delete_run, trigger_run

__all__ = [
    "MAX_POOL_SLOTS",
    "REPROCESS",
    "AttemptLog",
    "Backfill",
    "BackfillItem",
    "BackfillPlan",
    "CancelledBackfill",
    "ConflictError",
    "DagNotInDatabaseError",
    "InvalidRequestError",
    "NotFoundError",
    "OperationError",
    "add_connection",
    "attempt_ended",
    "backfill_limits",
    "cancel_backfill",
    "clear_task_instances",
    "connection_from_uri",
    "dag_row",
    "delete_connection",
    "delete_dag",
    "delete_pool",
    "delete_run",
    "delete_variable",
    "find_attempt_log",
    "get_variable",
    "mark_task_instances",
    "plan_backfill",
    "plan_partition_backfill",
    "public_connection",
    "replace_connection",
    "require_run",
    "run_backfill",
    "set_paused",
    "set_pool",
    "set_variable",
    "stored_dag",
    "task_instances_to_clear",
    "task_instances_to_mark",
    "trigger_run",
]
