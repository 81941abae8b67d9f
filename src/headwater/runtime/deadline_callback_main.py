"""``python -m headwater.runtime.deadline_callback_main FILE DEADLINE_ID``: call the callbacks
of one missed deadline (or task SLA).

The scheduler's deadline check (:mod:`headwater.scheduler.deadline_checks`) records the miss
and marks its callback ``started`` before it starts this process, which imports the DAG file
and calls, with the miss's context, the deadline's own ``callback`` (a notifier, a function
or a list of them), else the DAG's ``sla_miss_callback``; a task SLA calls the DAG's
``sla_miss_callback``. The callback state ends ``done``, or ``failed`` with the error (a
callback that raises never reaches the scheduler). Its log goes to
``<logs>/dag_id=<id>/run_id=<id>/deadline_callbacks.log``.

The context: ``dag``, ``dag_run``, ``run_id``, ``task_id`` (an SLA's task, else None),
``deadline`` (its name), ``due_at``, ``missed_at``, ``reason``, ``logical_date``, ``ds``,
``params``, ``var``, ``conn``.
"""

from __future__ import annotations

import logging
import sys
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
    """What a deadline callback is called with."""
    from headwater.runtime.attempt_context import ConnectionAccessor, VariableAccessor

    return {
        "dag": dag,
        "dag_run": run,
        "run_id": run.run_id,
        "task_id": row.task_id,
        "deadline": row.name,
        "due_at": row.due_at,
        "missed_at": row.missed_at,
        "reason": row.reason or "",
        "logical_date": run.logical_date,
        "ds": run.logical_date.strftime("%Y-%m-%d"),
        "params": run.params,
        "var": VariableAccessor(store),
        "conn": ConnectionAccessor(store),
    }


def main(argv: list[str]) -> int:
    from headwater.loading.dagbag import DagBag
    from headwater.private_files import create_private_file, make_private_folders
    from headwater.runtime.logs import run_log_folder
    from headwater.settings import load_settings
    from headwater.store.deadlines import CALLBACK_FAILED, DONE, STARTED
    from headwater.store.sql import SqlStore

    fileloc, deadline_id = argv[0], int(argv[1])
    settings = load_settings()
    store = SqlStore.from_url(settings.database_url)
    try:
        row = store.get_deadline(deadline_id)
        if row is None:
            return 1
        folder = Path(run_log_folder(str(settings.logs_folder), row.dag_id, row.run_id))
        make_private_folders(folder)
        create_private_file(folder / "deadline_callbacks.log")  # logging appends
        logging.basicConfig(
            filename=folder / "deadline_callbacks.log",
            level=logging.INFO,
            format="[%(asctime)s] {%(levelname)s} %(message)s",
        )
        run = store.get_dag_run(row.dag_id, row.run_id)
        bag = DagBag(Path(fileloc), import_timeout_s=settings.scheduler.file_parse_timeout_s)
        if run is None or row.dag_id not in bag.dags:
            error = f"run {row.run_id} or DAG {row.dag_id} not found"
            log.error("Cannot call the callback of deadline %s: %s", row.name, error)
            store.set_deadline_callback_state(row.id, STARTED, CALLBACK_FAILED, error)
            return 1
        dag = bag.dags[row.dag_id]
        context = miss_context(dag, run, row, store)
        errors = []
        for fn in deadline_callbacks(dag, row):
            log.info("Calling %r for deadline %s of run %s", fn, row.name, row.run_id)
            try:
                fn(context)
            except Exception as exc:
                log.exception("The deadline callback %r raised", fn)
                errors.append(f"{type(exc).__name__}: {exc}")
        if errors:
            store.set_deadline_callback_state(row.id, STARTED, CALLBACK_FAILED, "; ".join(errors))
            return 1
        store.set_deadline_callback_state(row.id, STARTED, DONE)
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
