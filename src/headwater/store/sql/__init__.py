"""The durable store: :class:`SqlStore`, the :class:`MetadataStore` on SQLite or PostgreSQL.

Same contract as :class:`~headwater.store.memory.MemoryStore` (each write method is one
committed transaction), plus what the scheduler, the DAG processor and the CLI need: DAGs
and their files, import errors, run and task-instance queries, attempt heartbeats, pools,
variables, connections, the event log and jobs. Example::

    store = SqlStore.from_url("sqlite:////home/me/headwater/headwater.db")
    upgrade(store.engine)            # headwater.db.migrate: once, before first use
    result = run_dag_in_process(dag, store=store)

One module per concern, each a class over :class:`~headwater.store.sql.core.SqlCore`:

* ``core``: the engine, the clock, the statements built once per dialect, ``_read`` and
  ``_write``;
* ``runs``, ``task_instances``, ``attempts``, ``xcoms``: what the engine persists;
* ``dags`` (DAG files, DAGs, import errors), ``config`` (pools, variables, connections),
  ``events``, ``jobs``: what the scheduler, the DAG processor and the CLI need;
* ``backfills``, ``claims`` (which scheduler owns which run);
* ``users``: users, roles, API tokens, sessions and failed logins;
* ``ports``: all of them as one class; ``store``: :class:`SqlStore`, one transaction per
  call; ``unit_of_work``: :class:`SqlUnitOfWork`, one transaction for many calls.

The store writes no event itself: the event log holds what people did, written by
:mod:`headwater.operations` in the same unit of work as the change. The ``queued_at`` /
``updated_at`` columns come from the store's clock (pass the scheduler's; the default is the
system clock); every other timestamp is an argument.

The hot methods (``save_dag_run``, ``save_task_instances``, ``save_attempt``, ``set_xcom``)
are SQLAlchemy Core statements built once per dialect: one transaction per call (or one per
unit of work), one ``executemany`` per table, no read before a write.
"""

from headwater.db.rows import (
    AttemptHeartbeat,
    AttemptKey,
    DagFileRow,
    DagRow,
    EventRow,
    ImportErrorRow,
    JobRow,
    PoolRow,
    VariableRow,
)
from headwater.store.sql.store import SqlStore

__all__ = [
    "AttemptHeartbeat",
    "AttemptKey",
    "DagFileRow",
    "DagRow",
    "EventRow",
    "ImportErrorRow",
    "JobRow",
    "PoolRow",
    "SqlStore",
    "VariableRow",
]
