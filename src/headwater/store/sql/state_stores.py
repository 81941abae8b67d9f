"""The state-store port on SQL: ``task_state_store`` and ``asset_state_store`` (migration 0010).

A write is one upsert on the row's primary key (``INSERT ... ON CONFLICT DO UPDATE``), so
two tries writing the same key leave the last value; a read filters out expired rows itself
(``expires_at > now``), whatever clean-up has deleted yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, or_, select

from headwater.db import dialect
from headwater.db.state_store_models import AssetStateModel, TaskStateModel
from headwater.store.sql.core import SqlCore
from headwater.store.state_stores import (
    StateStore,
    TaskStateScope,
    check_state_key,
    decode_state_value,
    encode_state_value,
)

TASK_STATE = cast(Table, TaskStateModel.__table__)
ASSET_STATE = cast(Table, AssetStateModel.__table__)


def _of(scope: TaskStateScope) -> list[ColumnElement[bool]]:
    c = TASK_STATE.c
    return [
        c.dag_id == scope.dag_id,
        c.run_id == scope.run_id,
        c.task_id == scope.task_id,
        c.map_index == scope.map_index,
    ]


def _unexpired(now: datetime) -> ColumnElement[bool]:
    return or_(TASK_STATE.c.expires_at.is_(None), TASK_STATE.c.expires_at > now)


class SqlStateStores(SqlCore, StateStore):
    """Task and asset state on SQL."""

    def get_task_state(self, scope: TaskStateScope, key: str, *, now: datetime) -> Any:
        query = select(TASK_STATE.c.value).where(
            *_of(scope), TASK_STATE.c.key == key, _unexpired(now)
        )
        with self._read() as conn:
            text = conn.execute(query).scalar()
        return None if text is None else decode_state_value(text, key)

    def set_task_state(
        self,
        scope: TaskStateScope,
        key: str,
        value: Any,
        *,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        row = {
            "dag_id": scope.dag_id,
            "run_id": scope.run_id,
            "task_id": scope.task_id,
            "map_index": scope.map_index,
            "key": key,
            "value": encode_state_value(value, key, str(scope)),
            "updated_at": now,
            "expires_at": expires_at,
        }
        with self._write() as conn:
            conn.execute(dialect.upsert(self.engine.dialect.name, TASK_STATE), row)

    def delete_task_state(self, scope: TaskStateScope, key: str) -> bool:
        query = delete(TASK_STATE).where(*_of(scope), TASK_STATE.c.key == key)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    def clear_task_state(self, scope: TaskStateScope) -> int:
        with self._write() as conn:
            return int(conn.execute(delete(TASK_STATE).where(*_of(scope))).rowcount)

    def list_task_state(self, scope: TaskStateScope, *, now: datetime) -> dict[str, Any]:
        c = TASK_STATE.c
        query = select(c.key, c.value).where(*_of(scope), _unexpired(now)).order_by(c.key)
        with self._read() as conn:
            return {key: decode_state_value(text, key) for key, text in conn.execute(query)}

    def delete_expired_task_state(self, now: datetime) -> int:
        query = delete(TASK_STATE).where(TASK_STATE.c.expires_at <= now)
        with self._write() as conn:
            return int(conn.execute(query).rowcount)

    def get_asset_state(self, asset: str, key: str) -> Any:
        c = ASSET_STATE.c
        with self._read() as conn:
            text = conn.execute(select(c.value).where(c.asset == asset, c.key == key)).scalar()
        return None if text is None else decode_state_value(text, key)

    def set_asset_state(self, asset: str, key: str, value: Any, *, now: datetime) -> None:
        row = {
            "asset": asset,
            "key": key,
            "value": encode_state_value(value, key, f"asset {asset!r}"),
            "updated_at": now,
        }
        with self._write() as conn:
            conn.execute(dialect.upsert(self.engine.dialect.name, ASSET_STATE), row)

    def delete_asset_state(self, asset: str, key: str) -> bool:
        check_state_key(key, f"asset {asset!r}")
        c = ASSET_STATE.c
        with self._write() as conn:
            return bool(
                conn.execute(delete(ASSET_STATE).where(c.asset == asset, c.key == key)).rowcount
            )

    def clear_asset_state(self, asset: str) -> int:
        with self._write() as conn:
            return int(
                conn.execute(delete(ASSET_STATE).where(ASSET_STATE.c.asset == asset)).rowcount
            )

    def list_asset_state(self, asset: str) -> dict[str, Any]:
        c = ASSET_STATE.c
        query = select(c.key, c.value).where(c.asset == asset).order_by(c.key)
        with self._read() as conn:
            return {key: decode_state_value(text, key) for key, text in conn.execute(query)}
