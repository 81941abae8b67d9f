"""The store interface the engine and the task runtime use: :class:`MetadataStore`.

It is the engine's own port (:mod:`headwater.engine.ports`) plus variables and connections,
and re-exports :class:`~headwater.secrets.Connection`, the record of a connection. The ports
of the scheduler, the DAG processor and the operations are in :mod:`headwater.store.ports`.
Implementations: :class:`~headwater.store.memory.MemoryStore` (for ``dags test`` and users'
tests) and :class:`~headwater.store.sql.SqlStore` (SQLite, PostgreSQL), one contract for both.
Each write method is atomic: when it returns, the change is committed.
"""

from __future__ import annotations

from abc import abstractmethod

from headwater.engine.ports import EngineStore
from headwater.secrets.connection import Connection

__all__ = ["Connection", "MetadataStore"]


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
