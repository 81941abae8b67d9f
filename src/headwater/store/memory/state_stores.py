"""The state-store port in memory (see :mod:`headwater.store.state_stores`).

Values are kept as their JSON text, as the SQL store keeps them, so both give back the same
values (and a caller never shares an object with the store).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from headwater.store.memory.core import MemoryCore, StateRow
from headwater.store.state_stores import (
    StateStore,
    TaskStateScope,
    check_state_key,
    decode_state_value,
    encode_state_value,
)


def _live(row: StateRow | None, now: datetime | None) -> bool:
    return row is not None and (now is None or row.expires_at is None or row.expires_at > now)


class MemoryStateStores(MemoryCore, StateStore):
    """Task and asset state in two dicts of the memory state."""

    def get_task_state(self, scope: TaskStateScope, key: str, *, now: datetime) -> Any:
        with self._lock:
            row = self._s.task_state.get(scope, {}).get(key)
        return decode_state_value(row.value, key) if row is not None and _live(row, now) else None

    def set_task_state(
        self,
        scope: TaskStateScope,
        key: str,
        value: Any,
        *,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        text = encode_state_value(value, key, str(scope))
        with self._lock:
            self._s.task_state.setdefault(scope, {})[key] = StateRow(text, now, expires_at)

    def delete_task_state(self, scope: TaskStateScope, key: str) -> bool:
        with self._lock:
            return self._s.task_state.get(scope, {}).pop(key, None) is not None

    def clear_task_state(self, scope: TaskStateScope) -> int:
        with self._lock:
            return len(self._s.task_state.pop(scope, {}))

    def list_task_state(self, scope: TaskStateScope, *, now: datetime) -> dict[str, Any]:
        with self._lock:
            rows = dict(self._s.task_state.get(scope, {}))
        return {
            key: decode_state_value(row.value, key)
            for key, row in sorted(rows.items())
            if _live(row, now)
        }

    def delete_expired_task_state(self, now: datetime) -> int:
        removed = 0
        with self._lock:
            for rows in self._s.task_state.values():
                for key in [k for k, row in rows.items() if not _live(row, now)]:
                    del rows[key]
                    removed += 1
        return removed

    def get_asset_state(self, asset: str, key: str) -> Any:
        with self._lock:
            row = self._s.asset_state.get(asset, {}).get(key)
        return None if row is None else decode_state_value(row.value, key)

    def set_asset_state(self, asset: str, key: str, value: Any, *, now: datetime) -> None:
        text = encode_state_value(value, key, f"asset {asset!r}")
        with self._lock:
            self._s.asset_state.setdefault(asset, {})[key] = StateRow(text, now, None)

    def delete_asset_state(self, asset: str, key: str) -> bool:
        check_state_key(key, f"asset {asset!r}")
        with self._lock:
            return self._s.asset_state.get(asset, {}).pop(key, None) is not None

    def clear_asset_state(self, asset: str) -> int:
        with self._lock:
            return len(self._s.asset_state.pop(asset, {}))

    def list_asset_state(self, asset: str) -> dict[str, Any]:
        with self._lock:
            rows = dict(self._s.asset_state.get(asset, {}))
        return {key: decode_state_value(row.value, key) for key, row in sorted(rows.items())}
