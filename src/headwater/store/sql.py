"""The durable store: :class:`SqlStore`, the :class:`MetadataStore` on SQLite or PostgreSQL.

Same contract as :class:`~headwater.store.memory.MemoryStore` (each write method is one
committed transaction), plus what the scheduler, the DAG processor and the CLI need: DAGs
and their files, import errors, run and task-instance queries, attempt heartbeats, pools,
variables, connections, the event log and jobs. Example::

    store = SqlStore.from_url("sqlite:////home/me/headwater/headwater.db")
    upgrade(store.engine)            # headwater.db.migrate: once, before first use
    result = run_dag_in_process(dag, store=store)

The store writes the event log itself: one ``ti_state`` event per task instance written,
one ``run_state`` event when a run's state changes, one ``pause`` event per pause or
unpause. Their time, and the ``queued_at`` / ``updated_at`` columns, come from the store's
clock (pass the scheduler's; the default is the system clock). Every other timestamp is an
argument.

Liveness of running attempts (``heartbeat_at``, ``worker``) is not part of the engine's
``TaskAttempt`` record: :meth:`SqlStore.attempt_heartbeats` returns it beside
:meth:`SqlStore.running_attempts`, keyed by :class:`~headwater.db.rows.AttemptKey`.

The hot methods (``save_task_instances``, ``save_attempt``, ``set_xcom``) are SQLAlchemy
Core statements built once per store: one transaction per call, one ``executemany`` per
table, no read before a write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from headwater.clock import Clock, SystemClock
from headwater.db import dialect
from headwater.db.convert import (
    ACTIVE_RUN_STATES,
    ATTEMPTS,
    CONNECTION_FIELDS,
    CONNECTIONS,
    DAG_FILES,
    DAGS,
    EVENTS,
    IMPORT_ERRORS,
    JOBS,
    POOLS,
    RUNNING,
    RUNS,
    SCHEDULER_OWNED,
    TIS,
    VARIABLES,
    XCOMS,
    attempt_key_params,
    attempt_params,
    attempt_where,
    dag_params,
    event,
    key_params,
    outcome_json,
    run_event,
    run_key,
    run_params,
    state_values,
    ti_event,
    ti_params,
    ti_where,
    to_attempt,
    to_dag,
    to_run,
    to_ti,
)
from headwater.db.engine import READ_ONLY, create_db_engine
from headwater.db.errors import DatabaseError
from headwater.db.models import DEFAULT_POOL
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
from headwater.engine.records import (
    AttemptOutcome,
    DagRun,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.store.base import Connection, MetadataStore

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


class SqlStore(MetadataStore):
    """A :class:`MetadataStore` on a SQLAlchemy engine (SQLite or PostgreSQL).

    ``engine`` comes from :func:`headwater.db.engine.create_db_engine` (on SQLite, foreign
    keys, and so cascading deletes, depend on its settings) and its database is migrated
    (:func:`headwater.db.migrate.upgrade`). Safe to share between threads; each process
    makes its own (engines do not cross ``fork``). ``clock`` times the events the store
    logs itself.
    """

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self._owns_engine = False
        name = engine.dialect.name
        self._upsert_ti = dialect.upsert(
            name, TIS, merge={"queued_at": lambda ex: func.coalesce(ex.queued_at, TIS.c.queued_at)}
        )
        self._upsert_attempt = dialect.upsert(name, ATTEMPTS, keep=("heartbeat_at", "worker"))
        self._upsert_xcom = dialect.upsert(name, XCOMS)
        self._upsert_variable = dialect.upsert(
            name,
            VARIABLES,
            merge={
                "description": lambda ex: func.coalesce(ex.description, VARIABLES.c.description)
            },
        )
        self._upsert_connection = dialect.upsert(name, CONNECTIONS)
        self._upsert_pool = dialect.upsert(name, POOLS)
        self._upsert_dag_file = dialect.upsert(name, DAG_FILES)
        self._upsert_dag = dialect.upsert(name, DAGS, keep=SCHEDULER_OWNED)
        self._insert_event = insert(EVENTS)
        self._delete_ti = delete(TIS).where(
            TIS.c.dag_id == bindparam("k_dag_id"),
            TIS.c.run_id == bindparam("k_run_id"),
            TIS.c.task_id == bindparam("k_task_id"),
            TIS.c.map_index == bindparam("k_map_index"),
        )
        self._heartbeat = (
            update(ATTEMPTS)
            .where(
                ATTEMPTS.c.dag_id == bindparam("k_dag_id"),
                ATTEMPTS.c.run_id == bindparam("k_run_id"),
                ATTEMPTS.c.task_id == bindparam("k_task_id"),
                ATTEMPTS.c.map_index == bindparam("k_map_index"),
                ATTEMPTS.c.try_number == bindparam("k_try_number"),
            )
            .values(heartbeat_at=bindparam("k_now"))
        )

    @classmethod
    def from_url(cls, url: str, *, clock: Clock | None = None) -> SqlStore:
        """A store on a new engine for ``url``; :meth:`close` disposes of the engine."""
        store = cls(create_db_engine(url), clock=clock)
        store._owns_engine = True
        return store

    def close(self) -> None:
        """Close the pooled connections, if this store created its engine."""
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[SAConnection]:
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            yield conn

    # -- runs (MetadataStore) ------------------------------------------------------------------

    def create_dag_run(self, run: DagRun, task_instances: Iterable[TaskInstance]) -> None:
        now = self.clock.now()
        tis = list(task_instances)
        with self.engine.begin() as conn:
            try:
                conn.execute(insert(RUNS), {**run_params(run), "queued_at": now})
            except IntegrityError:
                raise ValueError(f"DAG {run.dag_id!r} already has a run {run.run_id!r}") from None
            events = [run_event(run, now)]
            if tis:
                conn.execute(self._upsert_ti, [ti_params(ti, now) for ti in tis])
                events += [ti_event(ti, now) for ti in tis]
            conn.execute(self._insert_event, events)

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        with self._read() as conn:
            row = conn.execute(select(RUNS).where(*run_key(dag_id, run_id))).first()
        return to_run(row) if row is not None else None

    def save_dag_run(self, run: DagRun) -> None:
        """Insert or update ``run``; a ``run_state`` event is written when its state changed."""
        now = self.clock.now()
        key = run_key(run.dag_id, run.run_id)
        with self.engine.begin() as conn:
            old = conn.execute(
                select(RUNS.c.state).where(*key).with_for_update()
            ).scalar_one_or_none()
            params = run_params(run)
            if old is None:
                conn.execute(insert(RUNS), {**params, "queued_at": now})
            else:
                del params["dag_id"], params["run_id"]
                conn.execute(update(RUNS).where(*key).values(**params))
            if old != run.state.value:
                conn.execute(self._insert_event, run_event(run, now))

    def list_dag_runs(
        self,
        dag_id: str,
        states: Iterable[DagRunState | str] | None = None,
        limit: int | None = None,
    ) -> list[DagRun]:
        """Runs of ``dag_id``, oldest logical date first; ``limit`` keeps the newest ones."""
        query = select(RUNS).where(RUNS.c.dag_id == dag_id)
        if states is not None:
            query = query.where(RUNS.c.state.in_(state_values(states)))
        query = query.order_by(RUNS.c.logical_date.desc(), RUNS.c.run_id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [to_run(row) for row in reversed(rows)]

    def get_dag_runs_by_state(self, states: Iterable[DagRunState | str]) -> list[DagRun]:
        """Runs of every DAG in ``states``, oldest logical date first."""
        query = (
            select(RUNS)
            .where(RUNS.c.state.in_(state_values(states)))
            .order_by(RUNS.c.logical_date, RUNS.c.dag_id, RUNS.c.run_id)
        )
        with self._read() as conn:
            return [to_run(row) for row in conn.execute(query)]

    def run_keys_in_state(self, state: DagRunState | str) -> set[tuple[str, str]]:
        """``(dag_id, run_id)`` of every run in ``state``: a cheap look for new runs."""
        query = select(RUNS.c.dag_id, RUNS.c.run_id).where(RUNS.c.state.in_(state_values([state])))
        with self._read() as conn:
            return {(dag_id, run_id) for dag_id, run_id in conn.execute(query)}

    def find_dag_run(
        self, dag_id: str, logical_date: datetime, run_type: str | None = None
    ) -> list[DagRun]:
        """The runs of ``dag_id`` at exactly ``logical_date`` (of ``run_type``, if given)."""
        query = select(RUNS).where(RUNS.c.dag_id == dag_id, RUNS.c.logical_date == logical_date)
        if run_type is not None:
            query = query.where(RUNS.c.run_type == run_type)
        with self._read() as conn:
            return [to_run(row) for row in conn.execute(query.order_by(RUNS.c.run_id))]

    def delete_dag_run(self, dag_id: str, run_id: str) -> bool:
        """Delete a run with its task instances, attempts and XComs; False if there was none."""
        with self.engine.begin() as conn:
            deleted = conn.execute(delete(RUNS).where(*run_key(dag_id, run_id))).rowcount
        return bool(deleted)

    def count_active_runs(self, dag_id: str) -> int:
        """How many runs of ``dag_id`` are queued or running."""
        query = select(func.count()).where(
            RUNS.c.dag_id == dag_id, RUNS.c.state.in_(ACTIVE_RUN_STATES)
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    # -- task instances (MetadataStore) --------------------------------------------------------

    def save_task_instances(
        self, task_instances: Iterable[TaskInstance], *, delete: Iterable[TaskInstanceKey] = ()
    ) -> None:
        """Upsert ``task_instances`` and delete ``delete`` in one transaction.

        Writes one ``ti_state`` event per instance written (its new state).
        """
        tis = list(task_instances)
        keys = list(delete)
        if not tis and not keys:
            return
        with self.engine.begin() as conn:
            self._write_task_instances(conn, tis, keys)

    def save_attempt_with_task_instances(
        self,
        attempt: TaskAttempt,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
    ) -> None:
        """The attempt's row and the instances' changes in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(self._upsert_attempt, attempt_params(attempt))
            self._write_task_instances(conn, list(task_instances), list(delete))

    def _write_task_instances(
        self, conn: SAConnection, tis: list[TaskInstance], keys: list[TaskInstanceKey]
    ) -> None:
        now = self.clock.now()
        if keys:
            conn.execute(self._delete_ti, [key_params(key) for key in keys])
        if tis:
            conn.execute(self._upsert_ti, [ti_params(ti, now) for ti in tis])
            conn.execute(self._insert_event, [ti_event(ti, now) for ti in tis])

    def get_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        query = (
            select(TIS)
            .where(*run_key(dag_id, run_id, TIS))
            .order_by(TIS.c.task_id, TIS.c.map_index)
        )
        with self._read() as conn:
            return [to_ti(row) for row in conn.execute(query)]

    def get_task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> TaskInstance | None:
        query = select(TIS).where(
            *run_key(dag_id, run_id, TIS), TIS.c.task_id == task_id, TIS.c.map_index == map_index
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return to_ti(row) if row is not None else None

    def count_tis_by_pool(self, states: Iterable[TaskInstanceState | str]) -> dict[str, int]:
        """Pool name -> slots held by instances in ``states`` (the sum of their pool_slots)."""
        query = (
            select(TIS.c.pool, func.sum(TIS.c.pool_slots))
            .where(TIS.c.state.in_(state_values(states)))
            .group_by(TIS.c.pool)
        )
        with self._read() as conn:
            return {pool: int(slots) for pool, slots in conn.execute(query)}

    def count_tis_by_dag(self, states: Iterable[TaskInstanceState | str]) -> dict[str, int]:
        """DAG id -> number of its instances in ``states``."""
        query = (
            select(TIS.c.dag_id, func.count())
            .where(TIS.c.state.in_(state_values(states)))
            .group_by(TIS.c.dag_id)
        )
        with self._read() as conn:
            return {dag_id: int(count) for dag_id, count in conn.execute(query)}

    # -- attempts (MetadataStore) --------------------------------------------------------------

    def save_attempt(self, attempt: TaskAttempt) -> None:
        """Insert or update one try; a new row's heartbeat is its start."""
        with self.engine.begin() as conn:
            conn.execute(self._upsert_attempt, attempt_params(attempt))

    def get_attempts(
        self, dag_id: str, run_id: str, task_id: str | None = None
    ) -> list[TaskAttempt]:
        query = select(ATTEMPTS).where(*run_key(dag_id, run_id, ATTEMPTS))
        if task_id is not None:
            query = query.where(ATTEMPTS.c.task_id == task_id)
        query = query.order_by(
            ATTEMPTS.c.start_date, ATTEMPTS.c.task_id, ATTEMPTS.c.map_index, ATTEMPTS.c.try_number
        )
        with self._read() as conn:
            return [to_attempt(row) for row in conn.execute(query)]

    def get_attempt(self, key: AttemptKey) -> TaskAttempt | None:
        query = select(ATTEMPTS).where(*attempt_where(AttemptKey(*key)))
        with self._read() as conn:
            row = conn.execute(query).first()
        return to_attempt(row) if row is not None else None

    def record_attempt_outcome(
        self,
        key: AttemptKey,
        outcome: AttemptOutcome,
        end_date: datetime,
        xcoms: Mapping[str, str] | None = None,
    ) -> bool:
        """Compare-and-set on the attempt row (``state = 'running'``), and its XComs, in one
        transaction: see :meth:`MetadataStore.record_attempt_outcome`."""
        key = AttemptKey(*key)
        where = (*attempt_where(key), ATTEMPTS.c.state == RUNNING)
        with self.engine.begin() as conn:
            start = conn.execute(
                select(ATTEMPTS.c.start_date).where(*where).with_for_update()
            ).scalar_one_or_none()
            if start is None:
                return False
            values = {
                "state": outcome.state.value,
                "end_date": end_date,
                "duration": (end_date - start).total_seconds(),
                "error": outcome.error,
                "rendered_fields": outcome.rendered_fields,
                "outcome": outcome_json(outcome),
            }
            if not conn.execute(update(ATTEMPTS).where(*where).values(**values)).rowcount:
                return False  # ended meanwhile (cannot happen under the row lock; kept safe)
            if xcoms:
                ti = key._asdict()
                del ti["try_number"]
                rows = [{**ti, "key": name, "value": value} for name, value in xcoms.items()]
                conn.execute(self._upsert_xcom, rows)
        return True

    def running_attempts(self) -> list[TaskAttempt]:
        """Every attempt still marked running, in all runs (see :meth:`attempt_heartbeats`)."""
        query = (
            select(ATTEMPTS)
            .where(ATTEMPTS.c.state == RUNNING)
            .order_by(ATTEMPTS.c.start_date, ATTEMPTS.c.dag_id, ATTEMPTS.c.run_id)
        )
        with self._read() as conn:
            return [to_attempt(row) for row in conn.execute(query)]

    def attempt_heartbeats(self) -> dict[AttemptKey, AttemptHeartbeat]:
        """Last heartbeat and worker of every running attempt: how to tell a dead one."""
        c = ATTEMPTS.c
        query = select(
            c.dag_id, c.run_id, c.task_id, c.map_index, c.try_number, c.heartbeat_at, c.worker
        ).where(c.state == RUNNING)
        with self._read() as conn:
            return {
                AttemptKey(*row[:5]): AttemptHeartbeat(row.heartbeat_at, row.worker)
                for row in conn.execute(query)
            }

    def heartbeat_attempts(
        self, keys: Iterable[tuple[str, str, str, int, int]], now: datetime
    ) -> None:
        """Record that attempts ``keys`` (dag, run, task, map index, try) live at ``now``."""
        params = [{**attempt_key_params(AttemptKey(*key)), "k_now": now} for key in keys]
        if params:
            with self.engine.begin() as conn:
                conn.execute(self._heartbeat, params)

    def set_attempt_worker(self, key: tuple[str, str, str, int, int], worker: str) -> bool:
        """Record which executor or worker runs the attempt ``key``; False if no such attempt."""
        key = AttemptKey(*key)
        query = update(ATTEMPTS).where(*attempt_where(key)).values(worker=worker)
        with self.engine.begin() as conn:
            return bool(conn.execute(query).rowcount)

    # -- xcom (MetadataStore) ------------------------------------------------------------------

    def set_xcom(self, key: TaskInstanceKey, name: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._upsert_xcom, {**key._asdict(), "key": name, "value": value})

    def get_xcom(self, key: TaskInstanceKey, name: str) -> str | None:
        query = select(XCOMS.c.value).where(*ti_where(key, XCOMS), XCOMS.c.key == name)
        with self._read() as conn:
            return conn.execute(query).scalar_one_or_none()

    def get_mapped_xcoms(self, dag_id: str, run_id: str, task_id: str, name: str) -> list[str]:
        query = (
            select(XCOMS.c.value)
            .where(*run_key(dag_id, run_id, XCOMS), XCOMS.c.task_id == task_id)
            .where(XCOMS.c.key == name)
            .order_by(XCOMS.c.map_index)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def clear_xcoms(self, key: TaskInstanceKey) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(XCOMS).where(*ti_where(key, XCOMS)))

    # -- variables and connections -------------------------------------------------------------

    def get_variable(self, name: str) -> str | None:
        with self._read() as conn:
            query = select(VARIABLES.c.value).where(VARIABLES.c.key == name)
            return conn.execute(query).scalar_one_or_none()

    def set_variable(self, name: str, value: str, description: str | None = None) -> None:
        """Set a variable; its description is kept when ``description`` is None."""
        params = {"key": name, "value": value, "description": description}
        with self.engine.begin() as conn:
            conn.execute(self._upsert_variable, params)

    def list_variables(self) -> list[VariableRow]:
        with self._read() as conn:
            rows = conn.execute(select(VARIABLES).order_by(VARIABLES.c.key))
            return [VariableRow(**row._mapping) for row in rows]

    def delete_variable(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(VARIABLES).where(VARIABLES.c.key == name)).rowcount)

    def get_connection(self, conn_id: str) -> Connection | None:
        query = select(CONNECTIONS).where(CONNECTIONS.c.conn_id == conn_id)
        with self._read() as conn:
            row = conn.execute(query).first()
        return Connection(**row._mapping) if row is not None else None

    def set_connection(self, connection: Connection) -> None:
        params = {name: getattr(connection, name) for name in CONNECTION_FIELDS}
        with self.engine.begin() as conn:
            conn.execute(self._upsert_connection, params)

    def list_connections(self) -> list[Connection]:
        with self._read() as conn:
            rows = conn.execute(select(CONNECTIONS).order_by(CONNECTIONS.c.conn_id))
            return [Connection(**row._mapping) for row in rows]

    def delete_connection(self, conn_id: str) -> bool:
        query = delete(CONNECTIONS).where(CONNECTIONS.c.conn_id == conn_id)
        with self.engine.begin() as conn:
            return bool(conn.execute(query).rowcount)

    # -- pools ---------------------------------------------------------------------------------

    def set_pool(self, name: str, slots: int, description: str = "") -> None:
        """Create or change a pool."""
        if slots < 0:
            raise ValueError(f"pool {name!r}: slots must be 0 or more, not {slots}")
        with self.engine.begin() as conn:
            conn.execute(
                self._upsert_pool, {"name": name, "slots": slots, "description": description}
            )

    def get_pool(self, name: str) -> PoolRow | None:
        with self._read() as conn:
            row = conn.execute(select(POOLS).where(POOLS.c.name == name)).first()
        return PoolRow(**row._mapping) if row is not None else None

    def list_pools(self) -> list[PoolRow]:
        with self._read() as conn:
            return [
                PoolRow(**row._mapping)
                for row in conn.execute(select(POOLS).order_by(POOLS.c.name))
            ]

    def delete_pool(self, name: str) -> bool:
        """Delete a pool; False if there was none. ``default_pool`` cannot be deleted."""
        if name == DEFAULT_POOL:
            raise DatabaseError(
                f"{DEFAULT_POOL!r} cannot be deleted (tasks without a pool use it); "
                "change its slots instead"
            )
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(POOLS).where(POOLS.c.name == name)).rowcount)

    # -- DAG files and DAGs --------------------------------------------------------------------

    def upsert_dag_file(
        self, path: str, source_hash: str, mtime: float, dag_ids: Iterable[str], now: datetime
    ) -> None:
        """Record that ``path`` was parsed at ``now`` and defines ``dag_ids``."""
        params = {
            "path": path,
            "source_hash": source_hash,
            "mtime": mtime,
            "dag_ids": list(dag_ids),
            "last_parsed_at": now,
        }
        with self.engine.begin() as conn:
            conn.execute(self._upsert_dag_file, params)

    def get_dag_files(self) -> dict[str, DagFileRow]:
        with self._read() as conn:
            rows = conn.execute(select(DAG_FILES))
            return {row.path: DagFileRow(**row._mapping) for row in rows}

    def delete_dag_file(self, path: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(DAG_FILES).where(DAG_FILES.c.path == path)).rowcount)

    def upsert_dag(self, row: DagRow) -> None:
        """Create or update a DAG from a parse.

        A new row takes every field of ``row``. An existing row keeps ``is_paused`` and the
        ``next_dagrun_*`` fields (change them with :meth:`set_dag_paused` and
        :meth:`set_next_dagrun`): re-parsing a file never unpauses a DAG or moves its
        schedule.
        """
        with self.engine.begin() as conn:
            conn.execute(self._upsert_dag, dag_params(row))

    def get_dag(self, dag_id: str) -> DagRow | None:
        with self._read() as conn:
            row = conn.execute(select(DAGS).where(DAGS.c.dag_id == dag_id)).first()
        return to_dag(row) if row is not None else None

    def list_dags(self, include_inactive: bool = False) -> list[DagRow]:
        """DAGs by id; those no file defines any more only with ``include_inactive``."""
        query = select(DAGS).order_by(DAGS.c.dag_id)
        if not include_inactive:
            query = query.where(DAGS.c.is_active.is_(True))
        with self._read() as conn:
            return [to_dag(row) for row in conn.execute(query)]

    def set_dag_paused(self, dag_id: str, paused: bool) -> bool:
        """Pause or unpause a DAG (and log a ``pause`` event); False if the DAG is unknown."""
        now = self.clock.now()
        query = update(DAGS).where(DAGS.c.dag_id == dag_id).values(is_paused=paused)
        with self.engine.begin() as conn:
            if not conn.execute(query).rowcount:
                return False
            detail = "paused" if paused else "unpaused"
            conn.execute(insert(EVENTS), event("pause", now, dag_id=dag_id, detail=detail))
        return True

    def deactivate_dags(self, dag_ids: Iterable[str]) -> int:
        """Mark DAGs no file defines any more as inactive; returns how many changed."""
        ids = list(dag_ids)
        if not ids:
            return 0
        query = (
            update(DAGS)
            .where(DAGS.c.dag_id.in_(ids), DAGS.c.is_active.is_(True))
            .values(is_active=False)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(query).rowcount)

    def set_next_dagrun(
        self,
        dag_id: str,
        logical_date: datetime | None,
        interval_start: datetime | None,
        interval_end: datetime | None,
        create_after: datetime | None,
    ) -> bool:
        """Store when the DAG's next scheduled run is due; False if the DAG is unknown."""
        query = (
            update(DAGS)
            .where(DAGS.c.dag_id == dag_id)
            .values(
                next_dagrun_logical_date=logical_date,
                next_dagrun_data_interval_start=interval_start,
                next_dagrun_data_interval_end=interval_end,
                next_dagrun_create_after=create_after,
            )
        )
        with self.engine.begin() as conn:
            return bool(conn.execute(query).rowcount)

    def delete_dag(self, dag_id: str) -> dict[str, int]:
        """Delete a DAG with all its runs, task instances, attempts and XComs.

        Returns how many rows went from each table (``{"dags": 1, "dag_runs": 3, ...}``).
        The event log keeps its entries.
        """
        counts = {}
        with self.engine.begin() as conn:
            for table in (XCOMS, ATTEMPTS, TIS, RUNS, DAGS):
                counts[table.name] = conn.execute(
                    delete(table).where(table.c.dag_id == dag_id)
                ).rowcount
        return counts

    # -- import errors -------------------------------------------------------------------------

    def set_import_errors(self, filename: str, errors: Iterable[ImportErrorRow]) -> None:
        """Replace the import errors of ``filename`` with ``errors`` (none clears them)."""
        rows = [
            {
                "filename": filename,
                "position": position,
                "line": error.line,
                "message": error.message,
                "stacktrace": error.stacktrace,
                "created_at": error.created_at,
            }
            for position, error in enumerate(errors)
        ]
        with self.engine.begin() as conn:
            conn.execute(delete(IMPORT_ERRORS).where(IMPORT_ERRORS.c.filename == filename))
            if rows:
                conn.execute(insert(IMPORT_ERRORS), rows)

    def clear_import_errors(self, filename: str) -> None:
        self.set_import_errors(filename, [])

    def list_import_errors(self) -> list[ImportErrorRow]:
        """Every import error, by file, in the order they were given."""
        query = select(IMPORT_ERRORS).order_by(IMPORT_ERRORS.c.filename, IMPORT_ERRORS.c.position)
        with self._read() as conn:
            return [
                ImportErrorRow(
                    filename=row.filename,
                    message=row.message,
                    created_at=row.created_at,
                    line=row.line,
                    stacktrace=row.stacktrace,
                )
                for row in conn.execute(query)
            ]

    # -- events --------------------------------------------------------------------------------

    def record_event(
        self,
        kind: str,
        *,
        at: datetime,
        dag_id: str | None = None,
        run_id: str | None = None,
        task_id: str | None = None,
        map_index: int | None = None,
        try_number: int | None = None,
        state: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Append an entry to the event log ('trigger', 'clear', ...); returns its id."""
        params = event(
            kind,
            at,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            try_number=try_number,
            state=state,
            detail=detail,
        )
        with self.engine.begin() as conn:
            key = conn.execute(insert(EVENTS), params).inserted_primary_key
        assert key is not None
        return int(key[0])

    def list_events(
        self,
        dag_id: str | None = None,
        run_id: str | None = None,
        kind: str | None = None,
        limit: int | None = 100,
    ) -> list[EventRow]:
        """The newest ``limit`` events (all with None) matching the filters, oldest first."""
        query = select(EVENTS)
        for column, value in (("dag_id", dag_id), ("run_id", run_id), ("kind", kind)):
            if value is not None:
                query = query.where(EVENTS.c[column] == value)
        query = query.order_by(EVENTS.c.id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [EventRow(**row._mapping) for row in reversed(rows)]

    # -- jobs ----------------------------------------------------------------------------------

    def start_job(self, kind: str, hostname: str, pid: int, now: datetime) -> int:
        """Register a running scheduler, DAG processor or worker; returns its job id."""
        params = {
            "kind": kind,
            "hostname": hostname,
            "pid": pid,
            "started_at": now,
            "heartbeat_at": now,
        }
        with self.engine.begin() as conn:
            key = conn.execute(insert(JOBS), params).inserted_primary_key
        assert key is not None
        return int(key[0])

    def heartbeat_job(self, job_id: int, now: datetime) -> bool:
        return self._update_job(job_id, heartbeat_at=now)

    def end_job(self, job_id: int, now: datetime) -> bool:
        return self._update_job(job_id, heartbeat_at=now, ended_at=now)

    def _update_job(self, job_id: int, **values: datetime) -> bool:
        with self.engine.begin() as conn:
            query = update(JOBS).where(JOBS.c.id == job_id).values(**values)
            return bool(conn.execute(query).rowcount)

    def list_jobs(
        self, kind: str | None = None, alive_since: datetime | None = None
    ) -> list[JobRow]:
        """Jobs, oldest first; with ``alive_since``, only those not ended that heartbeat since."""
        query = select(JOBS).order_by(JOBS.c.id)
        if kind is not None:
            query = query.where(JOBS.c.kind == kind)
        if alive_since is not None:
            query = query.where(JOBS.c.ended_at.is_(None), JOBS.c.heartbeat_at >= alive_since)
        with self._read() as conn:
            return [JobRow(**row._mapping) for row in conn.execute(query)]
