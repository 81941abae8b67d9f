"""Looking up a connection or a variable: each configured backend in order, then the
metadata database (the store of the running attempt, of ``dags test``, or the one the
settings name), first answer wins.

The whole chain, in order::

    use_backends(first=...)    what a test run was given (dags test --conn/--var, run_dag(...))
    configured_backends()      [secrets] backends: env (the default), file, vault, module:Class
    use_metastore(store)       the attempt's metadata store
    use_backends(last=...)     dags test: the settings' database, read-only

What a lookup returns is hidden from logs from then on: a connection's password and the
secret-looking keys of its ``extra``, and a variable whose key looks secret
(:func:`headwater.masking.is_sensitive_name`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from headwater.exceptions import HeadwaterError
from headwater.masking import is_sensitive_name, mask_secret
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


class MetastoreBackend(SecretsBackend):
    """A metadata store as a backend (the last one, unless a test run adds more)."""

    def __init__(self, store: Metastore, name: str = "metadata database") -> None:
        self.store = store
        self.name = name

    def get_connection(self, conn_id: str) -> Connection | None:
        return self.store.get_connection(conn_id)

    def get_variable(self, key: str) -> str | None:
        return self.store.get_variable(key)

    def __repr__(self) -> str:
        return self.name


_current_metastore: ContextVar[Metastore | None] = ContextVar("metastore", default=None)
_first: ContextVar[tuple[SecretsBackend, ...]] = ContextVar("secrets_first", default=())
_last: ContextVar[tuple[SecretsBackend, ...]] = ContextVar("secrets_last", default=())


@contextmanager
def use_metastore(store: Metastore) -> Iterator[None]:
    """Within the block, lookups end at ``store`` (the runtime sets the attempt's store)."""
    token = _current_metastore.set(store)
    try:
        yield
    finally:
        _current_metastore.reset(token)


@contextmanager
def use_backends(
    *, first: Sequence[SecretsBackend] = (), last: Sequence[SecretsBackend] = ()
) -> Iterator[None]:
    """Within the block, lookups ask ``first`` before the configured backends and ``last``
    after the metadata store. ``dags test`` puts its ``--conn``/``--var`` first and the
    settings' database last; blocks nest, the inner one's ``first`` winning."""
    first_token = _first.set((*first, *_first.get()))
    last_token = _last.set((*_last.get(), *last))
    try:
        yield
    finally:
        _last.reset(last_token)
        _first.reset(first_token)


def configured_backends() -> list[SecretsBackend]:
    """The backends the settings name, in order, before the metadata database (built once
    per value of the ``[secrets]`` section: see :mod:`headwater.secrets.configured`)."""
    from headwater.secrets.configured import backends_for
    from headwater.settings import load_settings

    return list(backends_for(load_settings()))


def lookup_chain() -> list[SecretsBackend]:
    """Every backend a lookup asks here and now, in order."""
    chain = [*_first.get(), *configured_backends()]
    store = _current_metastore.get()
    if store is not None:
        chain.append(MetastoreBackend(store))
    chain.extend(_last.get())
    return chain


def _looked_in(chain: list[SecretsBackend]) -> str:
    return ", ".join(repr(b) for b in chain) or "no backend configured and no metadata database"


def get_connection(conn_id: str) -> Connection:
    """The connection ``conn_id`` from the first backend that has it; its password and
    secret-looking ``extra`` keys are masked from then on."""
    chain = lookup_chain()
    for backend in chain:
        connection = backend.get_connection(conn_id)
        if connection is not None:
            if connection.password:
                mask_secret(connection.password)
            if connection.extra:
                mask_secret(connection.extra, name="extra")
            return connection
    raise ConnectionNotFoundError(
        f"connection {conn_id!r} is not defined (looked in: {_looked_in(chain)})"
    )


def get_variable(key: str) -> str:
    """The variable ``key`` (text) from the first backend that has it; masked from then on
    when its key looks secret (``api_key``, ``db_password``...)."""
    chain = lookup_chain()
    for backend in chain:
        value = backend.get_variable(key)
        if value is not None:
            if is_sensitive_name(key):
                mask_secret(value)
            return value
    raise VariableNotFoundError(f"variable {key!r} is not set (looked in: {_looked_in(chain)})")
