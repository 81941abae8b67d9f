"""The SQL store's pools, variables and connections: what people configure.

Connection passwords, connection extras and variable values are encrypted on the way in and
decrypted on the way out (:mod:`headwater.secrets.fernet`), each row saying whether it is;
callers only ever see clear values. :meth:`SqlConfig.rotate_fernet_key` re-encrypts them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, or_, select, update

from headwater.db.convert import CONNECTIONS, POOLS, VARIABLES
from headwater.db.errors import DatabaseError
from headwater.db.models import DEFAULT_POOL
from headwater.db.rows import PoolRow, VariableRow
from headwater.secrets.fernet import SecretCipher, current_cipher
from headwater.store.base import Connection
from headwater.store.config import Rotated
from headwater.store.sql.core import SqlCore


class SqlConfig(SqlCore):
    """Pools, variables and connections on SQL."""

    # -- variables -----------------------------------------------------------------------------

    def get_variable(self, name: str) -> str | None:
        query = select(VARIABLES.c.value, VARIABLES.c.is_encrypted).where(VARIABLES.c.key == name)
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return current_cipher().decrypt(row.value, row.is_encrypted, f"variable {name!r}")

    def set_variable(self, name: str, value: str, description: str | None = None) -> None:
        """Set a variable; its description is kept when ``description`` is None."""
        stored, encrypted = current_cipher().encrypt(value)
        params = {
            "key": name,
            "value": stored,
            "description": description,
            "is_encrypted": encrypted,
        }
        with self._write() as conn:
            conn.execute(self._stmts.upsert_variable, params)

    def list_variables(self) -> list[VariableRow]:
        cipher = current_cipher()
        with self._read() as conn:
            rows = conn.execute(select(VARIABLES).order_by(VARIABLES.c.key)).all()
        return [
            VariableRow(
                row.key,
                cipher.decrypt(row.value, row.is_encrypted, f"variable {row.key!r}"),
                row.description,
            )
            for row in rows
        ]

    def delete_variable(self, name: str) -> bool:
        with self._write() as conn:
            return bool(conn.execute(delete(VARIABLES).where(VARIABLES.c.key == name)).rowcount)

    # -- connections ---------------------------------------------------------------------------

    def get_connection(self, conn_id: str) -> Connection | None:
        query = select(CONNECTIONS).where(CONNECTIONS.c.conn_id == conn_id)
        with self._read() as conn:
            row = conn.execute(query).first()
        return _connection(row._mapping, current_cipher()) if row is not None else None

    def set_connection(self, connection: Connection) -> None:
        params = _connection_params(connection, current_cipher())
        with self._write() as conn:
            conn.execute(self._stmts.upsert_connection, params)

    def set_connections(self, connections: list[Connection]) -> None:
        """Store several connections in one transaction: all of them or, on an error, none."""
        if not connections:
            return
        cipher = current_cipher()
        params = [_connection_params(c, cipher) for c in connections]
        with self._write() as conn:
            conn.execute(self._stmts.upsert_connection, params)

    def list_connections(self) -> list[Connection]:
        cipher = current_cipher()
        with self._read() as conn:
            rows = conn.execute(select(CONNECTIONS).order_by(CONNECTIONS.c.conn_id)).all()
        return [_connection(row._mapping, cipher) for row in rows]

    def delete_connection(self, conn_id: str) -> bool:
        query = delete(CONNECTIONS).where(CONNECTIONS.c.conn_id == conn_id)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)

    # -- keys ----------------------------------------------------------------------------------

    def rotate_fernet_key(self) -> Rotated:
        """Re-encrypt every encrypted password, extra and variable with the first configured
        key, in one transaction (all or nothing); values stored in clear are left as they
        are. A value no configured key decrypts stops it, naming the value."""
        cipher = current_cipher()
        with self._write() as conn:
            connections = conn.execute(
                select(
                    CONNECTIONS.c.conn_id,
                    CONNECTIONS.c.password,
                    CONNECTIONS.c.extra,
                    CONNECTIONS.c.is_encrypted,
                    CONNECTIONS.c.is_extra_encrypted,
                ).where(or_(CONNECTIONS.c.is_encrypted, CONNECTIONS.c.is_extra_encrypted))
            ).all()
            for row in connections:
                values: dict[str, Any] = {}
                what = f"connection {row.conn_id!r}"
                if row.is_encrypted and row.password is not None:
                    values["password"] = cipher.rotate(row.password, f"{what} password")
                if row.is_extra_encrypted:
                    values["extra"] = cipher.rotate(row.extra, f"{what} extra")
                if values:
                    conn.execute(
                        update(CONNECTIONS)
                        .where(CONNECTIONS.c.conn_id == row.conn_id)
                        .values(**values)
                    )
            variables = conn.execute(
                select(VARIABLES.c.key, VARIABLES.c.value).where(VARIABLES.c.is_encrypted)
            ).all()
            for key, value in variables:
                conn.execute(
                    update(VARIABLES)
                    .where(VARIABLES.c.key == key)
                    .values(value=cipher.rotate(value, f"variable {key!r}"))
                )
        return Rotated(connections=len(connections), variables=len(variables))

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


def _connection_params(connection: Connection, cipher: SecretCipher) -> dict[str, Any]:
    """The row of ``connection``, its password and extra encrypted when a key is set."""
    password, is_encrypted = None, False
    if connection.password is not None:
        password, is_encrypted = cipher.encrypt(connection.password)
    extra, is_extra_encrypted = json.dumps(connection.extra), False
    if connection.extra:
        extra, is_extra_encrypted = cipher.encrypt(extra)
    return {
        "conn_id": connection.conn_id,
        "conn_type": connection.conn_type,
        "description": connection.description,
        "host": connection.host,
        "login": connection.login,
        "password": password,
        "schema": connection.schema,
        "port": connection.port,
        "extra": extra,
        "is_encrypted": is_encrypted,
        "is_extra_encrypted": is_extra_encrypted,
    }


def _connection(row: Any, cipher: SecretCipher) -> Connection:
    """The connection of a stored row, decrypted."""
    what = f"connection {row['conn_id']!r}"
    password = row["password"]
    if password is not None:
        password = cipher.decrypt(password, row["is_encrypted"], f"{what} password")
    extra = cipher.decrypt(row["extra"], row["is_extra_encrypted"], f"{what} extra")
    return Connection(
        conn_id=row["conn_id"],
        conn_type=row["conn_type"],
        description=row["description"],
        host=row["host"],
        login=row["login"],
        password=password,
        schema=row["schema"],
        port=row["port"],
        extra=json.loads(extra) if extra else {},
    )
