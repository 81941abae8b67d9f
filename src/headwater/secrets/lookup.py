"""Looking up a connection or a variable: each configured backend in order, then the
metadata database (the store of the running attempt, of ``dags test``, or the one the
settings name), first answer wins."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from headwater.exceptions import HeadwaterError
from headwater.secrets.backend import SecretsBackend
from headwater.secrets.connection import Connection


class ConnectionNotFoundError(HeadwaterError):
    """No backend and no metadata database has a connection by that id."""


class VariableNotFoundError(HeadwaterError):
    """No backend and no metadata database has a variable by that key."""


class Metastore(Protocol):
    """What the lookup needs of the metadata store (:class:`headwater.store.MetadataStore`)."""

    def get_connection(self, conn_id: str) -> Connection | None: ...

    def get_variable(self, name: str) -> str | None: ...


class _MetastoreBackend(SecretsBackend):
    """The metadata database as the last backend."""

    def __init__(self, store: Metastore) -> None:
        self.store = store

    def get_connection(self, conn_id: str) -> Connection | None:
        return self.store.get_connection(conn_id)

    def get_variable(self, key: str) -> str | None:
        return self.store.get_variable(key)

    def __repr__(self) -> str:
        return "metadata database"


_current_metastore: ContextVar[Metastore | None] = ContextVar("metastore", default=None)


@contextmanager
def use_metastore(store: Metastore) -> Iterator[None]:
    """Within the block, lookups end at ``store`` (the runtime sets the attempt's store)."""
    token = _current_metastore.set(store)
    try:
        yield
    finally:
        _current_metastore.reset(token)


def configured_backends() -> list[SecretsBackend]:
    """The backends the settings name, in order, before the metadata database."""
    return []


def _chain() -> list[SecretsBackend]:
    chain = configured_backends()
    store = _current_metastore.get()
    if store is not None:
        chain.append(_MetastoreBackend(store))
    return chain


def get_connection(conn_id: str) -> Connection:
    """The connection ``conn_id`` from the first backend that has it."""
    chain = _chain()
    for backend in chain:
        connection = backend.get_connection(conn_id)
        if connection is not None:
            return connection
    where = ", ".join(repr(b) for b in chain) or "no backend configured and no metadata database"
    raise ConnectionNotFoundError(f"connection {conn_id!r} is not defined (looked in: {where})")


def get_variable(key: str) -> str:
    """The variable ``key`` (text) from the first backend that has it."""
    chain = _chain()
    for backend in chain:
        value = backend.get_variable(key)
        if value is not None:
            return value
    where = ", ".join(repr(b) for b in chain) or "no backend configured and no metadata database"
    raise VariableNotFoundError(f"variable {key!r} is not set (looked in: {where})")
