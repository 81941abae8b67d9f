"""A secrets backend of the kind a user writes, named ``custom_backend:TeamBackend`` in
``secrets.backends`` by the tests (this folder is on ``sys.path`` while they run)."""

from __future__ import annotations

from headwater.secrets import Connection, SecretsBackend


class TeamBackend(SecretsBackend):
    """Holds one connection, ``team_db``, on the host it is built with."""

    def __init__(self, host: str, port: int = 5432) -> None:
        self.host = host
        self.port = port

    def get_connection(self, conn_id: str) -> Connection | None:
        if conn_id != "team_db":
            return None
        return Connection(conn_id, "postgres", host=self.host, port=self.port)

    def get_variable(self, key: str) -> str | None:
        return f"team:{key}" if key == "team_name" else None

    def __repr__(self) -> str:
        return f"team backend on {self.host}"


class NotABackend:
    """Has the methods but not the base class: refused."""
