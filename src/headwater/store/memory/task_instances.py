"""The memory store's task instances, attempts and their liveness.

A compare-and-set write (``expected`` given) checks every instance before it changes any,
so a refused write changes nothing; see :mod:`headwater.engine.ports`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from headwater.db.convert import RUNNING
from headwater.db.rows import AttemptHeartbeat
from headwater.engine.ports import ExpectedStates
from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import StaleWriteError
from headwater.store.memory.core import AttemptLife, MemoryCore, clone, copy_attempt, copy_json

log = logging.getLogger(__name__)


class MemoryTaskInstances(MemoryCore):
    """Task instances and attempts in memory."""

    def save_task_instances(
        self,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
        expected: ExpectedStates | None = None,
    ) -> None:
        with self._lock:
            self._write_task_instances(list(task_instances), list(delete), expected)

    def _write_task_instances(
        self,
        tis: list[TaskInstance],
        keys: list[TaskInstanceKey],
        expected: ExpectedStates | None,
    ) -> None:
        if expected is not None:
            self._check_expected(tis, expected)
        for key in keys:
            self._s.tis[(key.dag_id, key.run_id)].pop((key.task_id, key.map_index), None)
            self._s.queued_at.pop(key, None)
        for ti in tis:
            self._s.tis[(ti.dag_id, ti.run_id)][(ti.task_id, ti.map_index)] = clone(ti)
        self._note_queued(tis)

    def task_instance_queued_at(self, key: TaskInstanceKey) -> datetime | None:
        with self._lock:
            ti = self._s.tis.get((key.dag_id, key.run_id), {}).get((key.task_id, key.map_index))
            return self._s.queued_at.get(key) if ti is not None else None

    def get_task_instance_queued_at(
        self, dag_id: str, run_id: str
    ) -> dict[tuple[str, int], datetime]:
        with self._lock:
            return {
                (task_id, map_index): at
                for (d, r, task_id, map_index), at in self._s.queued_at.items()
                if (d, r) == (dag_id, run_id)
            }

    def _check_expected(self, tis: list[TaskInstance], expected: ExpectedStates) -> None:
        for ti in tis:
            row = self._s.tis.get((ti.dag_id, ti.run_id), {}).get((ti.task_id, ti.map_index))
            stored = (row.state.value, row.try_number) if row is not None else None
            seen = expected.get(ti.key)
            wanted = (str(seen[0]), seen[1]) if seen is not None else None
            if stored != wanted:
                key = ti.key
                error = StaleWriteError(f"{key.dag_id}/{key.run_id}/{key.label}", wanted, stored)
                log.warning("refused a stale write: %s", error)
                raise error

    def get_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        with self._lock:
            tis = self._s.tis.get((dag_id, run_id), {})
            return [clone(tis[index]) for index in sorted(tis)]

    def get_task_instances_of_runs(self, dag_id: str, run_ids: Iterable[str]) -> list[TaskInstance]:
        with self._lock:
            return [
                clone(tis[index])
                for run_id in sorted(set(run_ids))
                for tis in [self._s.tis.get((dag_id, run_id), {})]
                for index in sorted(tis)
            ]

    def get_task_instance(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1
    ) -> TaskInstance | None:
        with self._lock:
            ti = self._s.tis.get((dag_id, run_id), {}).get((task_id, map_index))
            return clone(ti) if ti is not None else None

    def count_tis_by_pool(self, states: Iterable[TaskInstanceState | str]) -> dict[str, int]:
        wanted = {str(s) for s in states}
        slots: Counter[str] = Counter()
        with self._lock:
            for tis in self._s.tis.values():
                for ti in tis.values():
                    if ti.state.value in wanted:
                        slots[ti.pool] += ti.pool_slots
        return dict(slots)

    def count_tis_by_dag(self, states: Iterable[TaskInstanceState | str]) -> dict[str, int]:
        wanted = {str(s) for s in states}
        counts: Counter[str] = Counter()
        with self._lock:
            for tis in self._s.tis.values():
                for ti in tis.values():
                    if ti.state.value in wanted:
                        counts[ti.dag_id] += 1
        return dict(counts)

    # -- attempts ------------------------------------------------------------------------------

    def save_attempt(self, attempt: TaskAttempt) -> None:
        with self._lock:
            self._write_attempt(attempt)

    def save_attempt_with_task_instances(
        self,
        attempt: TaskAttempt,
        task_instances: Iterable[TaskInstance],
        *,
        delete: Iterable[TaskInstanceKey] = (),
        expected: ExpectedStates | None = None,
    ) -> None:
        with self._lock:
            tis = list(task_instances)
            if expected is not None:
                self._check_expected(tis, expected)  # before the attempt: all or nothing
            self._write_attempt(attempt)
            self._write_task_instances(tis, list(delete), expected)

    def _write_attempt(self, attempt: TaskAttempt) -> None:
        bucket = self._s.attempts[(attempt.dag_id, attempt.run_id)]
        bucket[(attempt.task_id, attempt.map_index, attempt.try_number)] = copy_attempt(attempt)
        key = AttemptKey(
            attempt.dag_id, attempt.run_id, attempt.task_id, attempt.map_index, attempt.try_number
        )
        # As on SQL: a new attempt's heartbeat is its start; an update keeps both.
        self._s.attempt_life.setdefault(key, AttemptLife(attempt.start_date))

    def get_attempts(
        self, dag_id: str, run_id: str, task_id: str | None = None
    ) -> list[TaskAttempt]:
        with self._lock:
            attempts = [
                copy_attempt(a)
                for a in self._s.attempts.get((dag_id, run_id), {}).values()
                if task_id is None or a.task_id == task_id
            ]
        return sorted(attempts, key=lambda a: (a.start_date, a.task_id, a.map_index, a.try_number))

    def get_attempt(self, key: AttemptKey) -> TaskAttempt | None:
        with self._lock:
            attempt = self._attempt(key)
            return None if attempt is None else copy_attempt(attempt)

    def claim_attempt(self, attempt: TaskAttempt) -> bool:
        with self._lock:
            if self._attempt(attempt.key) is not None:
                return False
            self._write_attempt(attempt)
            return True

    def record_attempt_outcome(
        self,
        key: AttemptKey,
        outcome: AttemptOutcome,
        end_date: datetime,
        xcoms: Mapping[str, str] | None = None,
        *,
        start_date: datetime | None = None,
    ) -> bool:
        with self._lock:
            attempt = self._attempt(key)
            if attempt is None or attempt.state is not TaskInstanceState.RUNNING:
                return False
            ended = copy_attempt(attempt)
            ended.state = outcome.state
            ended.end_date = end_date
            ended.error = outcome.error
            ended.rendered_fields = copy_json(outcome.rendered_fields)
            ended.outcome = replace(outcome, recorded=True)
            self._s.attempts[(key.dag_id, key.run_id)][
                (key.task_id, key.map_index, key.try_number)
            ] = ended
            for name, value in (xcoms or {}).items():
                values = self._s.xcoms.setdefault((key.dag_id, key.run_id, key.task_id, name), {})
                values[key.map_index] = value
            if outcome.deferral is not None:
                self._insert_trigger(key, outcome.deferral, end_date)
            if outcome.outlet_events:
                self._record_outlet_events(key, outcome.outlet_events, end_date)
            return True

    def running_attempts(self) -> list[TaskAttempt]:
        with self._lock:
            attempts = [
                copy_attempt(a)
                for bucket in self._s.attempts.values()
                for a in bucket.values()
                if a.state.value == RUNNING
            ]
        return sorted(attempts, key=lambda a: (a.start_date, a.dag_id, a.run_id))

    def attempt_heartbeats(self) -> dict[AttemptKey, AttemptHeartbeat]:
        beats = {}
        with self._lock:
            for key, life in self._s.attempt_life.items():
                attempt = self._attempt(key)
                if attempt is not None and attempt.state.value == RUNNING:
                    beats[AttemptKey(*key)] = AttemptHeartbeat(life.heartbeat_at, life.worker)
        return beats

    def heartbeat_attempts(
        self, keys: Iterable[tuple[str, str, str, int, int]], now: datetime
    ) -> None:
        with self._lock:
            for key in keys:
                life = self._s.attempt_life.get(AttemptKey(*key))
                if life is not None:
                    life.heartbeat_at = now

    def set_attempt_worker(self, key: tuple[str, str, str, int, int], worker: str) -> bool:
        with self._lock:
            life = self._s.attempt_life.get(AttemptKey(*key))
            if life is None:
                return False
            life.worker = worker
            return True

    def _attempt(self, key: tuple[str, str, str, int, int]) -> TaskAttempt | None:
        dag_id, run_id, task_id, map_index, try_number = key
        return self._s.attempts.get((dag_id, run_id), {}).get((task_id, map_index, try_number))
