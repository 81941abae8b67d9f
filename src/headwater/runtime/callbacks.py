"""Calling a DAG's ``on_success_callback`` / ``on_failure_callback`` when a run ends, and
the callbacks of other DAG-level events (a missed deadline) through :func:`call_dag_callbacks`.

They run where no task runs: in a child process of the scheduler
(:mod:`headwater.runtime.dag_callback_main`) or in the ``dags test`` process after the run.
So a notifier among them is sent right there, retries included, and a plain function is
called; neither's errors change the run. A notification that finally fails is logged and
recorded as a ``notification_failed`` event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from headwater.engine.states import DagRunState
from headwater.notifications import BaseNotifier
from headwater.notifications.delivery import current_reporters, deliver
from headwater.runtime.attempt_context import ConnectionAccessor, VariableAccessor
from headwater.runtime.task_callbacks import callbacks_of, event_reporter
from headwater.secrets import use_metastore

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun
    from headwater.store.base import MetadataStore

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def dag_context(dag: DAG, run: DagRun, store: MetadataStore, **more: Any) -> dict[str, Any]:
    """The context of a DAG-level callback: the DAG and run, dates, params, ``var`` and
    ``conn``, plus ``more`` (``reason``, ``callback_kind``, a deadline's fields)."""
    logical_date = run.logical_date
    return {
        "dag": dag,
        "dag_id": dag.dag_id,
        "dag_run": run,
        "run_id": run.run_id,
        "logical_date": logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "ds": logical_date.strftime("%Y-%m-%d"),
        "params": run.params,
        "var": VariableAccessor(store),
        "conn": ConnectionAccessor(store),
        **more,
    }


def call_dag_callbacks(
    callbacks: list[Callable[[dict[str, Any]], Any]],
    context: dict[str, Any],
    store: MetadataStore,
    what: str,
    now: Callable[[], datetime] = _utc_now,
) -> None:
    """Call each callback with ``context``: notifiers are sent now (with retries), with
    connection lookups reaching ``store``; errors are logged under ``what``, never raised."""
    reporters = (*current_reporters(), event_reporter(store, now))
    with use_metastore(store):
        for fn in callbacks:
            if isinstance(fn, BaseNotifier):
                deliver(fn, context, reporters=reporters)
                continue
            try:
                fn(context)
            except Exception:
                log.exception("%s raised; the run's state is unchanged", what)


def run_dag_callbacks(dag: DAG, run: DagRun, store: MetadataStore) -> None:
    """Call the callback that matches the run's final state; its errors are logged, not raised."""
    succeeded = run.state is DagRunState.SUCCESS
    callbacks = callbacks_of(dag, "on_success_callback" if succeeded else "on_failure_callback")
    if not callbacks:
        return
    failed = [
        ti.key.label
        for ti in store.get_task_instances(run.dag_id, run.run_id)
        if ti.state == "failed"
    ]
    reason = run.note or ("success" if succeeded else f"task failed: {', '.join(failed)}")
    context = dag_context(
        dag, run, store, reason=reason, callback_kind="success" if succeeded else "failure"
    )
    call_dag_callbacks(callbacks, context, store, f"DAG {dag.dag_id} callback")
