"""``python -m headwater.runtime.deadline_callback_main FILE DEADLINE_ID``: call the callbacks
of one missed deadline (or task SLA).

The scheduler's deadline check (:mod:`headwater.scheduler.deadline_checks`) records the miss
and marks its callback ``started`` before it starts this process, which imports the DAG file
and calls, with the miss's context, the deadline's own ``callback`` (a notifier, a function
or a list of them), else the DAG's ``sla_miss_callback``; a task SLA calls the DAG's
``sla_miss_callback``. The callback state ends ``done``, or ``failed`` with the error (a
callback that raises never reaches the scheduler). Its log goes to
``<logs>/dag_id=<id>/run_id=<id>/deadline_callbacks.log``, copied to ``[logging]
remote_log_folder`` (when set) once the callbacks end.

The context: a DAG callback's (``dag``, ``dag_id``, ``dag_run``, ``run_id``, ``logical_date``,
the data interval, ``ds``, ``params``, ``var``, ``conn``) and ``task_id`` (an SLA's task, else
None), ``deadline`` (its name), ``due_at``, ``missed_at``, ``reason`` and ``callback_kind``
(``"deadline_miss"``). A notifier among the callbacks is sent right here, retries included.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun
    from headwater.store.base import MetadataStore
    from headwater.store.deadlines import DeadlineRow

log = logging.getLogger("headwater.deadline_callbacks")


def deadline_callbacks(dag: DAG, row: DeadlineRow) -> list[Any]:
    """The callables to call for the miss ``row`` of ``dag`` (maybe none)."""
    from headwater.store.deadlines import DEADLINE

    chosen: Any = None
    if row.kind == DEADLINE:
        chosen = next((d.callback for d in dag.deadlines if d.name == row.name), None)
    if not chosen:
        chosen = dag.sla_miss_callback
    if not chosen:
        return []
    return list(chosen) if isinstance(chosen, list | tuple) else [chosen]


def miss_context(dag: DAG, run: DagRun, row: DeadlineRow, store: MetadataStore) -> dict[str, Any]:
    """What a deadline callback is called with: a DAG callback's context
    (:func:`headwater.runtime.callbacks.dag_context`) and the miss."""
    from headwater.runtime.callbacks import dag_context

    return dag_context(
        dag,
        run,
        store,
        task_id=row.task_id,
        deadline=row.name,
        due_at=row.due_at,
        missed_at=row.missed_at,
        reason=row.reason or "",
        callback_kind="deadline_miss",
    )


def call_deadline_callbacks(
    callbacks: list[Any], context: dict[str, Any], store: MetadataStore
) -> list[str]:
    """Call each callback with ``context``: a notifier is sent now, with retries (one that
    finally fails is recorded as a ``notification_failed`` event), a function is called.
    Never raises: what went wrong, one line per callback that failed."""
    from headwater.notifications import BaseNotifier
    from headwater.notifications.delivery import current_reporters, deliver
    from headwater.runtime.task_callbacks import event_reporter
    from headwater.secrets import use_metastore

    reporters = (*current_reporters(), event_reporter(store, lambda: datetime.now(UTC)))
    errors: list[str] = []
    with use_metastore(store):
        for fn in callbacks:
            log.info(
                "Calling %r for deadline %s of run %s", fn, context["deadline"], context["run_id"]
            )
            if isinstance(fn, BaseNotifier):
                if not deliver(fn, context, reporters=reporters):
                    errors.append(f"{type(fn).__name__}: the notification was not sent")
                continue
            try:
                fn(context)
            except Exception as exc:
                log.exception("The deadline callback %r raised", fn)
                errors.append(f"{type(exc).__name__}: {exc}")
    return errors


def main(argv: list[str]) -> int:
    from headwater.loading.dagbag import DagBag
    from headwater.private_files import create_private_file, make_private_folders
    from headwater.runtime.callback_logs import log_callbacks_to
    from headwater.runtime.logs import run_log_folder
    from headwater.runtime.remote_logs import copy_finished_log, use_remote_log_folder
    from headwater.settings import load_settings
    from headwater.store.deadlines import CALLBACK_FAILED, DONE, STARTED
    from headwater.store.sql import SqlStore

    fileloc, deadline_id = argv[0], int(argv[1])
    settings = load_settings()
    store = SqlStore.from_url(settings.database_url)
    log_file: Path | None = None
    try:
        row = store.get_deadline(deadline_id)
        if row is None:
            return 1
        folder = Path(run_log_folder(str(settings.logs_folder), row.dag_id, row.run_id))
        log_file = folder / "deadline_callbacks.log"
        make_private_folders(folder)
        create_private_file(log_file)  # logging appends, keeping the mode
        log_callbacks_to(log_file)
        run = store.get_dag_run(row.dag_id, row.run_id)
        bag = DagBag(
            Path(fileloc),
            import_timeout_s=settings.scheduler.file_parse_timeout_s,
            airflow_compat=settings.core.airflow_compat,
        )
        if run is None or row.dag_id not in bag.dags:
            error = f"run {row.run_id} or DAG {row.dag_id} not found"
            log.error("Cannot call the callback of deadline %s: %s", row.name, error)
            store.set_deadline_callback_state(row.id, STARTED, CALLBACK_FAILED, error)
            return 1
        dag = bag.dags[row.dag_id]
        context = miss_context(dag, run, row, store)
        errors = call_deadline_callbacks(deadline_callbacks(dag, row), context, store)
        if errors:
            store.set_deadline_callback_state(row.id, STARTED, CALLBACK_FAILED, "; ".join(errors))
            return 1
        store.set_deadline_callback_state(row.id, STARTED, DONE)
        return 0
    finally:
        store.close()
        if log_file is not None:
            for handler in logging.getLogger().handlers:
                handler.flush()  # the file is complete: its second copy, when one is set
            use_remote_log_folder(settings)
            copy_finished_log(log_file)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
