"""What people do to a whole DAG run from the REST API and the web UI: clear it (every task
instance, or only the failed ones) and mark it success or failed, each with a dry run that
answers what would change and changes nothing (see :mod:`headwater.operations.run_changes`).
Example::

    result = clear_run(ctx, "etl", run_id, RunClearRequest(only_failed=True, dry_run=True))
    [ti.task_id for ti in result.task_instances]  # what a real clear would reset
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from headwater.services._schema import Schema
from headwater.services.runs import DagRunOut
from headwater.services.task_instances import TaskInstanceOut

if TYPE_CHECKING:
    from headwater.engine.records import TaskInstance, TaskInstanceKey
    from headwater.services.context import ServiceContext


class RunClearRequest(Schema):
    only_failed: bool = False
    """Only the instances that failed or are upstream_failed."""
    dry_run: bool = False
    """Answer what would be cleared; change nothing."""


class RunMarkRequest(Schema):
    state: Literal["success", "failed"]
    dry_run: bool = False
    """Answer what would be marked; change nothing."""


class RunChangeOut(Schema):
    """What a run action changed (or, in a dry run, would change)."""

    dry_run: bool
    run: DagRunOut
    """The run after the change (as it is, in a dry run)."""
    task_instances: list[TaskInstanceOut]
    """The instances changed (would be changed), in dependency order, as they are now."""


def clear_run(
    ctx: ServiceContext, dag_id: str, run_id: str, request: RunClearRequest
) -> RunChangeOut:
    """Clear the run (see :func:`headwater.operations.run_changes.clear_run`)."""
    from headwater.operations import run_changes

    if request.dry_run:
        chosen = run_changes.run_instances_to_clear(
            ctx.store, dag_id, run_id, only_failed=request.only_failed
        )
        return _answer(ctx, dag_id, run_id, chosen, dry_run=True)
    keys = run_changes.clear_run(
        ctx.store, dag_id, run_id, only_failed=request.only_failed, now=ctx.now()
    )
    return _after(ctx, dag_id, run_id, keys)


def mark_run(
    ctx: ServiceContext, dag_id: str, run_id: str, request: RunMarkRequest
) -> RunChangeOut:
    """Mark the run (see :func:`headwater.operations.run_changes.mark_run`)."""
    from headwater.operations import run_changes

    if request.dry_run:
        chosen = run_changes.run_instances_to_mark(ctx.store, dag_id, run_id, request.state)
        return _answer(ctx, dag_id, run_id, chosen, dry_run=True)
    keys = run_changes.mark_run(ctx.store, dag_id, run_id, request.state, now=ctx.now())
    return _after(ctx, dag_id, run_id, keys)


def _after(
    ctx: ServiceContext, dag_id: str, run_id: str, keys: list[TaskInstanceKey]
) -> RunChangeOut:
    # A mapped task cleared whole is one new placeholder: its instances' keys are gone.
    wanted = set(keys)
    tis = ctx.store.get_task_instances(dag_id, run_id)
    gone = {key.task_id for key in keys} - {ti.task_id for ti in tis if ti.key in wanted}
    changed = [ti for ti in tis if ti.key in wanted or ti.task_id in gone]
    return _answer(ctx, dag_id, run_id, changed, dry_run=False)


def _answer(
    ctx: ServiceContext, dag_id: str, run_id: str, tis: list[TaskInstance], *, dry_run: bool
) -> RunChangeOut:
    from headwater.operations import require_run
    from headwater.services.run_history import shown_run

    run = require_run(ctx.store, dag_id, run_id)
    return RunChangeOut(
        dry_run=dry_run,
        run=shown_run(run),
        task_instances=[TaskInstanceOut.of(ti) for ti in tis],
    )
