"""A DAG's views as data: its grid (runs x tasks), graph (layout and states), a run's Gantt.

Each route checks that the principal may read the DAG (a DAG outside a tag-limited role's
tags is not found, as one that does not exist) and answers a schema of
:mod:`headwater.services.dag_views`, :mod:`headwater.services.dag_graph` or
:mod:`headwater.services.run_gantt`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from headwater.services.dag_graph import DagGraph, dag_graph
from headwater.services.dag_views import MAX_GRID_RUNS, DagGrid, dag_grid
from headwater.services.run_gantt import RunGantt, run_gantt
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_dag_read

router = APIRouter(tags=["dag views"])


@router.get("/dags/{dag_id}/grid")
def get_grid(
    dag_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    runs: Annotated[
        int, Query(ge=1, le=MAX_GRID_RUNS, description="How many runs, newest last")
    ] = 25,
    before: Annotated[
        datetime | None,
        Query(description="Only runs with a logical date before this (the older page's cursor)"),
    ] = None,
) -> DagGrid:
    """The last ``runs`` runs as columns and the tasks as rows, grouped by task group."""
    require_dag_read(ctx, principal, dag_id)
    return dag_grid(ctx, dag_id, runs=runs, before=before)


@router.get("/dags/{dag_id}/graph")
def get_graph(
    dag_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    run_id: Annotated[
        str | None, Query(description="The run whose states colour the nodes (default: newest)")
    ] = None,
    collapsed: Annotated[
        list[str] | None, Query(description="Task groups drawn as one node each")
    ] = None,
) -> DagGraph:
    """The DAG's tasks and groups laid out left to right, with the run's states."""
    require_dag_read(ctx, principal, dag_id)
    return dag_graph(ctx, dag_id, run_id=run_id, collapsed=collapsed or [])


@router.get("/dags/{dag_id}/runs/{run_id}/gantt")
def get_gantt(dag_id: str, run_id: str, ctx: Ctx, principal: CurrentPrincipal) -> RunGantt:
    """Each task instance of the run with its attempts' queued, start and end times."""
    require_dag_read(ctx, principal, dag_id)
    return run_gantt(ctx, dag_id, run_id)
