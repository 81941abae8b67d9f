"""The OpenLineage run ids of DAG runs and task attempts: UUIDs derived from what names the
run, the same in every process (the scheduler's run events and the worker's task events
agree on the parent), as Airflow's provider does: the client's ``generate_static_uuid``
(UUIDv7-like, ordered by the logical date, its random part a hash of the names)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


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
    from openlineage.client.uuid import generate_static_uuid

    return str(generate_static_uuid(instant=instant, data=data.encode("utf-8")))
