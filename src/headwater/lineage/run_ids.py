"""The OpenLineage run ids of DAG runs and task attempts: UUIDs derived from what names the
run, the same in every process (the scheduler's run events and the worker's task events
agree on the parent), as Airflow's provider does: the client's ``generate_static_uuid``
(UUIDv7-like, ordered by the logical date, its random part a hash of the names).

That function's module needs only the standard library, but importing it the usual way runs
the client package's ``__init__``, which imports the client itself, its HTTP stack and its
transports: 0.3-0.4 s of CPU in every process that emits, each worker included (a tenth of a
millisecond per no-op task of a 2-CPU machine's run, ``benchmarks/operations_overhead.py``).
So the module is loaded from the installed client's file on its own, under a private name;
where the client's files are not laid out so, it is imported the usual way."""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

_CLIENT_UUID = "headwater.lineage._openlineage_uuid"
"""The private name the client's ``openlineage/client/uuid.py`` is loaded under."""


@functools.lru_cache(maxsize=256)  # each of a run's task events names it as its parent
def dag_run_uuid(namespace: str, dag_id: str, run_id: str, logical_date: datetime) -> str:
    """The run id of DAG run ``run_id`` of ``dag_id``."""
    return _static_uuid(logical_date, f"{namespace}.{dag_id}.{run_id}")


@functools.lru_cache(maxsize=256)  # an attempt's START and end
def task_attempt_uuid(
    namespace: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
    logical_date: datetime,
) -> str:
    """The run id of one attempt (try) of one task instance."""
    return _static_uuid(
        logical_date, f"{namespace}.{dag_id}.{run_id}.{task_id}.{map_index}.{try_number}"
    )


def _static_uuid(instant: datetime, data: str) -> str:
    return str(generate_static_uuid()(instant=instant, data=data.encode("utf-8")))


@functools.cache
def generate_static_uuid() -> Callable[..., Any]:
    """The client's ``generate_static_uuid``, without importing the client package (loaded
    at the first call: 7 ms of CPU; :mod:`~headwater.lineage.worker_preload` does it once
    for all the workers of a fork server)."""
    path = _client_uuid_file()
    module_spec = (
        None if path is None else importlib.util.spec_from_file_location(_CLIENT_UUID, path)
    )
    if module_spec is not None and module_spec.loader is not None:
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[_CLIENT_UUID] = module  # as an import would
        try:
            module_spec.loader.exec_module(module)
        except Exception:
            del sys.modules[_CLIENT_UUID]
        else:
            function = getattr(module, "generate_static_uuid", None)
            if callable(function):
                return function
    from openlineage.client.uuid import generate_static_uuid

    return generate_static_uuid


def _client_uuid_file() -> Path | None:
    """The installed client's ``openlineage/client/uuid.py``, where it is a file."""
    spec = importlib.util.find_spec("openlineage")
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "client" / "uuid.py"
        if path.is_file():
            return path
    return None
