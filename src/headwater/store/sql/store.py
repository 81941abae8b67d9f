""":class:`SqlStore`: every part of the SQL store on one engine, one transaction per call
(or one per :meth:`SqlStore.unit_of_work`)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from headwater.clock import Clock, SystemClock
from headwater.db import engine as engine_module
from headwater.db.engine import create_db_engine
from headwater.store.ports import Store
from headwater.store.sql.core import read_only, statements
from headwater.store.sql.ports import SqlPorts
from headwater.store.sql.unit_of_work import SqlUnitOfWork


class SqlStore(SqlPorts, Store):
    """The :class:`~headwater.store.ports.Store` on a SQLAlchemy engine (SQLite or PostgreSQL).

    ``engine`` comes from :func:`headwater.db.engine.create_db_engine` (on SQLite, foreign
    keys, and so cascading deletes, depend on its settings) and its database is migrated
    (:func:`headwater.db.migrate.upgrade`). Safe to share between threads; each process
    makes its own (engines do not cross ``fork``). ``clock`` times the events the store
    logs itself.
    """

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self._owns_engine = False
        self._stmts = statements(engine.dialect.name)
        # SQLite: a statement outside BEGIN IMMEDIATE would wait for the write lock in the
        # busy handler's long sleeps (see headwater.db.engine); PostgreSQL needs no BEGIN.
        self._autocommit_one = engine.dialect.name == "postgresql"
        self._autocommit = threading.local()
        self._autocommit_lock = threading.Lock()
        self._autocommit_all: set[SAConnection] = set()

    @classmethod
    def from_url(cls, url: str, *, clock: Clock | None = None) -> SqlStore:
        """A store on a new engine for ``url``; :meth:`close` disposes of the engine."""
        store = cls(create_db_engine(url), clock=clock)
        store._owns_engine = True
        return store

    def close(self) -> None:
        """Give back the connections kept for single statements; close the pooled
        connections, if this store created its engine."""
        with self._autocommit_lock:
            kept, self._autocommit_all = self._autocommit_all, set()
        for conn in kept:
            conn.close()
        self._autocommit = threading.local()
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        """One transaction over every port (see :mod:`headwater.store.sql.unit_of_work`)."""
        with self.engine.begin() as conn:
            yield SqlUnitOfWork(conn, self.clock, self._stmts)

    @contextmanager
    def _read(self) -> Iterator[SAConnection]:
        with read_only(self.engine) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[SAConnection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _write_one(self) -> Iterator[SAConnection]:
        if not self._autocommit_one:
            with self.engine.begin() as conn:
                yield conn
            return
        conn = self._autocommit_connection()
        try:
            yield conn
        except DBAPIError as exc:
            if exc.connection_invalidated:  # the server went away: the next call reconnects
                self._drop_autocommit_connection()
            raise
        finally:
            self._autocommit.used_at = time.monotonic()

    def _autocommit_connection(self) -> SAConnection:
        """This thread's connection in autocommit, kept between single statements (a
        worker's claim and outcome): a pool checkout per statement cost as much CPU as the
        statement. Pinged first when idle for :data:`PING_AFTER_IDLE_S`, like the pool's,
        and replaced when the server dropped it."""
        local = self._autocommit
        conn: SAConnection | None = getattr(local, "conn", None)
        if conn is not None and local.pid != os.getpid():
            # Inherited through fork: the socket is the parent's; leave it to the parent.
            del local.conn
            self._autocommit_all = set()
            conn = None
        if conn is not None and (conn.closed or conn.invalidated):
            self._drop_autocommit_connection()
            conn = None
        if conn is not None and time.monotonic() - local.used_at >= engine_module.PING_AFTER_IDLE_S:
            try:
                conn.exec_driver_sql("SELECT 1")
            except DBAPIError:
                self._drop_autocommit_connection()
                conn = None
        if conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            local.conn, local.pid = conn, os.getpid()
            with self._autocommit_lock:
                self._autocommit_all.add(conn)
        return conn

    def _drop_autocommit_connection(self) -> None:
        conn = self._autocommit.__dict__.pop("conn", None)
        if conn is not None:
            with self._autocommit_lock:
                self._autocommit_all.discard(conn)
            conn.close()
