"""Running a DAG (or one task) in this process on a memory store: ``dags test`` and ``dag.test()``.

The same engine as the scheduler, with an in-memory store and the in-process executor.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
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
from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.engine.xcoms import XComs
from headwater.executors.in_process import InProcessExecutor
from headwater.runtime.callbacks import run_dag_callbacks
from headwater.runtime.logs import attempt_log_path
from headwater.runtime.recorded_attempt import run_and_record
from headwater.runtime.task_runner import AttemptRequest
from headwater.store.memory import MemoryStore

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.settings import Settings
    from headwater.store.base import MetadataStore


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
    ) -> None:
        self.dag = dag
        self.settings = settings
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
        request = AttemptRequest(self.dag, self.engine.run, ti, self.store, self.xcoms, log_path)
        return run_and_record(
            request, key, self.clock.now, hostname=self._hostname, pid=os.getpid()
        )

    def result(self) -> DagRunResult:
        return DagRunResult(self.engine.run, self.store, self.xcoms, self.dag)


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
) -> DagRunResult:
    """Run every task of ``dag`` once, in dependency order, and return the result."""
    from headwater.settings import load_settings

    settings = settings or load_settings()
    clock = clock or SystemClock()
    run = new_dag_run(dag, logical_date=logical_date or clock.now(), conf=conf, run_id=run_id)
    local = InProcessRun(
        dag, run, settings=settings, store=store, clock=clock, on_task_start=on_task_start
    )
    drive_run(local.engine, InProcessExecutor(local.run_attempt), clock, observer)
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
) -> DagRunResult:
    """Run one attempt of one task, ignoring its upstream tasks (``tasks test``).

    The attempt is never retried here: a failed one with tries left ends ``up_for_retry``, as
    its log and its ``on_retry_callback`` say (the engine's rule decided, as in any run).
    """
    from headwater.settings import load_settings

    dag.get_task(task_id)
    settings = settings or load_settings()
    clock = clock or SystemClock()
    run = new_dag_run(dag, logical_date=logical_date or clock.now(), conf=conf)
    local = InProcessRun(dag, run, settings=settings, store=store, clock=clock)
    local.engine.start(clock.now())
    ti = local.engine.force_schedule(task_id, map_index)
    outcome = local.run_attempt(ti.key.attempt(ti.try_number + 1))
    final = local.engine.finish_attempt(task_id, ti.map_index, outcome, clock.now())
    ok = final in (TaskInstanceState.SUCCESS, TaskInstanceState.SKIPPED)
    local.engine.finalize(
        clock.now(), force_state=DagRunState.SUCCESS if ok else DagRunState.FAILED
    )
    return local.result()
