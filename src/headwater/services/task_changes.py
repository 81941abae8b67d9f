"""Clearing and marking task instances of a run, as the REST API and the UI's dialogs ask:
one request schema each, with a ``dry_run`` that answers what would change and changes
nothing (the dialog's preview), and one answer for both.

The rules are :mod:`headwater.operations`' (:func:`~headwater.operations.clear_task_instances`,
:func:`~headwater.operations.mark_task_instances`), as for ``headwater tasks clear``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from headwater.services._schema import Schema

if TYPE_CHECKING:
    from headwater.engine.records import TaskInstance
    from headwater.services.context import ServiceContext


MAX_MAP_INDEX = 2**31 - 1
"""The largest map index a request may name (the database's integer)."""


class _Selection(Schema):
    task_ids: list[str] = Field(min_length=1)
    """The tasks named; at least one."""
    map_index: int | None = Field(default=None, ge=-1, le=MAX_MAP_INDEX)
    """Only this map index of the named tasks (their relatives keep all theirs)."""
    downstream: bool = False
    """Also every task downstream of them."""
    upstream: bool = False
    """Also every task upstream of them."""
    dry_run: bool = False
    """Only answer what would change."""


class ClearTasksRequest(_Selection):
    """Which task instances of a run to clear so they run again."""

    only_failed: bool = False
    """Only instances that failed or are upstream_failed."""


class MarkTasksRequest(_Selection):
    """Which task instances of a run to mark, and the state."""

    state: Literal["success", "failed"]


class ChangedInstanceOut(Schema):
    """One task instance a clear or mark changes: its state before and after."""

    task_id: str
    map_index: int
    from_state: str
    to_state: str


class TaskInstancesChangeOut(Schema):
    """What a clear or mark changed (or, with ``dry_run``, would change), in dependency
    order, and the run's state afterwards (now, for a dry run)."""

    dag_id: str
    run_id: str
    dry_run: bool
    run_state: str | None
    task_instances: list[ChangedInstanceOut]


def clear_tasks(
    ctx: ServiceContext, dag_id: str, run_id: str, request: ClearTasksRequest
) -> TaskInstancesChangeOut:
    """Clear the chosen instances (back to state none, retries reset, XComs deleted) and
    queue the run, or with ``dry_run`` list them; conflict when one is queued or running."""
    from headwater.operations import task_instances_to_clear
    from headwater.services.task_instances import ClearRequest, clear_task_instances

    options = ClearRequest(
        task_ids=request.task_ids,
        downstream=request.downstream,
        upstream=request.upstream,
        only_failed=request.only_failed,
        map_index=request.map_index,
    )
    before = task_instances_to_clear(
        ctx.store,
        dag_id,
        run_id,
        request.task_ids,
        downstream=request.downstream,
        upstream=request.upstream,
        only_failed=request.only_failed,
        map_index=request.map_index,
    )
    if request.dry_run:
        return _answer(ctx, dag_id, run_id, before, "none", dry_run=True)
    cleared = clear_task_instances(ctx, dag_id, run_id, options).cleared
    keys = {(k.task_id, k.map_index) for k in cleared}
    return _answer(ctx, dag_id, run_id, _only(before, keys), "none")


def mark_tasks(
    ctx: ServiceContext, dag_id: str, run_id: str, request: MarkTasksRequest
) -> TaskInstancesChangeOut:
    """Mark the chosen instances success or failed (those already so, and removed ones,
    unchanged), or with ``dry_run`` list the ones that would change."""
    from headwater.operations import mark_task_instances, task_instances_to_mark

    r = request
    before = task_instances_to_mark(
        ctx.store,
        dag_id,
        run_id,
        r.task_ids,
        r.state,
        downstream=r.downstream,
        upstream=r.upstream,
        map_index=r.map_index,
    )
    if r.dry_run:
        return _answer(ctx, dag_id, run_id, before, r.state, dry_run=True)
    changed = mark_task_instances(
        ctx.store,
        dag_id,
        run_id,
        r.task_ids,
        r.state,
        downstream=r.downstream,
        upstream=r.upstream,
        map_index=r.map_index,
        now=ctx.now(),
    )
    keys = {(k.task_id, k.map_index) for k in changed}
    return _answer(ctx, dag_id, run_id, _only(before, keys), r.state)


def _only(instances: list[TaskInstance], keys: set[tuple[str, int]]) -> list[TaskInstance]:
    """The instances of ``instances`` whose key is in ``keys`` (the ones really changed)."""
    return [ti for ti in instances if (ti.task_id, ti.map_index) in keys]


def _answer(
    ctx: ServiceContext,
    dag_id: str,
    run_id: str,
    instances: list[TaskInstance],
    to_state: str,
    *,
    dry_run: bool = False,
) -> TaskInstancesChangeOut:
    run = ctx.store.get_dag_run(dag_id, run_id)
    return TaskInstancesChangeOut(
        dag_id=dag_id,
        run_id=run_id,
        dry_run=dry_run,
        run_state=run.state.value if run is not None else None,
        task_instances=[
            ChangedInstanceOut(
                task_id=ti.task_id,
                map_index=ti.map_index,
                from_state=ti.state.value,
                to_state=to_state,
            )
            for ti in instances
        ],
    )
