"""The configuration ports: pools, variables and connections, as people manage them (and
the re-encryption of their secrets under a new Fernet key). Part of
:class:`headwater.store.ports.Store`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from headwater.db.rows import PoolRow, VariableRow
from headwater.store.base import Connection

__all__ = ["PoolStore", "Rotated", "VariableStore"]


class PoolStore(ABC):
    """Pools: named slot limits shared by task instances."""

    @abstractmethod
    def set_pool(self, name: str, slots: int, description: str = "") -> None:
        """Create or change a pool (``ValueError`` naming it for negative slots)."""

    @abstractmethod
    def get_pool(self, name: str) -> PoolRow | None: ...

    @abstractmethod
    def list_pools(self) -> list[PoolRow]:
        """Pools by name."""

    @abstractmethod
    def delete_pool(self, name: str) -> bool:
        """Delete a pool; False if there was none. ``default_pool`` cannot be deleted
        (:class:`~headwater.db.errors.DatabaseError`)."""


@dataclass(frozen=True)
class Rotated:
    """What :meth:`VariableStore.rotate_fernet_key` rewrote."""

    connections: int
    variables: int

    @property
    def rows(self) -> int:
        return self.connections + self.variables


class VariableStore(ABC):
    """Variables and connections, as people manage them."""

    @abstractmethod
    def get_variable(self, name: str) -> str | None: ...

    @abstractmethod
    def set_variable(self, name: str, value: str, description: str | None = None) -> None:
        """Set a variable; its description is kept when ``description`` is None."""

    @abstractmethod
    def list_variables(self) -> list[VariableRow]:
        """Variables by key."""

    @abstractmethod
    def delete_variable(self, name: str) -> bool: ...

    @abstractmethod
    def get_connection(self, conn_id: str) -> Connection | None: ...

    @abstractmethod
    def set_connection(self, connection: Connection) -> None: ...

    @abstractmethod
    def set_connections(self, connections: list[Connection]) -> None:
        """Store several connections at once: all of them or, on an error, none."""

    @abstractmethod
    def rotate_fernet_key(self) -> Rotated:
        """Re-encrypt every encrypted secret with the first configured key, all or nothing
        (a store that encrypts nothing rewrites nothing)."""

    @abstractmethod
    def list_connections(self) -> list[Connection]:
        """Connections by id."""

    @abstractmethod
    def delete_connection(self, conn_id: str) -> bool: ...
