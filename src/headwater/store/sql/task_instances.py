"""The SQL store's task instances: write (upsert and delete at once), read, count."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection as SAConnection
from sqlalchemy import func, select

from headwater.db.convert import (
    TIS,
    key_params,
    run_key,
    state_values,
    ti_event,
    ti_params,
    to_ti,
)
from headwater.engine.records import TaskInstance, TaskInstanceKey
from headwater.engine.states import TaskInstanceState
from headwater.store.sql.core import SqlCore


class SqlTaskInstances(SqlCore):
    """Task instances on SQL."""

    def save_task_instances(
        self, task_instances: Iterable[TaskInstance], *, delete: Iterable[TaskInstanceKey] = ()
    ) -> None:
        """Upsert ``task_instances`` and delete ``delete`` in one transaction.

        Writes one ``ti_state`` event per instance written (its new state).
        """
        tis = list(task_instances)
        keys = list(delete)
        if not tis and not keys:
            return
        with self._write() as conn:
            self._write_task_instances(conn, tis, keys)

    def _write_task_instances(
        self, conn: SAConnection, tis: list[TaskInstance], keys: list[TaskInstanceKey]
    ) -> None:
        now = self.clock.now()
        if keys:
            conn.execute(self._stmts.delete_ti, [key_params(key) for key in keys])
        if tis:
            conn.execute(self._stmts.upsert_ti, [ti_params(ti, now) for ti in tis])
            conn.execute(self._stmts.insert_event, [ti_event(ti, now) for ti in tis])

    def get_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        query = (
            select(TIS)
            .where(*run_key(dag_id, run_id, TIS))
            .order_by(TIS.c.task_id, TIS.c.map_index)
        )
        with self._read() as conn:
            return [to_ti(row) for row in conn.execute(query)]

    def get_task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> TaskInstance | None:
        query = select(TIS).where(
            *run_key(dag_id, run_id, TIS), TIS.c.task_id == task_id, TIS.c.map_index == map_index
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return to_ti(row) if row is not None else None

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
