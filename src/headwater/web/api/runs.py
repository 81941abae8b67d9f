"""DAG runs: list with filters, trigger, detail, delete, clear, mark.

Reading needs a role that sees the DAG; triggering, clearing, marking and deleting need
the op level too (403 below it). ``conf`` is checked against the DAG's params: a value the
params refuse answers 400 with the field (``conf.<param>``) in ``errors``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from headwater.services._schema import Page
from headwater.services.run_actions import (
    RunChangeOut,
    RunClearRequest,
    RunMarkRequest,
    clear_run,
    mark_run,
)
from headwater.services.run_history import RunFilters, get_run_detail, masked_run, page_runs
from headwater.services.runs import (
    DagRunOut,
    DagRunWithInstances,
    TriggerRunRequest,
    delete_run,
    trigger_run,
)
from headwater.web.api.paging import Limit, Offset
from headwater.web.context import Ctx
from headwater.web.security import CurrentPrincipal, require_dag_operate, require_dag_read

router = APIRouter(tags=["runs"])


@router.get("/dags/{dag_id}/runs", response_model=Page[DagRunOut])
def get_runs(
    dag_id: str,
    ctx: Ctx,
    principal: CurrentPrincipal,
    state: Annotated[str | None, Query(description="queued, running, success or failed")] = None,
    run_type: Annotated[str | None, Query(description="manual, scheduled or backfill")] = None,
    start: Annotated[datetime | None, Query(description="Logical dates from (ISO 8601)")] = None,
    end: Annotated[datetime | None, Query(description="Logical dates up to (ISO 8601)")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[DagRunOut]:
    """The DAG's runs, newest logical date first."""
    require_dag_read(ctx, principal, dag_id)
    filters = RunFilters(state=state, run_type=run_type, start=start, end=end)
    return page_runs(ctx, dag_id, filters, limit=limit, offset=offset)


@router.post(
    "/dags/{dag_id}/runs",
    response_model=DagRunOut,
    status_code=201,
    responses={400: {"description": "conf does not satisfy the DAG's params"}},
)
def post_run(
    dag_id: str, request: TriggerRunRequest, ctx: Ctx, principal: CurrentPrincipal
) -> DagRunOut:
    """Trigger a run (queued for the scheduler); its conf is checked against the params."""
    require_dag_operate(ctx, principal, dag_id, "trigger DAG runs")
    run = trigger_run(ctx, dag_id, request)  # a conf the params refuse: web.errors names it
    return masked_run(run)


@router.get("/dags/{dag_id}/runs/{run_id}", response_model=DagRunWithInstances)
def get_run(dag_id: str, run_id: str, ctx: Ctx, principal: CurrentPrincipal) -> DagRunWithInstances:
    """One run with its task instances."""
    require_dag_read(ctx, principal, dag_id)
    return get_run_detail(ctx, dag_id, run_id)


@router.delete("/dags/{dag_id}/runs/{run_id}", response_model=DagRunOut)
def remove_run(dag_id: str, run_id: str, ctx: Ctx, principal: CurrentPrincipal) -> DagRunOut:
    """Delete a run with its task instances, attempts and XComs; answers it as it was."""
    require_dag_operate(ctx, principal, dag_id, "delete DAG runs")
    deleted = delete_run(ctx, dag_id, run_id)
    return masked_run(deleted)


@router.post("/dags/{dag_id}/runs/{run_id}/clear", response_model=RunChangeOut)
def post_clear(
    dag_id: str, run_id: str, request: RunClearRequest, ctx: Ctx, principal: CurrentPrincipal
) -> RunChangeOut:
    """Clear every task instance of the run (or only the failed ones) so they run again;
    ``dry_run`` answers what would be cleared."""
    require_dag_operate(ctx, principal, dag_id, "clear DAG runs")
    return clear_run(ctx, dag_id, run_id, request)


@router.post("/dags/{dag_id}/runs/{run_id}/mark", response_model=RunChangeOut)
def post_mark(
    dag_id: str, run_id: str, request: RunMarkRequest, ctx: Ctx, principal: CurrentPrincipal
) -> RunChangeOut:
    """Mark the run success (its instances that did not succeed) or failed (its unfinished
    instances); ``dry_run`` answers what would be marked."""
    require_dag_operate(ctx, principal, dag_id, "mark DAG runs")
    return mark_run(ctx, dag_id, run_id, request)
