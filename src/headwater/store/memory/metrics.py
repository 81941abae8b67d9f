"""The metrics port in memory (see :mod:`headwater.store.metrics`)."""

from __future__ import annotations

from collections import Counter

from headwater.store.memory.core import MemoryCore
from headwater.store.metrics import EventCounts


class MemoryMetrics(MemoryCore):
    """Grouped counts over the memory store's dicts."""

    def count_runs_by_state(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(run.state.value for run in self._s.runs.values()))

    def count_tis_by_state(self) -> dict[str, int]:
        with self._lock:
            return dict(
                Counter(ti.state.value for tis in self._s.tis.values() for ti in tis.values())
            )

    def count_import_error_files(self) -> int:
        with self._lock:
            return sum(1 for errors in self._s.import_errors.values() if errors)

    def count_events_after(self, kind: str, after_id: int) -> EventCounts:
        by_dag: Counter[str] = Counter()
        last_id = after_id
        with self._lock:
            for event in self._s.events:
                if event.id > after_id:
                    last_id = max(last_id, event.id)
                    if event.kind == kind:
                        by_dag[event.dag_id or ""] += 1
        return EventCounts(dict(by_dag), last_id)
