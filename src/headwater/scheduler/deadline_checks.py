"""The scheduler's deadline check: DAG-run deadlines and task SLAs, noticed as time passes.

A periodic duty (:mod:`~headwater.scheduler.periodic_duties`) that, every
``[deadlines] check_interval_s``:

1. **plans** the deadlines of the active runs (queued or running) of the DAGs that declare
   any, as soon as the moment each counts from is known (:mod:`deadline_times`): insert if
   absent, so a restart or a second scheduler plans nothing twice;
2. **checks** the deadlines that fell due (``status = 'waiting' AND due_at <= now``): a run
   (or task) that finished by then meets it; one still queued or running, or that finished
   later, misses it. The miss is a compare-and-set committed before anything else happens,
   so it is recorded once whichever scheduler sees it first; it is logged at WARNING and
   told to :func:`on_deadline_missed`;
3. **starts the callbacks** of recorded misses (``pending`` → ``started``, committed, then
   a child process that imports the DAG file: :mod:`headwater.runtime.deadline_callback_main`)
   so a callback never runs in the loop and never twice; one left ``pending`` by a
   scheduler that died is started by the next.

Each round is a few queries (none for DAGs without deadlines); the callbacks' processes are
reaped on every tick.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from headwater.engine.records import DagRun
from headwater.engine.states import FINISHED_RUN_STATES, FINISHED_STATES, DagRunState
from headwater.log_format import log_fields
from headwater.scheduler.dag_callbacks import DagCallbackProcesses
from headwater.scheduler.deadline_times import expected_plans, has_deadlines, plans_for_run
from headwater.store.deadlines import DEADLINE, PENDING, STARTED, DeadlineRow

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.scheduler.scheduler_state import SchedulerState
    from headwater.store.ports import Store

log = logging.getLogger(__name__)

CALLBACK_MODULE = "headwater.runtime.deadline_callback_main"
_ACTIVE = (DagRunState.QUEUED, DagRunState.RUNNING)


def on_deadline_missed(row: DeadlineRow) -> None:
    """Called once for each miss this scheduler recorded (after its commit): counts it in
    ``headwater_deadline_misses_total``."""
    from headwater.metrics.definitions import DEADLINE_MISSES

    DEADLINE_MISSES.labels(row.dag_id).inc()


class DeadlineChecks:
    """The ``deadlines`` duty of one scheduler."""

    name = "deadlines"

    def __init__(self, scheduler: SchedulerState) -> None:
        self._scheduler = scheduler
        self._store: Store = scheduler.store
        self._interval = timedelta(seconds=scheduler.settings.deadlines.check_interval_s)
        self._next_at: datetime | None = None
        self._planned: dict[tuple[str, str], int] = {}
        """Active runs and how many of their deadlines this scheduler planned."""
        self._first_seen: dict[tuple[str, str], datetime] = {}
        """When a run was first seen queued (``queued_at`` where the store keeps none)."""
        self._counts: dict[str, tuple[DAG, int]] = {}
        self._processes = DagCallbackProcesses()

    def tick(self, now: datetime) -> None:
        self._processes.reap()
        if self._next_at is not None and now < self._next_at:
            return
        self._next_at = now + self._interval
        dags = {dag_id: known.dag for dag_id, known in self._scheduler._dags.items()}
        self._plan(dags, now)
        self._check_due(dags, now)
        self._start_callbacks()

    def stop(self) -> None:
        self._processes.stop()

    # -- 1. planning -----------------------------------------------------------------------

    def _plan(self, dags: dict[str, DAG], now: datetime) -> None:
        for gone in set(self._counts) - set(dags):
            del self._counts[gone]
        wanted = {dag_id: self._plans_per_run(dag) for dag_id, dag in dags.items()}
        wanted = {dag_id: count for dag_id, count in wanted.items() if count}
        active: set[tuple[str, str]] = set()
        # One query for every DAG's active runs; none at all when no DAG has deadlines.
        runs = self._store.get_dag_runs_by_state(_ACTIVE) if wanted else []
        for run in runs:
            if run.dag_id not in wanted:
                continue
            key = (run.dag_id, run.run_id)
            active.add(key)
            if self._planned.get(key, 0) >= wanted[run.dag_id]:
                continue
            queued_at = self._store.run_queued_at(run.dag_id, run.run_id)
            if queued_at is None:
                queued_at = self._first_seen.setdefault(key, now)
            plans = list(plans_for_run(dags[run.dag_id], run, queued_at))
            self._store.plan_deadlines(plans, now)
            self._planned[key] = len(plans)
        for key in set(self._planned) - active:  # finished or gone: their rows are planned
            del self._planned[key]
        for key in set(self._first_seen) - active:
            del self._first_seen[key]

    def _plans_per_run(self, dag: DAG) -> int:
        """How many deadlines each run of ``dag`` has (0: none), kept per DAG version (the
        scheduler replaces a DAG object when its file changes)."""
        cached = self._counts.get(dag.dag_id)
        if cached is None or cached[0] is not dag:
            cached = (dag, expected_plans(dag) if has_deadlines(dag) else 0)
            self._counts[dag.dag_id] = cached
        return cached[1]

    # -- 2. checking -----------------------------------------------------------------------

    def _check_due(self, dags: dict[str, DAG], now: datetime) -> None:
        for row in self._store.due_deadlines(now):
            dag = dags.get(row.dag_id)
            run = self._store.get_dag_run(row.dag_id, row.run_id)
            if dag is None and run is not None and run.state not in FINISHED_RUN_STATES:
                continue  # its DAG is not loaded yet (a scheduler starting): a later round
            reason = None if run is None else self._lateness(row, run)
            if reason is None:
                self._store.resolve_deadline(row.id, now)
                continue
            # A DAG gone from the files (its run ended) leaves no callback to call.
            callback = dag is not None and _has_callback(dag, row)
            if not self._store.record_deadline_miss(row.id, now, reason, has_callback=callback):
                continue  # another scheduler recorded it (or met it) first
            log.warning(
                "Deadline missed: DAG %s run %s%s deadline %s (due %s): %s",
                row.dag_id,
                row.run_id,
                f" task {row.task_id}" if row.task_id else "",
                row.name,
                row.due_at.isoformat(),
                reason,
                extra=log_fields(row.dag_id, row.run_id, row.task_id),
            )
            recorded = self._store.get_deadline(row.id)
            on_deadline_missed(recorded if recorded is not None else row)

    def _lateness(self, row: DeadlineRow, run: DagRun) -> str | None:
        """Why the run (or the SLA's task) is late at ``row.due_at``; None when it is not."""
        if row.kind == DEADLINE:
            if run.state not in FINISHED_RUN_STATES:
                return f"the run is not finished ({run.state.value})"
            if run.end_date is not None and run.end_date > row.due_at:
                return f"the run finished ({run.state.value}) at {run.end_date.isoformat()}"
            return None
        tis = [
            ti
            for ti in self._store.get_task_instances(run.dag_id, run.run_id)
            if ti.task_id == row.task_id
        ]
        unfinished = sorted({ti.state.value for ti in tis if ti.state not in FINISHED_STATES})
        if unfinished:
            return f"task {row.task_id} is not finished ({', '.join(unfinished)})"
        ends = [ti.end_date for ti in tis if ti.end_date is not None]
        if ends and max(ends) > row.due_at:
            return f"task {row.task_id} finished at {max(ends).isoformat()}"
        return None

    # -- 3. callbacks ----------------------------------------------------------------------

    def _start_callbacks(self) -> None:
        for row in self._store.pending_deadline_callbacks():
            known = self._scheduler._dags.get(row.dag_id)
            if known is None:
                continue  # started once its DAG is loaded
            if not self._store.set_deadline_callback_state(row.id, PENDING, STARTED):
                continue  # another scheduler started it
            self._processes.start_module(
                CALLBACK_MODULE,
                [known.fileloc, str(row.id)],
                f"deadline {row.name} of {row.dag_id} run {row.run_id}",
            )


def _has_callback(dag: DAG, row: DeadlineRow) -> bool:
    if dag.sla_miss_callback is not None:
        return True
    if row.kind != DEADLINE:
        return False
    return any(d.name == row.name and d.callback for d in dag.deadlines)
