"""The memory store's pools, variables and connections (a new store has ``default_pool``,
as a migrated database does). Nothing leaves the process, so nothing is encrypted; every
other behaviour is the SQL store's (``tests/contract``)."""

from __future__ import annotations

import copy
import dataclasses

from headwater.db.errors import DatabaseError
from headwater.db.models import DEFAULT_POOL
from headwater.db.rows import PoolRow, VariableRow
from headwater.store.base import Connection
from headwater.store.config import Rotated
from headwater.store.memory.core import MemoryCore


class MemoryConfig(MemoryCore):
    """Pools, variables and connections in memory."""

    def get_variable(self, name: str) -> str | None:
        with self._lock:
            row = self._s.variables.get(name)
            return row.value if row is not None else None

    def set_variable(self, name: str, value: str, description: str | None = None) -> None:
        with self._lock:
            old = self._s.variables.get(name)
            if description is None and old is not None:
                description = old.description
            self._s.variables[name] = VariableRow(name, value, description)

    def list_variables(self) -> list[VariableRow]:
        with self._lock:
            return [dataclasses.replace(self._s.variables[k]) for k in sorted(self._s.variables)]

    def delete_variable(self, name: str) -> bool:
        with self._lock:
            return self._s.variables.pop(name, None) is not None

    def get_connection(self, conn_id: str) -> Connection | None:
        with self._lock:
            return copy.deepcopy(self._s.connections.get(conn_id))

    def set_connection(self, connection: Connection) -> None:
        with self._lock:
            self._s.connections[connection.conn_id] = copy.deepcopy(connection)

    def set_connections(self, connections: list[Connection]) -> None:
        """Store several connections at once (all of them, as the SQL store's transaction)."""
        copies = {c.conn_id: copy.deepcopy(c) for c in connections}
        with self._lock:
            self._s.connections.update(copies)

    def rotate_fernet_key(self) -> Rotated:
        """Nothing to rewrite: the memory store keeps no secret encrypted."""
        return Rotated(connections=0, variables=0)

    def list_connections(self) -> list[Connection]:
        with self._lock:
            return [copy.deepcopy(self._s.connections[k]) for k in sorted(self._s.connections)]

    def delete_connection(self, conn_id: str) -> bool:
        with self._lock:
            return self._s.connections.pop(conn_id, None) is not None

    def set_pool(self, name: str, slots: int, description: str = "") -> None:
        if slots < 0:
            raise ValueError(f"pool {name!r}: slots must be 0 or more, not {slots}")
        with self._lock:
            self._s.pools[name] = PoolRow(name, slots, description)

    def get_pool(self, name: str) -> PoolRow | None:
        with self._lock:
            row = self._s.pools.get(name)
            return dataclasses.replace(row) if row is not None else None

    def list_pools(self) -> list[PoolRow]:
        with self._lock:
            return [dataclasses.replace(self._s.pools[k]) for k in sorted(self._s.pools)]

    def delete_pool(self, name: str) -> bool:
        if name == DEFAULT_POOL:
            raise DatabaseError(
                f"{DEFAULT_POOL!r} cannot be deleted (tasks without a pool use it); "
                "change its slots instead"
            )
        with self._lock:
            return self._s.pools.pop(name, None) is not None
