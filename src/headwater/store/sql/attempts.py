"""The SQL store's attempts: one ``task_attempts`` row per try, and their liveness.

Liveness (``heartbeat_at``, ``worker``) is not part of the engine's ``TaskAttempt`` record:
:meth:`SqlAttempts.attempt_heartbeats` returns it beside :meth:`SqlAttempts.running_attempts`,
keyed by :class:`~headwater.engine.records.AttemptKey`. How an attempt ended is recorded
with its row, by compare-and-set on it still running (:meth:`SqlAttempts.record_attempt_outcome`,
exactly-once completion).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select, update

from headwater.db.convert import (
    ATTEMPTS,
    RUNNING,
    attempt_key_params,
    attempt_params,
    attempt_where,
    outcome_json,
    run_key,
    to_attempt,
)
from headwater.db.rows import AttemptHeartbeat, AttemptKey
from headwater.engine.ports import ExpectedStates
from headwater.engine.records import AttemptOutcome, TaskAttempt, TaskInstance, TaskInstanceKey
from headwater.store.sql.assets import record_outlet_events
from headwater.store.sql.task_instances import SqlTaskInstances
from headwater.store.sql.triggers import insert_trigger


class SqlAttempts(SqlTaskInstances):
    """Attempts on SQL (an attempt is often written with the instances it changes)."""

    def save_attempt(self, attempt: TaskAttempt) -> None:
        """Insert or update one try; a new row's heartbeat is its start."""
        with self._write() as conn:
            conn.execute(self._stmts.upsert_attempt, attempt_params(attempt))

    def save_attempt_with_task_instances(
        self,
        attempt: TaskAttempt,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
        expected: ExpectedStates | None = None,
    ) -> None:
        """The attempt's row and the instances' changes in one transaction."""
        with self._write() as conn:
            conn.execute(self._stmts.upsert_attempt, attempt_params(attempt))
            self._write_task_instances(conn, list(task_instances), list(delete), expected)

    def get_attempts(
        self, dag_id: str, run_id: str, task_id: str | None = None
    ) -> list[TaskAttempt]:
        query = select(ATTEMPTS).where(*run_key(dag_id, run_id, ATTEMPTS))
        if task_id is not None:
            query = query.where(ATTEMPTS.c.task_id == task_id)
        query = query.order_by(
            ATTEMPTS.c.start_date, ATTEMPTS.c.task_id, ATTEMPTS.c.map_index, ATTEMPTS.c.try_number
        )
        with self._read() as conn:
            return [to_attempt(row) for row in conn.execute(query)]

    def get_attempt(self, key: AttemptKey) -> TaskAttempt | None:
        query = select(ATTEMPTS).where(*attempt_where(AttemptKey(*key)))
        with self._read() as conn:
            row = conn.execute(query).first()
        return to_attempt(row) if row is not None else None

    def claim_attempt(self, attempt: TaskAttempt) -> bool:
        """``INSERT ... ON CONFLICT DO NOTHING``: one round trip; see
        :meth:`~headwater.engine.ports.AttemptStore.claim_attempt`."""
        with self._write_one() as conn:
            inserted = conn.execute(self._stmts.claim_attempt, attempt_params(attempt)).first()
        return inserted is not None

    def record_attempt_outcome(
        self,
        key: AttemptKey,
        outcome: AttemptOutcome,
        end_date: datetime,
        xcoms: Mapping[str, str] | None = None,
        *,
        start_date: datetime | None = None,
    ) -> bool:
        """Compare-and-set on the attempt row (``state = 'running'``), and its XComs, in one
        transaction: see :meth:`~headwater.engine.ports.AttemptStore.record_attempt_outcome`.
        Given the attempt's ``start_date`` (its worker knows it), it is one ``UPDATE``."""
        key = AttemptKey(*key)
        # Given the start and no XComs, the whole record is one UPDATE: atomic on its own.
        one_statement = (
            start_date is not None
            and not xcoms
            and outcome.deferral is None
            and not outcome.outlet_events
        )
        with self._write_one() if one_statement else self._write() as conn:
            start = start_date
            if start is None:
                where = (*attempt_where(key), ATTEMPTS.c.state == RUNNING)
                start = conn.execute(
                    select(ATTEMPTS.c.start_date).where(*where).with_for_update()
                ).scalar_one_or_none()
            if start is None:
                return False
            params = {
                **attempt_key_params(key),
                "v_state": outcome.state.value,
                "v_end_date": end_date,
                "v_duration": (end_date - start).total_seconds(),
                "v_error": outcome.error,
                "v_rendered_fields": outcome.rendered_fields,
                "v_outcome": outcome_json(outcome),
            }
            if not conn.execute(self._stmts.end_attempt, params).rowcount:
                return False  # not running (ended by someone else, or never claimed)
            if xcoms:
                ti = key._asdict()
                del ti["try_number"]
                rows = [{**ti, "key": name, "value": value} for name, value in xcoms.items()]
                conn.execute(self._stmts.upsert_xcom, rows)
            if outcome.deferral is not None:
                insert_trigger(conn, key, outcome.deferral, end_date)
            if outcome.outlet_events:
                record_outlet_events(conn, key, outcome.outlet_events, end_date)
        return True

    def running_attempts(self) -> list[TaskAttempt]:
        """Every attempt still marked running, in all runs (see :meth:`attempt_heartbeats`)."""
        query = (
            select(ATTEMPTS)
            .where(ATTEMPTS.c.state == RUNNING)
            .order_by(ATTEMPTS.c.start_date, ATTEMPTS.c.dag_id, ATTEMPTS.c.run_id)
        )
        with self._read() as conn:
            return [to_attempt(row) for row in conn.execute(query)]

    def attempt_heartbeats(self) -> dict[AttemptKey, AttemptHeartbeat]:
        """Last heartbeat and worker of every running attempt: how to tell a dead one."""
        c = ATTEMPTS.c
        query = select(
            c.dag_id, c.run_id, c.task_id, c.map_index, c.try_number, c.heartbeat_at, c.worker
        ).where(c.state == RUNNING)
        with self._read() as conn:
            return {
                AttemptKey(*row[:5]): AttemptHeartbeat(row.heartbeat_at, row.worker)
                for row in conn.execute(query)
            }

    def heartbeat_attempts(
        self, keys: Iterable[tuple[str, str, str, int, int]], now: datetime
    ) -> None:
        """Record that attempts ``keys`` (dag, run, task, map index, try) live at ``now``."""
        params = [{**attempt_key_params(AttemptKey(*key)), "k_now": now} for key in keys]
        if params:
            with self._write() as conn:
                conn.execute(self._stmts.heartbeat, params)

    def set_attempt_worker(self, key: tuple[str, str, str, int, int], worker: str) -> bool:
        """Record which executor or worker runs the attempt ``key``; False if no such attempt."""
        key = AttemptKey(*key)
        query = update(ATTEMPTS).where(*attempt_where(key)).values(worker=worker)
        with self._write() as conn:
            return bool(conn.execute(query).rowcount)
