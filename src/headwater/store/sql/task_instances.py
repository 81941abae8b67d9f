"""The SQL store's task instances: write (upsert, or compare-and-set; delete at once), read,
count.

A compare-and-set write (``expected`` given) updates each instance it read with ``WHERE
state = :seen_state AND try_number = :seen_try`` and inserts the others. When fewer rows
matched than were sent, or an insert met an existing row, the store reads what is stored,
logs a warning and raises :class:`~headwater.exceptions.StaleWriteError`; the transaction
(and so the whole unit of work) rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection as SAConnection
from sqlalchemy import bindparam, func, literal_column, select, update
from sqlalchemy.exc import IntegrityError

from headwater.db.convert import (
    TIS,
    bound_key,
    key_params,
    run_key,
    state_values,
    ti_params,
    ti_where,
    to_ti,
)
from headwater.engine.ports import ExpectedStates
from headwater.engine.records import TaskInstance, TaskInstanceKey
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import StaleWriteError
from headwater.store.sql.core import SqlCore

log = logging.getLogger(__name__)

_KEY = ("dag_id", "run_id", "task_id", "map_index")
_VALUES = tuple(c.name for c in TIS.c if c.name not in _KEY)

# Updates an instance only if it is still what the writer read: (state, try_number). As the
# upsert, it keeps the stored queued_at when the new row has none. The state is compared
# through coalesce() so that no plan can find the row through the index on ``state``: with
# statistics that do not know the rows yet (a new database, a run of thousands of tasks
# just created), PostgreSQL chose that index, and each instance's update walked every
# instance in the same state (6,000 instances made ready at once: 2.8 s instead of 0.3).
# Only the primary key finds the row (tests/db/test_write_plans.py).
_COMPARE_AND_SET = (
    update(TIS)
    .where(
        *bound_key(TIS, _KEY),
        func.coalesce(TIS.c.state, literal_column("''")) == bindparam("seen_state"),
        TIS.c.try_number == bindparam("seen_try_number"),
    )
    .values(
        {
            name: func.coalesce(bindparam(f"v_{name}"), TIS.c.queued_at)
            if name == "queued_at"
            else bindparam(f"v_{name}")
            for name in _VALUES
        }
    )
)


class SqlTaskInstances(SqlCore):
    """Task instances on SQL."""

    def save_task_instances(
        self,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
        expected: ExpectedStates | None = None,
    ) -> None:
        """Write ``task_instances`` and delete ``delete`` in one transaction: upserts
        without ``expected``, compare-and-set with it (see the module's docstring)."""
        tis = list(task_instances)
        keys = list(delete)
        if not tis and not keys:
            return
        with self._write() as conn:
            self._write_task_instances(conn, tis, keys, expected)

    def _write_task_instances(
        self,
        conn: SAConnection,
        tis: list[TaskInstance],
        keys: list[TaskInstanceKey],
        expected: ExpectedStates | None = None,
    ) -> None:
        now = self.clock.now()
        if keys:
            conn.execute(self._stmts.delete_ti, [key_params(key) for key in keys])
        if not tis:
            return
        if expected is None:
            conn.execute(self._stmts.upsert_ti, [ti_params(ti, now) for ti in tis])
        else:
            self._compare_and_set(conn, tis, expected, now)

    def _compare_and_set(
        self,
        conn: SAConnection,
        tis: list[TaskInstance],
        expected: ExpectedStates,
        now: datetime,
    ) -> None:
        updates = [ti for ti in tis if ti.key in expected]
        inserts = [ti for ti in tis if ti.key not in expected]
        if updates:
            params = []
            for ti in updates:
                state, try_number = expected[ti.key]
                row = ti_params(ti, now)
                bound = {f"k_{name}": row[name] for name in _KEY}
                bound.update({f"v_{name}": row[name] for name in _VALUES})
                bound.update(seen_state=str(state), seen_try_number=try_number)
                params.append(bound)
            matched = self._execute_counted(conn, params)
            if matched != len(updates):
                self._refuse(conn, updates, expected)
        if inserts:
            try:
                # A savepoint: on PostgreSQL a failed statement would leave the transaction
                # unusable for the read that names the stored row.
                with conn.begin_nested():
                    conn.execute(self._stmts.insert_ti, [ti_params(ti, now) for ti in inserts])
            except IntegrityError:
                self._refuse(conn, inserts, expected)

    def _execute_counted(self, conn: SAConnection, params: list[dict[str, object]]) -> int:
        """Run the compare-and-set updates; how many rows matched."""
        if conn.dialect.supports_sane_multi_rowcount:
            return int(conn.execute(_COMPARE_AND_SET, params).rowcount)
        return sum(int(conn.execute(_COMPARE_AND_SET, row).rowcount) for row in params)

    def _refuse(
        self, conn: SAConnection, tis: list[TaskInstance], expected: ExpectedStates
    ) -> None:
        """Raise :class:`StaleWriteError` for the first of ``tis`` that another writer holds.

        Called inside the failed write's transaction: the updates that did match are already
        applied there, so an instance stored as this write made it is not the culprit.
        """
        versions = {}
        for ti in tis:
            query = select(TIS.c.state, TIS.c.try_number).where(
                *(TIS.c[name] == getattr(ti, name) for name in _KEY)
            )
            row = conn.execute(query).first()
            versions[ti.key] = (str(row.state), int(row.try_number)) if row is not None else None
        ours = {
            ti.key: (ti.state.value, ti.try_number) if ti.key in expected else None for ti in tis
        }
        culprit = next((ti for ti in tis if versions[ti.key] != ours[ti.key]), tis[0])
        seen = expected.get(culprit.key)
        wanted = (str(seen[0]), seen[1]) if seen is not None else None
        error = StaleWriteError(_label(culprit.key), wanted, versions[culprit.key])
        log.warning("refused a stale write: %s", error)
        raise error

    def get_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        query = (
            select(TIS)
            .where(*run_key(dag_id, run_id, TIS))
            .order_by(TIS.c.task_id, TIS.c.map_index)
        )
        with self._read() as conn:
            return [to_ti(row) for row in conn.execute(query)]

    def get_task_instances_of_runs(self, dag_id: str, run_ids: Iterable[str]) -> list[TaskInstance]:
        wanted = sorted(set(run_ids))
        if not wanted:
            return []
        query = (
            select(TIS)
            .where(TIS.c.dag_id == dag_id, TIS.c.run_id.in_(wanted))
            .order_by(TIS.c.run_id, TIS.c.task_id, TIS.c.map_index)
        )
        with self._read() as conn:
            return [to_ti(row) for row in conn.execute(query)]

    def get_task_instance_queued_at(
        self, dag_id: str, run_id: str
    ) -> dict[tuple[str, int], datetime]:
        query = select(TIS.c.task_id, TIS.c.map_index, TIS.c.queued_at).where(
            *run_key(dag_id, run_id, TIS), TIS.c.queued_at.is_not(None)
        )
        with self._read() as conn:
            return {(t, int(m)): at for t, m, at in conn.execute(query)}

    def get_task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> TaskInstance | None:
        query = select(TIS).where(
            *run_key(dag_id, run_id, TIS), TIS.c.task_id == task_id, TIS.c.map_index == map_index
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return to_ti(row) if row is not None else None

    def task_instance_queued_at(self, key: TaskInstanceKey) -> datetime | None:
        query = select(TIS.c.queued_at).where(*ti_where(key, TIS))
        with self._read() as conn:
            return conn.execute(query).scalar_one_or_none()

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


def _label(key: TaskInstanceKey) -> str:
    return f"{key.dag_id}/{key.run_id}/{key.label}"
