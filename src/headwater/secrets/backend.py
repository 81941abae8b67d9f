"""The interface of a secrets backend: where connections and variables are looked up."""

from __future__ import annotations

from abc import ABC, abstractmethod

from headwater.secrets.connection import Connection


class SecretsBackend(ABC):
    """A place connections and variables are read from, before the metadata database.

    Implement both methods to add one (return ``None`` for what the backend does not hold);
    name the class in the ``secrets.backends`` setting to use it.
    """

    @abstractmethod
    def get_connection(self, conn_id: str) -> Connection | None:
        """The connection ``conn_id``, or None if this backend has none by that id."""

    @abstractmethod
    def get_variable(self, key: str) -> str | None:
        """The variable ``key`` as text, or None if this backend has none by that key."""

    def __repr__(self) -> str:
        return type(self).__name__
