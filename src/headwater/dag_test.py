"""Running a DAG (or one task) in this process on a memory store: ``dags test`` and ``dag.test()``.

The same engine as the scheduler, with an in-memory store and the in-process executor. Tasks
look connections and variables up in the usual chain (:mod:`headwater.secrets.lookup`), with
two additions for a test run: what the run is given (``--conn``/``--var``,
``run_dag(connections=..., variables=...)``) comes first, and the metadata database the
settings name comes last, read-only and only if it already exists.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.clock import Clock, SystemClock
from headwater.engine.dagrun import DagRunEngine
from headwater.engine.driver import RunObserver, drive_run
from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    DagRun,
    TaskAttempt,
    TaskInstance,
)
from headwater.engine.run_factory import new_dag_run
from headwater.engine.run_partitions import partition_start
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.exceptions import HeadwaterError
from headwater.executors.in_process import InProcessExecutor
from headwater.lineage import dag_run_lineage_in_process
from headwater.runtime.attempt_context import attempts_in_test_mode
from headwater.runtime.callbacks import run_dag_callbacks
from headwater.runtime.inline_triggers import InlineTriggers
from headwater.runtime.logs import attempt_log_path
from headwater.runtime.recorded_attempt import run_and_record
from headwater.runtime.task_runner import AttemptRequest
from headwater.secrets import Connection, SecretsBackend, use_backends
from headwater.store.memory import MemoryStore
from headwater.store.triggers import TriggerStore

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.settings import Settings
    from headwater.store.base import MetadataStore
    from headwater.store.sql import SqlStore


@dataclass
class DagRunResult:
    """What a finished in-process run left behind: states, tries, values and logs."""

    run: DagRun
    store: MetadataStore
    xcoms: XComs
    dag: DAG

    @property
    def state(self) -> DagRunState:
        return self.run.state

    @property
    def succeeded(self) -> bool:
        return self.run.state is DagRunState.SUCCESS

    @property
    def task_instances(self) -> list[TaskInstance]:
        """Instances in the order they started; those that never did follow in DAG order."""
        order = {t.task_id: i for i, t in enumerate(self.dag.topological_sort())}
        tis = self.store.get_task_instances(self.run.dag_id, self.run.run_id)
        return sorted(
            tis,
            key=lambda t: (
                t.start_date is None,
                t.start_date or self.run.logical_date,
                order.get(t.task_id, -1),
                t.map_index,
            ),
        )

    @property
    def task_states(self) -> dict[str, str]:
        """``{"extract": "success", "load[0]": "failed", ...}``."""
        return {ti.key.label: ti.state.value for ti in self.task_instances}

    def ti(self, task_id: str, map_index: int = -1) -> TaskInstance:
        for ti in self.store.get_task_instances(self.run.dag_id, self.run.run_id):
            if ti.task_id == task_id and ti.map_index == map_index:
                return ti
        raise KeyError(f"no task instance {task_id!r} (map_index {map_index})")

    def state_of(self, task_id: str, map_index: int = -1) -> str:
        return self.ti(task_id, map_index).state.value

    def xcom(self, task_id: str, key: str = "return_value", map_index: int | None = None) -> Any:
        """The value ``task_id`` pushed; for a mapped task without ``map_index``, every value."""
        mapped = map_index is None and self.dag.get_task(task_id).is_mapped
        return self.xcoms.pull(
            self.run.dag_id, self.run.run_id, task_id, map_index=map_index, name=key, mapped=mapped
        )

    def attempts(
        self, task_id: str | None = None, map_index: int | None = None
    ) -> list[TaskAttempt]:
        found = self.store.get_attempts(self.run.dag_id, self.run.run_id, task_id)
        return [a for a in found if map_index is None or a.map_index == map_index]

    def _attempt(self, task_id: str, map_index: int, try_number: int | None) -> TaskAttempt:
        attempts = self.attempts(task_id, map_index)
        if not attempts:
            raise KeyError(f"task {task_id!r} (map_index {map_index}) never ran")
        if try_number is None:
            return attempts[-1]
        for attempt in attempts:
            if attempt.try_number == try_number:
                return attempt
        raise KeyError(f"task {task_id!r} (map_index {map_index}) has no try {try_number}")

    def log(self, task_id: str, map_index: int = -1, try_number: int | None = None) -> str:
        """The log text of one attempt (the last one by default)."""
        chosen = self._attempt(task_id, map_index, try_number)
        return Path(chosen.log_path).read_text() if chosen.log_path else ""

    def rendered(
        self, task_id: str, map_index: int = -1, try_number: int | None = None
    ) -> dict[str, Any]:
        """The rendered template fields of one attempt (the last one by default)."""
        return self._attempt(task_id, map_index, try_number).rendered_fields


class InProcessRun:
    """The wiring of one in-process run: engine, store, executor and clock."""

    def __init__(
        self,
        dag: DAG,
        run: DagRun,
        *,
        settings: Settings,
        store: MetadataStore | None = None,
        clock: Clock | None = None,
        on_task_start: Callable[[TaskInstance], None] | None = None,
        other_dags: SettingsDatabaseBackend | None = None,
    ) -> None:
        self.dag = dag
        self.settings = settings
        # Other DAGs' runs (TriggerDagRunOperator, ExternalTaskSensor): in the given store,
        # else in the settings' database, as Airflow's `dags test` (a memory store holds
        # only this run).
        self._dag_runs_store = (
            _OtherDagsDatabase(other_dags) if store is None and other_dags is not None else None
        )
        self.store = store or MemoryStore()
        self.clock = clock or SystemClock()
        self.xcoms = XComs.from_settings(self.store, settings)
        self.engine = DagRunEngine.create(dag, self.store, self.xcoms, run)
        self.on_task_start = on_task_start
        self._hostname = socket.gethostname()

    def run_attempt(self, key: AttemptKey) -> AttemptOutcome:
        ti = self.engine.get_ti(key.task_id, key.map_index)
        log_path = attempt_log_path(self.settings.logs_folder, key.ti_key, key.try_number)
        self.engine.start_attempt(
            key.task_id,
            key.map_index,
            self.clock.now(),
            hostname=self._hostname,
            pid=os.getpid(),
            log_path=log_path,
            claimed=True,  # by run_and_record, next
        )
        if self.on_task_start is not None:
            self.on_task_start(ti)
        request = AttemptRequest(
            self.dag,
            self.engine.run,
            ti,
            self.store,
            self.xcoms,
            log_path,
            dag_runs_store=self._dag_runs_store,
        )
        return run_and_record(
            request, key, self.clock.now, hostname=self._hostname, pid=os.getpid()
        )

    def wait_for_due(self) -> None:
        """Wait until the one waiting instance of a ``tasks test`` may run again: its trigger
        fired or failed (run here), or its deferral timed out, or its next poke is due."""
        engine = self.engine
        triggers = self.inline_triggers()
        due = engine.next_retry_at()
        if triggers is not None and engine.has_deferred() and triggers.wait(engine, due):
            engine.schedule_due(self.clock.now())
            return
        if due is None:
            raise HeadwaterError("the task waits on a trigger this run cannot run")
        self.clock.sleep(max((due - self.clock.now()).total_seconds(), 0.0))
        engine.schedule_due(self.clock.now())

    def inline_triggers(self) -> InlineTriggers | None:
        """What runs deferred instances' triggers in this process (stores without triggers:
        none, and deferred instances never resume)."""
        if isinstance(self.store, TriggerStore):
            return InlineTriggers(self.store, self.clock)
        return None

    def result(self) -> DagRunResult:
        return DagRunResult(self.engine.run, self.store, self.xcoms, self.dag)


class SettingsDatabaseBackend(SecretsBackend):
    """The metadata database the settings name, read-only, for a test run's lookups.

    Opened at the first lookup, so a run that looks nothing up never touches it; never
    created: a SQLite file that does not exist, a server that does not answer within 3
    seconds, or a database not migrated is skipped, and the reason is part of this backend's
    name in a "not defined (looked in: ...)" error.
    """

    def __init__(self, settings: Settings) -> None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        self._url = settings.database_url
        self._store: SqlStore | None = None
        self._skipped: str | None = None
        try:
            self._shown = make_url(self._url).render_as_string(hide_password=True)
        except ArgumentError:
            self._shown, self._skipped = "database.url", "not a database URL"

    def _open(self) -> SqlStore | None:
        if self._store is not None or self._skipped is not None:
            return self._store
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import SQLAlchemyError

        from headwater.db.engine import create_db_engine
        from headwater.db.errors import DamagedDatabaseError
        from headwater.db.migrate import check
        from headwater.db.sqlite_files import missing_sqlite_file
        from headwater.exceptions import HeadwaterError
        from headwater.store.sql import SqlStore

        if missing_sqlite_file(self._url) is not None:
            self._skipped = "no such file"
            return None
        postgres = make_url(self._url).drivername.startswith("postgres")
        extra = {"connect_args": {"connect_timeout": 3}} if postgres else {}
        try:
            engine = create_db_engine(self._url, **extra)
        except (HeadwaterError, SQLAlchemyError) as exc:
            self._skipped = f"cannot be opened: {exc}"
            return None
        try:
            up_to_date = check(engine).up_to_date
        except DamagedDatabaseError:
            engine.dispose()
            raise
        except (HeadwaterError, SQLAlchemyError, OSError) as exc:
            up_to_date = False
            self._skipped = f"not reachable: {type(exc).__name__}"
        if not up_to_date:
            engine.dispose()
            self._skipped = self._skipped or "not migrated"
            return None
        self._store = SqlStore(engine)
        return self._store

    def get_connection(self, conn_id: str) -> Connection | None:
        store = self._open()
        return store.get_connection(conn_id) if store is not None else None

    def get_variable(self, key: str) -> str | None:
        store = self._open()
        return store.get_variable(key) if store is not None else None

    def close(self) -> None:
        if self._store is not None:
            self._store.engine.dispose()
            self._store = None

    def __repr__(self) -> str:
        skipped = f", skipped: {self._skipped}" if self._skipped else ""
        return f"the settings' metadata database ({self._shown}{skipped})"


class _OtherDagsDatabase:
    """The settings' metadata database as the store of other DAGs' runs for an in-process
    run: opened when a cross-DAG operator first uses it; an error that says why when it
    cannot be."""

    def __init__(self, database: SettingsDatabaseBackend) -> None:
        self._database = database

    def __getattr__(self, name: str) -> Any:
        store = self._database._open()
        if store is None:
            raise HeadwaterError(
                f"this run reaches other DAGs' runs in {self._database!r}, which it cannot "
                "use: run `headwater db migrate` and the DAG processor (or `headwater "
                "standalone`) first"
            )
        return getattr(store, name)


@contextmanager
def lookups_for_test_run(
    settings: Settings,
    first: Sequence[SecretsBackend] = (),
    database: SettingsDatabaseBackend | None = None,
) -> Iterator[None]:
    """Within the block, lookups ask ``first`` before anything else and, after the run's own
    store, the settings' metadata database (``database``, or one of its own; closed when
    the block ends)."""
    database = database or SettingsDatabaseBackend(settings)
    try:
        with use_backends(first=first, last=[database]):
            yield
    finally:
        database.close()


def run_dag_in_process(
    dag: DAG,
    *,
    logical_date: datetime | None = None,
    conf: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    settings: Settings | None = None,
    store: MetadataStore | None = None,
    clock: Clock | None = None,
    observer: RunObserver | None = None,
    on_task_start: Callable[[TaskInstance], None] | None = None,
    lookup_first: Sequence[SecretsBackend] = (),
    partition_key: str | None = None,
) -> DagRunResult:
    """Run every task of ``dag`` once, in dependency order, and return the result.

    Tasks find connections and variables in ``lookup_first`` before anywhere else
    (:func:`lookups_for_test_run`). ``partition_key``: the partition the run works on (of a
    partitioned DAG)."""
    from headwater.settings import load_settings

    settings = settings or load_settings()
    clock = clock or SystemClock()
    if partition_key is not None:  # checked whether or not a logical date is given
        start = partition_start(dag, partition_key)
        logical_date = logical_date or start
    run = new_dag_run(
        dag,
        logical_date=logical_date or clock.now(),
        conf=conf,
        run_id=run_id,
        partition_key=partition_key,
    )
    database = SettingsDatabaseBackend(settings)
    local = InProcessRun(
        dag,
        run,
        settings=settings,
        store=store,
        clock=clock,
        on_task_start=on_task_start,
        other_dags=database,
    )
    with (
        lookups_for_test_run(settings, lookup_first, database),
        dag_run_lineage_in_process(settings.lineage, local.engine, clock),
    ):
        drive_run(
            local.engine,
            InProcessExecutor(local.run_attempt),
            clock,
            observer,
            triggers=local.inline_triggers(),
        )
        if isinstance(local.store, TriggerStore):
            local.store.delete_orphan_triggers()  # of deferrals that timed out
        run_dag_callbacks(dag, local.engine.run, local.store)
    return local.result()


def run_task_in_process(
    dag: DAG,
    task_id: str,
    *,
    map_index: int = -1,
    logical_date: datetime | None = None,
    conf: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
    store: MetadataStore | None = None,
    clock: Clock | None = None,
    lookup_first: Sequence[SecretsBackend] = (),
) -> DagRunResult:
    """Run one attempt of one task, ignoring its upstream tasks (``tasks test``).

    The attempt is never retried here: a failed one with tries left ends ``up_for_retry``, as
    its log and its ``on_retry_callback`` say (the engine's rule decided, as in any run).
    Lookups go first to ``lookup_first``, as in :func:`run_dag_in_process`.
    """
    from headwater.settings import load_settings

    dag.get_task(task_id)
    settings = settings or load_settings()
    clock = clock or SystemClock()
    run = new_dag_run(dag, logical_date=logical_date or clock.now(), conf=conf)
    database = SettingsDatabaseBackend(settings)
    local = InProcessRun(dag, run, settings=settings, store=store, clock=clock, other_dags=database)
    local.engine.start(clock.now())
    ti = local.engine.force_schedule(task_id, map_index)
    with lookups_for_test_run(settings, lookup_first, database), attempts_in_test_mode():
        outcome = local.run_attempt(ti.key.attempt(ti.try_number + 1))
        final = local.engine.finish_attempt(task_id, ti.map_index, outcome, clock.now())
        while final in (TaskInstanceState.DEFERRED, TaskInstanceState.UP_FOR_RESCHEDULE):
            # Its trigger fires (run here), or its next poke comes: the task goes on.
            local.wait_for_due()
            outcome = local.run_attempt(ti.key.attempt(ti.try_number + 1))
            final = local.engine.finish_attempt(task_id, ti.map_index, outcome, clock.now())
    ok = final in (TaskInstanceState.SUCCESS, TaskInstanceState.SKIPPED)
    local.engine.finalize(
        clock.now(), force_state=DagRunState.SUCCESS if ok else DagRunState.FAILED
    )
    return local.result()
