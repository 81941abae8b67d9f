"""The SQL store's runs: create, read, update, list, find and delete ``dag_runs`` rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from itertools import islice

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from headwater.db.convert import (
    ACTIVE_RUN_STATES,
    RUN_FIELDS,
    RUNS,
    bound_key,
    run_key,
    run_params,
    state_values,
    ti_params,
    to_run,
)
from headwater.db.dialect import refresh_statistics
from headwater.engine.records import DagRun, TaskInstance
from headwater.engine.states import DagRunState
from headwater.exceptions import StaleWriteError
from headwater.store.ports import RUN_BATCH
from headwater.store.sql.core import SqlCore

log = logging.getLogger(__name__)

_RUN_KEY = ("dag_id", "run_id")
_ANALYZE_AFTER = 500
"""A first batch of this many runs refreshes the planner's statistics of ``dag_runs``."""


_RUN_COMPARE_AND_SET = (
    update(RUNS)
    .where(
        *bound_key(RUNS, _RUN_KEY),
        RUNS.c.state == bindparam("seen_state"),
    )
    .values({name: bindparam(f"v_{name}") for name in RUN_FIELDS if name not in _RUN_KEY})
)
"""Every field of a run but its key, if its state is still the one its writer saw."""


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

    def create_dag_runs(self, runs: Iterable[tuple[DagRun, Iterable[TaskInstance]]]) -> int:
        now = self.clock.now()
        count = 0
        with self._write() as conn:
            pending = iter(runs)
            while batch := [(run, list(tis)) for run, tis in islice(pending, RUN_BATCH)]:
                run_rows = [{**run_params(run), "queued_at": now} for run, _ in batch]
                ti_rows = [ti_params(ti, now) for _, tis in batch for ti in tis]
                try:
                    with self._guarded():
                        conn.execute(insert(RUNS), run_rows)
                except IntegrityError:
                    first = batch[0][0]
                    raise ValueError(
                        f"DAG {first.dag_id!r} already has one of the runs "
                        f"{first.run_id!r}..{batch[-1][0].run_id!r}"
                    ) from None
                if count == 0 and len(batch) >= _ANALYZE_AFTER:
                    # Else each instance's foreign-key check may scan the runs (PostgreSQL).
                    refresh_statistics(conn, RUNS)
                if ti_rows:
                    conn.execute(self._stmts.insert_ti, ti_rows)
                count += len(batch)
        return count

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        with self._read() as conn:
            row = conn.execute(select(RUNS).where(*run_key(dag_id, run_id))).first()
        return to_run(row) if row is not None else None

    def save_dag_run(self, run: DagRun, *, expected_state: DagRunState | None = None) -> None:
        """Insert or update ``run`` in one statement (an upsert: a new row's ``queued_at`` is
        now; an existing row keeps it, and its claim). With ``expected_state``, an ``UPDATE``
        that also requires the stored state to be that one (compare-and-set)."""
        params = run_params(run)
        with self._write() as conn:
            if expected_state is None:
                conn.execute(self._stmts.upsert_run, {**params, "queued_at": self.clock.now()})
                return
            bound = {f"v_{name}": value for name, value in params.items()}
            bound.update(k_dag_id=run.dag_id, k_run_id=run.run_id, seen_state=expected_state.value)
            if conn.execute(_RUN_COMPARE_AND_SET, bound).rowcount == 1:
                return
            stored = conn.execute(
                select(RUNS.c.state).where(*run_key(run.dag_id, run.run_id))
            ).scalar_one_or_none()
        error = StaleWriteError(
            f"{run.dag_id}/{run.run_id}", expected_state.value, stored, what="run"
        )
        log.warning("refused a stale write: %s", error)
        raise error

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

    def list_dag_runs_before(
        self, dag_id: str, before: datetime | None, limit: int
    ) -> list[DagRun]:
        query = select(RUNS).where(RUNS.c.dag_id == dag_id)
        if before is not None:
            query = query.where(RUNS.c.logical_date < before)
        query = query.order_by(RUNS.c.logical_date.desc(), RUNS.c.run_id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [to_run(row) for row in reversed(rows)]

    def count_active_runs(self, dag_id: str) -> int:
        """How many runs of ``dag_id`` are queued or running."""
        query = select(func.count()).where(
            RUNS.c.dag_id == dag_id, RUNS.c.state.in_(ACTIVE_RUN_STATES)
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())
