"""The memory store's runs: create, read, update, list, find and delete runs."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from headwater.db.convert import ACTIVE_RUN_STATES
from headwater.engine.records import DagRun, TaskInstance
from headwater.engine.states import DagRunState
from headwater.exceptions import StaleWriteError
from headwater.store.memory.core import MemoryCore, RunKey, clone

log = logging.getLogger(__name__)


def _by_date(run: DagRun) -> tuple[datetime, str, str]:
    return (run.logical_date, run.dag_id, run.run_id)


class MemoryRuns(MemoryCore):
    """Runs in memory."""

    def create_dag_run(self, run: DagRun, task_instances: Iterable[TaskInstance]) -> None:
        with self._lock:
            key = (run.dag_id, run.run_id)
            if key in self._s.runs:
                raise ValueError(f"DAG {run.dag_id!r} already has a run {run.run_id!r}")
            self._s.runs[key] = copy.deepcopy(run)
            tis = list(task_instances)
            self._s.tis[key] = {(t.task_id, t.map_index): clone(t) for t in tis}
            self._note_queued(tis)
            self._s.attempts[key] = {}

    def create_dag_runs(self, runs: Iterable[tuple[DagRun, Iterable[TaskInstance]]]) -> int:
        given = [(run, list(tis)) for run, tis in runs]
        with self._lock:
            seen: set[RunKey] = set()
            for run, _ in given:  # all checked first: all or nothing
                key = (run.dag_id, run.run_id)
                if key in self._s.runs or key in seen:
                    raise ValueError(f"DAG {run.dag_id!r} already has a run {run.run_id!r}")
                seen.add(key)
            for run, tis in given:
                self.create_dag_run(run, tis)
        return len(given)

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun | None:
        with self._lock:
            run = self._s.runs.get((dag_id, run_id))
            return copy.deepcopy(run) if run is not None else None

    def save_dag_run(self, run: DagRun, *, expected_state: DagRunState | None = None) -> None:
        with self._lock:
            key = (run.dag_id, run.run_id)
            if expected_state is not None:
                stored = self._s.runs.get(key)
                if stored is None or stored.state is not expected_state:
                    error = StaleWriteError(
                        f"{run.dag_id}/{run.run_id}",
                        expected_state.value,
                        stored.state.value if stored is not None else None,
                        what="run",
                    )
                    log.warning("refused a stale write: %s", error)
                    raise error
            self._s.runs[key] = copy.deepcopy(run)
            self._s.tis.setdefault(key, {})
            self._s.attempts.setdefault(key, {})

    def list_dag_runs(
        self,
        dag_id: str,
        states: Iterable[DagRunState | str] | None = None,
        limit: int | None = None,
    ) -> list[DagRun]:
        wanted = None if states is None else {str(s) for s in states}
        with self._lock:
            runs = [
                copy.deepcopy(r)
                for (d, _), r in self._s.runs.items()
                if d == dag_id and (wanted is None or r.state.value in wanted)
            ]
        runs.sort(key=_by_date)
        if limit is not None:  # the newest ``limit``, still oldest first
            runs = runs[max(len(runs) - limit, 0) :]
        return runs

    def get_dag_runs_by_state(self, states: Iterable[DagRunState | str]) -> list[DagRun]:
        wanted = {str(s) for s in states}
        with self._lock:
            runs = [copy.deepcopy(r) for r in self._s.runs.values() if r.state.value in wanted]
        return sorted(runs, key=_by_date)

    def run_keys_in_state(self, state: DagRunState | str) -> set[tuple[str, str]]:
        with self._lock:
            return {key for key, run in self._s.runs.items() if run.state.value == str(state)}

    def find_dag_run(
        self, dag_id: str, logical_date: datetime, run_type: str | None = None
    ) -> list[DagRun]:
        with self._lock:
            runs = [
                copy.deepcopy(r)
                for r in self._s.runs.values()
                if r.dag_id == dag_id
                and r.logical_date == logical_date
                and (run_type is None or r.run_type == run_type)
            ]
        return sorted(runs, key=lambda r: r.run_id)

    def delete_dag_run(self, dag_id: str, run_id: str) -> bool:
        with self._lock:
            return self._delete_runs(lambda key: key == (dag_id, run_id)) > 0

    def list_dag_runs_before(
        self, dag_id: str, before: datetime | None, limit: int
    ) -> list[DagRun]:
        with self._lock:
            runs = [
                copy.deepcopy(r)
                for (d, _), r in self._s.runs.items()
                if d == dag_id and (before is None or r.logical_date < before)
            ]
        runs.sort(key=_by_date)
        return runs[max(len(runs) - limit, 0) :]

    def count_active_runs(self, dag_id: str) -> int:
        with self._lock:
            return sum(
                1
                for r in self._s.runs.values()
                if r.dag_id == dag_id and r.state.value in ACTIVE_RUN_STATES
            )

    def _delete_runs(self, chosen: Callable[[RunKey], bool]) -> int:
        """Delete the runs whose key ``chosen(key)`` picks, with everything of theirs (as the
        SQL foreign keys cascade); returns how many runs went. Call with the lock held."""
        keys = [key for key in self._s.runs if chosen(key)]
        for key in keys:
            del self._s.runs[key]
            self._s.tis.pop(key, None)
            self._s.attempts.pop(key, None)
            self._s.claims.pop(key, None)
            for life_key in [k for k in self._s.attempt_life if k[:2] == key]:
                del self._s.attempt_life[life_key]
            for xcom_key in [k for k in self._s.xcoms if k[:2] == key]:
                del self._s.xcoms[xcom_key]
            for ti_key in [k for k in self._s.queued_at if k[:2] == key]:
                del self._s.queued_at[ti_key]
            for trigger in [t for t in self._s.triggers.values() if t.key[:2] == key]:
                del self._s.triggers[trigger.id]
            self._s.asset_tables.run_events.pop(key, None)  # as the SQL cascade
            for scope in [s for s in self._s.task_state if (s.dag_id, s.run_id) == key]:
                del self._s.task_state[scope]
            for deadline_id in [
                i for i, d in self._s.deadlines.items() if (d.dag_id, d.run_id) == key
            ]:
                del self._s.deadlines[deadline_id]
        return len(keys)
