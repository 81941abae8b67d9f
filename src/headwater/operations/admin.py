"""Pools, variables and connections: the shared settings tasks read from the database.

Each change is logged in the event log with who made it (:func:`record_change`), in the same
transaction; a variable's value or a connection's secrets never go into the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.authoring.operator import MAX_POOL_SLOTS
from headwater.db.models import DEFAULT_POOL
from headwater.masking import is_sensitive_name
from headwater.operations._stored import require_name
from headwater.operations.actors import current_actor
from headwater.operations.errors import ConflictError, InvalidRequestError, NotFoundError
from headwater.store.base import Connection
from headwater.strict_json import require_finite

if TYPE_CHECKING:
    from headwater.db.rows import PoolRow, VariableRow
    from headwater.store.ports import Store


def record_change(store: Store, kind: str, detail: str) -> None:
    """Log a change of something global (a pool, variable, connection, user, role or
    token) as ``kind`` by the current actor; ``detail`` names what changed."""
    store.record_event(kind, at=store.clock.now(), detail=detail, actor=current_actor())


# -- pools -------------------------------------------------------------------------------------


def set_pool(store: Store, name: str, slots: int, description: str | None = None) -> PoolRow:
    """Create pool ``name`` or change its slots (0 to :data:`MAX_POOL_SLOTS`);
    ``description`` None keeps the stored one."""
    require_name(name, "pool name")
    if not isinstance(slots, int) or isinstance(slots, bool) or not 0 <= slots <= MAX_POOL_SLOTS:
        raise InvalidRequestError(
            f"pool {name!r}: slots must be a whole number from 0 to {MAX_POOL_SLOTS:,}, "
            f"not {slots!r}"
        )
    if description is None:
        existing = store.get_pool(name)
        description = existing.description if existing is not None else ""
    with store.unit_of_work() as uow:
        uow.set_pool(name, slots, description)
        record_change(uow, "set_pool", f"pool {name} slots={slots}")
    pool = store.get_pool(name)
    assert pool is not None
    return pool


def delete_pool(store: Store, name: str) -> None:
    """Delete a pool; ``default_pool`` cannot be. Tasks naming a deleted pool wait until it
    exists again."""
    if name == DEFAULT_POOL:
        raise ConflictError(
            f"{DEFAULT_POOL!r} cannot be deleted (tasks without a pool use it); "
            "change its slots instead"
        )
    with store.unit_of_work() as uow:
        if not uow.delete_pool(name):
            raise NotFoundError(f"no pool {name!r}")
        record_change(uow, "delete_pool", f"pool {name}")


# -- variables ---------------------------------------------------------------------------------


def get_variable(store: Store, key: str) -> str:
    value = store.get_variable(key)
    if value is None:
        raise NotFoundError(f"no variable {key!r}")
    return value


def set_variable(store: Store, key: str, value: str, description: str | None = None) -> VariableRow:
    """Create or change a variable; ``description`` None keeps the stored one."""
    require_name(key, "variable key")
    if not isinstance(value, str):
        raise InvalidRequestError(f"variable {key!r}: the value must be text")
    with store.unit_of_work() as uow:
        uow.set_variable(key, value, description)
        record_change(uow, "set_variable", f"variable {key}")
    return next(v for v in store.list_variables() if v.key == key)


def delete_variable(store: Store, key: str) -> None:
    with store.unit_of_work() as uow:
        if not uow.delete_variable(key):
            raise NotFoundError(f"no variable {key!r}")
        record_change(uow, "delete_variable", f"variable {key}")


# -- connections -------------------------------------------------------------------------------


def connection_from_uri(conn_id: str, uri: str) -> Connection:
    """A connection from a URI such as ``postgresql://user:pw@host:5432/db?sslmode=require``."""
    require_name(conn_id, "conn_id")
    if "://" not in uri:
        raise InvalidRequestError(
            f"connection {conn_id!r}: URI {_hide_password(uri)!r} has no type; "
            "write it as type://login:password@host:port/schema"
        )
    try:
        connection = Connection.from_uri(conn_id, uri)
    except ValueError as exc:  # a port that is not a number
        raise InvalidRequestError(f"connection {conn_id!r}: invalid URI: {exc}") from None
    if not connection.conn_type:
        raise InvalidRequestError(f"connection {conn_id!r}: the URI has no type before ://")
    return connection


def add_connection(store: Store, connection: Connection) -> Connection:
    """Store a new connection; an existing ``conn_id`` is refused (delete it first)."""
    require_name(connection.conn_id, "conn_id")
    if not connection.conn_type:
        raise InvalidRequestError(f"connection {connection.conn_id!r}: conn_type is required")
    if connection.port is not None and not 0 < connection.port < 65536:
        raise InvalidRequestError(
            f"connection {connection.conn_id!r}: port {connection.port} is not 1-65535"
        )
    require_finite(connection.extra, f"connection {connection.conn_id!r}: extra")
    if store.get_connection(connection.conn_id) is not None:
        raise ConflictError(
            f"connection {connection.conn_id!r} already exists; delete it first to replace it"
        )
    with store.unit_of_work() as uow:
        uow.set_connection(connection)
        record_change(uow, "add_connection", f"connection {connection.conn_id}")
    return connection


def replace_connection(store: Store, connection: Connection) -> Connection:
    """Store ``connection`` in place of the stored one of its id, which must exist."""
    if store.get_connection(connection.conn_id) is None:
        raise NotFoundError(f"no connection {connection.conn_id!r}")
    if connection.port is not None and not 0 < connection.port < 65536:
        raise InvalidRequestError(
            f"connection {connection.conn_id!r}: port {connection.port} is not 1-65535"
        )
    require_finite(connection.extra, f"connection {connection.conn_id!r}: extra")
    with store.unit_of_work() as uow:
        uow.set_connection(connection)
        record_change(uow, "update_connection", f"connection {connection.conn_id}")
    return connection


def delete_connection(store: Store, conn_id: str) -> None:
    with store.unit_of_work() as uow:
        if not uow.delete_connection(conn_id):
            raise NotFoundError(f"no connection {conn_id!r}")
        record_change(uow, "delete_connection", f"connection {conn_id}")


def public_connection(connection: Connection) -> dict[str, Any]:
    """A connection as it may be shown: no password, secret-looking extras hidden."""
    return {
        "conn_id": connection.conn_id,
        "conn_type": connection.conn_type,
        "host": connection.host,
        "port": connection.port,
        "schema": connection.schema,
        "login": connection.login,
        "has_password": bool(connection.password),
        "extra": _hidden(connection.extra),
    }


def _hidden(value: Any, depth: int = 0) -> Any:
    """``value`` with what sits under a secret-looking key hidden, nested objects included."""
    if isinstance(value, dict) and depth < 32:
        return {
            key: "***" if _secret_key(str(key)) else _hidden(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list) and depth < 32:
        return [_hidden(item, depth + 1) for item in value]
    return value


def _secret_key(key: str) -> bool:
    # The masker's names, and, shown to people, any ``...key...`` too (``ssl_key``, ``keyfile``).
    return is_sensitive_name(key) or "key" in key.lower()


def _hide_password(uri: str) -> str:
    _, sep, tail = uri.rpartition("@")
    return f"***{sep}{tail}" if sep else uri
