"""Running an attempt in a worker process, from what the scheduler sent (an AttemptMessage).

The worker imports the DAG file itself (the scheduler only has the DAG's structure), reads
the run and the task instance from the metadata database, runs the attempt with
:func:`~headwater.runtime.task_runner.run_attempt` (XComs are written to the database
there), records the outcome with the attempt's row and its XComs in one compare-and-set
(:mod:`headwater.runtime.recorded_attempt`), and returns it for the scheduler to apply. The
worker never changes a task instance's state.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headwater.airflow_compat.helpers import airflow_deprecations_silenced
from headwater.engine.records import AttemptKey, AttemptOutcome, TaskInstance
from headwater.engine.states import TaskInstanceState
from headwater.exceptions import HeadwaterError

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.xcoms import XComs
    from headwater.executors.messages import AttemptMessage
    from headwater.store.base import MetadataStore


def run_payload(payload: Any) -> AttemptOutcome:
    """Run the attempt the JSON ``payload`` (an :class:`AttemptMessage`) describes, on the
    database of this process's own settings; problems loading it fail the attempt clearly."""
    from headwater.executors.messages import AttemptMessage

    try:
        message = AttemptMessage.from_json(payload)
    except HeadwaterError as exc:
        return AttemptOutcome(TaskInstanceState.FAILED, error=str(exc))
    try:
        store, xcoms = _store()
    except Exception as exc:
        return AttemptOutcome(
            TaskInstanceState.FAILED, error=f"the worker could not open the database: {exc}"
        )
    return run_message(message, store, xcoms)


def run_message(
    message: AttemptMessage,
    store: MetadataStore,
    xcoms: XComs,
    now: Callable[[], datetime] | None = None,
) -> AttemptOutcome:
    """:func:`run_payload` with a store this process already has (the in-process executor),
    and its clock (``now``; the system clock by default)."""
    from headwater.runtime.recorded_attempt import run_and_record
    from headwater.runtime.task_runner import AttemptRequest

    key = message.key
    try:
        dag = _load_dag(message.fileloc, key.dag_id)
        run = message.run or store.get_dag_run(key.dag_id, key.run_id)
        ti = message.ti or _get_ti(store, key)
        if run is None or ti is None:
            raise HeadwaterError(
                f"run {key.run_id!r} of DAG {key.dag_id!r} or its task "
                f"{key.task_id!r} is no longer in the database"
            )
        # Queued for this try (the scheduler may not have heard it started yet), or running it.
        if ti.try_number not in (key.try_number - 1, key.try_number):
            raise HeadwaterError(
                f"task {key.task_id!r} is at try {ti.try_number}, not {key.try_number}"
            )
        ti = replace(ti, try_number=key.try_number, state=TaskInstanceState.RUNNING)
    except Exception as exc:
        return AttemptOutcome(
            TaskInstanceState.FAILED, error=f"the worker could not start the attempt: {exc}"
        )
    request = AttemptRequest(dag, run, ti, store, xcoms, message.log_path)
    clock = now or _utc_now
    return run_and_record(request, key, clock, hostname=_HOSTNAME, pid=os.getpid())


def _get_ti(store: MetadataStore, key: AttemptKey) -> TaskInstance | None:
    for ti in store.get_task_instances(key.dag_id, key.run_id):
        if ti.task_id == key.task_id and ti.map_index == key.map_index:
            return ti
    return None


_HOSTNAME = socket.gethostname()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def worker_store() -> tuple[MetadataStore, XComs]:
    """The store and XComs of this worker process (opened once, on its own settings): for
    whoever runs attempts here and needs the database beside them (a Celery worker's
    attempt heartbeats)."""
    return _store()


@lru_cache(maxsize=1)
def _store() -> tuple[MetadataStore, XComs]:
    """The database of this process's settings (``HEADWATER_DATABASE_URL``, the settings
    file): messages carry no credentials."""
    from headwater.engine.xcoms import XComs
    from headwater.log_format import configure_worker_logging
    from headwater.runtime.remote_logs import use_remote_log_folder
    from headwater.sentry_reports import init_sentry
    from headwater.settings import load_settings
    from headwater.store.sql import SqlStore

    settings = load_settings()
    # Tasks' own loggers log INFO to their attempt's log (runtime.logs), which needs the root
    # logger at INFO. Set once for the worker's life: changing it around every attempt
    # empties every logger's level cache twice per attempt (a tenth of a no-op task's CPU).
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    configure_worker_logging(settings.logging.format)
    use_remote_log_folder(settings)  # the second copy of each attempt's log, if set
    init_sentry(settings, process="worker")  # task exceptions to Sentry, if a DSN is set
    store = SqlStore.from_url(settings.database_url)
    return store, XComs.from_settings(store, settings)


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
        settings = load_settings()
        # Airflow 2 names are pointed out where people read (dags test, airflow check), not
        # once per attempt in the worker's output.
        with airflow_deprecations_silenced():
            bag = DagBag(
                Path(fileloc),
                import_timeout_s=settings.scheduler.file_parse_timeout_s,
                airflow_compat=settings.core.airflow_compat,
            )
        if bag.import_errors and not bag.dags:
            raise HeadwaterError(f"DAG file {fileloc} failed to import: {bag.import_errors[0]}")
        cached = (mtime, dict(bag.dags))
        _loaded[fileloc] = cached
    dag = cached[1].get(dag_id)
    if dag is None:
        raise HeadwaterError(f"DAG file {fileloc} no longer defines DAG {dag_id!r}")
    return dag
