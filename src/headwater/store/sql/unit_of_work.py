""":class:`SqlUnitOfWork`: every port's methods inside one transaction on one connection.

:meth:`SqlStore.unit_of_work <headwater.store.sql.store.SqlStore.unit_of_work>` begins the
transaction (``BEGIN IMMEDIATE`` on SQLite: the write lock is taken at once, so a unit of
work never fails half way for want of it) and commits it when the block ends, or rolls it
back when the block raises, a refused compare-and-set write included.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection as SAConnection

from headwater.clock import Clock
from headwater.store.ports import Store
from headwater.store.sql.core import Statements
from headwater.store.sql.ports import SqlPorts


class SqlUnitOfWork(SqlPorts, Store):
    """The store's methods on the connection ``conn`` of an open transaction."""

    def __init__(self, conn: SAConnection, clock: Clock, stmts: Statements) -> None:
        self.engine = conn.engine
        self.clock = clock
        self._stmts = stmts
        self._conn = conn

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        """This unit of work itself: a nested unit joins the enclosing transaction."""
        yield self

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        # A savepoint, so that a statement refused inside the unit (a run that exists) does
        # not abort the whole transaction (PostgreSQL refuses every statement after an
        # error) and the caller may go on.
        with self._conn.begin_nested():
            yield

    @contextmanager
    def _read(self) -> Iterator[SAConnection]:
        yield self._conn

    @contextmanager
    def _write(self) -> Iterator[SAConnection]:
        yield self._conn
