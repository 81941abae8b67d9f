"""The memory store's browsing reads: DAGs without their structure, pages of runs, the
latest runs of many DAGs (see :class:`~headwater.store.ports.BrowseQueries`)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from datetime import datetime

from headwater.db.rows import DagRow, RunSummaryRow
from headwater.engine.records import DagRun
from headwater.engine.states import DagRunState
from headwater.store.memory.core import MemoryCore


def _newest_first(run: DagRun) -> tuple[datetime, str]:
    return (run.logical_date, run.run_id)


class MemoryBrowse(MemoryCore):
    """Browsing reads in memory."""

    def list_dag_headers(self, include_inactive: bool = False) -> list[DagRow]:
        with self._lock:
            rows = [
                dataclasses.replace(row, serialized=None, tags=list(row.tags))
                for row in self._s.dags.values()
                if include_inactive or row.is_active
            ]
        return sorted(rows, key=lambda row: row.dag_id)

    def page_dag_runs(
        self,
        dag_id: str,
        *,
        states: Iterable[DagRunState | str] | None = None,
        run_types: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[DagRun], int]:
        wanted_states = None if states is None else {str(s) for s in states}
        wanted_types = None if run_types is None else set(run_types)
        with self._lock:
            runs = [
                run
                for (d, _), run in self._s.runs.items()
                if d == dag_id
                and (wanted_states is None or run.state.value in wanted_states)
                and (wanted_types is None or run.run_type in wanted_types)
                and (start is None or run.logical_date >= start)
                and (end is None or run.logical_date <= end)
            ]
            runs.sort(key=_newest_first, reverse=True)
            return [copy.deepcopy(r) for r in runs[offset : offset + limit]], len(runs)

    def latest_dag_runs(
        self, dag_ids: Iterable[str], per_dag: int
    ) -> dict[str, list[RunSummaryRow]]:
        runs: dict[str, list[DagRun]] = {dag_id: [] for dag_id in dag_ids}
        with self._lock:
            for (dag_id, _), run in self._s.runs.items():
                if dag_id in runs:
                    runs[dag_id].append(run)
            latest = {}
            for dag_id, of_dag in runs.items():
                of_dag.sort(key=_newest_first)
                latest[dag_id] = [_summary(r) for r in of_dag[max(len(of_dag) - per_dag, 0) :]]
        return latest


def _summary(run: DagRun) -> RunSummaryRow:
    return RunSummaryRow(run.dag_id, run.run_id, run.state.value, run.run_type, run.logical_date)
