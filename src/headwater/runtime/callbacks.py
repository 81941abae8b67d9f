"""Calling a DAG's ``on_success_callback`` / ``on_failure_callback`` when a run ends."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from headwater.engine.states import DagRunState
from headwater.runtime.attempt_context import ConnectionAccessor, VariableAccessor

if TYPE_CHECKING:
    from headwater.authoring.dag import DAG
    from headwater.engine.records import DagRun
    from headwater.store.base import MetadataStore

log = logging.getLogger(__name__)


def run_dag_callbacks(dag: DAG, run: DagRun, store: MetadataStore) -> None:
    """Call the callback that matches the run's final state; its errors are logged, not raised."""
    callback = (
        dag.on_success_callback if run.state is DagRunState.SUCCESS else dag.on_failure_callback
    )
    if callback is None:
        return
    failed = [
        ti.key.label
        for ti in store.get_task_instances(run.dag_id, run.run_id)
        if ti.state == "failed"
    ]
    reason = run.note or (
        "success" if run.state is DagRunState.SUCCESS else f"task failed: {', '.join(failed)}"
    )
    context: dict[str, Any] = {
        "dag": dag,
        "dag_run": run,
        "run_id": run.run_id,
        "logical_date": run.logical_date,
        "ds": run.logical_date.strftime("%Y-%m-%d"),
        "params": run.params,
        "reason": reason,
        "var": VariableAccessor(store),
        "conn": ConnectionAccessor(store),
    }
    for fn in callback if isinstance(callback, list | tuple) else [callback]:
        try:
            fn(context)
        except Exception:
            log.exception("DAG %s callback raised; the run's state is unchanged", dag.dag_id)
