"""Running an attempt in a worker process, from what the scheduler sent (an AttemptPayload).

The worker imports the DAG file itself (the scheduler only has the DAG's structure), reads
the run and the task instance from the metadata database, runs the attempt with
:func:`~headwater.runtime.task_runner.run_attempt` (XComs are written to the database
there), records the outcome with the attempt's row and its XComs in one compare-and-set
(:mod:`headwater.runtime.recorded_attempt`), and returns it for the scheduler to apply. The
worker never changes a task instance's state.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from headwater.engine.records import AttemptOutcome
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.xcoms import XComs
    from headwater.executors.base import AttemptPayload
    from headwater.store.sql import SqlStore


def run_payload(payload: AttemptPayload) -> AttemptOutcome:
    """Run the attempt ``payload`` describes; problems loading it fail the attempt clearly."""
    try:
        store, xcoms = _store(payload.database_url)
    except Exception as exc:
        return AttemptOutcome(
            TaskInstanceState.FAILED, error=f"the worker could not open the database: {exc}"
        )
    return run_payload_on(payload, store, xcoms)


def run_payload_on(payload: AttemptPayload, store: SqlStore, xcoms: XComs) -> AttemptOutcome:
    """:func:`run_payload` with a store this process already has (the in-process executor)."""
    from headwater.runtime.recorded_attempt import run_and_record
    from headwater.runtime.task_runner import AttemptRequest

    try:
        dag = _load_dag(payload.fileloc, payload.dag_id)
        run = payload.run or store.get_dag_run(payload.dag_id, payload.run_id)
        ti = payload.ti or store.get_task_instance(
            payload.dag_id, payload.run_id, payload.task_id, payload.map_index
        )
        if run is None or ti is None:
            raise HeadwaterError(
                f"run {payload.run_id!r} of DAG {payload.dag_id!r} or its task "
                f"{payload.task_id!r} is no longer in the database"
            )
        if ti.try_number != payload.try_number:
            raise HeadwaterError(
                f"task {payload.task_id!r} is at try {ti.try_number}, not {payload.try_number}"
            )
    except Exception as exc:
        return AttemptOutcome(
            TaskInstanceState.FAILED, error=f"the worker could not start the attempt: {exc}"
        )
    request = AttemptRequest(dag, run, ti, store, xcoms, payload.log_path)
    return run_and_record(request, ti.key.attempt(payload.try_number), _utc_now)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=4)
def _store(database_url: str) -> tuple[SqlStore, XComs]:
    from headwater.engine.xcoms import XComs
    from headwater.serialization import load_serializer
    from headwater.settings import load_settings
    from headwater.store.sql import SqlStore

    settings = load_settings()
    store = SqlStore.from_url(database_url)
    return store, XComs(
        store, load_serializer(settings.xcom.serializer), settings.xcom.max_size_bytes
    )


_loaded: dict[str, tuple[float, dict[str, DAG]]] = {}


def _load_dag(fileloc: str, dag_id: str) -> DAG:
    """``dag_id`` from ``fileloc``, imported again only when the file changed."""
    from headwater.loading.dagbag import DagBag
    from headwater.settings import load_settings

    try:
        mtime = os.stat(fileloc).st_mtime
    except OSError as exc:
        raise HeadwaterError(f"DAG file {fileloc} cannot be read: {exc}") from None
    cached = _loaded.get(fileloc)
    if cached is None or cached[0] != mtime:
        timeout_s = load_settings().scheduler.file_parse_timeout_s
        bag = DagBag(Path(fileloc), import_timeout_s=timeout_s)
        if bag.import_errors and not bag.dags:
            raise HeadwaterError(f"DAG file {fileloc} failed to import: {bag.import_errors[0]}")
        cached = (mtime, dict(bag.dags))
        _loaded[fileloc] = cached
    dag = cached[1].get(dag_id)
    if dag is None:
        raise HeadwaterError(f"DAG file {fileloc} no longer defines DAG {dag_id!r}")
    return dag
