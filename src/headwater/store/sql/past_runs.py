"""The SQL store's reads of earlier runs, for ``depends_on_past``
(:class:`~headwater.engine.ports.PastRunStore`): two indexed queries per call, on the
``(dag_id, logical_date)`` index of runs and the key of task instances."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from headwater.db.convert import RUNS, TIS
from headwater.engine.ports import PastInstances
from headwater.engine.states import TaskInstanceState
from headwater.store.sql.core import SqlCore


class SqlPastRuns(SqlCore):
    """The run before a run, and which tasks ran in earlier runs, on SQL."""

    def get_previous_run_states(
        self,
        dag_id: str,
        before: datetime,
        task_ids: Iterable[str],
        *,
        skip_run_types: Iterable[str] = (),
    ) -> PastInstances | None:
        wanted, skipped = sorted(set(task_ids)), sorted(set(skip_run_types))
        query = select(RUNS.c.run_id, RUNS.c.logical_date).where(
            RUNS.c.dag_id == dag_id, RUNS.c.logical_date < before
        )
        if skipped:
            query = query.where(RUNS.c.run_type.not_in(skipped))
        query = query.order_by(RUNS.c.logical_date.desc(), RUNS.c.run_id.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            states: dict[str, list[TaskInstanceState]] = {}
            if wanted:
                instances = (
                    select(TIS.c.task_id, TIS.c.state)
                    .where(
                        TIS.c.dag_id == dag_id,
                        TIS.c.run_id == row.run_id,
                        TIS.c.task_id.in_(wanted),
                    )
                    .order_by(TIS.c.task_id, TIS.c.map_index)
                )
                for task_id, state in conn.execute(instances):
                    states.setdefault(task_id, []).append(TaskInstanceState(state))
        return PastInstances(row.run_id, row.logical_date, {t: tuple(s) for t, s in states.items()})

    def tasks_with_earlier_instances(
        self, dag_id: str, before: datetime, task_ids: Iterable[str]
    ) -> set[str]:
        wanted = sorted(set(task_ids))
        if not wanted:
            return set()
        query = (
            select(TIS.c.task_id)
            .distinct()
            .join(RUNS, (RUNS.c.dag_id == TIS.c.dag_id) & (RUNS.c.run_id == TIS.c.run_id))
            .where(TIS.c.dag_id == dag_id, TIS.c.task_id.in_(wanted))
            .where(RUNS.c.logical_date < before)
        )
        with self._read() as conn:
            return set(conn.execute(query).scalars())
