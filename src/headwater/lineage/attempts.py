"""The events of one task attempt, for the runtime: START when it starts, COMPLETE or FAIL
when it ends (a skipped attempt COMPLETEs; a deferred or rescheduled one emits no end: the
try that resumes it is an attempt of its own, with its own START).

Datasets: the task's ``inlets`` (inputs) and ``outlets`` (outputs, plus the assets a
successful attempt added to an ``AssetAlias`` outlet), and the tables of its SQL
(:mod:`~headwater.lineage.sql_tables`). Nothing here raises into the task: an event that
cannot be built is logged and left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater.authoring.assets import Asset
from headwater.engine.states import TaskInstanceState
from headwater.lineage.emitter import LineageEmitter, emitter_for
from headwater.lineage.events import Datasets, task_attempt_event
from headwater.lineage.naming import asset_dataset
from headwater.lineage.process_settings import current_lineage_settings
from headwater.lineage.sql_tables import SqlLineage, sql_lineage

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import AttemptOutcome, DagRun, TaskInstance

log = logging.getLogger(__name__)

_PAUSED = (TaskInstanceState.DEFERRED, TaskInstanceState.UP_FOR_RESCHEDULE)


class AttemptLineage:
    """The lineage of one attempt; does nothing when lineage is off (no emitter)."""

    def __init__(
        self,
        emitter: LineageEmitter | None,
        namespace: str,
        dag: DAG,
        run: DagRun,
        ti: TaskInstance,
        now: Callable[[], datetime],
    ) -> None:
        self._emitter = emitter
        self._namespace = namespace
        self._dag = dag
        self._run = run
        self._ti = ti
        self._now = now
        self.task: Any = None
        """The attempt's own copy of the task once its templates are rendered (its SQL)."""

    @property
    def enabled(self) -> bool:
        return self._emitter is not None

    def started(self) -> None:
        """Emit START, with the task's declared inlets and outlets."""
        if self._emitter is not None:
            self._emit("START", self._declared(self._dag.task_dict.get(self._ti.task_id)))

    def ended(self, outcome: AttemptOutcome) -> None:
        """Emit COMPLETE or FAIL for ``outcome`` (nothing for a paused attempt)."""
        if self._emitter is None or outcome.state in _PAUSED:
            return
        task = self.task if self.task is not None else self._dag.task_dict.get(self._ti.task_id)
        declared = self._declared(task)
        inputs, outputs = list(declared.inputs), list(declared.outputs)
        failed = outcome.state is TaskInstanceState.FAILED
        if not failed:
            outputs += [asset_dataset(e.uri, self._namespace) for e in outcome.outlet_events]
        sql = None
        if self.task is not None:
            try:
                sql = sql_lineage(self.task)
            except Exception as exc:
                log.warning("OpenLineage: the SQL of %s was not parsed: %s", self._label, exc)
            if sql is not None:
                inputs += sql.inputs
                outputs += sql.outputs
        datasets = Datasets(tuple(dict.fromkeys(inputs)), tuple(dict.fromkeys(outputs)))
        error = outcome.error if failed else None
        self._emit("FAIL" if failed else "COMPLETE", datasets, error, sql)

    @property
    def _label(self) -> str:
        return f"{self._ti.dag_id}.{self._ti.task_id}"

    def _declared(self, task: Any) -> Datasets:
        if task is None:
            return Datasets()

        def named(assets: Any) -> tuple[tuple[str, str], ...]:
            return tuple(
                asset_dataset(a.uri, self._namespace) for a in assets or () if isinstance(a, Asset)
            )

        return Datasets(named(getattr(task, "inlets", ())), named(getattr(task, "outlets", ())))

    def _emit(
        self,
        event_type: str,
        datasets: Datasets,
        error: str | None = None,
        sql: SqlLineage | None = None,
    ) -> None:
        assert self._emitter is not None
        try:
            event = task_attempt_event(
                event_type,
                namespace=self._namespace,
                dag=self._dag,
                run=self._run,
                task_id=self._ti.task_id,
                map_index=self._ti.map_index,
                try_number=self._ti.try_number,
                now=self._now(),
                datasets=datasets,
                error=error,
                sql=None if sql is None else (sql.query, sql.dialect),
            )
        except Exception as exc:
            log.warning(
                "OpenLineage: the %s event of %s was not built: %s", event_type, self._label, exc
            )
            return
        self._emitter.emit(event)


def start_attempt_lineage(
    dag: DAG, run: DagRun, ti: TaskInstance, now: Callable[[], datetime]
) -> AttemptLineage:
    """The lineage of the attempt ``ti`` starts now (its START is queued, if lineage is on:
    :func:`~headwater.lineage.process_settings.current_lineage_settings`)."""
    try:
        settings = current_lineage_settings()
        emitter = emitter_for(settings)
    except Exception as exc:  # never the task's problem
        log.warning("OpenLineage is off for this attempt: %s", exc)
        emitter, settings = None, None
    namespace = settings.namespace if settings is not None else ""
    lineage = AttemptLineage(emitter, namespace, dag, run, ti, now)
    lineage.started()
    return lineage
