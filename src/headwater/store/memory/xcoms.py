"""The memory store's XComs."""

from __future__ import annotations

from headwater.engine.records import TaskInstanceKey
from headwater.store.memory.core import MemoryCore


class MemoryXComs(MemoryCore):
    """XComs in memory."""

    def set_xcom(self, key: TaskInstanceKey, name: str, value: str) -> None:
        with self._lock:
            self._s.xcoms.setdefault((key.dag_id, key.run_id, key.task_id, name), {})[
                key.map_index
            ] = value

    def get_xcom(self, key: TaskInstanceKey, name: str) -> str | None:
        with self._lock:
            return self._s.xcoms.get((key.dag_id, key.run_id, key.task_id, name), {}).get(
                key.map_index
            )

    def get_xcoms(self, key: TaskInstanceKey) -> dict[str, str]:
        with self._lock:
            found = {
                name: values[key.map_index]
                for (dag_id, run_id, task_id, name), values in self._s.xcoms.items()
                if (dag_id, run_id, task_id) == key[:3] and key.map_index in values
            }
        return dict(sorted(found.items()))

    def get_mapped_xcoms(self, dag_id: str, run_id: str, task_id: str, name: str) -> list[str]:
        with self._lock:
            values = self._s.xcoms.get((dag_id, run_id, task_id, name), {})
            return [values[i] for i in sorted(values)]

    def clear_xcoms(self, key: TaskInstanceKey) -> None:
        with self._lock:
            for (dag_id, run_id, task_id, _), values in self._s.xcoms.items():
                if (dag_id, run_id, task_id) == key[:3]:
                    values.pop(key.map_index, None)
