"""The memory store's DAG catalog: DAG files, DAGs and import errors."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from datetime import datetime

from headwater.db.convert import SCHEDULER_OWNED
from headwater.db.rows import DagFileRow, DagRow, DagVersionRow, ImportErrorRow
from headwater.store.memory.runs import MemoryRuns


class MemoryDags(MemoryRuns):
    """DAG files, DAGs and import errors in memory (deleting a DAG deletes its runs)."""

    def upsert_dag_file(
        self, path: str, source_hash: str, mtime: float, dag_ids: Iterable[str], now: datetime
    ) -> None:
        with self._lock:
            self._s.dag_files[path] = DagFileRow(path, source_hash, mtime, now, list(dag_ids))

    def get_dag_files(self) -> dict[str, DagFileRow]:
        with self._lock:
            return copy.deepcopy(self._s.dag_files)

    def delete_dag_file(self, path: str) -> bool:
        with self._lock:
            return self._s.dag_files.pop(path, None) is not None

    def upsert_dag(self, row: DagRow) -> None:
        with self._lock:
            new = copy.deepcopy(row)
            old = self._s.dags.get(row.dag_id)
            if old is not None:
                new = dataclasses.replace(new, **{n: getattr(old, n) for n in SCHEDULER_OWNED})
            self._s.dags[row.dag_id] = new

    def get_dag(self, dag_id: str) -> DagRow | None:
        with self._lock:
            return copy.deepcopy(self._s.dags.get(dag_id))

    def list_dags(self, include_inactive: bool = False) -> list[DagRow]:
        with self._lock:
            return [
                copy.deepcopy(self._s.dags[dag_id])
                for dag_id in sorted(self._s.dags)
                if include_inactive or self._s.dags[dag_id].is_active
            ]

    def list_dag_versions(self) -> list[DagVersionRow]:
        # No deep copy of the serialized DAGs: the point of asking for versions only.
        with self._lock:
            return [
                DagVersionRow(dag.dag_id, dag.source_hash, dag.fileloc, dag.is_paused)
                for dag_id, dag in sorted(self._s.dags.items())
                if dag.is_active
            ]

    def set_dag_paused(self, dag_id: str, paused: bool) -> bool:
        return self._change_dag(dag_id, is_paused=paused)

    def deactivate_dags(self, dag_ids: Iterable[str]) -> int:
        with self._lock:
            active = [d for d in set(dag_ids) if d in self._s.dags and self._s.dags[d].is_active]
            for dag_id in active:
                self._s.dags[dag_id].is_active = False
            return len(active)

    def set_next_dagrun(
        self,
        dag_id: str,
        logical_date: datetime | None,
        interval_start: datetime | None,
        interval_end: datetime | None,
        create_after: datetime | None,
    ) -> bool:
        return self._change_dag(
            dag_id,
            next_dagrun_logical_date=logical_date,
            next_dagrun_data_interval_start=interval_start,
            next_dagrun_data_interval_end=interval_end,
            next_dagrun_create_after=create_after,
        )

    def _change_dag(self, dag_id: str, **values: object) -> bool:
        with self._lock:
            dag = self._s.dags.get(dag_id)
            if dag is None:
                return False
            self._s.dags[dag_id] = dataclasses.replace(dag, **values)  # type: ignore[arg-type]
            return True

    def delete_dag(self, dag_id: str) -> dict[str, int]:
        with self._lock:
            keys = [key for key in self._s.runs if key[0] == dag_id]
            counts = {
                "xcoms": sum(
                    len(values) for key, values in self._s.xcoms.items() if key[0] == dag_id
                ),
                "task_attempts": sum(len(self._s.attempts.get(key, {})) for key in keys),
                "task_instances": sum(len(self._s.tis.get(key, {})) for key in keys),
                "dag_runs": self._delete_runs(lambda key: key[0] == dag_id),
                "dags": int(self._s.dags.pop(dag_id, None) is not None),
            }
            for xcom_key in [k for k in self._s.xcoms if k[0] == dag_id]:
                del self._s.xcoms[xcom_key]
            return counts

    def set_import_errors(self, filename: str, errors: Iterable[ImportErrorRow]) -> None:
        rows = [dataclasses.replace(error, filename=filename) for error in errors]
        with self._lock:
            if rows:
                self._s.import_errors[filename] = rows
            else:
                self._s.import_errors.pop(filename, None)

    def clear_import_errors(self, filename: str) -> None:
        self.set_import_errors(filename, [])

    def list_import_errors(self) -> list[ImportErrorRow]:
        with self._lock:
            return [
                dataclasses.replace(error)
                for filename in sorted(self._s.import_errors)
                for error in self._s.import_errors[filename]
            ]
