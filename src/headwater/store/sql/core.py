"""The core every part of the SQL store shares: the engine, the clock, the statements.

:class:`SqlCore` is what the concern modules (``runs``, ``task_instances``, ``attempts``,
...) build on. Each of their methods reads through :meth:`SqlCore._read` and writes through
:meth:`SqlCore._write`; a store opens a connection (a transaction) per call, and a unit of
work (``unit_of_work.py``) answers both with its one connection, so the same methods run
inside one transaction there.

The hot statements (the upserts, the instance delete, the heartbeat) are built once per
dialect in :class:`Statements`: SQLAlchemy Core compiles and caches them, one
``executemany`` per table and call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection as SAConnection
from sqlalchemy import Engine, bindparam, delete, func, insert, update
from sqlalchemy.sql.dml import Delete, Insert, Update

from headwater.clock import Clock
from headwater.db import dialect
from headwater.db.convert import (
    ATTEMPTS,
    CONNECTIONS,
    DAG_FILES,
    DAGS,
    POOLS,
    RUNS,
    SCHEDULER_OWNED,
    TIS,
    VARIABLES,
    XCOMS,
    bound_key,
)
from headwater.db.engine import READ_ONLY


@dataclass(frozen=True)
class Statements:
    """The statements built once per dialect (``executemany`` takes a list of params)."""

    upsert_run: Insert
    upsert_ti: Insert
    insert_ti: Insert
    upsert_attempt: Insert
    claim_attempt: Insert
    end_attempt: Update
    upsert_xcom: Insert
    upsert_variable: Insert
    upsert_connection: Insert
    upsert_pool: Insert
    upsert_dag_file: Insert
    upsert_dag: Insert
    delete_ti: Delete
    heartbeat: Update


_TI_KEY = ("dag_id", "run_id", "task_id", "map_index")
_ATTEMPT_KEY = (*_TI_KEY, "try_number")


@cache
def statements(dialect_name: str) -> Statements:
    """The :class:`Statements` of ``dialect_name`` (``sqlite`` or ``postgresql``)."""
    return Statements(
        # Columns the record does not carry are the store's: kept on update.
        upsert_run=dialect.upsert(
            dialect_name, RUNS, keep=("queued_at", "claimed_by", "claim_expires_at")
        ),
        upsert_ti=dialect.upsert(
            dialect_name,
            TIS,
            merge={"queued_at": lambda ex: func.coalesce(ex.queued_at, TIS.c.queued_at)},
        ),
        insert_ti=insert(TIS),
        upsert_attempt=dialect.upsert(dialect_name, ATTEMPTS, keep=("heartbeat_at", "worker")),
        claim_attempt=dialect.insert_if_absent(dialect_name, ATTEMPTS),
        # Compare-and-set: only a running attempt ends (record_attempt_outcome).
        end_attempt=update(ATTEMPTS)
        .where(
            *bound_key(ATTEMPTS, _ATTEMPT_KEY),
            ATTEMPTS.c.state == "running",
        )
        .values(
            state=bindparam("v_state"),
            end_date=bindparam("v_end_date"),
            duration=bindparam("v_duration"),
            error=bindparam("v_error"),
            rendered_fields=bindparam("v_rendered_fields", type_=ATTEMPTS.c.rendered_fields.type),
            outcome=bindparam("v_outcome", type_=ATTEMPTS.c.outcome.type),
        ),
        upsert_xcom=dialect.upsert(dialect_name, XCOMS),
        upsert_variable=dialect.upsert(
            dialect_name,
            VARIABLES,
            merge={
                "description": lambda ex: func.coalesce(ex.description, VARIABLES.c.description)
            },
        ),
        upsert_connection=dialect.upsert(dialect_name, CONNECTIONS),
        upsert_pool=dialect.upsert(dialect_name, POOLS),
        upsert_dag_file=dialect.upsert(dialect_name, DAG_FILES),
        upsert_dag=dialect.upsert(dialect_name, DAGS, keep=SCHEDULER_OWNED),
        delete_ti=delete(TIS).where(*bound_key(TIS, _TI_KEY)),
        heartbeat=update(ATTEMPTS)
        .where(
            *bound_key(ATTEMPTS, _ATTEMPT_KEY),
        )
        .values(heartbeat_at=bindparam("k_now")),
    )


class SqlCore:
    """The engine, the clock and the statements, and how methods get a connection.

    Subclasses answer :meth:`_read` and :meth:`_write`; the concern modules only use those.
    """

    engine: Engine
    clock: Clock
    _stmts: Statements

    def _read(self) -> AbstractContextManager[SAConnection]:
        """A connection to read from (on SQLite a plain ``BEGIN``: reads never wait)."""
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[SAConnection]:
        """A connection in a write transaction, committed when the block ends."""
        raise NotImplementedError

    def _write_one(self) -> AbstractContextManager[SAConnection]:
        """A connection for one statement that is atomic on its own: :meth:`_write` here;
        :class:`~headwater.store.sql.SqlStore` runs it in autocommit on PostgreSQL, which
        spares the ``BEGIN`` and ``COMMIT`` round trips (a worker's claim and outcome)."""
        return self._write()

    def _guarded(self) -> AbstractContextManager[None]:
        """Around a statement that may be refused and caught: a savepoint inside a unit of
        work, nothing when the transaction is the method's own."""
        return nullcontext()


@contextmanager
def read_only(engine: Engine) -> Iterator[SAConnection]:
    """A new connection marked :data:`~headwater.db.engine.READ_ONLY`."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        yield conn
