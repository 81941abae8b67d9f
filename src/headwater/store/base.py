"""The store interface the engine and the task runtime use: :class:`MetadataStore`.

It is the engine's own port (:mod:`headwater.engine.ports`) plus variables and connections,
and :class:`Connection`, the record of a connection. The ports of the scheduler, the DAG
processor and the operations are in :mod:`headwater.store.ports`. Implementations:
:class:`~headwater.store.memory.MemoryStore` (for ``dags test`` and users' tests) and
:class:`~headwater.store.sql.SqlStore` (SQLite, PostgreSQL), one contract for both. Each
write method is atomic: when it returns, the change is committed.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from headwater.engine.ports import EngineStore


@dataclass
class Connection:
    """Where and how to reach an external system; ``conn.<id>`` in templates."""

    conn_id: str
    conn_type: str = ""
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> Connection:
        """``postgresql://user:pw@host:5432/db?sslmode=require`` -> Connection."""
        from urllib.parse import parse_qsl

        parts = urlsplit(uri)
        return cls(
            conn_id=conn_id,
            conn_type=parts.scheme.replace("-", "_"),
            host=unquote(parts.hostname) if parts.hostname else None,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            schema=unquote(parts.path.lstrip("/")) or None,
            port=parts.port,
            extra=dict(parse_qsl(parts.query)),
        )

    def get_uri(self) -> str:
        auth = ""
        if self.login:
            auth = quote(self.login, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        port = f":{self.port}" if self.port else ""
        path = f"/{quote(self.schema)}" if self.schema else ""
        return f"{self.conn_type}://{auth}{self.host or ''}{port}{path}"


class MetadataStore(EngineStore):
    """What the engine and the task runtime persist: the engine's port
    (:class:`~headwater.engine.ports.EngineStore`: runs, task instances, attempts, XComs)
    plus the variables and connections tasks read."""

    # -- variables and connections -------------------------------------------------------------
    @abstractmethod
    def get_variable(self, name: str) -> str | None: ...

    @abstractmethod
    def set_variable(self, name: str, value: str, description: str | None = None) -> None:
        """Set a variable; its description is kept when ``description`` is None."""

    @abstractmethod
    def get_connection(self, conn_id: str) -> Connection | None: ...

    @abstractmethod
    def set_connection(self, connection: Connection) -> None: ...
