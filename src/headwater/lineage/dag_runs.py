"""The events of DAG runs: START when a run starts running, COMPLETE or FAIL when it ends
(ABORT for a ``dags test`` run cut short). Sent by the scheduler once the run's change is
committed, and by ``dags test`` around its run (:func:`dag_run_lineage_in_process`, which
also makes the run's task attempts follow the settings it was given)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine.states import DagRunState, TaskInstanceState
from headwater.lineage.emitter import emitter_for
from headwater.lineage.events import dag_run_event
from headwater.lineage.process_settings import use_lineage_settings

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.clock import Clock
    from headwater.engine.dagrun import DagRunEngine
    from headwater.engine.records import DagRun
    from headwater.settings_operations import LineageSettings

log = logging.getLogger(__name__)


class DagRunLineage:
    """Emits the events of DAG runs for one process's ``[lineage]`` settings."""

    def __init__(self, settings: LineageSettings) -> None:
        self.settings = settings

    @property
    def enabled(self) -> bool:
        """Whether the settings send events at all (transport not ``none``)."""
        return self.settings.transport != "none"

    def started(self, dag: DAG, run: DagRun, now: datetime) -> None:
        self._emit("START", dag, run, now)

    def ended(
        self, dag: DAG, run: DagRun, state: DagRunState, now: datetime, failed: Iterable[str] = ()
    ) -> None:
        """COMPLETE for a run that succeeded, FAIL (naming ``failed`` tasks) for one that
        failed, ABORT for one that did not finish."""
        if state is DagRunState.SUCCESS:
            self._emit("COMPLETE", dag, run, now)
        elif state is DagRunState.FAILED:
            names = sorted(set(failed))
            why = f": failed tasks {', '.join(names)}" if names else ""
            self._emit("FAIL", dag, run, now, f"run {run.run_id} of {dag.dag_id} failed{why}")
        else:
            self._emit("ABORT", dag, run, now)

    def _emit(
        self, event_type: str, dag: DAG, run: DagRun, now: datetime, error: str | None = None
    ) -> None:
        try:
            emitter = emitter_for(self.settings)
            if emitter is None:
                return
            event = dag_run_event(
                event_type,
                namespace=self.settings.namespace,
                dag=dag,
                run=run,
                now=now,
                error=error,
            )
        except Exception as exc:  # lineage never stops a run
            log.warning(
                "OpenLineage: the %s event of run %s was not sent: %s", event_type, run.run_id, exc
            )
            return
        emitter.emit(event)


@contextlib.contextmanager
def dag_run_lineage_in_process(
    settings: LineageSettings, engine: DagRunEngine, clock: Clock
) -> Iterator[None]:
    """Around an in-process run (``dags test``): the run's START, its attempts following
    ``settings``, and its end from the state the run is in when the block ends."""
    lineage = DagRunLineage(settings)
    lineage.started(engine.dag, engine.run, clock.now())
    with use_lineage_settings(settings):
        try:
            yield
        finally:
            failed = [ti.task_id for ti in engine.instances_in(TaskInstanceState.FAILED)]
            lineage.ended(engine.dag, engine.run, engine.run.state, clock.now(), failed)
