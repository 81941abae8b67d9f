"""What the SQL tests share besides fixtures: the test database a test gets (``SqlDb``)."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.hooks.sql import DbApiHook, get_db_hook
from headwater.secrets import Connection
from headwater.store.memory import MemoryStore


@dataclass
class SqlDb:
    """One test database: its kind, its connection (``conn_id``) in ``store``, and how to
    name a table in it."""

    kind: str
    connection: Connection
    store: MemoryStore
    namespace: str | None = None
    """The PostgreSQL schema the test's tables go in."""

    @property
    def conn_id(self) -> str:
        return self.connection.conn_id

    def table(self, name: str) -> str:
        return f"{self.namespace}.{name}" if self.namespace else name

    def hook(self) -> DbApiHook:
        return get_db_hook(self.conn_id)
