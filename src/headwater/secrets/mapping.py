"""Connections and variables given in code: what ``dags test --conn/--var`` and
``run_dag(connections=..., variables=...)`` hand to a test run, ahead of every other backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.secrets.backend import SecretsBackend
from headwater.secrets.connection import Connection
from headwater.secrets.connection_values import connection_from_value
from headwater.strict_json import dumps


class MappingBackend(SecretsBackend):
    """Connections (``Connection`` objects, URIs or JSON objects in text) and variables from
    dicts; every value is checked when the backend is built. A variable that is not text is
    kept as its JSON text (``{"rows": 10}`` reads back with ``var.json``).

    Example: ``MappingBackend({"db": "sqlite:////tmp/x.db"}, {"region": "eu"}, name="--conn")``.
    """

    def __init__(
        self,
        connections: Mapping[str, Connection | str] | None = None,
        variables: Mapping[str, Any] | None = None,
        *,
        name: str = "given connections and variables",
    ) -> None:
        self.name = name
        self._connections: dict[str, Connection] = {}
        for conn_id, value in (connections or {}).items():
            if isinstance(value, Connection):
                self._connections[conn_id] = _with_id(value, conn_id)
            else:
                where = f"{name}, connection {conn_id!r}"
                self._connections[conn_id] = connection_from_value(conn_id, value, where)
        self._variables = {
            key: value if isinstance(value, str) else dumps(value)
            for key, value in (variables or {}).items()
        }

    def get_connection(self, conn_id: str) -> Connection | None:
        return self._connections.get(conn_id)

    def get_variable(self, key: str) -> str | None:
        return self._variables.get(key)

    def __repr__(self) -> str:
        return self.name


def _with_id(connection: Connection, conn_id: str) -> Connection:
    """``connection`` known as ``conn_id`` (the key it was given under is its id)."""
    if connection.conn_id == conn_id:
        return connection
    from dataclasses import replace

    return replace(connection, conn_id=conn_id)
