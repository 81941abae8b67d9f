"""The SQL store's XComs: the values tasks pass on, one row per instance and name."""

from __future__ import annotations

from sqlalchemy import delete, select

from headwater.db.convert import XCOMS, run_key, ti_where
from headwater.engine.records import TaskInstanceKey
from headwater.store.sql.core import SqlCore


class SqlXComs(SqlCore):
    """XComs on SQL."""

    def set_xcom(self, key: TaskInstanceKey, name: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(self._stmts.upsert_xcom, {**key._asdict(), "key": name, "value": value})

    def get_xcom(self, key: TaskInstanceKey, name: str) -> str | None:
        query = select(XCOMS.c.value).where(*ti_where(key, XCOMS), XCOMS.c.key == name)
        with self._read() as conn:
            return conn.execute(query).scalar_one_or_none()

    def get_xcoms(self, key: TaskInstanceKey) -> dict[str, str]:
        query = (
            select(XCOMS.c.key, XCOMS.c.value).where(*ti_where(key, XCOMS)).order_by(XCOMS.c.key)
        )
        with self._read() as conn:
            return {row.key: row.value for row in conn.execute(query)}

    def get_mapped_xcoms(self, dag_id: str, run_id: str, task_id: str, name: str) -> list[str]:
        query = (
            select(XCOMS.c.value)
            .where(*run_key(dag_id, run_id, XCOMS), XCOMS.c.task_id == task_id)
            .where(XCOMS.c.key == name)
            .order_by(XCOMS.c.map_index)
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    def clear_xcoms(self, key: TaskInstanceKey) -> None:
        with self._write() as conn:
            conn.execute(delete(XCOMS).where(*ti_where(key, XCOMS)))
