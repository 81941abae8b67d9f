"""The memory store's reads of earlier runs, for ``depends_on_past``
(:class:`~headwater.engine.ports.PastRunStore`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from headwater.engine.ports import PastInstances
from headwater.engine.states import TaskInstanceState
from headwater.store.memory.core import MemoryCore


class MemoryPastRuns(MemoryCore):
    """The run before a run, and which tasks ran in earlier runs, in memory."""

    def get_previous_run_states(
        self,
        dag_id: str,
        before: datetime,
        task_ids: Iterable[str],
        *,
        skip_run_types: Iterable[str] = (),
    ) -> PastInstances | None:
        wanted, skipped = set(task_ids), set(skip_run_types)
        with self._lock:
            earlier = [
                run
                for (d, _), run in self._s.runs.items()
                if d == dag_id and run.logical_date < before and run.run_type not in skipped
            ]
            if not earlier:
                return None
            previous = max(earlier, key=lambda r: (r.logical_date, r.run_id))
            found: dict[str, list[tuple[int, TaskInstanceState]]] = {}
            for (task_id, map_index), ti in self._s.tis.get((dag_id, previous.run_id), {}).items():
                if task_id in wanted:
                    found.setdefault(task_id, []).append((map_index, ti.state))
        states = {task_id: tuple(s for _, s in sorted(pairs)) for task_id, pairs in found.items()}
        return PastInstances(previous.run_id, previous.logical_date, states)

    def tasks_with_earlier_instances(
        self, dag_id: str, before: datetime, task_ids: Iterable[str]
    ) -> set[str]:
        wanted = set(task_ids)
        found: set[str] = set()
        with self._lock:
            for (d, run_id), run in self._s.runs.items():
                if d == dag_id and run.logical_date < before:
                    found.update(t for t, _ in self._s.tis.get((d, run_id), {}) if t in wanted)
        return found
