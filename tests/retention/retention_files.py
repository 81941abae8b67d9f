"""Files and rows the data-retention tests look at: log files, XCom files, stored runs."""

from __future__ import annotations

import os
from pathlib import Path

from headwater.engine.records import TaskInstanceKey
from headwater.runtime.logs import attempt_log_path
from headwater.settings import Settings
from headwater.store.ports import Store
from headwater.xcom_objects import XComLocation, XComObjectStore, object_store_root
from headwater.xcom_serializers import JsonSerializer


def every_run(store: Store) -> set[tuple[str, str]]:
    """``(dag_id, run_id)`` of every stored run."""
    return {
        (run.dag_id, run.run_id)
        for dag_id in ("etl", "solo", "sched")
        for run in store.list_dag_runs(dag_id)
    }


def write_log(settings: Settings, dag_id: str, run_id: str, text: str = "hello\n") -> Path:
    """An attempt's log file of task ``a``, as a worker writes it."""
    path = Path(attempt_log_path(settings.logs_folder, TaskInstanceKey(dag_id, run_id, "a"), 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_xcom_file(settings: Settings, dag_id: str, run_id: str) -> Path:
    """An XCom value of task ``a`` written to the object store (a file, whatever its size)."""
    objects = XComObjectStore(
        object_store_root(settings), threshold_bytes=0, serializer=JsonSerializer()
    )
    objects.encode(XComLocation(dag_id, run_id, "a", -1, "return_value"), {"rows": 3})
    (path,) = objects.instance_files(dag_id, run_id, "a", -1)
    assert os.path.isfile(path)
    return Path(path)
