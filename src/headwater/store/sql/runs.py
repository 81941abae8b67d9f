"""The SQL store's runs: create, read, update, list, find and delete ``dag_runs`` rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from headwater.db.convert import (
    ACTIVE_RUN_STATES,
    RUNS,
    run_key,
    run_params,
    state_values,
    ti_params,
    to_run,
)
from headwater.engine.records import DagRun, TaskInstance
from headwater.engine.states import DagRunState
from headwater.store.sql.core import SqlCore


class SqlRuns(SqlCore):
    """Runs on SQL."""

    def create_dag_run(self, run: DagRun, task_instances: Iterable[TaskInstance]) -> None:
        now = self.clock.now()
        tis = list(task_instances)
        with self._write() as conn:
            try:
                with self._guarded():
                    conn.execute(insert(RUNS), {**run_params(run), "queued_at": now})
            except IntegrityError:
                raise ValueError(f"DAG {run.dag_id!r} already has a run {run.run_id!r}") from None
            if tis:
                conn.execute(self._stmts.upsert_ti, [ti_params(ti, now) for ti in tis])

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        with self._read() as conn:
            row = conn.execute(select(RUNS).where(*run_key(dag_id, run_id))).first()
        return to_run(row) if row is not None else None

    def save_dag_run(self, run: DagRun) -> None:
        """Insert or update ``run`` in one statement (an upsert: a new row's ``queued_at`` is
        now; an existing row keeps it, and its claim)."""
        with self._write() as conn:
            conn.execute(self._stmts.upsert_run, {**run_params(run), "queued_at": self.clock.now()})

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
        with self._write() as conn:
            deleted = conn.execute(delete(RUNS).where(*run_key(dag_id, run_id))).rowcount
        return bool(deleted)

    def count_active_runs(self, dag_id: str) -> int:
        """How many runs of ``dag_id`` are queued or running."""
        query = select(func.count()).where(
            RUNS.c.dag_id == dag_id, RUNS.c.state.in_(ACTIVE_RUN_STATES)
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())
