"""Creating the runs that are due on the DAGs' schedules, in each full pass.

For each DAG the scheduler follows, the next interval of its timetable
(:func:`~headwater.scheduler.run_planning.next_scheduled_interval`, from the last scheduled
run's, read from the database once) gets a ``scheduled`` run once it may be created, while
the DAG is not paused and has fewer than ``max_active_runs`` active runs (backfill runs have
their own limit and do not count). The DAG's next run is stored whenever it changes, paused
or not, so ``dags list`` shows it. A date that already has a run (a backfill's, or one
another scheduler created first) gets none.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from headwater.engine.dagrun import DagRunEngine
from headwater.engine.records import DagRun
from headwater.engine.run_factory import new_dag_run
from headwater.log_format import fields_of
from headwater.scheduler.run_planning import DataInterval, next_scheduled_interval
from headwater.scheduler.scheduler_state import SchedulerState

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG

log = logging.getLogger("headwater.scheduler.scheduler")


class ScheduledRuns(SchedulerState):
    """The runs due on the DAGs' schedules."""

    def _create_scheduled_runs(
        self, now: datetime, stored: list[DagRun], backfill_of: Mapping[tuple[str, str], int]
    ) -> None:
        # Backfill runs have their own limit: they do not hold back scheduled runs.
        active_runs = Counter(r.dag_id for r in stored if (r.dag_id, r.run_id) not in backfill_of)
        for dag_id, known in self._dags.items():
            if not known.last_interval_known:
                known.last_interval = self._last_scheduled_interval(dag_id)
                known.last_interval_known = True
            active = active_runs[dag_id]
            while True:
                nxt = next_scheduled_interval(known.dag, known.last_interval, now)
                # A paused DAG gets no runs, but its next run is still stored (Airflow's
                # next_dagrun): `dags list` shows what it would run once unpaused.
                if (
                    nxt is None
                    or known.is_paused
                    or nxt.create_after > now
                    or active >= known.dag.max_active_runs
                ):
                    break
                self._create_run(known.dag, nxt)
                known.last_interval = nxt
                active += 1
            if nxt != known.stored_next:
                known.stored_next = nxt
                self.store.set_next_dagrun(
                    dag_id,
                    nxt.logical_date if nxt else None,
                    nxt.start if nxt else None,
                    nxt.end if nxt else None,
                    nxt.create_after if nxt else None,
                )

    def _last_scheduled_interval(self, dag_id: str) -> DataInterval | None:
        scheduled = [r for r in self.store.list_dag_runs(dag_id) if r.run_type == "scheduled"]
        if not scheduled:
            return None
        last = max(scheduled, key=lambda r: r.data_interval_start)
        return DataInterval(last.data_interval_start, last.data_interval_end)

    def _create_run(self, dag: DAG, interval: DataInterval) -> None:
        run = new_dag_run(
            dag,
            logical_date=interval.logical_date,
            run_type="scheduled",
            data_interval=(interval.start, interval.end),
        )
        if self.store.get_dag_run(dag.dag_id, run.run_id) is not None or self.store.find_dag_run(
            dag.dag_id, interval.logical_date
        ):
            return  # that date already has a run (a backfill's, or this one's)
        try:
            DagRunEngine.create(dag, self.store, self.xcoms, run)
        except ValueError:  # another scheduler created it since: its key is unique
            if self.store.get_dag_run(dag.dag_id, run.run_id) is None:
                raise
            log.info("Run %s of %s was created by another scheduler", run.run_id, dag.dag_id)
            return
        log.info("Created run %s of %s", run.run_id, dag.dag_id, extra=fields_of(run))
