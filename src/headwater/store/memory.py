"""A store in process memory: what ``dags test`` and users' tests run on."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from headwater.engine.records import (
    AttemptKey,
    AttemptOutcome,
    DagRun,
    TaskAttempt,
    TaskInstance,
    TaskInstanceKey,
)
from headwater.engine.states import TaskInstanceState
from headwater.store.base import Connection, MetadataStore


class MemoryStore(MetadataStore):
    """Keeps copies of everything in dicts; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[tuple[str, str], DagRun] = {}
        self._tis: dict[tuple[str, str], dict[tuple[str, int], TaskInstance]] = {}
        self._attempts: dict[tuple[str, str], dict[tuple[str, int, int], TaskAttempt]] = {}
        # (dag_id, run_id, task_id, name) -> {map_index: value}
        self._xcoms: dict[tuple[str, str, str, str], dict[int, str]] = {}
        self._variables: dict[str, str] = {}
        self._connections: dict[str, Connection] = {}

    def create_dag_run(self, run: DagRun, task_instances: Iterable[TaskInstance]) -> None:
        with self._lock:
            key = (run.dag_id, run.run_id)
            if key in self._runs:
                raise ValueError(f"DAG {run.dag_id!r} already has a run {run.run_id!r}")
            self._runs[key] = copy.deepcopy(run)
            self._tis[key] = {(t.task_id, t.map_index): _clone(t) for t in task_instances}
            self._attempts[key] = {}

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        with self._lock:
            run = self._runs.get((dag_id, run_id))
            return copy.deepcopy(run) if run is not None else None

    def save_dag_run(self, run: DagRun) -> None:
        with self._lock:
            self._runs[(run.dag_id, run.run_id)] = copy.deepcopy(run)

    def list_dag_runs(self, dag_id: str) -> list[DagRun]:
        with self._lock:
            runs = [copy.deepcopy(r) for (d, _), r in self._runs.items() if d == dag_id]
        return sorted(runs, key=lambda r: r.logical_date)

    def save_task_instances(
        self, task_instances: Iterable[TaskInstance], *, delete: Iterable[TaskInstanceKey] = ()
    ) -> None:
        with self._lock:
            for key in delete:
                self._tis[(key.dag_id, key.run_id)].pop((key.task_id, key.map_index), None)
            for ti in task_instances:
                self._tis[(ti.dag_id, ti.run_id)][(ti.task_id, ti.map_index)] = _clone(ti)

    def get_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        with self._lock:
            return [_clone(t) for t in self._tis.get((dag_id, run_id), {}).values()]

    def save_attempt(self, attempt: TaskAttempt) -> None:
        with self._lock:
            bucket = self._attempts[(attempt.dag_id, attempt.run_id)]
            bucket[(attempt.task_id, attempt.map_index, attempt.try_number)] = _copy_attempt(
                attempt
            )

    def get_attempt(self, key: AttemptKey) -> TaskAttempt | None:
        with self._lock:
            bucket = self._attempts.get((key.dag_id, key.run_id), {})
            attempt = bucket.get((key.task_id, key.map_index, key.try_number))
            return None if attempt is None else _copy_attempt(attempt)

    def record_attempt_outcome(
        self,
        key: AttemptKey,
        outcome: AttemptOutcome,
        end_date: datetime,
        xcoms: Mapping[str, str] | None = None,
    ) -> bool:
        with self._lock:
            bucket = self._attempts.get((key.dag_id, key.run_id), {})
            attempt = bucket.get((key.task_id, key.map_index, key.try_number))
            if attempt is None or attempt.state is not TaskInstanceState.RUNNING:
                return False
            ended = _copy_attempt(attempt)
            ended.state = outcome.state
            ended.end_date = end_date
            ended.error = outcome.error
            ended.rendered_fields = _copy_json(outcome.rendered_fields)
            ended.outcome = replace(outcome, recorded=True)
            bucket[(key.task_id, key.map_index, key.try_number)] = ended
            for name, value in (xcoms or {}).items():
                values = self._xcoms.setdefault((key.dag_id, key.run_id, key.task_id, name), {})
                values[key.map_index] = value
            return True

    def get_attempts(
        self, dag_id: str, run_id: str, task_id: str | None = None
    ) -> list[TaskAttempt]:
        with self._lock:
            attempts = [
                _copy_attempt(a)
                for a in self._attempts.get((dag_id, run_id), {}).values()
                if task_id is None or a.task_id == task_id
            ]
        return sorted(attempts, key=lambda a: (a.start_date, a.task_id, a.map_index, a.try_number))

    def set_xcom(self, key: TaskInstanceKey, name: str, value: str) -> None:
        with self._lock:
            self._xcoms.setdefault((key.dag_id, key.run_id, key.task_id, name), {})[
                key.map_index
            ] = value

    def get_xcom(self, key: TaskInstanceKey, name: str) -> str | None:
        with self._lock:
            return self._xcoms.get((key.dag_id, key.run_id, key.task_id, name), {}).get(
                key.map_index
            )

    def get_mapped_xcoms(self, dag_id: str, run_id: str, task_id: str, name: str) -> list[str]:
        with self._lock:
            values = self._xcoms.get((dag_id, run_id, task_id, name), {})
            return [values[i] for i in sorted(values)]

    def clear_xcoms(self, key: TaskInstanceKey) -> None:
        with self._lock:
            for (dag_id, run_id, task_id, _), values in self._xcoms.items():
                if (dag_id, run_id, task_id) == key[:3]:
                    values.pop(key.map_index, None)

    def get_variable(self, name: str) -> str | None:
        with self._lock:
            return self._variables.get(name)

    def set_variable(self, name: str, value: str) -> None:
        with self._lock:
            self._variables[name] = value

    def get_connection(self, conn_id: str) -> Connection | None:
        with self._lock:
            conn = self._connections.get(conn_id)
            return copy.deepcopy(conn) if conn is not None else None

    def set_connection(self, connection: Connection) -> None:
        with self._lock:
            self._connections[connection.conn_id] = copy.deepcopy(connection)


_Record = TypeVar("_Record", TaskInstance, TaskAttempt)


def _clone(record: _Record) -> _Record:
    """A shallow copy of a record (what ``copy.copy`` does, several times faster)."""
    clone = object.__new__(type(record))
    clone.__dict__.update(record.__dict__)
    return clone


def _copy_attempt(attempt: TaskAttempt) -> TaskAttempt:
    copied = _clone(attempt)
    if attempt.rendered_fields:
        copied.rendered_fields = _copy_json(attempt.rendered_fields)
    return copied


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON-like data (what rendered fields are), faster than ``deepcopy``."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value
