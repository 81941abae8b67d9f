"""The memory store's data retention (:class:`~headwater.store.retention.RetentionStore`),
the same rules as the SQL store's (:mod:`headwater.store.sql.retention`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from headwater.engine.records import DagRun
from headwater.engine.states import FINISHED_RUN_STATES
from headwater.store.memory.core import MemoryState
from headwater.store.memory.runs import MemoryRuns
from headwater.store.retention import (
    BACKFILLS_TABLE,
    RUN_TABLES,
    RUNS_TABLE,
    RetentionStore,
    RunKey,
)


def _xcoms(state: MemoryState, run: RunKey) -> int:
    return sum(len(values) for key, values in state.xcoms.items() if key[:2] == run)


def _attempts(state: MemoryState, run: RunKey) -> int:
    return len(state.attempts.get(run, {}))


def _triggers(state: MemoryState, run: RunKey) -> int:
    return sum(1 for t in state.triggers.values() if (t.key.dag_id, t.key.run_id) == run)


def _run_asset_events(state: MemoryState, run: RunKey) -> int:
    return len(state.asset_tables.run_events.get(run, []))


def _deadlines(state: MemoryState, run: RunKey) -> int:
    return sum(1 for d in state.deadlines.values() if (d.dag_id, d.run_id) == run)


def _task_state(state: MemoryState, run: RunKey) -> int:
    return sum(
        len(rows) for scope, rows in state.task_state.items() if (scope.dag_id, scope.run_id) == run
    )


def _task_instances(state: MemoryState, run: RunKey) -> int:
    return len(state.tis.get(run, {}))


def _events(state: MemoryState, run: RunKey) -> int:
    return sum(1 for e in state.events if (e.dag_id, e.run_id) == run)


RUN_ROW_COUNTERS: dict[str, Callable[[MemoryState, RunKey], int]] = {
    "xcoms": _xcoms,
    "task_attempts": _attempts,
    "triggers": _triggers,
    "dag_run_asset_events": _run_asset_events,
    "deadlines": _deadlines,
    "task_state_store": _task_state,
    "task_instances": _task_instances,
    "events": _events,
}
"""How many rows of each of :data:`~headwater.store.retention.RUN_TABLES` a run has here.
Deleting a run deletes them all (``MemoryRuns._delete_runs``, and the events below)."""
assert tuple(RUN_ROW_COUNTERS) == RUN_TABLES, "store.retention.RUN_TABLES lists these"


def _removable_keys(state: MemoryState, cutoff: datetime, dag_id: str | None) -> set[RunKey]:
    newest_date: dict[str, datetime] = {}
    newest_interval: dict[str, datetime] = {}
    for run in state.runs.values():
        newest_date[run.dag_id] = max(
            newest_date.get(run.dag_id, run.logical_date), run.logical_date
        )
        if run.run_type == "scheduled":
            start = newest_interval.get(run.dag_id, run.data_interval_start)
            newest_interval[run.dag_id] = max(start, run.data_interval_start)

    def removable(run: DagRun) -> bool:
        return (
            run.state in FINISHED_RUN_STATES
            and (run.end_date or run.logical_date) < cutoff
            and run.logical_date < newest_date[run.dag_id]
            and (
                run.run_type != "scheduled" or run.data_interval_start < newest_interval[run.dag_id]
            )
            and (dag_id is None or run.dag_id == dag_id)
        )

    return {key for key, run in state.runs.items() if removable(run)}


class MemoryRetention(MemoryRuns, RetentionStore):
    """Data retention in memory."""

    def removable_runs(
        self, cutoff: datetime, *, dag_id: str | None, after: RunKey | None, limit: int
    ) -> list[RunKey]:
        with self._lock:
            keys = _removable_keys(self._s, cutoff, dag_id)
        return sorted(k for k in keys if after is None or k > after)[:limit]

    def count_run_rows(self, runs: Sequence[RunKey]) -> dict[str, int]:
        with self._lock:
            present = [run for run in runs if run in self._s.runs]
            counts = {RUNS_TABLE: len(present)}
            for name, count in RUN_ROW_COUNTERS.items():
                counts[name] = sum(count(self._s, run) for run in present)
        return counts

    def delete_runs(self, runs: Sequence[RunKey]) -> dict[str, int]:
        with self._lock:
            counts = self.count_run_rows(runs)
            chosen = set(runs)
            backfill_ids = {
                run.backfill_id
                for key, run in self._s.runs.items()
                if key in chosen and run.backfill_id is not None
            }
            self._s.events = [e for e in self._s.events if (e.dag_id, e.run_id) not in chosen]
            self._delete_runs(lambda key: key in chosen)
            still_used = {run.backfill_id for run in self._s.runs.values()}
            gone = [b for b in backfill_ids if b not in still_used and b in self._s.backfills]
            for backfill_id in gone:
                del self._s.backfills[backfill_id]
            counts[BACKFILLS_TABLE] = len(gone)
        return counts

    def old_event_ids(
        self, cutoff: datetime, *, dag_id: str | None, after: int, limit: int
    ) -> list[int]:
        with self._lock:
            found = [
                e.id
                for e in self._s.events
                if e.at < cutoff
                and e.id > after
                and (e.run_id is None or (e.dag_id, e.run_id) not in self._s.runs)
                and (dag_id is None or e.dag_id == dag_id)
            ]
        return sorted(found)[:limit]

    def delete_events(self, event_ids: Sequence[int]) -> int:
        chosen = set(event_ids)
        with self._lock:
            before = len(self._s.events)
            self._s.events = [e for e in self._s.events if e.id not in chosen]
            return before - len(self._s.events)

    def old_asset_event_ids(
        self, cutoff: datetime, *, dag_id: str | None, after: int, limit: int
    ) -> list[int]:
        with self._lock:
            tables = self._s.asset_tables
            removable = _removable_keys(self._s, cutoff, dag_id)
            kept_links = {
                event_id
                for run, event_ids in tables.run_events.items()
                if run in self._s.runs and run not in removable
                for event_id in event_ids
            }
            queued = {event_id for _, event_id in tables.queue}
            newest: dict[int, int] = {}
            for event in tables.events.values():
                newest[event.asset_id] = max(newest.get(event.asset_id, event.id), event.id)
            found = [
                event.id
                for event in tables.events.values()
                if event.timestamp < cutoff
                and event.id > after
                and event.id not in kept_links
                and event.id not in queued
                and newest[event.asset_id] != event.id
                and (dag_id is None or event.source_dag_id == dag_id)
            ]
        return sorted(found)[:limit]

    def delete_asset_events(self, event_ids: Sequence[int]) -> int:
        with self._lock:
            events = self._s.asset_tables.events
            gone = [event_id for event_id in event_ids if events.pop(event_id, None)]
            return len(gone)
