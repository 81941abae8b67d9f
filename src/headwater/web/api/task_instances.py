"""Task instances and their tries: the instances of a run, one with its tries, its
rendered template fields and XComs (masked), and clearing or marking some (with a dry run
that previews what would change).

Reads need the DAG visible to the caller's role (404 otherwise, as for a DAG that does not
exist); clear and mark need the op level on it (403 below).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from headwater.services._schema import Page
from headwater.services.task_changes import (
    MAX_MAP_INDEX,
    ClearTasksRequest,
    MarkTasksRequest,
    TaskInstancesChangeOut,
    clear_tasks,
    mark_tasks,
)
from headwater.services.task_instance_views import (
    RunTaskInstanceOut,
    TaskInstanceDetailOut,
    get_task_instance_detail,
    list_task_instances,
)
from headwater.services.xcoms import RenderedFieldsOut, XComOut, get_rendered_fields, list_xcoms
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_dag_operate, require_dag_read

router = APIRouter(tags=["task instances"])

RUN = "/dags/{dag_id}/runs/{run_id}/tasks"

MapIndex = Annotated[
    int,
    Query(
        ge=-1,
        le=MAX_MAP_INDEX,
        description="The map index of a mapped task's instance; -1: not mapped.",
    ),
]
TryNumber = Annotated[
    int | None,
    Query(ge=1, le=MAX_MAP_INDEX, description="Which try (1 is the first); default: the latest."),
]


@router.get(RUN, summary="The task instances of a run")
def task_instances_of_run(
    dag_id: str,
    run_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[RunTaskInstanceOut]:
    require_dag_read(ctx, principal, dag_id)
    return list_task_instances(ctx, dag_id, run_id, limit=limit, offset=offset)


@router.post(RUN + "/clear", summary="Clear task instances so they run again")
def clear_task_instances(
    dag_id: str,
    run_id: str,
    request: ClearTasksRequest,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> TaskInstancesChangeOut:
    require_dag_operate(ctx, principal, dag_id, "clear task instances")
    return clear_tasks(ctx, dag_id, run_id, request)


@router.post(RUN + "/mark", summary="Mark task instances success or failed")
def mark_task_instances(
    dag_id: str,
    run_id: str,
    request: MarkTasksRequest,
    ctx: Ctx,
    principal: CurrentPrincipal,
) -> TaskInstancesChangeOut:
    require_dag_operate(ctx, principal, dag_id, "mark task instances")
    return mark_tasks(ctx, dag_id, run_id, request)


@router.get(RUN + "/{task_id}", summary="One task instance with its tries")
def task_instance(
    dag_id: str,
    run_id: str,
    task_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    map_index: MapIndex = -1,
) -> TaskInstanceDetailOut:
    require_dag_read(ctx, principal, dag_id)
    return get_task_instance_detail(ctx, dag_id, run_id, task_id, map_index)


@router.get(RUN + "/{task_id}/rendered", summary="Rendered template fields of a try (masked)")
def rendered_fields(
    dag_id: str,
    run_id: str,
    task_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    map_index: MapIndex = -1,
    try_number: TryNumber = None,
) -> RenderedFieldsOut:
    require_dag_read(ctx, principal, dag_id)
    return get_rendered_fields(
        ctx, dag_id, run_id, task_id, map_index=map_index, try_number=try_number
    )


@router.get(RUN + "/{task_id}/xcoms", summary="XCom values of a task instance (masked)")
def xcoms(
    dag_id: str,
    run_id: str,
    task_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    map_index: MapIndex = -1,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[XComOut]:
    require_dag_read(ctx, principal, dag_id)
    return list_xcoms(ctx, dag_id, run_id, task_id, map_index=map_index, limit=limit, offset=offset)
