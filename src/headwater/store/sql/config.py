"""The SQL store's pools, variables and connections: what people configure."""

from __future__ import annotations

from sqlalchemy import delete, select

from headwater.db.convert import CONNECTION_FIELDS, CONNECTIONS, POOLS, VARIABLES
from headwater.db.errors import DatabaseError
from headwater.db.models import DEFAULT_POOL
from headwater.db.rows import PoolRow, VariableRow
from headwater.store.base import Connection
from headwater.store.sql.core import SqlCore


class SqlConfig(SqlCore):
    """Pools, variables and connections on SQL."""

    # -- variables and connections -------------------------------------------------------------

    def get_variable(self, name: str) -> str | None:
        with self._read() as conn:
            query = select(VARIABLES.c.value).where(VARIABLES.c.key == name)
            return conn.execute(query).scalar_one_or_none()

    def set_variable(self, name: str, value: str, description: str | None = None) -> None:
        """Set a variable; its description is kept when ``description`` is None."""
        params = {"key": name, "value": value, "description": description}
        with self._write() as conn:
            conn.execute(self._stmts.upsert_variable, params)

    def list_variables(self) -> list[VariableRow]:
        with self._read() as conn:
            rows = conn.execute(select(VARIABLES).order_by(VARIABLES.c.key))
            return [VariableRow(**row._mapping) for row in rows]

    def delete_variable(self, name: str) -> bool:
        with self._write() as conn:
            return bool(conn.execute(delete(VARIABLES).where(VARIABLES.c.key == name)).rowcount)

    def get_connection(self, conn_id: str) -> Connection | None:
        query = select(CONNECTIONS).where(CONNECTIONS.c.conn_id == conn_id)
        with self._read() as conn:
            row = conn.execute(query).first()
        return Connection(**row._mapping) if row is not None else None

    def set_connection(self, connection: Connection) -> None:
        params = {name: getattr(connection, name) for name in CONNECTION_FIELDS}
        with self._write() as conn:
            conn.execute(self._stmts.upsert_connection, params)

    def list_connections(self) -> list[Connection]:
        with self._read() as conn:
            rows = conn.execute(select(CONNECTIONS).order_by(CONNECTIONS.c.conn_id))
            return [Connection(**row._mapping) for row in rows]

    def delete_connection(self, conn_id: str) -> bool:
        query = delete(CONNECTIONS).where(CONNECTIONS.c.conn_id == conn_id)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    # -- pools ---------------------------------------------------------------------------------

    def set_pool(self, name: str, slots: int, description: str = "") -> None:
        """Create or change a pool."""
        if slots < 0:
            raise ValueError(f"pool {name!r}: slots must be 0 or more, not {slots}")
        with self._write() as conn:
            conn.execute(
                self._stmts.upsert_pool, {"name": name, "slots": slots, "description": description}
            )

    def get_pool(self, name: str) -> PoolRow | None:
        with self._read() as conn:
            row = conn.execute(select(POOLS).where(POOLS.c.name == name)).first()
        return PoolRow(**row._mapping) if row is not None else None

    def list_pools(self) -> list[PoolRow]:
        with self._read() as conn:
            return [
                PoolRow(**row._mapping)
                for row in conn.execute(select(POOLS).order_by(POOLS.c.name))
            ]

    def delete_pool(self, name: str) -> bool:
        """Delete a pool; False if there was none. ``default_pool`` cannot be deleted."""
        if name == DEFAULT_POOL:
            raise DatabaseError(
                f"{DEFAULT_POOL!r} cannot be deleted (tasks without a pool use it); "
                "change its slots instead"
            )
        with self._write() as conn:
            return bool(conn.execute(delete(POOLS).where(POOLS.c.name == name)).rowcount)
