"""Connections: where and how tasks reach other systems (``conn.<id>`` in templates).

A password goes in (:class:`ConnectionIn`) but never comes out: :class:`ConnectionOut` says
whether there is one, and hides the values of extras whose key looks secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.services.context import ServiceContext
    from headwater.store.base import Connection


class ConnectionIn(Schema):
    """A connection to add. ``schema`` is named ``schema_`` in Python (pydantic models
    have a ``schema`` method) and ``schema`` in JSON."""

    model_config = ConfigDict(populate_by_name=True)

    conn_id: str
    conn_type: str
    host: str | None = None
    login: str | None = None
    password: str | None = Field(default=None, repr=False)
    schema_: str | None = Field(default=None, alias="schema")
    port: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_connection(self) -> Connection:
        from headwater.store.base import Connection

        return Connection(
            conn_id=self.conn_id,
            conn_type=self.conn_type,
            host=self.host,
            login=self.login,
            password=self.password,
            schema=self.schema_,
            port=self.port,
            extra=dict(self.extra),
        )


class ConnectionOut(Schema):
    """A connection as it may be shown: no password."""

    model_config = ConfigDict(populate_by_name=True)

    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    schema_: str | None = Field(alias="schema")
    login: str | None
    has_password: bool
    extra: dict[str, Any]
    """Values of keys that look secret (password, token, key...) are ``***``."""

    @classmethod
    def of(cls, connection: Connection) -> ConnectionOut:
        from headwater.operations import public_connection

        return cls.model_validate(public_connection(connection))


class ConnectionDeleted(Schema):
    conn_id: str
    deleted: bool = True


def connection_from_uri(conn_id: str, uri: str) -> ConnectionIn:
    """A connection from a URI such as ``postgresql://user:pw@host:5432/db?sslmode=require``;
    invalid when it has no type or a bad port."""
    from headwater.operations import connection_from_uri as parse

    connection = parse(conn_id, uri)
    return ConnectionIn(
        conn_id=connection.conn_id,
        conn_type=connection.conn_type,
        host=connection.host,
        login=connection.login,
        password=connection.password,
        schema=connection.schema,
        port=connection.port,
        extra=connection.extra,
    )


def add_connection(ctx: ServiceContext, request: ConnectionIn) -> ConnectionOut:
    """Store a new connection; conflict when ``conn_id`` exists (delete it first), invalid
    for a bad id, type, port or extra."""
    from headwater.operations import add_connection as add_connection_op

    return ConnectionOut.of(add_connection_op(ctx.store, request.to_connection()))


def list_connections(ctx: ServiceContext) -> list[ConnectionOut]:
    return [ConnectionOut.of(c) for c in ctx.store.list_connections()]


def delete_connection(ctx: ServiceContext, conn_id: str) -> ConnectionDeleted:
    """Delete ``conn_id``; not found when there is none."""
    from headwater.operations import delete_connection as delete_connection_op

    delete_connection_op(ctx.store, conn_id)
    return ConnectionDeleted(conn_id=conn_id)
